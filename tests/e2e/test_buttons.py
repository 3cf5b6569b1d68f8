"""Button presses as a person makes them: answered at once, the question marked with the
choice, stale and forged buttons harmless, a double tap applied once.

The example dialogues (``tour``), long polling, SQLite.
"""

from __future__ import annotations

from collections.abc import Callable

from fakegram import FakeTelegram

from .harness import CHOSEN, STALE, Database, Person


def at_hello(person: Person) -> int:
    """/start: the two greeting messages; returns the question's message id."""
    person.command("start")
    greeting, question = person.expect("Hi! This tour shows", "Which language do you prefer?")
    assert greeting.buttons == []
    assert question.button_texts == ["English", "Español"]
    return question.message_id


def test_press_is_answered_at_once_and_marks_the_question(
    fake: FakeTelegram, person: Callable[..., Person]
) -> None:
    ana = person()
    question = at_hello(ana)
    pressed = ana.press("English")
    ana.expect("What should I call you?")

    answer = ana.answer_to(pressed)
    assert answer.text is None and not answer.show_alert
    edited = ana.expect_chosen(question, "English")
    assert edited.text == f"Which language do you prefer?\n\n{CHOSEN} English"
    assert [h.buttons != [] for h in edited.history] == [True]  # one edit: keyboard removed

    # The spinner stops before anything else happens in the chat: the answer comes first.
    query_id = fake.update(pressed)["callback_query"]["id"]
    calls = fake.calls()
    answered = next(
        i
        for i, c in enumerate(calls)
        if c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query_id
    )
    in_chat = [
        c.method
        for c in calls
        if c.params.get("chat_id") == ana.id
        and c.method not in ("answerCallbackQuery", "sendChatAction")
    ]
    assert in_chat == ["sendMessage", "sendMessage", "editMessageText", "sendMessage"]
    edited_at = next(
        i
        for i, c in enumerate(calls)
        if c.method == "editMessageText" and c.params["chat_id"] == ana.id
    )
    assert answered < edited_at


def test_stale_button_changes_nothing(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    question = at_hello(ana)
    old_data = dict(zip(ana.last().button_texts, ana.last().callback_data, strict=True))
    ana.press("English")
    ana.expect("What should I call you?")
    session = db.user(ana.id)

    stale = ana.press_raw(question, old_data["Español"])
    assert ana.answer_to(stale).text == STALE
    ana.expect_nothing_more()
    assert db.user(ana.id) == session  # same step, same language, same everything

    ana.send("Ana")
    ana.expect("Thanks, Ana. From 0 to 10")


def test_forged_callback_data_is_answered_and_ignored(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    question = at_hello(ana)
    step = ana.last().callback_data[0].split(":")[0]
    session = db.user(ana.id)

    forged = [
        "junk",
        "x" * 200,
        f"{step}:" + "e" * 80,
        f"{step}:nope",  # the current step, a choice that does not exist
        f"{step}:",
        ":en",
        "-1:en",
        "99999999999999999999:en",
        "lang:klingon",
        "privacy:maybe",
    ]
    presses = [ana.press_raw(question, data) for data in forged]
    answers = [ana.answer_to(update).text for update in presses]
    assert answers == [STALE] * len(forged), answers
    ana.expect_nothing_more()
    after = db.user(ana.id)
    assert after is not None and session is not None
    assert after["session"] == session["session"]

    # The real buttons still work afterwards.
    ana.press("English")
    ana.expect("What should I call you?")
    ana.expect_chosen(question, "English")


def test_double_tap_applies_one_step(fake: FakeTelegram, person: Callable[..., Person]) -> None:
    ana = person()
    question = at_hello(ana)
    data = ana.last().callback_data[0]
    first = ana.press_raw(question, data)
    second = ana.press_raw(question, data)  # the same button again, before any reply

    ana.expect("What should I call you?")
    assert ana.answer_to(first).text is None
    assert ana.answer_to(second).text == STALE
    ana.expect_nothing_more()
    ana.send("Ana")
    ana.expect("Thanks, Ana.")
