"""What /healthz decides, on a real store and a real sender: 503 while starting, when the
database fails a query, when the sender is not running or falls behind; 200 otherwise.
(tests/e2e/test_health.py asks a running bot over HTTP.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fakegram import FakeTelegram
from telegram import Bot

from bot.config import Settings
from bot.storage import SQLiteStore, Store
from bot.tg.health import check
from bot.tg.sender import RetryPolicy, Sender


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Source:
    """What bot.tg.app.Runtime offers /healthz."""

    settings: Settings
    store: Store | None = None
    sender: Sender | None = None
    clock: Clock | None = None  # the store's, for the tests


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        server.fail_next("sendMessage", 500, count=10**6)  # nothing gets through
        yield server


@pytest.fixture
async def source(fake: FakeTelegram) -> AsyncIterator[Source]:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": fake.token, "HEALTH_MAX_BACKLOG": "3",
                                  "HEALTH_MAX_AGE": "60"})  # fmt: skip
    clock = Clock()
    async with Bot(fake.token, base_url=fake.base_url) as bot, SQLiteStore(
        ":memory:", clock=clock
    ) as store:
        sender = Sender(bot, store, policy=RetryPolicy(base=3600, cap=3600))  # rows stay pending
        source = Source(settings, store, sender, clock)
        yield source
        await sender.close()


async def enqueue(store: Store, count: int) -> None:
    async with store.transaction(1) as tx:
        for n in range(count):
            await tx.enqueue(1, "sendMessage", {"chat_id": 1, "text": f"reply {n}"})


async def test_starting(fake: FakeTelegram) -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": fake.token})
    assert await check(Source(settings)) == (503, {"ok": False, "reason": "starting"})


async def test_healthy_then_the_sender_stops(source: Source) -> None:
    assert source.sender is not None
    await source.sender.start()
    assert await check(source) == (200, {"ok": True, "pending": 0, "oldest_pending_seconds": 0.0})
    await source.sender.close()
    status, body = await check(source)
    assert (status, body["reason"]) == (503, "the sender is not running")


async def test_a_sender_that_never_started_is_not_alive(source: Source) -> None:
    assert (await check(source))[1]["reason"] == "the sender is not running"


async def test_backlog_over_the_limit(source: Source) -> None:
    assert source.store is not None and source.sender is not None
    await source.sender.start()
    await enqueue(source.store, 3)
    assert (await check(source))[0] == 200  # at the limit is fine
    await enqueue(source.store, 1)
    status, body = await check(source)
    assert (status, body) == (503, {"ok": False, "pending": 4, "oldest_pending_seconds": 0.0,
                                    "reason": "4 replies unsent (HEALTH_MAX_BACKLOG is 3)"})


async def test_oldest_reply_waiting_too_long(source: Source) -> None:
    assert source.store is not None and source.sender is not None
    await source.sender.start()
    await enqueue(source.store, 1)
    assert source.clock is not None
    source.clock.now += timedelta(seconds=60)
    assert (await check(source))[0] == 200
    source.clock.now += timedelta(seconds=1.5)
    status, body = await check(source)
    assert status == 503 and body["oldest_pending_seconds"] == 61.5
    assert body["reason"] == "the oldest unsent reply has waited 62 s (HEALTH_MAX_AGE is 60 s)"


async def test_a_database_that_fails_the_query(source: Source) -> None:
    assert source.store is not None and source.sender is not None
    await source.sender.start()
    assert isinstance(source.store, SQLiteStore)
    await source.store.run_sync(lambda conn: conn.execute("DROP TABLE outbox"))
    status, body = await check(source)
    assert (status, body) == (503, {"ok": False, "reason": "the database did not answer a query",
                                    "error": "OperationalError"})
