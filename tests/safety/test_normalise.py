"""Normalisation: messages as people type them become the words the rules read.

These use the shipped spelling tables (the abbreviations, emoji and vocabulary come from
the rule files), so they check what the screen really does to a message.
"""

from __future__ import annotations

import pytest

from bot.safety.normalise import MAX_SCREENED, normalise

from .helpers import shipped


def words(text: str, language: str = "en") -> str:
    return normalise(text, shipped().languages[language].spelling).text


@pytest.mark.parametrize(("typed", "seen"), [
    ("I WANT TO DIE", "i want to die"),  # case
    ("i want to dieeeee", "i want to die"),  # stretched letters
    ("killlll myself", "kill myself"),  # stretched, back to the word the rules know
    ("nooooo", "no"),
    ("i was r*ped", "i was raped"),  # censoring, resolved against the rules' words
    ("k1ll myself", "kill myself"),  # leetspeak
    ("su1c1de", "suicide"),
    ("s*icidal", "suicidal"),
    ("$uicide", "suicide"),
    ("i'm 14yo", "i am 14yo"),  # numbers with units are not leetspeak
    ("i took 30 💊", "i took 30 pills"),  # emoji that stand for means
    ("🔪 🪢 🔫", "knife rope gun"),
    ("i’m done", "i am done"),  # curly apostrophe
    ("im done", "i am done"),  # missing apostrophe
    ("dont", "do not"),
    ("i'd never", "i would never"),
    ("kms", "kill myself"),  # abbreviations and slang
    ("kys", "kill yourself"),
    ("ctb", "kill myself"),
    ("i want to unalive myself", "i want to kill myself"),
    ("wanna die", "want to die"),
    ("my sister's husband", "my sister husband"),  # possessives
    ("self-harm", "self harm"),
    ("stop. now, please!", "stop . now , please ."),  # sentence and clause breaks
])
def test_english_spelling(typed: str, seen: str) -> None:
    assert words(typed) == seen


@pytest.mark.parametrize(("typed", "seen"), [
    ("mi novio me pegó", "mi novio me pego"),  # accents: pego = pegó
    ("MI NOVIO ME PEGO", "mi novio me pego"),
    ("me quiero m4tar", "me quiero matar"),  # leetspeak
    ("me v*olaron", "me violaron"),  # censoring
    ("kiero morirme", "quiero morirme"),  # slang
    ("toy harta, pa q sigo", "estoy harta , para que sigo"),
    ("xq sigo viva", "porque sigo viva"),
    ("pq no me dejas", "porque no me dejas"),
    ("tb me quita la plata", "tambien me quita la plata"),
    ("no se nd", "no se nada"),
    ("k haces", "que haces"),
    ("muchisimaaas ganas", "muchisimas ganas"),
    ("mi año", "mi ano"),  # ñ loses its tilde like any accent
])
def test_spanish_spelling(typed: str, seen: str) -> None:
    assert words(typed, "es") == seen


def test_sh_is_only_self_harm_in_context() -> None:
    """"sh" stays "sh" (it is also "shh"); the self-harm rules decide from the words around."""
    assert words("relapsed on sh") == "relapsed on sh"
    assert shipped().check("i relapsed on sh last night", "en") is not None
    assert shipped().check("sh don't tell anyone about the party", "en") is None


def test_only_the_first_part_of_a_huge_message_is_read() -> None:
    text = "hello " * (MAX_SCREENED // 3)
    assert len(words(text).split()) == MAX_SCREENED // len("hello ")


@pytest.mark.parametrize("odd", ["", "   ", "\x00\x01", "😀" * 500, "....!!!???",
                                 "ﬁne ﬁne", "Ｉ ｗａｎｔ ｔｏ ｄｉｅ", "a" * 10_000])
def test_odd_input_never_raises(odd: str) -> None:
    normalise(odd, shipped().languages["en"].spelling)
    shipped().check(odd, "en")
    shipped().check(odd, "es")


def test_fullwidth_letters_are_read_as_letters() -> None:
    assert words("Ｉ ｗａｎｔ ｔｏ ｄｉｅ") == "i want to die"
