"""One language's rules, compiled: what matched in a message, and what the context says.

`compile_language` turns a checked `LanguageFile` (and `common.yaml`) into regexes:
the word lists through `bot.safety.lexicon`, the context lists into one alternation
each, and the spelling tables for the normaliser, whose vocabulary is every word the
rules use. `LanguageRules.findings` is the hot path: normalise, pick the candidate
patterns by their anchor words, remove idioms, try them, and keep the matches no
context modifier explains away.

Compiling the rules' regexes takes Python about two seconds, and most never run on a
given message, so a rule's regexes are compiled when first needed (`Lazy`), unless the
caller asks for everything up front (`eager`, as `relbot validate` and the tests do, so
that a regex that does not compile is reported, not discovered on a live message).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from bot.core.loader import Loaded
from bot.safety.codes import report
from bot.safety.context import Context, Scene
from bot.safety.lexicon import NEVER, Anchors, Entry, Lexicon, anchored
from bot.safety.normalise import SENTENCE, Normalised, Spelling, fold, normalise
from bot.safety.rulefile import CommonFile, LanguageFile, RuleSpec

__all__ = ["CompiledRule", "Finding", "Index", "LanguageRules", "Lazy", "compile_language"]

log = logging.getLogger(__name__)

_SPLIT = re.compile(r"[\w']+")


class Lazy:
    """A regex compiled the first time it is used. One that does not compile (already
    reported when compiled eagerly) matches nothing, so a check never raises."""

    __slots__ = ("_regex", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self._regex: re.Pattern[str] | None = None

    @property
    def regex(self) -> re.Pattern[str]:
        if self._regex is None:
            try:
                self._regex = re.compile(self.source)
            except (re.error, RecursionError, OverflowError):
                log.error("a crisis screen pattern does not compile; run `relbot validate`")
                self._regex = re.compile(NEVER)
        return self._regex


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to match: one regex per pattern (each with parts `p0, p1...`)."""

    spec: RuleSpec
    language: str
    patterns: tuple[Lazy, ...]
    anchors: tuple[tuple[Anchors, ...], ...]  # per pattern, per part that has anchors
    with_: Lazy | None = None
    unless: Lazy | None = None

    @property
    def ref(self) -> str:
        """How a flag names the rule: `en:wish_dead`."""
        return f"{self.language}:{self.spec.id}"


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that matched a message: the category it flags (after promotions) and,
    when a context modifier explains the match away, the modifier's name."""

    rule: CompiledRule
    category: str
    suppressed_by: str | None = None

    @property
    def subtype(self) -> str:
        return self.rule.spec.subtype


@dataclass(frozen=True, slots=True)
class Promotion:
    target: str
    sources: frozenset[str]
    when: re.Pattern[str]


RulePattern = tuple[int, int]  # (rule number, pattern number)


@dataclass(frozen=True, slots=True)
class Index:
    """Which patterns a message's words make worth trying at all.

    Each required part of a pattern has anchors (words, or stems, one of which must be in
    the message for that part to match). A pattern is tried only when every part's
    anchors are present, so most patterns never run on an ordinary message. Distinct
    anchor sets are numbered; a message's words say which sets are satisfied, and a
    pattern is a candidate when all of its sets are."""

    words: dict[str, tuple[int, ...]]  # word -> anchor sets it satisfies
    stems: dict[str, tuple[int, ...]]
    stem_lengths: tuple[int, ...]
    listed: tuple[tuple[tuple[RulePattern, tuple[int, ...]], ...], ...]
    always: frozenset[RulePattern]  # patterns without anchors
    seen: dict[str, tuple[int, ...]] = field(default_factory=dict)  # token -> anchor sets

    @classmethod
    def build(cls, rules: tuple[CompiledRule, ...]) -> Index:
        numbers: dict[Anchors, int] = {}
        for rule in rules:
            for anchors in rule.anchors:
                for a in anchors:
                    numbers.setdefault(a, len(numbers))
        # each pattern is listed under its most selective set, with the sets it also needs
        listed: list[list[tuple[RulePattern, tuple[int, ...]]]] = [[] for _ in numbers]
        always: set[RulePattern] = set()
        for r, rule in enumerate(rules):
            for p, anchors in enumerate(rule.anchors):
                if not anchors:
                    always.add((r, p))
                    continue
                best = min(anchors, key=Anchors.score)
                others = tuple({numbers[a] for a in anchors} - {numbers[best]})
                listed[numbers[best]].append(((r, p), others))
        words: dict[str, list[int]] = {}
        stems: dict[str, list[int]] = {}
        for a, n in numbers.items():
            for word in a.words:
                words.setdefault(word, []).append(n)
            for stem in a.stems:
                stems.setdefault(stem, []).append(n)
        return cls({k: tuple(v) for k, v in words.items()},
                   {k: tuple(v) for k, v in stems.items()},
                   tuple(sorted({len(s) for s in stems})), tuple(map(tuple, listed)),
                   frozenset(always))

    def satisfies(self, token: str) -> tuple[int, ...]:
        """The anchor sets one token satisfies (worked out once per token, then cached)."""
        known = self.seen.get(token)
        if known is None:
            found = set(self.words.get(token, ()))
            for n in self.stem_lengths:
                if n > len(token):
                    break
                found.update(self.stems.get(token[:n], ()))
            if len(self.seen) >= 50_000:
                self.seen.clear()
            known = self.seen[token] = tuple(found)
        return known

    def candidates(self, tokens: tuple[str, ...]) -> set[RulePattern]:
        """The patterns worth trying on a message with these tokens."""
        satisfied: set[int] = set()
        for token in set(tokens):
            satisfied.update(self.satisfies(token))
        found = set(self.always)
        for number in satisfied:
            for rp, others in self.listed[number]:
                if all(o in satisfied for o in others):
                    found.add(rp)
        return found


@dataclass(frozen=True, slots=True)
class LanguageRules:
    language: str
    spelling: Spelling
    context: Context
    rules: tuple[CompiledRule, ...]
    promotions: tuple[Promotion, ...]
    index: Index

    def prepare(self, text: str) -> Normalised:
        """The message as the rules see it: normalised, idioms removed."""
        return self.context.without_idioms(normalise(text, self.spelling))

    def findings(self, text: str, *, explain: bool = False) -> list[Finding]:
        """Each rule that matched: only the flags, or with `explain` the suppressed too."""
        norm = normalise(text, self.spelling)
        candidates = self.index.candidates(norm.tokens)
        if not candidates:
            return []
        norm = self.context.without_idioms(norm)
        scene = Scene(norm, self.context)  # works out context spans only when asked
        out: list[Finding] = []
        by_rule: dict[int, list[int]] = {}
        for r, p in sorted(candidates):
            by_rule.setdefault(r, []).append(p)
        for r, numbers in by_rule.items():
            rule = self.rules[r]
            found = self._judge(rule, [rule.patterns[p] for p in numbers], scene)
            if found is not None and (found[1] is None or explain):
                category, reason = found
                out.append(Finding(rule, self._promoted(category, rule.spec.subtype, norm),
                                   reason))
        return out

    def _judge(self, rule: CompiledRule, patterns: list[Lazy],
               scene: Scene) -> tuple[str, str | None] | None:
        """(category, why explained away) for one rule, or None if it does not match. An
        unexplained match about the writer wins; failing that, one about someone else
        (`someone_else`); failing that, why the first match was explained away."""
        text = scene.norm.text
        first: tuple[str, str | None] | None = None
        about_other = False
        for pattern in patterns:
            for match in pattern.regex.finditer(text):
                reason = (_excepted(rule, match, text) or self.context.suppressed(
                    scene, match, rule.spec.category, rule.spec.subtype))
                first = first or (rule.spec.category, reason)
                if reason is not None:
                    continue
                if not self.context.someone_else(scene, match, rule.spec.category):
                    return rule.spec.category, None
                about_other = True
        return ("someone_else", None) if about_other else first

    def _promoted(self, category: str, subtype: str, norm: Normalised) -> str:
        for p in self.promotions:
            if ((category in p.sources or f"{category}/{subtype}" in p.sources)
                    and p.when.search(norm.text)):
                return p.target
        return category


def _speller(lf: LanguageFile) -> tuple[Spelling, dict[str, tuple[str, ...]]]:
    """The spelling rule words go through (abbreviations only), and the folded table."""
    table = {fold(short): tuple(_SPLIT.findall(fold(e.text))) for short, e in
             lf.abbreviations.items()}
    return Spelling(abbreviations=table), table


def compile_language(lf: LanguageFile, common: CommonFile, *,
                     eager: bool = True) -> LanguageRules:
    """Compile what `lf` holds; every problem is reported into `lf.ld`, never raised.
    With `eager`, every regex is compiled now (and one that does not compile reported);
    otherwise each rule's regexes are compiled when first needed."""
    plain, abbreviations = _speller(lf)
    breaks = [t for e in lf.context.get("clause_breaks", []) for t in plain.word(fold(e.text))
              if " " not in e.text.strip()]
    lexicon = Lexicon(lf.ld, lf.lexicon, lambda w: plain.word(fold(w)), breaks=tuple(breaks))
    lists: dict[str, re.Pattern[str]] = {}
    for name, entries in lf.context.items():
        regex = _alternation(lf.ld, lexicon, entries)
        if regex is not None:
            lists[name] = regex
    context = Context(lists, dict(lf.windows),
                      {m: frozenset(c) for m, c in lf.applies_to.items()})
    rules: list[CompiledRule] = []
    seen: set[str] = set()
    for spec in lf.rules:
        if spec.id in seen:
            report(lf.ld, "S011", (*spec.path, "id"), f"another rule is already called "
                   f"'{spec.id}'")
            continue
        seen.add(spec.id)
        window = spec.window if spec.window is not None else common.window
        compiled = [(regex, anchors) for e in spec.match
                    if (found := lexicon.pattern(e, window)) is not None
                    and (regex := _lazy(lf.ld, found[0], e, eager)) is not None
                    for anchors in (found[1],)]
        with_ = _lazy_alternation(lf.ld, lexicon, list(spec.with_), eager)
        unless = _lazy_alternation(lf.ld, lexicon, list(spec.unless), eager)
        if compiled:
            rules.append(CompiledRule(spec, lf.language, tuple(c[0] for c in compiled),
                                      tuple(c[1] for c in compiled), with_, unless))
    promotions = tuple(Promotion(p.target, frozenset(p.sources), regex) for p in lf.promotions
                       if (regex := _alternation(lf.ld, lexicon, list(p.when))) is not None)
    for short in lf.abbreviations:  # a short form's own words are vocabulary too
        lexicon.words.update(_SPLIT.findall(fold(short)))
    for words in abbreviations.values():
        lexicon.words.update(words)
    spelling = Spelling(abbreviations=abbreviations, emoji=dict(lf.emoji), leet=common.leet,
                        vocabulary=frozenset(lexicon.words), stems=frozenset(lexicon.stems))
    return LanguageRules(lf.language, spelling, context, tuple(rules), promotions,
                         Index.build(tuple(rules)))


def _excepted(rule: CompiledRule, match: re.Match[str], text: str) -> str | None:
    """Whether the rule's own context rules the match out, in the match's sentence:
    "unless" when one of its `unless` entries is there ("cut myself {accident}" for "i cut
    myself shaving"), "without" when none of its `with` entries is."""
    if rule.unless is None and rule.with_ is None:
        return None
    start = text.rfind(f" {SENTENCE} ", 0, match.start()) + 1
    found = text.find(f" {SENTENCE} ", match.end())
    end = len(text) if found < 0 else found
    if rule.unless is not None and rule.unless.regex.search(text, start, end):
        return "unless"
    if rule.with_ is not None and not rule.with_.regex.search(text, start, end):
        return "without"
    return None


def _alternation_source(lexicon: Lexicon, entries: list[Entry]) -> str | None:
    """One regex for a list of entries (words next to each other, no gaps)."""
    alternatives = [rx for e in entries if (rx := lexicon.entry(e)) is not None]
    if not alternatives:
        return None
    return anchored(f"(?:{'|'.join(sorted(set(alternatives), key=len, reverse=True))})")


def _alternation(ld: Loaded, lexicon: Lexicon, entries: list[Entry]) -> re.Pattern[str] | None:
    source = _alternation_source(lexicon, entries)
    return None if source is None else _compiled(ld, source, entries[0])


def _lazy_alternation(ld: Loaded, lexicon: Lexicon, entries: list[Entry],
                      eager: bool) -> Lazy | None:
    source = _alternation_source(lexicon, entries) if entries else None
    return None if source is None else _lazy(ld, source, entries[0], eager)


def _lazy(ld: Loaded, source: str, entry: Entry, eager: bool) -> Lazy | None:
    """`source` to compile when first used, or now (None, reported, if it does not)."""
    lazy = Lazy(source)
    if eager:
        compiled = _compiled(ld, source, entry)
        if compiled is None:
            return None
        lazy._regex = compiled
    return lazy


def _compiled(ld: Loaded, regex: str, entry: Entry) -> re.Pattern[str] | None:
    try:
        return re.compile(regex)
    except (re.error, RecursionError, OverflowError) as exc:  # a re: entry combined badly
        report(ld, "S009", entry.path, f"'{entry.text}' does not compile: {exc}")
        return None
