"""The storage contract, run unchanged against every backend (see conftest.py).

Why one suite: exactly-once processing is only as good as the weakest backend, so SQLite
(file and :memory:) and PostgreSQL must pass the very same tests and cannot drift.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.storage import (
    Consent,
    SchemaBehind,
    SchemaVersionError,
    Store,
    UserRecord,
)
from bot.storage.migrations import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS

from .harness import Backend, Boom, FakeClock, counter, handle, texts


# --- users -----------------------------------------------------------------------------
async def test_user_roundtrip_keeps_created_at_and_opaque_session(
    store: Store, clock: FakeClock
) -> None:
    session = '{"b": 1,  "a":"ü 🎉"}'  # odd spacing on purpose: the store must not parse it
    big = 2**52 + 3
    async with store.transaction(big) as tx:
        assert await tx.load_user() is None
        saved = await tx.save_user(
            UserRecord(big, big, language="de", session=session, consent={"adult": True})
        )
    assert saved.created_at == saved.updated_at == clock.now
    clock.advance(minutes=5)
    async with store.transaction(big) as tx:
        loaded = await tx.load_user()
        assert loaded == saved
        assert loaded is not None and loaded.session == session
        assert isinstance(loaded.consent, Consent) and loaded.consent.granted("adult")
        again = await tx.save_user(
            replace(loaded, consent=loaded.consent.with_flag("store_answers", False))
        )
    assert again.created_at == saved.created_at
    assert again.updated_at == clock.now
    assert again.consent == {"adult": True, "store_answers": False}
    assert await store.count_users() == 1


async def test_set_unreachable_inside_and_outside_a_transaction(store: Store) -> None:
    assert await store.set_unreachable(1, True) is False  # unknown user: nothing created
    assert await store.count_users() == 0
    await handle(store, 1, 1)
    assert await store.set_unreachable(1, True) is True
    async with store.transaction(1) as tx:
        user = await tx.load_user()
        assert user is not None and user.unreachable is True
        assert await tx.set_unreachable(False) is True
    async with store.transaction(1) as tx:
        user = await tx.load_user()
        assert user is not None and user.unreachable is False


# --- atomicity -------------------------------------------------------------------------
async def test_commit_is_atomic_and_complete(store: Store) -> None:
    async with store.transaction(3) as tx:
        await tx.save_user(UserRecord(3, 3))
        await tx.mark_seen(10)
        outbox_id = await tx.enqueue(3, "sendMessage", {"chat_id": 3, "text": "a"})
        record_id = await tx.add_record("journal", {"text": "today"})
    assert outbox_id >= 1 and record_id >= 1
    async with store.transaction(3) as tx:
        assert await tx.seen(10)
        assert await tx.load_user() is not None
    assert [item.id for item in await store.pending()] == [outbox_id]
    assert [r.id for r in await store.records(3)] == [record_id]


async def test_exception_rolls_back_everything(store: Store, backend: Backend) -> None:
    await handle(store, 1, 1, "first")
    before = await backend.dump(store, 1)
    counts_before = await backend.user_row_counts(store, 1)
    with pytest.raises(Boom):
        async with store.transaction(1) as tx:
            assert not await tx.seen(2)
            user = await tx.load_user()
            assert user is not None
            await tx.save_user(replace(user, session='{"n":99}', language="fr"))
            await tx.mark_seen(2)
            await tx.enqueue(1, "sendMessage", {"chat_id": 1, "text": "never"})
            await tx.add_record("journal", {"text": "never"})
            raise Boom
    assert await backend.dump(store, 1) == before
    assert await backend.user_row_counts(store, 1) == counts_before
    assert texts(await store.pending()) == ["first"]
    assert await store.records(1) == []
    assert await counter(store, 1) == 1
    assert await handle(store, 1, 2) is True  # the rolled-back update is not "seen"


async def test_cancellation_rolls_back_and_store_stays_usable(store: Store) -> None:
    inside = asyncio.Event()

    async def body() -> None:
        async with store.transaction(1) as tx:
            await tx.mark_seen(1)
            await tx.enqueue(1, "sendMessage", {"chat_id": 1, "text": "never"})
            inside.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(body())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.pending() == []
    assert await handle(store, 1, 1) is True


async def test_misuse_is_rejected_instead_of_deadlocking(store: Store) -> None:
    async with store.transaction(1) as tx:
        with pytest.raises(RuntimeError, match="inside a transaction"):
            await store.pending()
        with pytest.raises(RuntimeError, match="inside a transaction"):
            async with store.transaction(2):
                pass
        with pytest.raises(ValueError, match="transaction is for user 1"):
            await tx.save_user(UserRecord(2, 2))
    with pytest.raises(RuntimeError, match="already finished"):
        await tx.load_user()
    with pytest.raises(TypeError):
        async with store.transaction(True):  # type: ignore[arg-type]
            pass


async def test_json_payloads_are_validated_and_round_trip(store: Store) -> None:
    params = {"chat_id": 1, "text": "ü 🎉", "big": 2**53 + 1, "x": {"l": [1, 2.5, None, True]}}
    async with store.transaction(1) as tx:
        with pytest.raises(ValueError, match="JSON"):
            await tx.enqueue(1, "sendMessage", {"x": float("nan")})
        with pytest.raises(ValueError, match="NUL"):
            await tx.add_record("journal", {"text": "a\x00b"})
        with pytest.raises(TypeError):
            await tx.enqueue(1, "sendMessage", ["not", "an", "object"])  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await tx.enqueue(1, "", {})
        await tx.enqueue(1, "sendMessage", params)
    [item] = await store.pending()
    assert item.params == params and item.method == "sendMessage"


# --- inbox -----------------------------------------------------------------------------
async def test_duplicate_update_is_detected(store: Store) -> None:
    assert await handle(store, 1, 500) is True
    assert await handle(store, 1, 500) is False
    assert await counter(store, 1) == 1
    assert len(await store.pending()) == 1


async def test_update_ids_that_jump_are_not_duplicates(store: Store) -> None:
    for update_id in (1000, 5, 10**12, 7, 999):  # jumps forwards and backwards
        assert await handle(store, 1, update_id) is True
    for update_id in (5, 1000, 10**12):
        assert await handle(store, 1, update_id) is False
    assert await counter(store, 1) == 5


async def test_purge_inbox_drops_only_old_rows(store: Store, clock: FakeClock) -> None:
    await handle(store, 1, 1)
    clock.advance(days=3)
    await handle(store, 1, 2)
    assert await store.purge_inbox(timedelta(days=2)) == 1
    async with store.transaction(1) as tx:
        assert not await tx.seen(1)
        assert await tx.seen(2)


# --- restarts and migrations -----------------------------------------------------------
async def test_crash_recovery_returns_unsent_rows(
    persistent_backend: Backend, clock: FakeClock
) -> None:
    async with persistent_backend.make() as store:
        await handle(store, 1, 1, "delivered")
        await handle(store, 1, 2, "lost")
        first, _ = await store.pending()
        await store.mark_sent(first.id, 1)
        # "crash": closed without mark_sent for the second row
    async with persistent_backend.make() as store:
        assert texts(await store.pending()) == ["lost"]
        assert await handle(store, 1, 2) is False  # redelivered update is still a duplicate
        assert texts(await store.pending(claim_for=timedelta(seconds=30))) == ["lost"]
    async with persistent_backend.make() as store:
        assert await store.pending() == []  # leased by the sender that crashed
        clock.advance(seconds=31)
        assert texts(await store.pending()) == ["lost"]


async def test_migrations_are_idempotent(persistent_backend: Backend) -> None:
    first, second = persistent_backend.make(), persistent_backend.make()
    await asyncio.gather(first.open(), second.open())  # two replicas starting at once
    await handle(first, 1, 1)
    await asyncio.gather(first.close(), second.close())
    async with persistent_backend.make() as store:
        versions = await persistent_backend.query(
            store, "SELECT version FROM schema_version ORDER BY version"
        )
        expected = (
            SQLITE_MIGRATIONS
            if persistent_backend.name.startswith("sqlite")
            else (POSTGRES_MIGRATIONS)
        )
        assert [row[0] for row in versions] == [m.version for m in expected]
        assert await counter(store, 1) == 1


async def test_newer_schema_is_refused(persistent_backend: Backend) -> None:
    async with persistent_backend.make() as store:
        await persistent_backend.query(
            store, "INSERT INTO schema_version VALUES (999, 'future', '2030-01-01T00:00:00Z')"
        )
    with pytest.raises(SchemaVersionError):
        await persistent_backend.make().open()


async def test_missing_migrations_applied_refused_or_left_as_told(
    persistent_backend: Backend,
) -> None:
    known = len(SQLITE_MIGRATIONS if persistent_backend.name.startswith("sqlite")
                else POSTGRES_MIGRATIONS)
    async with persistent_backend.make(upgrade="leave") as store:  # `relbot db status`
        assert store.schema_found == 0
        assert await store.schema_version() == 0  # nothing applied
    with pytest.raises(SchemaBehind, match=f"at version 0, this relbot needs {known}: run "
                                          "`relbot db upgrade`"):
        await persistent_backend.make(upgrade="refuse").open()
    async with persistent_backend.make() as store:  # `relbot db upgrade`
        assert store.schema_found == 0
        assert await store.schema_version() == known
    async with persistent_backend.make(upgrade="refuse") as store:  # up to date: starts
        assert store.schema_found == known
        await handle(store, 1, 1)


# --- concurrency -----------------------------------------------------------------------
async def test_concurrent_updates_of_one_user_lose_nothing(store: Store) -> None:
    update_ids = list(range(100)) * 2  # every update delivered twice, in random order
    random.Random(7).shuffle(update_ids)
    results = await asyncio.gather(*(handle(store, 1, u) for u in update_ids))
    assert sum(results) == 100
    assert await counter(store, 1) == 100
    assert len(store._user_locks) == 0  # per-user locks are dropped when idle
    assert len(await store.pending(limit=1000)) == 100


async def test_two_replicas_on_one_database_lose_nothing(persistent_backend: Backend) -> None:
    async with persistent_backend.make() as one, persistent_backend.make() as two:
        await asyncio.gather(
            *(handle(one if u % 2 else two, 1, u) for u in range(60)),
            *(handle(two if u % 2 else one, 1, u) for u in range(60)),  # redeliveries
        )
        assert await counter(one, 1) == 60
        assert len(await two.pending(limit=1000)) == 60


async def test_cancelled_while_waiting_for_another_replica(persistent_backend: Backend) -> None:
    async with persistent_backend.make() as one, persistent_backend.make() as two:
        inside, release = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with one.transaction(1) as tx:
                await tx.mark_seen(1)
                inside.set()
                await release.wait()

        held = asyncio.create_task(holder())
        await inside.wait()
        waiter = asyncio.create_task(handle(two, 1, 2))  # blocks on the database lock
        await asyncio.sleep(0.05)
        waiter.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await held
        assert await handle(two, 1, 2) is True  # the cancelled replica is still healthy
        assert await handle(one, 1, 1) is False


async def test_different_users_do_not_wait_for_each_other(store: Store) -> None:
    await asyncio.gather(*(handle(store, user, u) for user in range(1, 21) for u in range(5)))
    assert [await counter(store, user) for user in range(1, 21)] == [5] * 20

    inside, release = asyncio.Event(), asyncio.Event()

    async def slow_user() -> None:
        async with store.transaction(100) as tx:
            await tx.mark_seen(1)
            inside.set()
            await release.wait()

    slow = asyncio.create_task(slow_user())
    await inside.wait()
    other = asyncio.create_task(handle(store, 200, 1))
    done, _ = await asyncio.wait({other}, timeout=5 if store.concurrent_writers else 0.2)
    # PostgreSQL: user 200 commits while user 100's transaction is open.  SQLite has one
    # writer, so transactions queue (without deadlock) and user 200 goes next.
    assert (other in done) is store.concurrent_writers
    release.set()
    await asyncio.gather(slow, other)
    assert await counter(store, 200) == 1
