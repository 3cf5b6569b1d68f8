"""Checking a typed answer against what a question accepts.

Pure functions, separate from the step: a question (`ask`) accepts text of a bounded
length (not a bare menu digit), a number in a range, a 0-10 scale or yes/no. The
result is either the value to store or the name of the standard re-prompt (a key of
`_global.yaml`'s strings) with the values it shows, e.g. ("scale", {"min": "0", "max": "10"}).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from bot.core.model import Ask

__all__ = ["MAX_INPUT", "Checked", "check_answer", "clean_text"]

MAX_INPUT = 20_000  # longer input is cut before any work is done on it

Checked = tuple[Any, tuple[str, dict[str, Any]] | None]  # (value, problem)


def clean_text(text: str) -> str:
    """Bounded, NFC-normalized text without control characters (newlines kept)."""
    text = unicodedata.normalize("NFC", text[:MAX_INPUT])
    if not text.isprintable():
        text = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
    return text.strip()


# A bare "6" or "2." typed where words are asked for is a habit from numbered menus,
# not an answer: it would end up in a script as "Would you be willing to 6?".
_MENU_DIGIT = re.compile(r"\s*\d{1,2}\s*[.)]?\s*")


def check_answer(ask: Ask, text: str, key: str, yes_no: Mapping[str, bool]) -> Checked:
    """(value, None) if `text` answers `ask`, else (None, (re-prompt key, its values)).

    `key` is the normalized text (for yes/no words); `yes_no` maps normalized words of
    the person's language (and English) to True/False.
    """
    if ask.kind == "text":
        if not text:
            return None, ("text_empty", {})
        if len(text) > ask.max_length:
            return None, ("text_too_long", {"max": ask.max_length})
        if _MENU_DIGIT.fullmatch(text):
            return None, ("text_number", {})
        return text, None
    if ask.kind == "yes_no":
        answer = yes_no.get(key)
        return (answer, None) if answer is not None else (None, ("yes_no", {}))
    low = ask.min if ask.min is not None else 0
    high = ask.max if ask.max is not None else (10 if ask.kind == "scale" else math.inf)
    value = _number(text, whole=ask.kind == "scale")
    if value is None or not low <= value <= high:
        return None, (ask.kind, {"min": _plain(low), "max": _plain(high)})
    return value, None


def _number(text: str, *, whole: bool) -> float | int | None:
    try:
        value = float(text.replace(",", ".").strip())
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if value.is_integer():
        return int(value)
    return None if whole else value


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
