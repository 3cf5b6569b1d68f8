"""Where the SQLite backend's statements run: on the event loop, or on one worker thread.

Why the event loop by default. ``sqlite3`` is blocking, so the first design gave one
worker thread the connection and made every statement a job on it. One update then cost
13 round trips to that thread (begin, seen, load, save, three enqueues, mark seen,
commit; the sender's pending and three mark_sent), each ~0.16 ms of thread handoff,
while SQLite's own work was ~4 % of the time. ``bench/sqlite_hops.py`` runs the same
stream of updates (50 people at once), interleaved, through four variants; measured on a
2-core machine shared with other work (load 10-20), in CPU time per update, which that
load disturbs least:

    thread, a job per statement (the first design)    13 hops   4,000-4,700 µs   1.0x
    thread, 2+2 jobs (a model: BEGIN IMMEDIATE with   4 hops   1,550-2,050 µs   2.2-3.0x
      the reads, then the buffered writes with COMMIT;
      the sender's pending, then its marks grouped)
    the event loop (this module)                       0 hops   1,580-1,970 µs   2.0-3.2x
    the event loop, the model's very code              0 hops     820-1,000 µs   4.1-5.0x

The last two rows settle it: the same code costs about half as much without its four
hops, so no design that keeps SQLite on a thread can match the loop (the model also
leaves out the store's own layers, which the real store on the loop still pays for).
Wall time per update on that machine swung between 0.4x and 2.3x with the load, because
other processes took the cores (a plain commit on the loop there took 8 ms at p99 and up
to 120 ms, with or without checkpoints); the figures to quote come from a quiet machine.
Grouping the sender's marks into one transaction (a group commit) would save at most
~20 µs per mark and on the loop calls do not pile up to be grouped: not done.

What running on the loop must not do is block it, so everything whose cost is not a few
microseconds stays on the thread:

- Another process holding the write lock (for seconds): the loop's connection has
  ``busy_timeout = 0``; ``BEGIN IMMEDIATE`` (and any self-contained job) that finds the
  database busy is retried with ``asyncio.sleep`` backoff until ``busy_timeout`` has
  passed, then the last ``database is locked`` error is raised: the same transient error
  as when SQLite's own busy handler gave up on the thread.
- Checkpoints (copying the WAL into the database and fsyncing both: tens of milliseconds
  on this machine): ``wal_autocheckpoint = 0`` on the loop's connection; once the WAL
  holds ``CHECKPOINT_BYTES`` (SQLite's own 1,000 pages), a PASSIVE checkpoint runs on a
  thread with its own connection, alongside our writes; if commits came in meanwhile, a
  second one copies just those under the connection's lock (short), because a checkpoint
  that never catches up never lets the WAL start over and it would grow without bound.
  (Checkpointing all of it under the lock made 50 people's median update wait ~0.25 s for
  it on this machine; SQLite's own autocheckpoint would stall the loop for as long.)
  If the loop never turns meanwhile (commits back to back), the committer catches up once
  the WAL is three times that. ``journal_size_limit = 0`` truncates the WAL when it starts
  over, so its file size is
  what it holds (one ``stat`` every few commits tells). Commits themselves only append
  to the WAL (``synchronous = NORMAL``: no fsync).
- Jobs whose cost grows with the tables (purges, counting every user, key usage, the
  operator's ``run_sync``), opening (migrations) and closing: on the thread, with the
  connection handed over under the store's connection lock.

``ThreadRunner`` keeps the first design (every statement a job on the thread, SQLite's
own busy handler): for a database on a filesystem where a plain write can stall, and as
the benchmark's baseline. Both count their hops to the thread (``hops``).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from bot.storage.base import settle

__all__ = ["CHECKPOINT_BYTES", "ConnectionLock", "LoopRunner", "Runner", "ThreadRunner",
           "rollback_if_active"]

T = TypeVar("T")
Job = Callable[..., T]

#: A WAL this big is checkpointed: SQLite's own autocheckpoint size (1,000 pages).
CHECKPOINT_BYTES = 1000 * 4096
_LOOK_EVERY = 8  # writing commits between two looks at the WAL file's size (one stat)
#: A WAL this many times CHECKPOINT_BYTES means the checkpoint in the background did not
#: get its turn (commits back to back without the loop turning): the committer catches up.
_CATCH_UP_AT = 3
_FIRST_WAIT, _LONGEST_WAIT = 0.001, 0.05  # seconds between two tries of a busy database
_BUSY, _LOCKED = 5, 6  # SQLite primary result codes


def rollback_if_active(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _execute(conn: sqlite3.Connection, sql: str) -> None:
    conn.execute(sql)


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return "locked" in str(error) or "busy" in str(error)
    return code & 0xFF in (_BUSY, _LOCKED)


def connect(path: str, busy_timeout: float) -> sqlite3.Connection:
    """A connection in WAL mode, ``synchronous = NORMAL``, foreign keys on, waiting up to
    ``busy_timeout`` seconds for another process's lock (0: never waits)."""
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        _retry_while_busy(conn, lambda c: c.execute("PRAGMA journal_mode = WAL"),
                          time.monotonic() + max(busy_timeout, 5.0))
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _retry_while_busy(conn: sqlite3.Connection, fn: Job[T], deadline: float, *args: Any) -> T:
    """Run a self-contained job on the calling thread, again while the database is busy.
    (SQLite answers "locked" without waiting when two processes switch a new file to WAL
    at the same moment, and the loop's connection never waits.)"""
    wait = _FIRST_WAIT
    while True:
        try:
            return fn(conn, *args)
        except sqlite3.OperationalError as error:
            rollback_if_active(conn)
            if not _is_busy(error) or time.monotonic() >= deadline:
                raise
        time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        wait = min(wait * 2, _LONGEST_WAIT)


class ConnectionLock:
    """The connection's lock; unlike ``asyncio.Lock``, a caller that finds it free takes it
    at once, even while a woken waiter has not run yet (a woken waiter that finds it taken
    waits again at the front of the queue).

    Why: ``asyncio.Lock`` hands the lock from waiter to waiter through the event loop, so
    once a queue forms (behind a checkpoint or a busy wait) every later call joins it and
    pays an extra loop turn, and under steady load it never drains: measured with 50
    people at once, the median update waited ~0.3 s after the first checkpoint, against
    2 ms without. On the loop a transaction never waits inside, so letting the caller in
    hand take a free lock is safe and the queue drains at once."""

    def __init__(self) -> None:
        self._held = False
        self._waiters: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._held

    async def __aenter__(self) -> None:
        woken = False
        while self._held:
            waiter = asyncio.get_running_loop().create_future()
            if woken:
                self._waiters.appendleft(waiter)
            else:
                self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_next()  # woken, then cancelled: pass the turn on
                elif waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
            woken = True
        self._held = True

    async def __aexit__(self, *exc_info: object) -> None:
        self._held = False
        self._wake_next()

    def _wake_next(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class Runner:
    """Runs the store's statements; one connection, used by one caller at a time (the
    store's connection lock)."""

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.hops = 0  # jobs handed to a thread since the start
        self.lock = ConnectionLock()  # held by whoever uses the connection
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    def _thread(self, fn: Job[T], *args: Any) -> asyncio.Future[T]:
        """Run ``fn(*args)`` on the worker thread (FIFO, one job at a time)."""
        if self._executor is None:
            raise RuntimeError("store is not open")
        self.hops += 1
        return asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _with_conn(self, fn: Job[T], args: tuple[Any, ...]) -> T:
        if self._conn is None:
            raise RuntimeError("store is not connected")
        return fn(self._conn, *args)

    def _start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relbot-sqlite")

    async def _stop(self, close: Callable[[], None]) -> None:
        executor = self._executor
        if executor is None:
            return
        try:
            await self._thread(close)
        finally:
            self._executor = None
            executor.shutdown(wait=True)

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            rollback_if_active(conn)
            conn.close()

    # --- the interface the store uses ----------------------------------------------------
    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def statement(self, fn: Job[T], *args: Any) -> T:
        """``fn(conn, *args)`` inside the open transaction (never retried)."""
        raise NotImplementedError

    async def job(self, fn: Job[T], *args: Any) -> T:
        """A self-contained, cheap job (autocommit or its own transaction)."""
        raise NotImplementedError

    async def slow_job(self, fn: Job[T], *args: Any) -> T:
        """A self-contained job whose cost may grow with the tables: never on the loop.
        Finished even if the caller is cancelled: the connection is not handed back while
        the thread still uses it."""
        return await settle(self._thread(self._with_conn, fn, args))

    async def begin(self) -> None:
        """``BEGIN IMMEDIATE``: SQLite's write lock, waiting out another process's."""
        raise NotImplementedError

    async def finish(self, fn: Job[T], *args: Any) -> T:
        """COMMIT or ROLLBACK: run to completion even if the caller is cancelled."""
        raise NotImplementedError

    async def after(self) -> None:
        """Called after each job or transaction, still holding the connection (the loop
        checkpoints from here)."""


class ThreadRunner(Runner):
    """Every statement a job on the worker thread; SQLite's busy handler waits there."""

    async def open(self) -> None:
        self._start()
        self._conn = await self._thread(connect, self.path, self.busy_timeout)

    async def close(self) -> None:
        await self._stop(self._disconnect)

    async def statement(self, fn: Job[T], *args: Any) -> T:
        return await self._thread(self._with_conn, fn, args)

    async def job(self, fn: Job[T], *args: Any) -> T:
        return await self._thread(self._with_conn, fn, args)

    async def begin(self) -> None:
        await self.finish(_execute, "BEGIN IMMEDIATE")

    async def finish(self, fn: Job[T], *args: Any) -> T:
        return await settle(self._thread(self._with_conn, fn, args))


class LoopRunner(Runner):
    """Statements on the event loop; waits, checkpoints and slow jobs off it (see above)."""

    def __init__(self, path: str, busy_timeout: float) -> None:
        super().__init__(path, busy_timeout)
        self._changes = 0  # the connection's total_changes when last looked at
        self._commits = 0  # writing commits since the WAL's size was last looked at
        self._checkpointer: sqlite3.Connection | None = None  # its own connection ...
        self._checkpoints: ThreadPoolExecutor | None = None  # ... and thread
        self._checkpointing: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self._start()
        self._conn = await self._thread(connect, self.path, self.busy_timeout)
        await self._thread(self._conn.execute, "PRAGMA busy_timeout = 0")
        for pragma in ("wal_autocheckpoint = 0", "journal_size_limit = 0"):
            await self._thread(self._conn.execute, f"PRAGMA {pragma}")
        if self.path != ":memory:":
            self._checkpointer = await self._thread(connect, self.path, 0.0)
            self._checkpoints = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="relbot-sqlite-checkpoint")

    async def slow_job(self, fn: Job[T], *args: Any) -> T:
        if self._conn is None:
            raise RuntimeError("store is not connected")
        deadline = time.monotonic() + self.busy_timeout
        return await settle(self._thread(_retry_while_busy, self._conn, fn, deadline, *args))

    async def close(self) -> None:
        """Called holding the lock: a checkpoint waiting for it is cancelled; one running
        on its thread finishes before its connection closes."""
        task, self._checkpointing = self._checkpointing, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
        checkpoints, self._checkpoints = self._checkpoints, None
        checkpointer, self._checkpointer = self._checkpointer, None
        if checkpoints is not None:
            if checkpointer is not None:
                await settle(asyncio.get_running_loop().run_in_executor(
                    checkpoints, checkpointer.close))
            checkpoints.shutdown(wait=True)
        await self._stop(self._disconnect)  # the last to close checkpoints, drops the WAL

    async def statement(self, fn: Job[T], *args: Any) -> T:
        if self._conn is None:
            raise RuntimeError("store is not connected")
        return fn(self._conn, *args)

    async def finish(self, fn: Job[T], *args: Any) -> T:
        return await self.statement(fn, *args)  # never suspends: cannot be cancelled half-way

    async def begin(self) -> None:
        await self.job(_execute, "BEGIN IMMEDIATE")

    async def job(self, fn: Job[T], *args: Any) -> T:
        """Run on the loop; while another process holds the database, wait with
        ``asyncio.sleep`` (never blocking the loop) up to ``busy_timeout``, then raise."""
        conn = self._conn
        if conn is None:
            raise RuntimeError("store is not connected")
        deadline = time.monotonic() + self.busy_timeout
        wait = _FIRST_WAIT
        while True:
            try:
                return fn(conn, *args)
            except sqlite3.OperationalError as error:
                rollback_if_active(conn)
                if not _is_busy(error) or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(min(wait, max(0.0, deadline - time.monotonic())))
            wait = min(wait * 2, _LONGEST_WAIT)

    async def after(self) -> None:
        conn = self._conn
        if conn is None or conn.total_changes == self._changes or self.path == ":memory:":
            return  # nothing written: nothing to checkpoint
        self._changes = conn.total_changes
        self._commits += 1
        if self._commits < _LOOK_EVERY:
            return
        self._commits = 0
        try:
            size = os.stat(self.path + "-wal").st_size
        except OSError:
            return
        if size >= _CATCH_UP_AT * CHECKPOINT_BYTES:
            await self._checkpoint_once()  # the loop never turned: catch up now (we hold it)
        elif size >= CHECKPOINT_BYTES and self._checkpointing is None:
            self._checkpointing = asyncio.ensure_future(self._checkpoint())

    async def _checkpoint(self) -> None:
        """The long part (copying pages, fsyncing both files) on the checkpoint thread,
        alongside our writes; if commits came in meanwhile, their few pages again under
        the connection's lock (short), so that it catches up and the WAL starts over."""
        try:
            if not await self._checkpoint_once():
                async with self.lock:
                    await self._checkpoint_once()
        finally:
            self._checkpointing = None

    async def _checkpoint_once(self) -> bool:
        if self._checkpoints is None or self._checkpointer is None:
            return True
        self.hops += 1
        return await settle(asyncio.get_running_loop().run_in_executor(
            self._checkpoints, _checkpoint, self._checkpointer))


def _checkpoint(conn: sqlite3.Connection) -> bool:
    """PASSIVE: copies what no reader still needs; True when all of the WAL is in the
    database. A failure (a full disk) is left for the next one: the commits stand."""
    try:
        busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    except sqlite3.Error:
        return True
    return not busy and log == done
