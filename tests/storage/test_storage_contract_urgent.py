"""The storage contract, part 3: safety replies first (urgent rows, superseded ones).

A turn that opens a safety module supersedes the person's queued replies and enqueues
its own as urgent, in one transaction (see bot.conversation). Same backends and
fixtures as test_storage_contract.py.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from bot.storage import (
    SUPERSEDED,
    OutboxStatus,
    PostgresStore,
    SQLiteStore,
    Store,
    UserRecord,
)
from bot.storage.migrations import (
    POSTGRES_MIGRATIONS,
    POSTGRES_SCHEMA_VERSION_TABLE,
    SQLITE_MIGRATIONS,
    SQLITE_SCHEMA_VERSION_TABLE,
)

from .harness import Backend, Boom, FakeClock, texts


async def _queue(store: Store, user: int, *words: str) -> None:
    async with store.transaction(user) as tx:
        for text in words:
            await tx.enqueue(user, "sendMessage", {"chat_id": user, "text": text})


async def _safety_reply(store: Store, user: int, *words: str) -> int:
    async with store.transaction(user) as tx:
        superseded = await tx.supersede_queued(user)
        for text in words:
            await tx.enqueue_urgent(user, "sendMessage", {"chat_id": user, "text": text})
    return superseded


async def test_a_safety_reply_supersedes_the_queued_ones_of_its_chat_only(
    store: Store, backend: Backend
) -> None:
    await _queue(store, 1, "q1", "q2", "q3")
    await _queue(store, 2, "other")
    [first, *_] = await store.pending(chat_id=1)
    assert first.urgent is False
    assert await _safety_reply(store, 1, "Are you safe right now?") == 3

    [urgent] = await store.pending(chat_id=1)
    assert urgent.urgent is True and urgent.params["text"] == "Are you safe right now?"
    assert texts(await store.pending(chat_id=2)) == ["other"]
    rows = await backend.outbox_rows(store, 1)
    assert [(r["status"], r["last_error"], bool(r["urgent"])) for r in rows] == [
        ("dead", SUPERSEDED, False), ("dead", SUPERSEDED, False), ("dead", SUPERSEDED, False),
        ("pending", None, True),
    ]
    assert all(r["finished_at"] is not None for r in rows[:3])
    # The first one's call was already in flight when the safety turn came: Telegram has
    # it, so its send is recorded (like every sent row of a person the store does not
    # know, here, it is removed, text and all), and only once.
    assert await store.mark_sent(first.id, 1) is True
    assert first.id not in [r["id"] for r in await backend.outbox_rows(store, 1)]
    assert await store.mark_sent(first.id, 1) is False


async def test_a_reply_superseded_while_its_call_was_in_flight_is_recorded_as_sent(
    store: Store, backend: Backend
) -> None:
    async with store.transaction(3) as tx:
        await tx.save_user(UserRecord(3, 3))
    await _queue(store, 3, "Pick a path")
    [in_flight] = await store.pending(chat_id=3)  # the sender is making this call ...
    assert await _safety_reply(store, 3, "Are you safe?") == 1  # ... when a safety turn comes
    assert await store.mark_sent(in_flight.id, 41) is True  # Telegram answered: it has it
    rows = await backend.outbox_rows(store, 3)
    assert [(r["status"], r["message_id"], r["params"] == "{}") for r in rows] == [
        ("sent", 41, True), ("pending", None, False)]  # sent, and no text kept
    assert await store.mark_sent(in_flight.id, 41) is False  # once


async def test_replies_after_a_safety_reply_queue_behind_it(store: Store) -> None:
    await _safety_reply(store, 1, "s1", "s2")
    await _queue(store, 1, "later")
    assert [(i.params["text"], i.urgent) for i in await store.pending(chat_id=1)] == [
        ("s1", True), ("s2", True), ("later", False)]
    assert await _safety_reply(store, 1, "s3") == 1  # urgent rows are never superseded
    assert texts(await store.pending(chat_id=1)) == ["s1", "s2", "s3"]


async def test_a_safety_reply_is_not_held_behind_a_retry(store: Store, clock: FakeClock) -> None:
    await _queue(store, 1, "stuck", "behind")
    stuck, _ = await store.pending(chat_id=1)
    status = await store.mark_failed(stuck.id, "NetworkError", clock.now + timedelta(minutes=1))
    assert status is OutboxStatus.PENDING and await store.pending(chat_id=1) == []
    await _safety_reply(store, 1, "help")
    assert texts(await store.pending(chat_id=1)) == ["help"]


async def test_a_rolled_back_safety_reply_supersedes_nothing(store: Store) -> None:
    await _queue(store, 1, "q1")
    with pytest.raises(Boom):
        async with store.transaction(1) as tx:
            await tx.supersede_queued(1)
            await tx.enqueue_urgent(1, "sendMessage", {"chat_id": 1, "text": "help"})
            raise Boom
    assert [(i.params["text"], i.urgent) for i in await store.pending()] == [("q1", False)]


async def test_a_version_1_database_gains_the_urgent_flag(persistent_backend: Backend) -> None:
    """An outbox row committed before the upgrade is kept, pending and not urgent."""
    store = persistent_backend.make()
    insert = ("INSERT INTO outbox (user_id, chat_id, method, params, not_before, created_at)"
              " VALUES (7, 7, 'sendMessage', '{\"chat_id\": 7, \"text\": \"old\"}', NOW, NOW)")
    if isinstance(store, SQLiteStore):
        Path(store.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(store.path)
        try:
            conn.execute(SQLITE_SCHEMA_VERSION_TABLE)
            for statement in SQLITE_MIGRATIONS[0].statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version VALUES (1, 'v1', '2025-01-01')")
            conn.execute(insert.replace("NOW", "'2025-01-01T00:00:00.000000+00:00'"))
            conn.commit()
        finally:
            conn.close()
    else:
        assert isinstance(store, PostgresStore)
        pg = await asyncpg.connect(store.dsn)
        try:
            await pg.execute(f'CREATE SCHEMA IF NOT EXISTS "{store.schema}"')
            await pg.execute(f'SET search_path TO "{store.schema}"')
            await pg.execute(POSTGRES_SCHEMA_VERSION_TABLE)
            for statement in POSTGRES_MIGRATIONS[0].statements:
                await pg.execute(statement)
            await pg.execute("INSERT INTO schema_version VALUES (1, 'v1', now())")
            await pg.execute(insert.replace("NOW", "'2025-01-01T00:00:00+00:00'"))
        finally:
            await pg.close()
    async with store:
        [old] = await store.pending()
        assert old.params["text"] == "old" and old.urgent is False
        versions = await persistent_backend.query(store, "SELECT MAX(version) FROM schema_version")
        assert versions[0][0] == len(POSTGRES_MIGRATIONS if isinstance(store, PostgresStore)
                                     else SQLITE_MIGRATIONS)
