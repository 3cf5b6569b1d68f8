"""Replies reach the person once, even when Telegram or the database misbehave.

- A 60 s sendMessage outage: the replies wait and arrive after it, once each, in order
  (they used to be dead-lettered after five quick attempts, about 15 s).
- A reply still refused after SEND_RETRY_HOURS is given up: one log line, no text.
- A send that Telegram applied but answered late (after python-telegram-bot's default
  5 s timeout) is not sent again.
- A send that worked but could not be recorded at once (SQLite locked by another
  process, a PostgreSQL backend terminated) is recorded later, never sent again.

The bots run with RELBOT_TIME_SCALE=0.05, so "60 s" of outage takes 3 s of test time and
every retry wait is 20 times shorter; the defaults (hours) are the same code.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import asyncpg
import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .dbfaults import sqlite_locked, terminate_postgres_backends
from .harness import (
    BotProcess,
    Database,
    Person,
    at_name_question,
    running,
    wait_until,
)

SCALE = 0.05


@pytest.fixture
def own_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as server:
        yield server


def sends_of(fake: FakeTelegram, text: str) -> list[int | None]:
    """HTTP statuses of every sendMessage whose text contains ``text``."""
    return [c.status for c in fake.calls("sendMessage") if text in str(c.params.get("text"))]


def test_a_60s_outage_delays_replies_and_loses_none(
    own_fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path_factory.mktemp("outage"),
                     env={"RELBOT_TIME_SCALE": str(SCALE)})
    ana = Person(fake, next_user_id())
    with running(bot):
        at_name_question(ana)
        fake.outage("sendMessage", 60 * SCALE, status=500)
        began = time.monotonic()
        ana.send("Ana")
        ana.send("8")
        ana.expect("Thanks, Ana. From 0 to 10", "How many hours did you sleep?")
        assert time.monotonic() - began >= 60 * SCALE  # not before the outage ended
        ana.expect_nothing_more()
        failed = sends_of(fake, "Thanks, Ana").count(500)
        assert failed > 5  # more attempts than the old limit, which dead-lettered it
        assert sends_of(fake, "Thanks, Ana").count(200) == 1
        db = Database(bot.database_url)
        db.wait_all_sent(ana.id)
    assert bot.stderr.count("sending to Telegram failed (NetworkError)") == 1
    assert bot.stderr.count("sending to Telegram works again") == 1


def test_a_reply_refused_for_longer_than_the_limit_is_given_up_in_one_line(
    own_fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fake = own_fake
    # 0.02 h = 72 s, times the scale: 3.6 s of retrying
    bot = BotProcess(fake, tmp_path_factory.mktemp("dead"),
                     env={"RELBOT_TIME_SCALE": str(SCALE), "SEND_RETRY_HOURS": "0.02"})
    ana = Person(fake, next_user_id())
    with running(bot):
        at_name_question(ana)
        fake.outage("sendMessage", 8.0, status=502)
        ana.send("Quokka Marmalade")
        db = Database(bot.database_url)
        wait_until(lambda: ("sendMessage", "dead") in db.outbox(ana.id), timeout=10,
                   what="the reply given up")
        time.sleep(8.5 - 3.6)
        ana.send("8")  # the conversation goes on after the outage
        ana.expect("How many hours did you sleep?")
    lines = [line for line in bot.stderr.splitlines() if "reply not delivered" in line]
    assert len(lines) == 1, lines
    assert "sendMessage" in lines[0] and "user=" in lines[0]
    assert "Quokka" not in bot.stderr and str(ana.id) not in bot.stderr


def test_a_send_answered_after_the_client_default_timeout_is_not_sent_again(
    own_fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path_factory.mktemp("late"))
    ana = Person(fake, next_user_id())
    with running(bot):
        at_name_question(ana)
        fake.stall("sendMessage", 8.0)  # applied at once, answered after 8 s (PTB waits 5)
        ana.send("Ana")
        ana.expect("Thanks, Ana. From 0 to 10")
        ana.send("8")
        ana.expect("How many hours did you sleep?", timeout=30)
        ana.expect_nothing_more()
    assert len(sends_of(fake, "Thanks, Ana")) == 1
    assert [(s.applied, s.answered) for s in fake.stalls()] == [(True, True)]


def test_a_send_recorded_while_sqlite_is_locked_is_sent_once(
    own_fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path_factory.mktemp("record-sqlite"))
    ana = Person(fake, next_user_id())
    with running(bot):
        at_name_question(ana)
        db = Database(bot.database_url)
        db.wait_all_sent(ana.id)  # only the reply to come can be pending
        fake.stall("sendMessage", 3.0)
        ana.send("Ana")
        fake.wait_for(lambda: any(c.finished is None for c in fake.calls("sendMessage")),
                      what="the send in flight")
        lock = sqlite_locked(bot.database_url)  # another process holds the write lock...
        try:
            ana.expect("Thanks, Ana. From 0 to 10")  # ...while the send works,
            bot.wait_log("recording sends in the database failed")  # but cannot be recorded
            time.sleep(4.0)  # 7 s in all
        finally:
            lock.rollback()
            lock.close()
        bot.wait_log("recording sends in the database works again")
        ana.expect_nothing_more()
        db.wait_all_sent(ana.id)
    assert sends_of(fake, "Thanks, Ana") == [200]  # never sent again


def test_a_send_recorded_after_its_postgres_backend_was_terminated_is_sent_once(
    own_fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory, own_postgres_url: str
) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path_factory.mktemp("record-pg"), database_url=own_postgres_url)
    ana = Person(fake, next_user_id())

    async def terminate_while_recording() -> None:
        """While Telegram holds the answer, lock the reply's outbox row, so that recording
        the send waits on it; terminate the bot's backend while it waits; then let go."""
        conn = await asyncpg.connect(own_postgres_url)
        try:
            fake.stall("sendMessage", 3.0)
            ana.send("Ana")
            await fake.wait_for_async(
                lambda: any(c.finished is None for c in fake.calls("sendMessage")),
                what="the send in flight")
            async with conn.transaction():
                held = await conn.fetch("SELECT id FROM outbox WHERE user_id = $1 AND status ="
                                        " 'pending' FOR UPDATE", ana.id)
                rows = await conn.fetch("SELECT id, method, status, params FROM outbox"
                                        " WHERE user_id = $1", ana.id)
                flying = [c.params for c in fake.calls("sendMessage") if c.finished is None]
                assert held, f"not pending: {[tuple(r) for r in rows]}; in flight: {flying}"
                assert bot.proc is not None
                killed = await terminate_postgres_backends(conn, bot.proc.pid,
                                                           waiting_on_a_lock=True)
                assert killed >= 1
                await asyncio.to_thread(bot.wait_log, "recording sends in the database failed")
        finally:
            await conn.close()

    with running(bot):
        at_name_question(ana)
        db = Database(bot.database_url)
        db.wait_all_sent(ana.id)  # only the reply to come can be pending
        asyncio.run(terminate_while_recording())
        ana.expect("Thanks, Ana. From 0 to 10")
        bot.wait_log("recording sends in the database works again")
        ana.send("8")
        ana.expect("How many hours did you sleep?")
        ana.expect_nothing_more()
        db.wait_all_sent(ana.id)
    assert sends_of(fake, "Thanks, Ana") == [200]  # never sent again
