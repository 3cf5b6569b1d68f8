"""The programme as a person meets it (issue 10): the shipped modules played through `step`.

What is checked is what a person would notice: words they practise in a rehearsal
round are their answer, not a command; the end of a rehearsal describes what went well
in words, with no counts; the rehearsal plays the person a boundary script names; no
tap brings more than four messages (W305, on a small folder and on the shipped one).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from bot.core.compile import CompiledBundle
from bot.core.types import Message

from .helpers import SHIPPED, Chat, compile_folder, diagnose

SCRIPT = {
    "en": {"dm_describe": "This month our plans were cancelled three times.",
           "dm_express": "I feel let down",
           "dm_assert": "I'm asking you to tell me the day before.",
           "dm_reinforce": "", "dm_mindful": "I hear you, and I'm still asking.", "dm_who": "work"},
    "es": {"dm_describe": "Este mes se han cancelado nuestros planes tres veces.",
           "dm_express": "decepcionada", "dm_assert": "Te pido que me avises el día antes.",
           "dm_reinforce": "", "dm_mindful": "Te entiendo, y aun así te lo pido.",
           "dm_who": "work"},
}
STOP = {"en": "Stop.", "es": "Para."}


@functools.cache
def _shipped() -> CompiledBundle:
    return compile_folder(SHIPPED)


def _messages(chat: Chat) -> list[str]:
    return [o.text for o in chat.out if isinstance(o, Message)]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_rehearsal_plays_the_person_the_script_names_and_takes_stop_as_practice(
        lang: str) -> None:
    chat = Chat(_shipped(), lang, adult=True, store_answers=False, **SCRIPT[lang])
    chat.start("rehearsal")
    chat.press("dm")  # "Use the script I built": no "Who should I play?" after it
    assert chat.where[-1] == ("rehearsal", "style")
    assert not any("?" in m and ("play" in m or "De quién" in m) for m in _messages(chat)[:-1])
    chat.press("pleading")
    first = " ".join(_messages(chat))
    assert "project" in first or "proyecto" in first, first  # a boss's words, not a partner's
    assert "(1/" not in first
    chat.press("own")
    chat.type(STOP[lang])  # the line they practise, not the cancel word
    assert chat.where[-1] == ("rehearsal", "own_feel")
    assert STOP[lang] in " ".join(_messages(chat))
    chat.intent("cancel")  # /cancel still leaves
    assert not chat.where or chat.where[-1][0] != "rehearsal"


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("moves", [("broken", "fog", "brief"), ("explain", "explain", "givein"),
                                   ("broken", "attack", "broken")])
def test_the_end_of_a_rehearsal_says_what_went_well_in_words_without_counts(
        lang: str, moves: tuple[str, str, str]) -> None:
    chat = Chat(_shipped(), lang, adult=True, store_answers=True)
    chat.start("rehearsal")
    chat.type("I'm not coming to Sunday lunch this week.")
    chat.press("partner")
    chat.press("guilt")
    for move in moves:
        chat.press(move)
    end = _messages(chat)
    assert len(end) <= 4, end
    summary = " ".join(end[1:])
    assert "What went well" in summary or "Lo que salió bien" in summary
    assert not re.search(r"\d", summary), summary  # no "broken record 2, fogging 1"
    assert chat.where[-1][1] in ("again", "again_saved")


def test_a_tap_that_brings_more_than_four_messages_is_a_warning(tmp_path: Path) -> None:
    module = ("dialogue: m\ntitle: M\nstart: a\nstates:\n  a:\n    say: Ready?\n    choices:\n"
              "      - {id: go, label: Go, goto: b}\n  b:\n    say: [One., Two., Three.]\n"
              "    goto: c\n  c:\n    say: [Four., Five.]\n    end: true\n")
    found = diagnose(tmp_path, {"m.yaml": module})
    assert [d.code for d in found] == ["W305"]
    assert "5 messages" in found[0].message and "b → c" in found[0].message


def test_the_shipped_modules_bring_at_most_four_messages_a_turn() -> None:
    from bot.cli.folders import load_folder

    _, found = load_folder(SHIPPED)
    assert [str(d) for d in found if d.code == "W305"] == []
