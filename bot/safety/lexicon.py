"""The rules' pattern language: word lists and `{slot}` patterns, compiled to regexes.

Clinicians extend word lists, not regular expressions. A word list (`lexicon:`) is a
named list of entries; an entry is words as people type them (normalised exactly as
messages are), where

- `word*` matches any ending (`suicid*`: suicide, suicidal);
- `{name}` uses another word list in place (`{i} am`); `{name}?` may be left out;
- `re:...` is a regular expression over the normalised text, for the rare case words
  cannot say (ages: `re:1[0-7]`).

A rule's `match` pattern is the same, with one difference: between the parts of a
pattern (each `{slot}`, and each run of plain words) up to `window` other words may
stand, so "{i} {want} {die}" also matches "i just really want to die" (never across a
comma, a sentence end or a word that ends a clause, like "but"). Words written next to
each other stay next to each other, and a `+` glues parts together: "{violence}+me" is
the verb right before "me".

Two things keep matching fast on every message: word lists compile to tries (entries
sharing a first word share one branch), and each pattern has *anchors*, the words one
of which must occur in a message for the pattern to be tried at all.

Problems are reported (S007 unknown list, S008 a list that uses itself, S009 an entry
that does not compile, S010 an empty list, S015 an entry so broad it matches almost
anything) and the broken entry is left out; the rest still compiles.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.checks_flow import did_you_mean
from bot.core.loader import Loaded, Path
from bot.safety.codes import report

__all__ = ["NEVER", "Anchors", "Entry", "Lexicon", "anchored"]

NEVER = "(?!)"  # a regex that matches nothing: what an empty list compiles to
MIN_STEM = 3  # letters before a *
#: words so common that anchoring a pattern on them would not skip it on most messages
_COMMON = (
    "i me my myself you your he she they him her them it its we our us a an the to and or of "
    "in on at for with is am are was were be been have has had do does did not no so just "
    "that this what how when if but all can will would could should get got like really "
    "go going want need feel know think one out up about time day today now then there "
    "here as by from some more very much too back good well make made say said see look "
    "take come work still even never always again over after before tonight later soon "
    "yo mi me te se le lo la el los las de en que y a no un una es por para con ya mas "
    "muy pero como esta estoy eso esto hoy ahora todo nada bien mal voy va hay ser")
COMMON_WORDS = frozenset(_COMMON.split())

WordSpeller = Callable[[str], tuple[str, ...]]
_SLOT = re.compile(r"\{([^{}]*)\}(\??)")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a word list or context list, with where it was written."""

    text: str
    path: Path


@dataclass(frozen=True, slots=True)
class Anchors:
    """The words (exact, or by stem) one of which a message must hold for a part of a
    pattern to possibly match. A part that starts with a `re:` entry has none."""

    words: frozenset[str]
    stems: frozenset[str]

    def score(self) -> int:
        """Lower is more selective: few words, and few of the most common ones."""
        return len(self.words) + len(self.stems) + 1_000 * len(self.words & COMMON_WORDS)

    def present(self, words: set[str], prefixes: set[str]) -> bool:
        """Whether a message with these words (and these word beginnings) has one."""
        return not self.words.isdisjoint(words) or not self.stems.isdisjoint(prefixes)


# An item of an entry: ("word", regex), ("stem", stem), ("slot", name), ("regex", source),
# each with `optional` for slots.
@dataclass(frozen=True, slots=True)
class _Item:
    kind: str
    value: str
    optional: bool = False
    glued: bool = False  # written with + to the item before


def anchored(body: str) -> str:
    """`body` matched on whole tokens of the normalised text."""
    return rf"(?<!\S){body}(?!\S)"


def _gap(window: int, breaks: tuple[str, ...] = ()) -> str:
    """Up to `window` words between two parts (not a comma, a sentence end or a word that
    ends a clause, such as "but")."""
    if not breaks:
        return rf"(?: [^ .,]+){{0,{window}}} "
    stop = "|".join(map(re.escape, sorted(breaks)))
    return rf"(?: (?!(?:{stop}) )[^ .,]+){{0,{window}}} "


def _join(parts: list[tuple[str, bool]], separator: str) -> str:
    """Regexes in order with `separator` between those present; optional ones may go."""
    first_required = next(i for i, (_, optional) in enumerate(parts) if not optional)
    out = "".join(f"(?:{rx}{separator})?" for rx, _ in parts[:first_required])
    out += parts[first_required][0]
    for rx, optional in parts[first_required + 1:]:
        out += f"(?:{separator}{rx})?" if optional else f"{separator}{rx}"
    return out


def _trie(alternatives: list[list[str]]) -> str:
    """One regex for token sequences, sharing common first tokens: (?:kill(?: myself)?|...)."""
    groups: dict[str, list[list[str]]] = {}
    for alternative in alternatives:
        groups.setdefault(alternative[0], []).append(alternative[1:])
    branches = []
    for first, rests in groups.items():
        longer = [r for r in rests if r]
        if not longer:
            branches.append(first)
        elif len(longer) < len(rests):
            branches.append(f"{first}(?: {_trie(longer)})?")
        else:
            branches.append(f"{first} {_trie(longer)}")
    # longer alternatives first, so "kill myself" is tried before "kill"
    branches.sort(key=len, reverse=True)
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


@dataclass
class Lexicon:
    """The word lists of one language, compiled on demand (each once)."""

    ld: Loaded
    lists: dict[str, list[Entry]]
    speller: WordSpeller
    breaks: tuple[str, ...] = ()  # words a gap may not cross ("but"), like a comma
    words: set[str] = field(default_factory=set)  # every plain word used (the vocabulary)
    stems: set[str] = field(default_factory=set)  # every word* stem
    _items: dict[str, list[list[_Item]]] = field(default_factory=dict)
    _regex: dict[str, str] = field(default_factory=dict)
    _anchors: dict[str, Anchors | None] = field(default_factory=dict)
    _visiting: list[str] = field(default_factory=list)

    # --- public ------------------------------------------------------------------------

    def entry(self, entry: Entry) -> str | None:
        """One entry's regex: its items next to each other (None, reported, when broken)."""
        items = self._parse(entry)
        return None if items is None else self._sequence(items, " ")

    def pattern(self, entry: Entry, window: int) -> tuple[str, tuple[Anchors, ...]] | None:
        """A rule's pattern: its regex, with parts in named groups `p0, p1...` and up to
        `window` words (or commas, not sentence ends) between consecutive parts; and the
        anchors of each required part that has them."""
        items = self._parse(entry)
        if items is None:
            return None
        parts = self._parts(items)
        optional = [len(p) == 1 and p[0].optional for p in parts]
        regex = _join([(f"(?P<p{i}>{self._piece(p[0]) if alone else self._sequence(p, ' ')})",
                        alone) for i, (p, alone) in enumerate(zip(parts, optional, strict=True))],
                      _gap(window, self.breaks))
        anchors = tuple(a for p, alone in zip(parts, optional, strict=True)
                        if not alone and (a := self._anchors_of(p)) is not None)
        return anchored(regex), anchors

    # --- parsing ---------------------------------------------------------------------

    def _parse(self, entry: Entry) -> list[_Item] | None:
        text = entry.text.strip()
        if text.startswith("re:"):
            return self._checked_regex(entry, text[3:])
        items: list[_Item] = []
        for raw in text.split():
            for n, piece in enumerate(raw.split("+")):
                slot = _SLOT.fullmatch(piece)
                if slot:
                    if not self._exists(slot.group(1), entry):
                        return None
                    items.append(_Item("slot", slot.group(1), bool(slot.group(2)), n > 0))
                    continue
                words = self._word(entry, piece)
                if words is None:
                    return None
                if n > 0:
                    words[0] = _Item(words[0].kind, words[0].value, glued=True)
                items += words
        if not items or all(i.optional for i in items):
            report(self.ld, "S010", entry.path, f"'{entry.text}' has no words to match")
            return None
        return items

    def _exists(self, name: str, entry: Entry) -> bool:
        if name in self.lists:
            return True
        hint = did_you_mean(name, self.lists, "add it under `lexicon:`, or ")
        report(self.ld, "S007", entry.path, f"no word list named '{name}'",
               hint=hint or "add it under `lexicon:`")
        return False

    def _word(self, entry: Entry, raw: str) -> list[_Item] | None:
        """The items of one written word (a contraction may give two words)."""
        stem, star = (raw[:-1], True) if raw.endswith("*") else (raw, False)
        tokens = self.speller(stem) if stem else ()
        if not tokens or any(not _WORD.fullmatch(t) or "_" in t for t in tokens) or "*" in stem:
            report(self.ld, "S009", entry.path,
                   f"'{raw}' in '{entry.text}' is not a word the screen can match",
                   hint="write letters and digits only: {name} for a word list, word* for "
                        "any ending, re:... for a regular expression")
            return None
        if star and len(tokens[-1]) < MIN_STEM:
            report(self.ld, "S015", entry.path,
                   f"'{raw}' would match almost any word starting with '{stem}'")
            return None
        words = tokens[:-1] if star else tokens
        self.words.update(words)
        items = [_Item("word", w) for w in words]
        if star:
            self.stems.add(tokens[-1])
            items.append(_Item("stem", tokens[-1]))
        return items

    def _checked_regex(self, entry: Entry, source: str) -> list[_Item] | None:
        try:
            compiled = re.compile(source)
        except re.error as exc:
            report(self.ld, "S009", entry.path, f"'{entry.text}' does not compile: {exc}")
            return None
        if compiled.fullmatch("") or compiled.search("a") or compiled.search("x"):
            report(self.ld, "S015", entry.path, f"'{entry.text}' matches almost anything")
            return None
        return [_Item("regex", source)]

    # --- slots ---------------------------------------------------------------------------

    def _slot_items(self, name: str) -> list[list[_Item]]:
        """The parsed entries of list `name` (each once; a list using itself is reported)."""
        if name in self._items:
            return self._items[name]
        if name in self._visiting:
            return []
        self._visiting.append(name)
        parsed: list[list[_Item]] = []
        for entry in self.lists[name]:
            items = self._parse(entry)
            if items is None:
                continue
            # resolve nested lists now, so a cycle is found while `_visiting` has the chain
            if all(not self._cycle(i.value, entry) for i in items if i.kind == "slot"):
                parsed.append(items)
        self._visiting.pop()
        self._items[name] = parsed
        return parsed

    def _cycle(self, name: str, entry: Entry) -> bool:
        """Whether list `name`, used in `entry`, leads back to a list being compiled."""
        if name in self._visiting:
            chain = " -> ".join([*self._visiting[self._visiting.index(name):], name])
            report(self.ld, "S008", entry.path, f"word list '{name}' uses itself ({chain})")
            return True
        self._slot_items(name)
        return False

    def _slot(self, name: str) -> str:
        if name not in self._regex:
            alternatives = self._slot_items(name)
            self._regex[name] = NEVER  # a list using itself sees nothing while compiling
            simple = [[i.value if i.kind == "regex" else self._piece(i) for i in items]
                      for items in alternatives if all(not i.optional for i in items)]
            other = [self._sequence(items, " ") for items in alternatives
                     if any(i.optional for i in items)]
            branches = ([_trie(simple)] if simple else []) + other
            self._regex[name] = (branches[0] if len(branches) == 1 else
                                 f"(?:{'|'.join(branches)})") if branches else NEVER
        return self._regex[name]

    def _piece(self, item: _Item) -> str:
        if item.kind == "word":
            return re.escape(item.value)
        if item.kind == "stem":
            return re.escape(item.value) + r"\w*"
        if item.kind == "regex":
            return f"(?:{item.value})"
        return self._slot(item.value)

    def _sequence(self, items: list[_Item], separator: str) -> str:
        return _join([(self._piece(i), i.optional) for i in items], separator)

    # --- parts and anchors ---------------------------------------------------------------

    @staticmethod
    def _parts(items: list[_Item]) -> list[list[_Item]]:
        """Each slot its own part, each run of plain words one part, and what `+` glues
        one part."""
        parts: list[list[_Item]] = []
        for item in items:
            if parts and (item.glued or (item.kind != "slot" and parts[-1][-1].kind != "slot")):
                parts[-1].append(item)
            else:
                parts.append([item])
        return parts

    def _anchors_of(self, items: list[_Item]) -> Anchors | None:
        """Words one of which must be in a message for `items` to match: those of the
        most selective required item (every required item must be there anyway)."""
        known = [a for i in items if not i.optional and (a := self._item_anchors(i)) is not None]
        return min(known, key=Anchors.score) if known else None

    def _item_anchors(self, item: _Item) -> Anchors | None:
        if item.kind == "word":
            return Anchors(frozenset([item.value]), frozenset())
        if item.kind == "stem":
            return Anchors(frozenset(), frozenset([item.value]))
        if item.kind == "regex":
            return None
        if item.value not in self._anchors:
            self._anchors[item.value] = None  # while computing: a cycle gives no anchors
            found = [self._anchors_of(items) for items in self._slot_items(item.value)]
            self._anchors[item.value] = None if any(a is None for a in found) else Anchors(
                frozenset().union(*(a.words for a in found if a)),
                frozenset().union(*(a.stems for a in found if a)))
        return self._anchors[item.value]
