"""The step, continued: stale presses, timeouts, sub-dialogues, ends, variables, language."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.compile import CompiledBundle
from bot.core.types import (
    Ended,
    LanguageSet,
    Pressed,
    RecordSaved,
    Session,
    SettingChanged,
    Stale,
    TimedOut,
)

from .helpers import MIN_GLOBAL, Chat, at_energy, at_path, compile_folder, write_folder

# --- stale and forged presses ------------------------------------------------------


def test_a_press_on_an_earlier_keyboard_changes_nothing(chat: Chat) -> None:
    chat.start("tour")
    old = chat.session.step
    chat.press("English")
    before = chat.session
    out = chat.send(Pressed(old, "es"))
    assert out == (Stale("That button is from an earlier step."),)
    assert chat.session is before


@pytest.mark.parametrize(
    "press", [Pressed(1, "nope"), Pressed(1, "walk"), Pressed(-1, "en"), Pressed(10**15, "en")]
)
def test_forged_presses_change_nothing(chat: Chat, press: Pressed) -> None:
    chat.start("tour")
    before = chat.session
    assert [type(o) for o in chat.send(press)] == [Stale]
    assert chat.session is before


def test_a_press_while_a_question_waits_for_text_is_stale(chat: Chat) -> None:
    at_energy(chat)
    before = chat.session
    chat.send(Pressed(chat.session.step, "en"))
    assert chat.session is before


# --- timeouts, sub-dialogues, ends -------------------------------------------------


def test_a_timeout_follows_the_states_timeout(chat: Chat) -> None:
    at_path(chat)
    out = chat.send(TimedOut())
    assert ("tour", "pick_path", "timeout", "summary") in chat.taken
    assert any(isinstance(o, RecordSaved) and o.kind == "tour_result" for o in out)
    assert chat.where == [("tour", "summary")]


def test_a_timeout_without_one_or_while_idle_changes_nothing(chat: Chat) -> None:
    at_energy(chat)
    before = chat.session
    assert chat.send(TimedOut()) == () and chat.session is before
    chat.session = Session(vars={"language": "en"})
    assert chat.send(TimedOut()) == () and chat.session.stack == ()


def test_a_called_module_returns_to_its_return_to_state(chat: Chat) -> None:
    at_path(chat, energy="2", hours="4")
    chat.press("A pause first")
    assert chat.where == [("tour", "take_pause"), ("pause", "breathe")]
    chat.press("Done")
    assert chat.texts == [
        "Welcome back.",
        "You picked a pause.",
        "Go gently today, Ana.",
        "That's the tour. Again or finish?",
    ]
    assert ("tour", "take_pause", "return", "after_pause") in chat.taken
    assert chat.session.vars["steps"] == 1


@pytest.mark.parametrize(
    ("energy", "rested", "said"),
    [
        ("8", "yes", "Plenty of energy, Ana."),
        ("8", "no", "A steady day, Ana."),
        ("1", "no", "Go gently today, Ana."),
    ],
)
def test_a_branch_picks_the_first_condition_that_holds(
    chat: Chat, energy: str, rested: str, said: str
) -> None:
    at_path(chat, energy=energy, rested=rested)
    chat.press("A walk")
    assert said in chat.texts


def test_end_with_next_starts_the_next_module(chat: Chat) -> None:
    at_path(chat)
    chat.press("A walk")
    out = chat.press("Again")
    assert Ended("tour") in out and chat.where == [("tour", "hello")]
    assert chat.texts[-1] == "Which language do you prefer?"


def test_module_variables_are_forgotten_at_the_end_but_kept_ones_stay(
    examples: CompiledBundle,
) -> None:
    chat = Chat(examples, store_answers=True)
    at_path(chat)
    chat.press("A walk")
    out = chat.press("Finish")
    assert chat.texts == ["Bye for now, friend."] and out[-1] == Ended("tour")
    assert chat.session.stack == ()
    assert dict(chat.session.vars) == {
        "language": "en",
        "store_answers": True,
        "nickname": "friend",
    }
    chat.start("tour")
    assert chat.session.vars["nickname"] == "friend"


def test_without_consent_kept_text_is_forgotten_when_its_module_ends(chat: Chat) -> None:
    at_path(chat)
    chat.press("A walk")
    out = chat.press("Finish")
    assert chat.texts == ["Bye for now, friend."]  # the goodbye still uses it ...
    assert out[-1] == Ended("tour")
    assert dict(chat.session.vars) == {"language": "en"}  # ... and then it is gone


def test_text_while_idle_says_so_and_opens_the_menu(chat: Chat) -> None:
    chat.type("hello?")
    assert chat.texts[:1] == ["Let's start the tour."] and chat.where == [("tour", "hello")]


def test_an_unknown_module_opens_the_menu(chat: Chat) -> None:
    chat.start("nosuch")
    assert chat.where == [("tour", "hello")]


# --- language ----------------------------------------------------------------------


def test_switching_language_re_asks_in_the_new_language(chat: Chat) -> None:
    at_energy(chat)
    out = chat.send(LanguageSet("es"))
    assert SettingChanged("language", "es") in out
    assert chat.texts == ["Gracias, Ana. Del 0 al 10, ¿cuánta energía tienes?"]
    chat.type("ayuda")
    assert chat.texts[0] == "Es un recorrido; cualquier respuesta vale."


def test_an_unsupported_language_changes_nothing(chat: Chat) -> None:
    at_energy(chat)
    before = chat.session
    assert chat.send(LanguageSet("fr")) == () and chat.session is before


def test_sos_while_idle_is_never_held_back_by_required_consent(tmp_path: Path) -> None:
    settings = "menu: m\nconsent: [adult]\nrequires: [adult]\nintents:\n  sos: {call: pause}\n"
    pause = (
        "dialogue: pause\ntitle: Pause\nstart: a\nstates:\n  a:\n    say: Breathe.\n"
        "    choices:\n      - {id: done, label: Done, goto: b}\n  b:\n    end: true\n"
    )
    folder = write_folder(
        tmp_path, {"_global.yaml": MIN_GLOBAL.replace("menu: m\n", settings), "pause.yaml": pause}
    )
    chat = Chat(compile_folder(folder))  # has not confirmed `adult`
    chat.start("pause")
    assert chat.where == [("m", "a")]  # a top-level module waits for the consent ...
    chat.session = Session(vars={"language": "en"})
    chat.intent("sos")
    assert chat.where == [("pause", "a")] and chat.texts == ["Breathe."]  # ... sos never does
