"""Double taps and stale buttons: a press changes something at most once.

Every button that changes something carries the session's step, the /language keyboard
too, so a second tap (or thirty) is answered "from an earlier step" on the button and
changes nothing; a stale or forged press is answered only on the button, never with a
message in the chat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .harness import PROGRAMME, STALE, BotProcess, Database, Person, running

STALE_ES = "Ese botón es de un paso anterior."  # after a switch to Spanish, in Spanish


def at_hello(person: Person) -> int:
    person.command("start")
    _, question = person.expect("Hi! This tour shows", "Which language do you prefer?")
    return question.message_id


def language_prompt(person: Person) -> int:
    person.command("language")
    (prompt,) = person.expect("Which language would you like?")
    assert prompt.button_texts == ["English", "Español"]
    return prompt.message_id


def test_two_taps_on_the_language_keyboard_apply_the_first_only(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    at_hello(ana)
    prompt = language_prompt(ana)
    data = dict(zip(ana.last().button_texts, ana.last().callback_data, strict=True))
    first = ana.press_raw(prompt, data["Español"])
    second = ana.press_raw(prompt, data["English"])  # before any reply: a quick second tap
    ana.expect("¿Qué idioma prefieres?")
    assert ana.answer_to(first).text is None
    assert ana.answer_to(second).text == STALE_ES
    ana.expect_chosen(prompt, "Español")
    ana.expect_nothing_more()
    assert (db.user(ana.id) or {})["language"] == "es"


def test_thirty_taps_on_one_button_apply_once(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    question = at_hello(ana)
    data = ana.last().callback_data[0]  # English
    presses = [ana.press_raw(question, data) for _ in range(30)]
    ana.expect("What should I call you?")
    answers = [ana.answer_to(update).text for update in presses]
    assert answers == [None] + [STALE] * 29
    ana.expect_nothing_more()
    edits = [c for c in fake.calls("editMessageText") if c.params["chat_id"] == ana.id]
    assert len(edits) == 1


def test_the_same_for_the_language_keyboard_thirty_times(
    fake: FakeTelegram, person: Callable[..., Person]
) -> None:
    ana = person()
    at_hello(ana)
    prompt = language_prompt(ana)
    data = ana.last().callback_data[1]  # Español
    presses = [ana.press_raw(prompt, data) for _ in range(30)]
    ana.expect("¿Qué idioma prefieres?")
    assert [ana.answer_to(update).text for update in presses] == [None] + [STALE_ES] * 29
    ana.expect_nothing_more()


def test_a_language_keyboard_from_before_the_person_moved_on_is_stale(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    question = at_hello(ana)
    english = ana.last().callback_data[0]
    prompt = language_prompt(ana)
    old = ana.last().callback_data[1]  # Español, on a keyboard about to go stale
    ana.press_raw(question, english)  # answers the tour's own question instead
    ana.expect("What should I call you?")
    assert ana.answer_to(ana.press_raw(prompt, old)).text == STALE
    ana.expect_nothing_more()
    assert (db.user(ana.id) or {})["language"] == "en"
    assert ana.answer_to(ana.press_raw(prompt, "lang:es")).text == STALE  # an old-style key


@pytest.fixture(scope="module")
def programme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as fake, running(
        BotProcess(fake, tmp_path_factory.mktemp("taps"), dialogues=PROGRAMME)
    ):
        yield fake


def test_stale_and_forged_presses_in_the_programme_only_answer_the_button(
    programme: FakeTelegram,
) -> None:
    ana = Person(programme, next_user_id())
    ana.command("start")
    (language,) = ana.expect("Hi, I'm relbot. Which language would you like?")
    old = dict(zip(language.button_texts, language.callback_data, strict=True))
    ana.press("English")
    _, intro = ana.expect("I'm an automated bot", "I'm not therapy")
    step = intro.callback_data[0].split(":")[0]
    for data in (old["Español"], old["English"], f"{step}:nope", "junk", f"{step}:"):
        assert ana.answer_to(ana.press_raw(language.message_id, data)).text == STALE
        assert ana.answer_to(ana.press_raw(intro.message_id, data)).text == STALE
    ana.expect_nothing_more()  # no "Please tap one of the buttons" in the chat
    ana.press("Okay, go on")
    ana.expect("Are you 18 or older?")
