"""Every homework text exists in English and Spanish with the same placeholders."""

from __future__ import annotations

import string

from bot.homework.texts import LANGUAGES, say, texts


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_text_in_every_language_with_the_same_placeholders() -> None:
    for key, variants in texts().items():
        assert set(variants) == set(LANGUAGES), key
        assert all(v.strip() for v in variants.values()), key
        assert _fields(variants["en"]) == _fields(variants["es"]), key


def test_say_fills_in_and_falls_back_to_english() -> None:
    assert "Dr Ana" in say("therapist_welcome", "es", name="Dr Ana")
    assert say("not_valid", "fr") == say("not_valid", "en")
