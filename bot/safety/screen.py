"""Crisis screening: free text is checked before the dialogue step ever sees it.

Patterns are data (`patterns/<language>.yaml`), not code, so that clinicians can review
and extend them. A match turns the person's message into the `sos` intent: the module
is interrupted, the safety module runs, and the person can return afterwards. English
patterns are always checked as well as the person's language, since people switch.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["Flag", "Screen"]

PATTERNS_DIR = Path(__file__).parent / "patterns"
MAX_SCREENED = 5_000  # characters; longer messages are screened on their first part


@dataclass(frozen=True, slots=True)
class Flag:
    """What the screen found: a category of `bot.core.crisis.CATEGORIES`, the subtype
    (e.g. `plan`, `strangulation`) and the rule that matched. Never the text itself, so a
    Flag can be logged and counted."""

    category: str
    subtype: str = ""
    rule: str = ""


@dataclass(frozen=True, slots=True)
class Screen:
    """Compiled patterns per language: language -> [(category, regex)]."""

    patterns: dict[str, list[tuple[str, re.Pattern[str]]]]

    @classmethod
    def load(cls, folder: Path = PATTERNS_DIR) -> Screen:
        patterns: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
        for path in sorted(folder.glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            patterns[path.stem] = [(category, re.compile(rx, re.IGNORECASE))
                                   for category, rxs in data.items() for rx in rxs]
        return cls(patterns)

    def check(self, text: str, language: str) -> Flag | None:
        """What the text suggests, or None."""
        sample = unicodedata.normalize("NFC", text[:MAX_SCREENED]).casefold()
        sample = sample.replace("\u2019", "'")
        for lang in dict.fromkeys((language, "en")):
            for category, rx in self.patterns.get(lang, []):
                if rx.search(sample):
                    return Flag(category, rule=rx.pattern)
        return None
