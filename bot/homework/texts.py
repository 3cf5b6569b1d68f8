"""The homework screens' words in every language (texts.yaml), looked up in one place.

Why not the dialogue bundle's strings: these screens are not a dialogue and belong to no
module, and `dialogues/` is for the authors of conversations.  A test checks that every
text exists in every language the programme speaks, with the same placeholders.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["LANGUAGES", "say", "texts"]

LANGUAGES = ("en", "es")


@cache
def texts() -> dict[str, dict[str, str]]:
    with open(Path(__file__).with_name("texts.yaml"), encoding="utf-8") as handle:
        loaded: dict[str, dict[str, str]] = yaml.safe_load(handle)
    return loaded


def say(key: str, language: str, **values: Any) -> str:
    """The text for ``key`` in ``language`` (English if the language is unknown)."""
    variants = texts()[key]
    return (variants.get(language) or variants["en"]).format(**values)
