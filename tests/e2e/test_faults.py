"""Telegram misbehaving: 429 storms, 5xx errors, people who block the bot. Every reply
still arrives exactly once and in order, or (blocked) is not attempted again.

relbot run with long polling, the example dialogues, SQLite.
"""

from __future__ import annotations

from collections.abc import Callable

from fakegram import FakeTelegram

from .harness import BotProcess, Database, Person, wait_until


def at_name_question(person: Person) -> None:
    person.command("start")
    person.expect("Hi! This tour shows", "Which language do you prefer?")
    person.press("English")
    person.expect("What should I call you?")


def sends_to(fake: FakeTelegram, chat_id: int, method: str = "sendMessage") -> list[int | None]:
    """HTTP statuses of every ``method`` call to the chat, in order."""
    return [c.status for c in fake.calls(method) if c.params.get("chat_id") == chat_id]


def test_429_storm_every_reply_arrives_once_in_order(
    fake: FakeTelegram, bot: BotProcess, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    at_name_question(ana)
    # More 429s in a row than python-telegram-bot's rate limiter retries (2): the sender's
    # own retry_after handling takes over.
    fake.fail_next("sendMessage", 429, retry_after=1, count=3, chat_id=ana.id)
    ana.send("Ana")
    ana.send("8")
    ana.send("7.5")
    ana.expect(
        "Thanks, Ana. From 0 to 10",
        "How many hours did you sleep?",
        "Do you feel rested?",
    )
    ana.expect_nothing_more()
    statuses = sends_to(fake, ana.id)
    assert statuses.count(429) == 3
    assert statuses.count(200) == len(ana.messages())  # every send that worked is shown once
    db.wait_all_sent(ana.id)
    # A handled rate limit is one warning in the log, not an error with a traceback.
    assert "sending to Telegram failed (429 Too Many Requests)" in bot.stderr
    assert "Traceback" not in bot.output and " ERROR " not in bot.output


def test_5xx_is_retried_with_backoff_and_delivered_once(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    at_name_question(ana)
    fake.fail_next("sendMessage", 502, count=1, chat_id=ana.id)
    fake.fail_next("sendMessage", 500, count=1, chat_id=ana.id)
    ana.send("Ana")
    ana.expect("Thanks, Ana. From 0 to 10")
    ana.expect_nothing_more()

    attempts = [
        c for c in fake.calls("sendMessage")
        if c.params.get("chat_id") == ana.id and "Thanks, Ana" in c.params["text"]
    ]  # fmt: skip
    assert [c.status for c in attempts] == [502, 500, 200]
    first_wait = attempts[1].started - attempts[0].started
    second_wait = attempts[2].started - attempts[1].started
    assert first_wait > 0.8 and second_wait > 1.3 * first_wait  # backing off, not hammering
    assert len([t for t in ana.texts() if "Thanks, Ana" in t]) == 1
    (thanks,) = [m for m in ana.messages() if "Thanks, Ana" in (m.text or "")]
    attempts_in_db = wait_until(  # a sent row keeps no text: find it by Telegram's id
        lambda: db.query(
            "SELECT attempts, status FROM outbox"
            " WHERE user_id = ? AND message_id = ? AND status = 'sent'",
            ana.id,
            thanks.message_id,
        ),
        what="the row marked sent",
    )
    assert attempts_in_db == [(2, "sent")]


def test_blocked_user_is_marked_unreachable_and_not_retried_then_comes_back(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    at_name_question(ana)
    fake.block(ana.id)  # she blocks the bot just after answering
    sends_before = len(sends_to(fake, ana.id))
    ana.send("Ana")

    wait_until(lambda: (db.user(ana.id) or {}).get("unreachable"), what="unreachable flag")
    wait_until(lambda: all(s != "pending" for _, s in db.outbox(ana.id)), what="no pending rows")
    assert sends_to(fake, ana.id)[sends_before:] == [403]  # one attempt, no retry
    assert db.outbox(ana.id)[-1] == ("sendMessage", "dead")
    assert len(ana.messages()) == 3

    # She unblocks (Telegram sends my_chat_member "member") and asks where she was: her
    # answer was applied, only the reply to it was lost while she blocked the bot.
    fake.member_status(ana.id, "member")
    wait_until(lambda: not (db.user(ana.id) or {}).get("unreachable"), what="reachable again")
    ana.send("help")
    ana.expect("This is a tour; any answer is fine.", "Thanks, Ana. From 0 to 10")
    assert db.user(ana.id)["unreachable"] is False  # type: ignore[index]


def test_member_status_kicked_then_member(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    ana.command("start")
    ana.expect("Hi! This tour shows", "Which language do you prefer?")
    calls_before = len(fake.calls())

    fake.member_status(ana.id, "kicked")
    wait_until(lambda: (db.user(ana.id) or {}).get("unreachable"), what="unreachable flag")
    assert [
        c.method for c in fake.calls()[calls_before:]
        if c.params.get("chat_id") == ana.id
    ] == []  # fmt: skip

    fake.member_status(ana.id, "member")
    wait_until(lambda: not (db.user(ana.id) or {}).get("unreachable"), what="reachable again")
    ana.press("English")
    ana.expect("What should I call you?")
