"""What the crisis screen flags, as a person would notice it: the messages the old screen
missed and flagged wrongly, each context modifier, which category wins, and that a flag
never carries what was written."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.core.crisis import CATEGORIES
from bot.safety import Flag, Screen
from bot.safety.evaluate import read_corpus

from .helpers import CORPUS, category, shipped, shipped_texts


@pytest.mark.parametrize(("text", "language", "expected"), [
    # what the old regular expressions missed
    ("I was raped last weekend", "en", "sexual_violence"),
    ("me quiero matar", "es", "suicide_self_harm"),
    ("honestly i just wanna die", "en", "suicide_self_harm"),
    ("I took all my pills about an hour ago", "en", "suicide_self_harm"),
    ("my best friend says she's going to kill herself tonight", "en", "someone_else"),
    ("he said if I leave he'll find me and kill me", "en", "domestic_violence"),
    ("mi novio me pego", "es", "domestic_violence"),
    ("my mom's boyfriend comes into my room at night", "en", "child_abuse"),
])
def test_what_the_old_screen_missed_is_flagged_as_the_right_category(
        text: str, language: str, expected: str) -> None:
    assert category(text, language) == expected


@pytest.mark.parametrize(("text", "language"), [
    # what the old regular expressions flagged
    ("I'd never kill myself, I just need a break", "en"),
    ("he hit me up last night", "en"),
    ("me pegó un susto", "es"),
    ("a talk on suicide prevention", "en"),
])
def test_what_the_old_screen_flagged_wrongly_is_left_alone(text: str, language: str) -> None:
    assert shipped().check(text, language) is None


@pytest.mark.parametrize(("text", "language", "expected"), [
    # negation, and where it stops
    ("I would never hurt myself", "en", None),
    ("i'm not suicidal", "en", None),
    ("no me quiero matar", "es", None),
    ("I'd never hurt myself but lately I think about dying", "en", "suicide_self_harm"),
    ("nunca me haría daño, pero últimamente quiero morirme", "es", "suicide_self_harm"),
    ("i'm not ok, i want to die", "en", "suicide_self_harm"),  # "not ok" is not negation
    # media and professional distance
    ("my essay on domestic violence is due friday", "en", None),
    ("we watched a movie about a girl who wants to kill herself", "en", None),
    ("una serie sobre la violencia en la pareja", "es", None),
    ("soy enfermera y hoy tuvimos una capacitación sobre lesiones por estrangulamiento",
     "es", None),
    ("we watched a documentary about suicide and now i want to die", "en",
     "suicide_self_harm"),
    # hypothetical
    ("hypothetically, if someone wanted to kill themselves, what would they do", "en", None),
    ("in my novel the character cuts herself", "en", None),
    # past and resolved: only with an explicit sign that it is over
    ("I tried to kill myself years ago but I'm in a good place now", "en", None),
    ("intenté matarme a los 20, hoy tengo 45 y estoy bien", "es", None),
    ("I tried to kill myself years ago and lately the thoughts are back", "en",
     "suicide_self_harm"),
    ("I was raped last weekend", "en", "sexual_violence"),
    # idioms
    ("this job is killing me", "en", None),
    ("you're killing it!", "en", None),
    ("dying to see you", "en", None),
    ("I could kill for a coffee", "en", None),
    ("I'm dead 😂", "en", None),
    ("me muero de risa", "es", None),
    ("se me pegó la canción", "es", None),
    ("me mata la espera", "es", None),
    ("a matar, que mañana es el examen", "es", None),
    # someone else in danger is its own category, never dropped
    ("my sister's husband hits her", "en", "someone_else"),
    ("he hits me", "en", "domestic_violence"),
    ("el marido de mi hermana le pega", "es", "someone_else"),
    ("mi amiga se tomó un frasco de pastillas", "es", "someone_else"),
])
def test_context_modifiers(text: str, language: str, expected: str | None) -> None:
    assert category(text, language) == expected


@pytest.mark.parametrize(("text", "expected", "also"), [
    # child abuse wins over domestic violence
    ("i'm 14 and my stepdad hits me", "child_abuse", ()),
    # an attempt is never hidden behind another category
    ("he hit me again so i took all my pills", "suicide_self_harm", ("domestic_violence",)),
    # sexual violence by a partner: sexual violence, with domestic violence kept in `also`
    ("my husband forced me to have sex and then he hit me", "sexual_violence",
     ("domestic_violence",)),
    # the writer's own danger before someone else's
    ("i want to die and my friend wants to die too", "suicide_self_harm", ("someone_else",)),
])
def test_precedence(text: str, expected: str, also: tuple[str, ...]) -> None:
    flag = shipped().check(text, "en")
    assert flag is not None and flag.category == expected
    assert set(also) <= set(flag.also)


def test_every_flag_on_the_corpus_names_a_known_category_subtype_and_rule() -> None:
    for language in ("en", "es"):
        items, _ = read_corpus((CORPUS / f"{language}.yaml").read_text(encoding="utf-8"),
                               language, language)
        for item in items:
            flag = shipped().check(item.text, language)
            if flag is None:
                continue
            assert flag.category in CATEGORIES
            assert set(flag.also) <= set(CATEGORIES) and flag.category not in flag.also
            assert flag.subtype
            assert flag.rule.startswith(("en:", "es:"))


def test_english_is_the_fallback_for_other_languages() -> None:
    assert category("I want to kill myself", "es") == "suicide_self_harm"
    assert category("I want to kill myself", "fr") == "suicide_self_harm"
    # ...but not where the person's own rules explained a match away
    assert shipped().check("soy voluntaria en una línea de prevención del suicidio",
                           "es") is None


def test_a_flag_never_holds_what_was_written() -> None:
    flag = shipped().check("Zyxwvut says he will kill me", "en")
    assert flag == Flag("domestic_violence", "threat", "en:threat")
    assert "Zyxwvut" not in repr(flag) and "kill" not in repr(flag)


def test_loading_broken_rules_logs_counts_never_rule_text(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    for name, text in shipped_texts().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "en.yaml").write_text(
        "rules:\n  suicide_self_harm:\n    - id: x\n      subtype: y\n"
        "      match: ['{nowhere} Zyxwvut']\n", encoding="utf-8")
    with caplog.at_level(logging.DEBUG):
        screen = Screen.load(tmp_path)
    assert any(d.code == "S007" for d in screen.diagnostics)
    assert "crisis screen rules" in caplog.text and "Zyxwvut" not in caplog.text
    assert category("quiero morirme", "es") == "suicide_self_harm"


def test_the_bot_quick_screen_flags_exactly_as_the_fully_checked_one() -> None:
    """The bot loads lazily (regexes compiled when first needed): same flags."""
    quick = Screen.load()
    for language in ("en", "es"):
        items, _ = read_corpus((CORPUS / f"{language}.yaml").read_text(encoding="utf-8"),
                               language, language)
        for item in items:
            assert quick.check(item.text, language) == shipped().check(item.text, language)


def test_the_screen_imports_no_telegram_or_database_module() -> None:
    """Pure like the core: every adapter (Telegram, terminal, transcripts, the browser
    preview) can screen without pulling in Telegram or a database driver."""
    import subprocess
    import sys

    code = ("import sys, bot.safety, bot.safety.evaluate\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('telegram', 'asyncpg', 'sqlite3', '_sqlite3', 'httpx') or m.startswith('bot.tg') "
            "or m.startswith('bot.storage'))\n"
            "print(bad)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"
