"""Context modifiers, in the spirit of ConText/NegEx: is a match really a disclosure?

A rule matching is not yet a flag. Clinical text processing learned to look at the
words around a finding, and so does the screen:

- **negation**: "I would never kill myself", "no me quiero matar". A trigger within
  `window` words before the match (or between its parts) in the same clause negates it.
  A clause ends at , ; : . ! ? and at the language's `clause_breaks` ("but", "pero",
  "aunque"), so "I'd never hurt myself but lately I think about dying" is still a flag.
  `pseudo` triggers look like negation and are not ("not ok", "no puedo más").
- **distance** (media and professional): "a talk on suicide prevention", "my essay on
  domestic violence", "una serie sobre...". A `before` trigger up to `window` words
  before the match in its clause, or an `after` trigger right after it. The scope ends at
  a `stops_at` word (the person speaking of themselves again: "...and now I want to die").
- **hypothetical**: "hypothetically", "in my novel". Like distance, with no `after`.
- **resolved**: only with an explicit sign: a `past` marker in the same sentence *and* a
  `now` marker ("I'm in a good place now") in the message, and no `unless` marker
  ("again", "lately"). A bare past tense is not resolved: "I was raped last weekend" is a
  disclosure. Someone else's danger is never resolved by the person's own recovery.
- **idioms**: "hit me up", "me muero de risa", "killing it". Removed before any rule is
  matched (each becomes the placeholder token `_`).
- **joking**: laughter ("lol", "😂") in the same sentence, for the categories (or
  `category/subtype`) listed in `applies_to` only: a threat to a flatmate over leftovers,
  "my dad will kill me lol"; never a suicide disclosure.
- **experiencer**: who it happens to. People in chat leave out "I" ("took 30 pills"), so
  rules may too. A `self_object` word in the match ("me", "my", but not the "my" of "my
  friend"), or a `self` word after its start, makes it the writer's. Otherwise the
  subject nearest before the match (before its second part, when it opens with "i"), in
  its clause, decides: one of `self` ("i"), one of `others` ("she", "my friend"; not
  right after one of `objects_after`, "to my sister"), or, if none, the writer. A finding
  about someone else is not suppressed: in the categories listed in `applies_to` it
  becomes `someone_else` ("my sister took 30 pills").

All the words are data in the rule files; this module is the logic only. Pure.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from bot.safety.normalise import CLAUSE, SENTENCE, Normalised

__all__ = ["Context", "Scene", "Span"]

Span = tuple[int, int]  # token indices, end exclusive
IDIOM = "_"


def _spans(regex: re.Pattern[str] | None, norm: Normalised) -> list[Span]:
    if regex is None:
        return []
    return [(norm.token_at(m.start()), norm.token_at(m.end() - 1) + 1)
            for m in regex.finditer(norm.text)]


@dataclass(slots=True)
class Scene:
    """One normalised message and, computed when first asked for, where each context
    list's triggers and the clause and sentence breaks are."""

    norm: Normalised
    context: Context
    _spans: dict[str, list[Span]] = field(default_factory=dict)
    _clauses: list[int] | None = None
    _sentences: list[int] | None = None

    def spans(self, name: str) -> list[Span]:
        found = self._spans.get(name)
        if found is None:
            found = self._spans[name] = _spans(self.context.lists.get(name), self.norm)
        return found

    def clause(self, start: int, end: int) -> Span:
        """The clause around tokens [start, end): from after the last break before it to
        the first break after it."""
        if self._clauses is None:
            marks = {i for i, t in enumerate(self.norm.tokens) if t in (SENTENCE, CLAUSE)}
            marks.update(s for s, _ in self.spans("clause_breaks"))
            self._clauses = sorted(marks)
        return _around(self._clauses, start, end, len(self.norm.tokens))

    def sentence(self, start: int, end: int) -> Span:
        if self._sentences is None:
            self._sentences = [i for i, t in enumerate(self.norm.tokens) if t == SENTENCE]
        return _around(self._sentences, start, end, len(self.norm.tokens))


def _around(marks: list[int], start: int, end: int, size: int) -> Span:
    before = bisect_left(marks, start)
    after = bisect_right(marks, end - 1)
    return (marks[before - 1] + 1 if before else 0,
            marks[after] if after < len(marks) else size)


@dataclass(frozen=True, slots=True)
class Context:
    """One language's compiled context lists (`negation.before` -> regex...) and windows,
    and the categories the experiencer applies to."""

    lists: dict[str, re.Pattern[str]]
    windows: dict[str, int]
    applies_to: dict[str, frozenset[str]] = field(default_factory=dict)

    def someone_else(self, scene: Scene, match: re.Match[str], category: str) -> bool:
        """Whether the match is about someone other than the writer."""
        if category not in self.applies_to.get("experiencer", ()):
            return False
        norm = scene.norm
        start, end = norm.token_at(match.start()), norm.token_at(match.end() - 1) + 1
        objects = {e for _, e in scene.spans("experiencer.objects_after")}
        others = [(s, e) for s, e in scene.spans("experiencer.others") if s not in objects]
        # "me", "my" in the match make it the writer's ("he threatened to kill me"), unless
        # they belong to someone else ("my friend took all her pills"); so does "i" inside
        # it ("if i report it they'll show everyone the video")
        selves = scene.spans("experiencer.self")
        inside = [s for s, _ in scene.spans("experiencer.self_object")
                  if not any(os <= s < oe for os, oe in others)] + [s for s, _ in selves]
        if any(start < s < end or (s == start and s not in (t for t, _ in selves))
               for s in inside):
            return False
        # otherwise the subject nearest before the match decides; when the match opens
        # with "i", before its next part ("i think my friend's been drugged")
        point = start
        if any(s == start for s, _ in selves):
            later = sorted(match.start(name) for name, value in match.groupdict().items()
                           if value is not None and name != "p0" and name[1:].isdigit())
            point = norm.token_at(later[0]) if later else start
        first = scene.clause(start, start + 1)[0]
        window = self.windows.get("experiencer", 8)
        nearest: tuple[int, bool] | None = None  # (where it ends, is it someone else)
        for spans, other in ((selves, False), (others, True)):
            for s, e in spans:
                if first <= s and e <= point and point - e <= window and (
                        nearest is None or e > nearest[0]):
                    nearest = (e, other)
        return nearest is not None and nearest[1]

    def without_idioms(self, norm: Normalised) -> Normalised:
        idioms = self.lists.get("idioms")
        if idioms is None or not idioms.search(norm.text):
            return norm
        text = idioms.sub(IDIOM, norm.text)
        return Normalised(tuple(text.split(" ")), text)

    def suppressed(self, scene: Scene, match: re.Match[str], category: str,
                   subtype: str = "") -> str | None:
        """Why this match is not a disclosure (a modifier's name), or None if it is."""
        norm = scene.norm
        start, end = norm.token_at(match.start()), norm.token_at(match.end() - 1) + 1
        clause = scene.clause(start, end)
        if self._negated(scene, match, start, end, clause):
            return "negation"
        for modifier in ("distance", "hypothetical"):
            if self._distanced(scene, modifier, start, end, clause):
                return modifier
        if category != "someone_else" and self._resolved(scene, start, end):
            return "resolved"
        joking = self.applies_to.get("joking", frozenset())
        if category in joking or f"{category}/{subtype}" in joking:
            first, last = scene.sentence(start, end)
            if any(first <= s < last for s, _ in scene.spans("joking.markers")):
                return "joking"
        return None

    def _negated(self, scene: Scene, match: re.Match[str], start: int, end: int,
                 clause: Span) -> bool:
        triggers = scene.spans("negation.before")
        if not triggers:
            return False
        pseudo = scene.spans("negation.pseudo")
        window = self.windows.get("negation", 3)
        covered = _part_tokens(scene.norm, match)
        for s, e in triggers:
            if any(ps < e and s < pe for ps, pe in pseudo):
                continue
            if clause[0] <= s and e <= start and start - e <= window:
                return True
            if start <= s and e <= end and not any(i in covered for i in range(s, e)):
                return True  # between the parts of the match: "i would never kill myself"
        return False

    def _distanced(self, scene: Scene, modifier: str, start: int, end: int,
                   clause: Span) -> bool:
        window = self.windows.get(modifier, 8)
        stops = scene.spans(f"{modifier}.stops_at")
        for s, e in scene.spans(f"{modifier}.before"):
            if clause[0] <= s and e <= start and start - e <= window and not any(
                    e <= ss and se <= start for ss, se in stops):
                return True
        return any(end <= s <= end + 1 and s < clause[1]
                   for s, _ in scene.spans(f"{modifier}.after"))

    def _resolved(self, scene: Scene, start: int, end: int) -> bool:
        if not scene.spans("resolved.now") or scene.spans("resolved.unless"):
            return False
        first, last = scene.sentence(start, end)
        return any(first <= s and e <= last for s, e in scene.spans("resolved.past"))


def _part_tokens(norm: Normalised, match: re.Match[str]) -> set[int]:
    """The token indices covered by the match's named parts (not by its gaps)."""
    covered: set[int] = set()
    for name, value in match.groupdict().items():
        if value is None or not name.startswith("p"):
            continue
        s, e = match.span(name)
        covered.update(range(norm.token_at(s), norm.token_at(e - 1) + 1))
    return covered
