"""The step, through the example dialogues: buttons, questions, back and intents.

`dialogues/examples` (tour, pause) uses every feature of the format once, so these tests
read like short conversations: press, type, ask for help, go back.
"""

from __future__ import annotations

import pytest

from bot.core.compile import CompiledBundle
from bot.core.engine import step
from bot.core.types import (
    Chosen,
    Ended,
    IntentInvoked,
    Message,
    Session,
    SettingChanged,
    Started,
    TimedOut,
    Typed,
)

from .helpers import ENERGY, Chat, at_energy, at_path

# --- buttons and typed answers -----------------------------------------------------


def test_start_shows_the_first_question_with_its_buttons(chat: Chat) -> None:
    out = chat.start("tour")
    first, question = out
    assert first == Message("Hi! This tour shows what a dialogue can do.")
    assert question.text == "Which language do you prefer?" and question.columns == 2
    assert [(b.id, b.label) for b in question.buttons] == [("en", "English"), ("es", "Español")]
    assert chat.where == [("tour", "hello")] and chat.session.step == 1


def test_started_without_a_module_opens_the_start_module(chat: Chat) -> None:
    chat.start()
    assert chat.where == [("tour", "hello")]


def test_a_press_shows_the_choice_sets_variables_and_moves_on(chat: Chat) -> None:
    chat.start("tour")
    out = chat.press("Español")
    assert out[:2] == (Chosen("Español"), SettingChanged("language", "es"))
    assert chat.texts == ["¿Cómo quieres que te llame?"]
    assert chat.session.vars["language"] == "es"
    assert chat.taken == [("tour", "hello", "choose:es", "ask_name")]


@pytest.mark.parametrize("typed", ["Español", "español", "ESPANOL", " espanol! ", "2"])
def test_typing_a_label_ignoring_case_accents_punctuation_or_its_number(
    chat: Chat, typed: str
) -> None:
    chat.start("tour")
    chat.type(typed)
    assert chat.where == [("tour", "ask_name")] and chat.session.language == "es"


def test_a_label_in_english_works_in_a_spanish_chat(examples: CompiledBundle) -> None:
    chat = Chat(examples, "es")
    at_path(chat, rested="sí")
    chat.type("a walk")
    assert chat.session.vars["path"] == "un paseo"  # the walk, in the chat's language


@pytest.mark.parametrize("typed", ["3", "French", "", "0"])
def test_text_that_is_no_button_asks_to_choose_and_keeps_the_buttons(
    chat: Chat, typed: str
) -> None:
    chat.start("tour")
    before = chat.session
    chat.type(typed)
    assert chat.texts == [
        "Please tap a button or type its number.",
        "Which language do you prefer?",
    ]
    assert [b.label for b in chat.buttons()] == ["English", "Español"]
    assert chat.session.step == before.step  # the keyboard already shown still works
    chat.press("English")
    assert chat.where == [("tour", "ask_name")]


# --- questions ---------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "value"), [("0", 0), ("10", 10), (" 7 ", 7), ("7.0", 7)])
def test_a_scale_takes_whole_numbers_from_0_to_10(chat: Chat, answer: str, value: int) -> None:
    at_energy(chat).type(answer)
    assert chat.session.vars["energy"] == value
    assert chat.texts == ["How many hours did you sleep?"]


@pytest.mark.parametrize("answer", ["11", "-1", "7.5", "seven", "nan", "inf", "1e9"])
def test_a_scale_answer_out_of_range_gets_the_states_retry_text(chat: Chat, answer: str) -> None:
    at_energy(chat)
    before = chat.session
    chat.type(answer)
    assert chat.texts == ["A whole number from 0 to 10, please."]
    assert chat.session == before


@pytest.mark.parametrize(("answer", "value"), [("7,5", 7.5), ("0", 0), ("24", 24), ("6.25", 6.25)])
def test_a_number_accepts_decimals_with_a_comma_or_a_point(
    chat: Chat, answer: str, value: float
) -> None:
    at_energy(chat).type("5")
    chat.type(answer)
    assert chat.session.vars["hours"] == value


@pytest.mark.parametrize("answer", ["25", "-0.5", "lots", ""])
def test_a_number_out_of_range_gets_the_standard_text_with_the_bounds(
    chat: Chat, answer: str
) -> None:
    at_energy(chat).type("5")
    chat.type(answer)
    assert chat.texts == ["Please send a number from 0 to 24."]
    assert chat.where == [("tour", "ask_hours")]


@pytest.mark.parametrize(
    ("lang", "answer", "value"),
    [
        ("en", "yes", True),
        ("en", "Y", True),
        ("en", "no", False),
        ("es", "Sí", True),
        ("es", "si", True),
        ("es", "NO", False),
    ],
)
def test_yes_no_in_the_persons_language(
    examples: CompiledBundle, lang: str, answer: str, value: bool
) -> None:
    chat = Chat(examples, lang)
    at_path(chat, rested=answer)
    assert chat.session.vars["rested"] is value


def test_yes_no_refuses_anything_else(chat: Chat) -> None:
    at_energy(chat)
    chat.type("5")
    chat.type("8")
    chat.type("maybe")
    assert chat.texts == ["Please answer yes or no."]
    assert chat.where == [("tour", "ask_rested")]


def test_text_answers_are_cleaned_and_bounded(chat: Chat) -> None:
    chat.start("tour")
    chat.press("English")
    chat.type("   ")
    assert chat.texts == ["Please type a few words."]
    chat.type("x" * 41)
    assert chat.texts == ["Please keep it under 40 characters."]
    chat.type("\x00A\u0301na\x1b ")  # control characters dropped, accents composed (NFC)
    assert chat.session.vars["name"] == "Ána"


# --- back (undo) -------------------------------------------------------------------


def test_back_re_asks_the_previous_question_and_restores_its_answer(chat: Chat) -> None:
    at_energy(chat).type("9")
    assert chat.session.vars["energy"] == 9
    chat.intent("back")
    assert chat.texts == [ENERGY]
    assert chat.where == [("tour", "ask_energy")] and chat.session.vars["energy"] == 0


def test_back_undoes_the_scores_a_button_added(chat: Chat) -> None:
    at_path(chat, energy="9", rested="yes")
    chat.press("A walk")
    assert chat.session.vars["steps"] == 2 and chat.session.vars["path"] == "a walk"
    chat.type("back")
    assert chat.where == [("tour", "pick_path")]
    assert chat.session.vars["steps"] == 0 and chat.session.vars["path"] == ""
    assert [b.label for b in chat.buttons()] == ["A walk", "A pause first"]


def test_back_over_the_language_choice_switches_the_language_back(chat: Chat) -> None:
    chat.start("tour")
    chat.press("Español")
    out = chat.intent("back")
    assert SettingChanged("language", "en") in out
    assert chat.texts == ["Which language do you prefer?"]


def test_back_at_the_first_question_says_there_is_none(chat: Chat) -> None:
    chat.start("tour")
    chat.intent("back")
    assert chat.texts == ["There is no earlier question.", "Which language do you prefer?"]


# --- intents -----------------------------------------------------------------------


def test_help_uses_the_state_override_then_re_asks(chat: Chat) -> None:
    chat.start("tour")
    chat.press("English")
    chat.intent("help")
    assert chat.texts == ["Any name or nickname works.", "What should I call you?"]


def test_help_uses_the_module_override_where_the_state_has_none(chat: Chat) -> None:
    at_energy(chat)
    chat.type("help")
    assert chat.texts == ["This is a tour; any answer is fine.", ENERGY]
    assert chat.where == [("tour", "ask_energy")]


def test_cancel_says_so_and_goes_to_the_menu_module(chat: Chat) -> None:
    at_energy(chat)
    out = chat.intent("cancel")
    assert chat.texts[0] == "Stopped. Starting the tour again."
    assert Ended("tour") in out
    assert chat.where == [("tour", "hello")] and chat.session.vars["name"] == ""


def test_sos_calls_a_sub_dialogue_and_returns_to_the_same_question(chat: Chat) -> None:
    at_energy(chat)
    chat.intent("sos")
    assert chat.texts == ["Let's pause for one breath.", "Breathe in slowly, and out slowly."]
    assert chat.where == [("tour", "ask_energy"), ("pause", "breathe")]
    chat.press("Done")
    assert chat.texts == [ENERGY]
    assert chat.where == [("tour", "ask_energy")] and chat.session.vars["name"] == "Ana"


def test_sos_after_the_module_ended_still_opens_the_pause(chat: Chat) -> None:
    chat.session = Session(vars={"language": "en"})
    chat.intent("sos")
    assert chat.where == [("pause", "breathe")]


def test_an_intent_switched_off_re_asks_instead(chat: Chat) -> None:
    at_energy(chat).intent("sos")
    chat.intent("back")  # pause says `back: "off"`
    assert chat.texts == ["Breathe in slowly, and out slowly."]
    assert chat.where[-1] == ("pause", "breathe")
    chat.type("back")  # the word is then just an answer, not the intent
    assert chat.texts[0] == "Please tap a button or type its number."


def test_restart_starts_the_top_module_again_and_forgets_its_answers(chat: Chat) -> None:
    at_energy(chat).type("8")
    out = chat.intent("restart")
    assert Ended("tour") in out and chat.where == [("tour", "hello")]
    assert chat.session.vars["energy"] == 0 and chat.session.vars["name"] == ""


def test_an_unknown_intent_re_asks(chat: Chat) -> None:
    at_energy(chat).intent("dance")
    assert chat.texts == [ENERGY]


def test_step_is_pure(examples: CompiledBundle) -> None:
    session = Session(vars={"language": "en"})
    first = step(examples, session, Started("tour"))
    assert step(examples, session, Started("tour")) == first
    assert session == Session(vars={"language": "en"})
    for event in (Typed("2"), IntentInvoked("help"), TimedOut()):
        assert step(examples, first[0], event) == step(examples, first[0], event)


def test_a_translated_set_value_is_stored_in_the_persons_language(
    examples: CompiledBundle,
) -> None:
    """`set: {path: {en: a walk, es: un paseo}}` keeps the words the person reads."""
    from .helpers import at_path

    for language, words, shown in (("en", "a walk", "You picked a walk."),
                                   ("es", "un paseo", "Elegiste un paseo.")):
        chat = Chat(examples, language=language)
        at_path(chat)
        out = chat.press("walk")
        assert chat.session.vars["path"] == words
        assert any(isinstance(o, Message) and o.text == shown for o in out)
