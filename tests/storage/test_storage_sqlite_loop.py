"""SQLite on the event loop must never hold the loop: not while another process holds the
write lock, not for checkpoints; and the WAL must not grow without bound.

Why: the store runs its statements on the event loop (see ``bot.storage.sqlite_run``),
where one blocking call would stop every conversation and the sender at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest

from bot.storage import SQLiteStore, is_transient
from bot.storage.sqlite_run import CHECKPOINT_BYTES, ConnectionLock


@contextmanager
def locked_by_another_process(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection's write lock on the file (what ``tests/e2e/dbfaults`` does from
    a separate process), held until the block ends."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


@asynccontextmanager
async def loop_watch() -> AsyncIterator[list[float]]:
    """Yields a list that ends up holding the worst lateness of a 5 ms ticker (seconds)."""
    worst = [0.0]

    async def tick() -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.005)
            worst[0] = max(worst[0], time.monotonic() - started - 0.005)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        yield worst
    finally:
        ticker.cancel()


async def _reply(store: SQLiteStore, user_id: int, update_id: int, text: str = "hi") -> None:
    async with store.transaction(user_id) as tx:
        await tx.mark_seen(update_id)
        await tx.enqueue(user_id, "sendMessage", {"chat_id": user_id, "text": text})


async def test_a_locked_database_is_waited_for_while_the_loop_runs_on(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with SQLiteStore(path, busy_timeout=5.0) as store:
        async with loop_watch() as worst:
            with locked_by_another_process(path):
                waiting = asyncio.create_task(_reply(store, 7, 1))
                await asyncio.sleep(0.5)
                assert not waiting.done()  # it waits for the lock, and the loop ticks
            await asyncio.wait_for(waiting, 5)
        assert worst[0] < 0.25, f"the event loop stalled for {worst[0]:.3f} s"
        assert [item.params["text"] for item in await store.pending()] == ["hi"]


async def test_a_lock_held_past_busy_timeout_raises_the_usual_busy_error(tmp_path: Path
                                                                        ) -> None:
    """The same transient error as SQLite's own busy handler gives up with, after about
    busy_timeout, and the store is usable as soon as the lock goes."""
    path = tmp_path / "bot.sqlite3"
    async with SQLiteStore(path, busy_timeout=0.4) as store:
        async with loop_watch() as worst:
            with locked_by_another_process(path):
                began = time.monotonic()
                with pytest.raises(sqlite3.OperationalError) as caught:
                    await _reply(store, 7, 1)
                waited = time.monotonic() - began
                with pytest.raises(sqlite3.OperationalError):
                    await store.mark_failed(1, "boom", None)  # a sender's write waits too
        assert caught.value.sqlite_errorname == "SQLITE_BUSY"
        assert is_transient(caught.value)
        assert 0.4 <= waited < 3, waited
        assert worst[0] < 0.25, f"the event loop stalled for {worst[0]:.3f} s"
        await _reply(store, 7, 1)  # nothing was left open
        assert len(await store.pending()) == 1


@pytest.mark.parametrize(("threaded", "turns", "bound"),
                         [(False, True, 2), (False, False, 4), (True, False, 2)])
async def test_the_wal_stays_bounded_under_steady_writes(
    tmp_path: Path, threaded: bool, turns: bool, bound: int
) -> None:
    """Checkpoints keep up: 1,200 commits of 30 KB rows (about 50 MB through the WAL) leave
    it holding about one checkpoint's worth, not all of it. ``turns``: the event loop turns
    between commits, as it does between a bot's updates; without, commits come back to
    back and the background checkpoint never gets its turn."""
    path = tmp_path / "bot.sqlite3"
    text = "x" * 30_000
    async with SQLiteStore(path, threaded=threaded) as store:
        for n in range(1200):
            await _reply(store, 1 + n % 20, n, text)
            if turns:
                await asyncio.sleep(0)
        wal = (tmp_path / "bot.sqlite3-wal").stat().st_size
    assert wal < bound * CHECKPOINT_BYTES, f"WAL of {wal:,} bytes"


async def test_a_call_cancelled_in_the_queue_never_stalls_the_others(tmp_path: Path) -> None:
    """A transaction that waits inside holds the connection; a call queued behind it and
    cancelled must not keep the next one from running (a lost turn hangs every update)."""
    async with SQLiteStore(tmp_path / "bot.sqlite3") as store:
        inside, leave = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with store.transaction(1) as tx:
                await tx.mark_seen(1)
                inside.set()
                await leave.wait()

        first = asyncio.create_task(holder())
        await inside.wait()
        cancelled, waiting = (asyncio.create_task(_reply(store, user, 10 + user))
                              for user in (2, 3))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        leave.set()
        await first
        await asyncio.wait_for(waiting, 5)
        assert cancelled.cancelled()
        assert [item.chat_id for item in await store.pending()] == [3]


async def test_a_waiter_cancelled_as_its_turn_comes_passes_the_turn_on() -> None:
    lock = ConnectionLock()
    got: list[str] = []

    async def take(name: str) -> None:
        async with lock:
            got.append(name)

    async with lock:
        woken, next_one = asyncio.create_task(take("woken")), asyncio.create_task(take("next"))
        await asyncio.sleep(0)  # both wait
    woken.cancel()  # its turn came (the exit woke it) but it has not run yet
    await asyncio.wait_for(next_one, 1)
    assert got == ["next"] and woken.cancelled()

    async with lock:  # one who finds it free takes it even if a woken one has not run yet
        later = asyncio.create_task(take("later"))
        await asyncio.sleep(0)
    async with lock:
        got.append("barged")
    await asyncio.wait_for(later, 1)
    assert got == ["next", "barged", "later"]
