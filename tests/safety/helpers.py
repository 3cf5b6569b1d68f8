"""Shared for the crisis-screen tests: the shipped rule texts and screens built from them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bot.safety import Screen
from bot.safety.screen import RULES_DIR

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "safety" / "corpus"
HOLDOUT = ROOT / "tests" / "safety" / "holdout"


def shipped_texts() -> dict[str, str]:
    """File name -> text of every shipped rule file."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(RULES_DIR.glob("*.yaml"))}


@cache
def shipped() -> Screen:
    """The shipped rules, fully checked (every regex compiled, every example tried)."""
    return Screen.from_texts(shipped_texts())


def category(text: str, language: str = "en") -> str | None:
    flag = shipped().check(text, language)
    return None if flag is None else flag.category
