"""Benchmark: where an update's SQLite time goes, per way of running the statements.

Why this exists (issue 14): with the first design every statement was a job on the
SQLite worker thread, about 13 round trips per update at ~0.16 ms each, while SQLite's
own work was a few percent. This runs one stream of realistic updates, many people at
once, through each candidate, interleaved in rounds (the order rotates) so that machine
load hits all of them alike, and prints time per update and hops to the thread per update:

- thread: every statement a job on the worker thread (``SQLiteStore(threaded=True)``).
- thread, 2+2 jobs: a model of the best a thread can do: BEGIN IMMEDIATE with the reads
  in one job, the buffered writes with COMMIT in a second; the sender's pending in one,
  its marks grouped into one (same SQL, same sealing, same connection lock).
- event loop: statements on the loop (``SQLiteStore()``, the default; see
  ``bot.storage.sqlite_run``).
- event loop, the model's code: the model with its jobs run inline (SQLite's own
  autocheckpoint, inline too): the same code as the model, so the two differ only in
  the hops; the real store carries its layers (validation, the Transaction API).

One update is what ``Conversation.handle`` does for a typical step: transaction, seen,
load_user, save_user, three enqueues, mark_seen, commit; then the sender's drain of the
chat: pending, and mark_sent for each of the three rows. Also printed: the longest stall
of the event loop (a 1 ms ticker's lateness) per variant, what grouping the sender's
marks into one transaction would save on the loop, and how long a checkpoint of a full
WAL takes (what the loop would stall for if it checkpointed itself).

    .venv/bin/python bench/sqlite_hops.py            # 50 people at once, 6 x 400 updates
    .venv/bin/python bench/sqlite_hops.py --quick    # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.privacy.keyring import KeyRing, new_key_entry  # noqa: E402
from bot.storage import SQLiteStore, UserRecord  # noqa: E402
from bot.storage.models import Consent, format_ts, item_from_row, user_from_row  # noqa: E402
from bot.storage.sealing import Codec  # noqa: E402
from bot.storage.sqlite_sql import (  # noqa: E402
    _FORGET_SENT_OF_UNKNOWN,
    _MARK_SENT,
    _SAVE_USER,
    PENDING_CHAT,
)

KEYS = KeyRing.parse(new_key_entry("bench"))
REPLIES = 3
SEEDED_USERS = 1_000
_ENQUEUE = ("INSERT INTO outbox (user_id, chat_id, method, params, not_before, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)")


def _reply(user_id: int, n: int, k: int) -> dict[str, object]:
    return {"chat_id": user_id, "text": f"Step {n}, message {k}: a line of an ordinary reply."}


def _session(n: int) -> str:
    return json.dumps({"module": "checkin", "state": f"q{n % 7}", "step": n,
                       "vars": {"name": "Ana", "mood": n % 10, "language": "en"}})


# --- the real store (thread or loop) -------------------------------------------------------
class StoreVariant:
    def __init__(self, name: str, store: SQLiteStore) -> None:
        self.name, self.store = name, store

    @property
    def hops(self) -> int:
        return self.store.hops

    async def update(self, user_id: int, update_id: int) -> None:
        async with self.store.transaction(user_id) as tx:
            if await tx.seen(update_id):
                raise AssertionError("a fresh update reported as seen")
            user = await tx.load_user() or UserRecord(user_id, user_id, language="en")
            n = json.loads(user.session)["step"] + 1 if user.session else 0
            await tx.save_user(replace(user, session=_session(n)))
            for k in range(REPLIES):
                await tx.enqueue(user_id, "sendMessage", _reply(user_id, n, k))
            await tx.mark_seen(update_id)

    async def drain(self, chat_id: int) -> None:
        for item in await self.store.pending(chat_id, limit=50):
            await self.store.mark_sent(item.id, 1)


# --- the model: a thread taking whole units of work --------------------------------------
class TwoJobModel:
    """The same statements and sealing as the store, in 2 jobs per transaction and 2 per
    drain: the floor for any design that keeps SQLite on a thread."""

    name = "thread, 2+2 jobs (model)"

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store  # opened: schema and file; its connection is not used
        self.codec = Codec(KEYS)
        self.hops = 0
        self._lock = asyncio.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._conn = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        for pragma in ("busy_timeout = 5000", "synchronous = NORMAL", "foreign_keys = ON"):
            self._conn.execute(f"PRAGMA {pragma}")

    def _job(self, fn: Callable[..., object], *args: object) -> Awaitable[object]:
        self.hops += 1
        return asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    @staticmethod
    def _begin_and_read(conn: sqlite3.Connection, user_id: int, update_id: int
                        ) -> tuple[bool, sqlite3.Row | None]:
        conn.execute("BEGIN IMMEDIATE")
        seen = conn.execute("SELECT 1 FROM inbox WHERE user_id = ? AND update_id = ?",
                            (user_id, update_id)).fetchall()
        user = conn.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchall()
        return bool(seen), user[0] if user else None

    @staticmethod
    def _write_and_commit(conn: sqlite3.Connection, writes: list[tuple[str, tuple]]) -> None:
        try:
            for sql, params in writes:
                conn.execute(sql, params).fetchall()
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _mark_all(conn: sqlite3.Connection, ids: list[int], stamp: str) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for outbox_id in ids:
            if conn.execute(_MARK_SENT, (1, stamp, outbox_id)).rowcount != 1:
                conn.execute(_FORGET_SENT_OF_UNKNOWN, (outbox_id,))
        conn.execute("COMMIT")

    async def update(self, user_id: int, update_id: int) -> None:
        async with self._lock:
            seen, row = await self._job(self._begin_and_read, self._conn, user_id, update_id)
            assert not seen
            user = user_from_row(row, self.codec) if row is not None else None
            n = json.loads(user.session)["step"] + 1 if user and user.session else 0
            stamp = format_ts(self.store.now())
            session = self.codec.seal(_session(n), "users", "session", user_id)
            writes: list[tuple[str, tuple]] = [(_SAVE_USER, (
                user_id, user_id, "en", session, Consent({}).to_json(), 0, stamp, stamp,
                None, None, None))]
            for k in range(REPLIES):
                params = self.codec.seal(json.dumps(_reply(user_id, n, k)), "outbox", "params",
                                         user_id)
                writes.append((_ENQUEUE, (user_id, user_id, "sendMessage", params, stamp,
                                          stamp)))
            writes.append(("INSERT INTO inbox VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                           (user_id, update_id, stamp)))
            await self._job(self._write_and_commit, self._conn, writes)

    async def drain(self, chat_id: int) -> None:
        now = format_ts(self.store.now())
        params = {"now": now, "limit": 50, "chat_id": chat_id}
        async with self._lock:
            rows = await self._job(lambda: self._conn.execute(PENDING_CHAT, params).fetchall())
        items = [item_from_row(row, self.codec) for row in rows]
        if items:
            async with self._lock:
                await self._job(self._mark_all, self._conn, [i.id for i in items], now)

    def close(self) -> None:
        self._pool.submit(self._conn.close).result()
        self._pool.shutdown()


class InlineModel(TwoJobModel):
    """The model's code with its jobs run on the loop: the mechanism alone, hop or none."""

    name = "event loop, the model's code"

    async def _inline(self, fn: Callable[..., object], *args: object) -> object:
        return fn(*args)

    def _job(self, fn: Callable[..., object], *args: object) -> Awaitable[object]:
        return self._inline(fn, *args)


# --- running them ---------------------------------------------------------------------------
class LoopLag:
    """Lateness of a 1 ms ticker: how long the event loop was kept from other work."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - started - 0.001)

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.ensure_future(self._tick())
        await asyncio.sleep(0)  # the ticker is waiting before the work starts
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _batch(variant: StoreVariant | TwoJobModel, users: list[int], updates: int,
                 next_id: list[int], latencies: list[float]) -> None:
    """`updates` updates spread over `users` at once, each followed by its chat's drain."""
    per_user = updates // len(users)

    async def person(user_id: int) -> None:
        for _ in range(per_user):
            next_id[0] += 1
            started = time.perf_counter()
            await variant.update(user_id, next_id[0])
            await variant.drain(user_id)
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0)  # as a bot does between updates: waits for the network

    await asyncio.gather(*(person(u) for u in users))


def _seed(conn: sqlite3.Connection) -> None:
    stamp = format_ts(SQLiteStore(":memory:").now())
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO users (user_id, chat_id, language, consent, unreachable, created_at,"
        " updated_at) VALUES (?, ?, 'en', '{}', 0, ?, ?)",
        ((uid, uid, stamp, stamp) for uid in range(1, SEEDED_USERS + 1)))
    conn.execute("COMMIT")


async def compare(folder: Path, rounds: int, updates: int, people: int) -> list[list[str]]:
    stores = {name: SQLiteStore(folder / f"{name}.sqlite3", keys=KEYS, threaded=threaded)
              for name, threaded in (("thread", True), ("model", True), ("loop", False),
                                     ("inline", True))}
    for store in stores.values():
        await store.open()
        await store.run_sync(_seed)
    model, inline = TwoJobModel(stores["model"]), InlineModel(stores["inline"])
    variants: list[StoreVariant | TwoJobModel] = [
        StoreVariant("thread, a job per statement (before)", stores["thread"]), model,
        StoreVariant("event loop (after)", stores["loop"]), inline]
    spent = {v.name: 0.0 for v in variants}
    cpu_spent = {v.name: 0.0 for v in variants}  # all threads: robust to other tenants
    hops = {v.name: 0 for v in variants}
    lag = {v.name: 0.0 for v in variants}
    latencies: dict[str, list[float]] = {v.name: [] for v in variants}
    next_id = [10**6]
    try:
        for round_no in range(rounds + 1):  # round 0 warms up
            order = variants[round_no % len(variants):] + variants[:round_no % len(variants)]
            for variant in order:
                users = list(range(1 + round_no * people, 1 + (round_no + 1) * people))
                before, started, cpu = variant.hops, time.perf_counter(), time.process_time()
                async with LoopLag() as ticker:
                    await _batch(variant, users, updates, next_id,
                                 latencies[variant.name] if round_no else [])
                if round_no:
                    spent[variant.name] += time.perf_counter() - started
                    cpu_spent[variant.name] += time.process_time() - cpu
                    hops[variant.name] += variant.hops - before
                    lag[variant.name] = max(lag[variant.name], ticker.worst)
    finally:
        model.close()
        inline.close()
        for store in stores.values():
            await store.close()
    done = rounds * (updates // people) * people
    base = spent[variants[0].name]
    cpu_base = cpu_spent[variants[0].name]
    rows = []
    for v in variants:
        ordered = sorted(latencies[v.name])
        p99 = ordered[round(0.99 * (len(ordered) - 1))]
        rows.append([v.name, f"{spent[v.name] / done * 1e6:,.0f}", f"{base / spent[v.name]:.2f}x",
                     f"{cpu_spent[v.name] / done * 1e6:,.0f}",
                     f"{cpu_base / cpu_spent[v.name]:.2f}x",
                     f"{hops[v.name] / done:.1f}", f"{statistics.median(ordered) * 1e3:.1f}",
                     f"{p99 * 1e3:.1f}", f"{lag[v.name] * 1e3:.1f}"])
    return rows


def grouped_marks(folder: Path, trials: int) -> tuple[float, float]:
    """CPU µs per mark_sent on the loop's kind of connection: each in its own transaction
    (as the store does) vs three in one (a group commit)."""
    conn = sqlite3.connect(folder / "marks.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, status TEXT, message_id INTEGER,"
                 " finished_at TEXT, params TEXT)")
    conn.execute("CREATE INDEX pending ON outbox (id) WHERE status = 'pending'")
    conn.executemany("INSERT INTO outbox VALUES (?, 'pending', NULL, NULL, ?)",
                     ((i, "x" * 300) for i in range(6 * trials)))
    sql = ("UPDATE outbox SET status = 'sent', message_id = 1, finished_at = 'now', params = '{}'"
           " WHERE id = ? AND status = 'pending'")
    started = time.process_time()
    for i in range(0, 3 * trials):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql, (i,))
        conn.execute("COMMIT")
    alone = (time.process_time() - started) / (3 * trials)
    started = time.process_time()
    for i in range(3 * trials, 6 * trials, 3):
        conn.execute("BEGIN IMMEDIATE")
        for j in range(3):
            conn.execute(sql, (i + j,))
        conn.execute("COMMIT")
    grouped = (time.process_time() - started) / (3 * trials)
    conn.close()
    return alone * 1e6, grouped * 1e6


def checkpoint_ms(folder: Path, trials: int) -> list[float]:
    """A PASSIVE checkpoint of a WAL of 1,000 pages (SQLite's autocheckpoint size)."""
    conn = sqlite3.connect(folder / "ckpt.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    times = []
    for trial in range(trials):
        conn.execute("BEGIN")
        conn.executemany("INSERT OR REPLACE INTO t VALUES (?, ?)",
                         ((trial * 1000 + i, "x" * 3500) for i in range(1000)))
        conn.execute("COMMIT")
        started = time.perf_counter()
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        times.append((time.perf_counter() - started) * 1e3)
    conn.close()
    return times


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (seconds)")
    parser.add_argument("--people", type=int, help="people acting at once")
    parser.add_argument("--rounds", type=int, help="measured rounds")
    parser.add_argument("--updates", type=int, help="updates per variant per round")
    args = parser.parse_args()
    people = args.people or (10 if args.quick else 50)
    rounds = args.rounds or (1 if args.quick else 6)
    updates = args.updates or (40 if args.quick else 400)
    print(f"SQLite {sqlite3.sqlite_version}, WAL, synchronous=NORMAL, sealed; {people} people at"
          f" once, {rounds} x {updates} updates per variant, interleaved; one update ="
          f" seen, load, save, {REPLIES} enqueues, mark_seen, commit, pending,"
          f" {REPLIES} mark_sent")
    with tempfile.TemporaryDirectory(prefix="relbot-hops-") as tmp:
        rows = asyncio.run(compare(Path(tmp), rounds, updates, people))
        print()
        _table(["variant", "µs/update", "speed", "CPU µs/update", "CPU speed", "hops/update",
                "p50 ms", "p99 ms", "ticker late ms"], rows)
        alone, grouped = grouped_marks(Path(tmp), 200 if args.quick else 2000)
        ckpt = checkpoint_ms(Path(tmp), 2 if args.quick else 8)
    print("(µs/update: wall time / updates; CPU: the process's CPU time, all threads, which"
          " other tenants of the machine disturb less; p50/p99: one update and its drain, with"
          " the others queued alongside; ticker late: the worst lateness of a 1 ms ticker, i.e. how"
          " long other coroutines waited for the loop: on the loop, the people's statements"
          " queue there, not on the thread; a machine this loaded also deschedules us)")
    print()
    print(f"mark_sent's SQL on the loop: {alone:.0f} CPU µs in its own transaction,"
          f" {grouped:.0f} when three share one (a group commit's most: {alone - grouped:.0f} µs"
          " per mark)")
    print(f"PASSIVE checkpoint of 1,000 WAL pages: median {statistics.median(ckpt):.1f} ms,"
          f" worst {max(ckpt):.1f} ms (run on the thread: the loop never waits for one)")


if __name__ == "__main__":
    main()
