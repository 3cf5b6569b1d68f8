"""Normalisation: a message as people type it, turned into the plain words the rules read.

People in distress type fast, on phones, in slang, and sometimes censor themselves
("k1ll", "r*ped", "su1c1de", "unalive"). The rules should not have to spell out every
variant, so before matching the text is:

- case-folded, with curly apostrophes made straight and accents removed ("pegó" = "pego"),
  and possessives dropped ("my sister's husband" = "my sister husband");
- split into word tokens and two kinds of break: "." ends a sentence (. ! ? and a new
  line) and "," ends a clause (, ; :);
- spelled back from leetspeak and censoring ("k1ll" -> kill, "r*ped" -> raped): a `*`
  is resolved against the words the rules know, so it only ever becomes a word a rule uses;
- un-stretched ("dieeee" -> die, "killlll" -> kill), again guided by the rules' words;
- given words for the emoji that stand for means (💊 -> pills);
- expanded from the language's abbreviations and contractions ("kms" -> kill myself,
  "dont" -> do not, "xq" -> porque, "toy" -> estoy), which live in the rule files.

The tables come from the rule files (`Spelling`); this module only applies them. It is
pure and fast: a word's spelling is worked out once and cached.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["MAX_SCREENED", "Normalised", "Spelling", "fold", "normalise"]

MAX_SCREENED = 6_000  # characters; Telegram's messages stop at 4,096
SENTENCE, CLAUSE = ".", ","  # the two break tokens

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'",
                         "\u2032": "'", "_": " ", "-": " ", "\u2013": " ", "\u2014": " "})
_INVISIBLE = dict.fromkeys([0xFE0F, 0xFE0E, 0x200D, 0x200B, *range(0x1F3FB, 0x1F400)])
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_RAW_TOKEN = re.compile(r"[\w*@$'/]+(?:!+[\w*@$'/]+)*!*|[.!?\n]+|[,;:]+")
_NUMBER_UNIT = re.compile(r"\d+(?:st|nd|rd|th|am|pm|h|hr|hrs|yo|y|yr|yrs|k|m|s|min|mins|o|a)?")
_STRETCH = re.compile(r"([^\W\d])\1{2,}")
_CACHE_LIMIT = 50_000


def fold(text: str) -> str:
    """Case, straight apostrophes and no accents: the spelling rules and messages share."""
    text = text.translate(_QUOTES).casefold()
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return text


@dataclass(slots=True)
class Spelling:
    """One language's tables, built from its rule file.

    `abbreviations` and `vocabulary` are already folded; `emoji` maps an emoji (without
    variation selectors) to the words it stands for."""

    abbreviations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    emoji: Mapping[str, str] = field(default_factory=dict)
    leet: Mapping[str, str] = field(default_factory=dict)
    vocabulary: frozenset[str] = frozenset()
    stems: frozenset[str] = frozenset()
    _emoji_rx: re.Pattern[str] | None = None
    _cache: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        keys = sorted((k.translate(_INVISIBLE) for k in self.emoji), key=len, reverse=True)
        self.emoji = {k.translate(_INVISIBLE): v for k, v in self.emoji.items()}
        self._emoji_rx = re.compile("|".join(map(re.escape, keys))) if keys else None

    def word(self, raw: str) -> tuple[str, ...]:
        """The normalised tokens for one raw word token (cached)."""
        cached = self._cache.get(raw)
        if cached is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            cached = self._cache[raw] = self._spell(raw)
        return cached

    def _spell(self, raw: str) -> tuple[str, ...]:
        token = raw.strip("'/!")
        if not token:
            return ()
        if "'" in token:
            if token in self.abbreviations:
                return self.abbreviations[token]
            if token.endswith("'s"):  # a possessive: "my sister's husband"
                token = token[:-2]
            token = token.replace("'", "")
        if "/" in token:
            if token in self.abbreviations:
                return self.abbreviations[token]
            return tuple(t for part in token.split("/") for t in self.word(part))
        token = self._unleet(token)
        if "*" in token:
            token = self._uncensor(token)
        if _STRETCH.search(token):
            token = self._unstretch(token)
        if (len(token) >= 4 and token[-1] == token[-2] and token not in self.vocabulary
                and token[:-1] in self.vocabulary):
            token = token[:-1]  # "morirr", "diee"
        if not token:
            return ()
        return self.abbreviations.get(token, (token,))

    def _unleet(self, token: str) -> str:
        if token.isalpha() or _NUMBER_UNIT.fullmatch(token):
            return token
        letters = sum(ch.isalpha() for ch in token)
        if letters < 2:
            return token.replace("!", "").replace("$", "s") if letters else token
        plain = "".join(self.leet.get(ch, ch) for ch in token)
        if plain not in self.vocabulary and "1" in token:  # k1ll: i or l?
            with_l = "".join("l" if ch == "1" else self.leet.get(ch, ch) for ch in token)
            if with_l in self.vocabulary:
                return with_l
        return plain

    def _uncensor(self, token: str) -> str:
        """'r*ped' -> 'raped' when exactly that shape is a word the rules use."""
        core = token.strip("*")
        if not core or core.count("*") == len(core):
            return core.replace("*", "")
        shape = re.compile(re.sub(r"\*+", lambda m: f"[a-z]{{{len(m.group())}}}",
                                  re.escape(core).replace(r"\*", "*")))
        for word in self.vocabulary:
            if len(word) == len(core) and shape.fullmatch(word):
                return word
        for stem in self.stems:
            if len(core) >= len(stem) and shape.fullmatch(stem + core[len(stem):]):
                return stem + core[len(stem):]
        return core.replace("*", "")

    def _unstretch(self, token: str) -> str:
        """'dieeee' -> 'die', 'killlll' -> 'kill': the form the rules know, else one letter."""
        two = _STRETCH.sub(r"\1\1", token)
        one = _STRETCH.sub(r"\1", token)
        if one in self.vocabulary:
            return one
        return two if two in self.vocabulary else one


@dataclass(frozen=True, slots=True)
class Normalised:
    """A message as the rules see it: word tokens and break tokens joined by one space."""

    tokens: tuple[str, ...]
    text: str

    def token_at(self, offset: int) -> int:
        """The index of the token that starts at or contains character `offset`."""
        return self.text.count(" ", 0, offset)


def normalise(text: str, spelling: Spelling) -> Normalised:
    """`text` (its first `MAX_SCREENED` characters) in the form the rules match."""
    text = text[:MAX_SCREENED].translate(_INVISIBLE)
    if spelling._emoji_rx is not None and not text.isascii():
        text = spelling._emoji_rx.sub(lambda m: f" {spelling.emoji[m.group()]} ", text)
    tokens: list[str] = []
    for raw in _RAW_TOKEN.findall(fold(text)):
        if raw[0] in ".!?\n" and not raw.strip(".!?\n"):
            _break(tokens, SENTENCE)
        elif raw[0] in ",;:":
            _break(tokens, CLAUSE)
        else:
            tokens.extend(spelling.word(raw))
            if raw.endswith("!"):
                _break(tokens, SENTENCE)
    return Normalised(tuple(tokens), " ".join(tokens))


def _break(tokens: list[str], kind: str) -> None:
    if not tokens:
        return
    if tokens[-1] in (SENTENCE, CLAUSE):
        if kind == SENTENCE:
            tokens[-1] = SENTENCE
        return
    tokens.append(kind)
