"""How well the screen does on labelled messages: recall per category, false positives.

A labelled corpus (`tests/safety/corpus/<language>.yaml`) lists messages with the
category a clinician would flag (`label`, or `none` for an ordinary message) and, where
another is equally right, `also`. For each language and category this computes

- recall: the share flagged with an acceptable category (the route people get);
- recall-any: the share flagged at all (the person is at least asked);
- for `none`, the false-positive rate: the share of ordinary messages flagged.

The targets are recall >= 0.95 in every language and category, and false positives
<= 0.05. Pure: corpus texts in, a report out; `relbot safety-eval` does the I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.crisis import CATEGORIES
from bot.core.loader import load_yaml
from bot.safety.screen import Flag, Screen

__all__ = ["FP_TARGET", "NONE", "RECALL_TARGET", "Labelled", "Outcome", "Report", "Row",
           "evaluate", "read_corpus"]

RECALL_TARGET = 0.95
FP_TARGET = 0.05
NONE = "none"


@dataclass(frozen=True, slots=True)
class Labelled:
    """One corpus message and the categories that would be right for it."""

    text: str
    language: str
    label: str
    also: tuple[str, ...] = ()

    @property
    def acceptable(self) -> frozenset[str]:
        return frozenset((self.label, *self.also))


@dataclass(frozen=True, slots=True)
class Outcome:
    item: Labelled
    flag: Flag | None

    @property
    def right(self) -> bool:
        """Flagged with an acceptable category, or (ordinary) not flagged."""
        if self.item.label == NONE:
            return self.flag is None
        return self.flag is not None and self.flag.category in self.item.acceptable


@dataclass(frozen=True, slots=True)
class Row:
    """One language and category: how many messages, and how many the screen got."""

    language: str
    category: str
    n: int
    right: int
    flagged: int  # flagged at all (for `none`: the false positives)

    @property
    def recall(self) -> float:
        return self.right / self.n if self.n else 1.0

    @property
    def recall_any(self) -> float:
        return self.flagged / self.n if self.n else 1.0

    @property
    def missed_target(self) -> bool:
        if self.category == NONE:
            return self.recall_any > FP_TARGET
        return self.recall < RECALL_TARGET


@dataclass(slots=True)
class Report:
    rows: list[Row] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # corpus entries that could not be read

    @property
    def met(self) -> bool:
        return bool(self.rows) and not any(r.missed_target for r in self.rows)

    def wrong(self) -> list[Outcome]:
        """Misses, wrong categories and false positives, in corpus order."""
        return [o for o in self.outcomes if not o.right]


def read_corpus(text: str, file: str, language: str) -> tuple[list[Labelled], list[str]]:
    """The messages of one corpus file (in its `language:`, else `language`), and a line
    per entry that could not be used."""
    ld = load_yaml(text, file)
    problems = [str(d) for d in ld.diagnostics]
    data: Any = ld.data
    messages = data.get("messages") if isinstance(data, dict) else None
    if isinstance(data, dict) and isinstance(data.get("language"), str):
        language = data["language"]
    if not isinstance(messages, list):
        return [], [*problems, f"{file}: expected `messages:` with a list of messages"]
    known = {*CATEGORIES, NONE}
    items: list[Labelled] = []
    for i, entry in enumerate(messages):
        line = ld.at(("messages", i))[0]
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
            problems.append(f"{file}:{line}: an entry needs `text:`")
            continue
        label, also = entry.get("label"), entry.get("also") or []
        if label not in known or not isinstance(also, list) or not set(also) <= known:
            problems.append(f"{file}:{line}: label/also must be among {', '.join(sorted(known))}")
            continue
        items.append(Labelled(entry["text"], language, label, tuple(also)))
    return items, problems


def evaluate(screen: Screen, corpus: Mapping[str, list[Labelled]]) -> Report:
    """Screen every message (language -> messages) and tabulate per language and category."""
    report = Report()
    for language, items in corpus.items():
        outcomes = [Outcome(item, screen.check(item.text, language)) for item in items]
        report.outcomes += outcomes
        for category in (*CATEGORIES, NONE):
            mine = [o for o in outcomes if o.item.label == category]
            if mine:
                report.rows.append(Row(language, category, len(mine),
                                       sum(o.right for o in mine),
                                       sum(o.flag is not None for o in mine)))
    return report
