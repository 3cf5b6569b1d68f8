"""Benchmark: cost of one update through the SQLite store, with few vs many stored users.

Why this exists: every Telegram update is one storage transaction (lock, seen, load_user,
save_user, mark_seen, enqueue, commit) followed by the sender's drain (pending, mark_sent).
That cost must not grow with the number of users (every lookup is indexed), so this
script measures it on a small and a large database and prints both.

    .venv/bin/python bench/storage.py            # 1,000 vs 100,000 users, 3,000 updates
    .venv/bin/python bench/storage.py --quick    # smoke run, a few seconds

Each user is seeded with realistic history (2 inbox rows, 3 sent outbox rows, 1 record) so
the tables are several times larger than the user count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bot.storage import SQLiteStore, UserRecord
from bot.storage.models import format_ts, utc_now


def _seed(conn: sqlite3.Connection, users: int) -> None:
    """Bulk-load users and their history straight into the schema (fast, one transaction)."""
    ts = format_ts(utc_now())
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO users (user_id, chat_id, language, session, consent, unreachable,"
        " created_at, updated_at) VALUES (?, ?, 'en', '{\"n\":0}', '{\"adult\":true}', 0, ?, ?)",
        ((uid, uid, ts, ts) for uid in range(1, users + 1)),
    )
    conn.executemany(
        "INSERT INTO inbox VALUES (?, ?, ?)",
        ((uid, uid * 10 + k, ts) for uid in range(1, users + 1) for k in range(2)),
    )
    conn.executemany(
        "INSERT INTO outbox (user_id, chat_id, method, params, status, not_before, message_id,"
        " created_at, finished_at) VALUES (?, ?, 'sendMessage', ?, 'sent', ?, 1, ?, ?)",
        (
            (uid, uid, json.dumps({"chat_id": uid, "text": "hello"}), ts, ts, ts)
            for uid in range(1, users + 1)
            for _ in range(3)
        ),
    )
    conn.executemany(
        "INSERT INTO records (user_id, kind, data, created_at) VALUES (?, 'checkin', ?, ?)",
        ((uid, '{"rating":3}', ts) for uid in range(1, users + 1)),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")


async def _one_update(store: SQLiteStore, user_id: int, update_id: int) -> None:
    async with store.transaction(user_id) as tx:
        if await tx.seen(update_id):
            raise AssertionError("fresh update reported as duplicate")
        user = await tx.load_user() or UserRecord(user_id, user_id, session='{"n":0}')
        count = json.loads(user.session or '{"n":0}')["n"]
        await tx.save_user(replace(user, session=json.dumps({"n": count + 1})))
        await tx.mark_seen(update_id)
        await tx.enqueue(user_id, "sendMessage", {"chat_id": user_id, "text": f"#{count}"})


async def _drain(store: SQLiteStore) -> None:
    for item in await store.pending():
        await store.mark_sent(item.id, 1)


def _stats(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) / 1000, p99 / 1000


async def _hop_ns(store: SQLiteStore) -> int:
    """One bare round trip to the worker thread: the floor under every store call."""
    t0 = time.perf_counter_ns()
    await store.run_sync(lambda conn: None)
    return time.perf_counter_ns() - t0


async def run(user_counts: list[int], updates: int, directory: Path) -> dict[str, list[int]]:
    """Seed one database per size, then interleave updates across them so that machine
    noise (CPU frequency, other tenants) hits every size equally."""
    stores = [SQLiteStore(directory / f"bench-{n}.sqlite3") for n in user_counts]
    samples: dict[str, list[int]] = {}
    try:
        for store, users in zip(stores, user_counts, strict=True):
            await store.open()
            started = time.perf_counter()
            await store.run_sync(lambda conn, users=users: _seed(conn, users))
            size = (
                sum(p.stat().st_size for p in Path(store.path).parent.glob(f"bench-{users}.*"))
                / 2**20
            )
            print(
                f"  seeded {users:>9,} users in {time.perf_counter() - started:.1f} s"
                f" ({size:.0f} MiB)",
                flush=True,
            )
        rng = random.Random(42)
        next_update = 10 * max(user_counts) + 1000
        for i in range(updates + updates // 10):  # the first 10 % are warm-up
            for store, users in zip(stores, user_counts, strict=True):
                user_id = rng.randint(1, users)
                next_update += rng.randint(1, 3)  # ids jump, as Telegram's do
                t0 = time.perf_counter_ns()
                await _one_update(store, user_id, next_update)
                t1 = time.perf_counter_ns()
                await _drain(store)
                t2 = time.perf_counter_ns()
                hop = await _hop_ns(store)
                if i >= updates // 10:
                    samples.setdefault(f"{users}:update tx", []).append(t1 - t0)
                    samples.setdefault(f"{users}:drain", []).append(t2 - t1)
                    samples.setdefault(f"{users}:total", []).append(t2 - t0)
                    samples.setdefault(f"{users}:worker hop", []).append(hop)
        for store in stores:
            assert await store.pending() == []
    finally:
        for store in stores:
            await store.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (seconds)")
    parser.add_argument("--users", type=int, nargs="+", help="user counts to compare")
    parser.add_argument("--updates", type=int, help="measured updates per database")
    args = parser.parse_args()
    user_counts = args.users or ([1_000, 10_000] if args.quick else [1_000, 100_000])
    updates = args.updates or (300 if args.quick else 3_000)

    print(f"SQLite {sqlite3.sqlite_version}, {updates:,} updates per database (WAL, NORMAL)")
    with tempfile.TemporaryDirectory(prefix="relbot-bench-") as tmp:
        samples = asyncio.run(run(user_counts, updates, Path(tmp)))
    print()
    print(f"{'users':>9}  {'phase':<10} {'median µs':>10} {'p99 µs':>9} {'per s':>8}")
    medians: dict[int, float] = {}
    for users in user_counts:
        for phase in ("update tx", "drain", "total", "worker hop"):
            data = samples[f"{users}:{phase}"]
            median, p99 = _stats(data)
            rate = len(data) / (sum(data) / 1e9)
            print(f"{users:>9,}  {phase:<10} {median:>10.0f} {p99:>9.0f} {rate:>8,.0f}")
            if phase == "total":
                medians[users] = median
    print("(statements run on the event loop: no worker round trips; 'worker hop' is one bare"
          " round trip to the thread that takes checkpoints and slow jobs)")
    first, last = user_counts[0], user_counts[-1]
    if first != last:
        ratio = medians[last] / medians[first]
        print(f"median total at {last:,} users / at {first:,} users: {ratio:.2f}x")


if __name__ == "__main__":
    main()
