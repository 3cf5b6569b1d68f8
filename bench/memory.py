"""Benchmark: process memory per conversation in progress, and database bytes per person.

Why this exists (issue 14): relbot keeps a conversation's state in the database, not in
the process, so the process should hold (almost) nothing per person (target: under
2 KB per conversation in progress), and nothing in it may grow with every person ever
seen (the sender's per-chat buckets, python-telegram-bot's rate limiter, the receiver).
And what a person costs on disk after a whole module, before and after the retention
rules (bot/privacy/retention.py) run, says how large the database gets.

    .venv/bin/python bench/memory.py            # 10,000 and 100,000 conversations
    .venv/bin/python bench/memory.py --quick    # a smoke run, a few seconds

Process: the real parts (`bench/variants.py` Relbot, the sender's pacing and budget
wired in, their limits set so they never wait) take N people one step each (/start:
each is then at the welcome's first question).
Memory is measured with tracemalloc (allocations made by the bench's own fake
Telegram and people are left out) and as RSS (less tracemalloc's own bookkeeping),
after the sender's idle sweep. Every dict, set, list or deque held by the running
parts is listed with its size, and flagged if it grew with the people.

Database: people walk /start, the welcome (storing their answers: the larger case),
then one module each (spread over the menu) until the menu shows again.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from people import Person, UpdateIds
from variants import Relbot, bench_keys
from walking import command, compiled_and_screen, machine

from bot.privacy.retention import KEEP_FINISHED, Upkeep
from bot.storage import open_store

TARGET_BYTES = 2048
WAVE = 500  # people acting at once while driving many
BENCH_FILES = "*/bench/*"


def rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def containers(variant: Relbot) -> dict[str, int]:
    """Every container attribute of the running parts, with its length."""
    parts: dict[str, Any] = {
        "sender": variant.sender, "receiver": variant.receiver, "router": variant.router,
        "conversation": variant.conversation, "store": variant.store, "bot": variant.bot,
        "homework": variant.router.homework, "privacy desk": variant.router.desk,
        "pacer": variant.sender.pacer, "budget": variant.sender.budget}
    sizes: dict[str, int] = {}
    for part, obj in parts.items():
        if obj is None:
            continue
        attrs = dict(vars(obj)) if hasattr(obj, "__dict__") else {}
        for slot in getattr(type(obj), "__slots__", ()):
            if hasattr(obj, slot):
                attrs[slot] = getattr(obj, slot)
        for name, value in attrs.items():
            if isinstance(value, dict | set | list | deque | frozenset):
                sizes[f"{part}.{name}"] = len(value)
    return sizes


def ours(snapshot: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    """Without the bench's own fake Telegram and people, and tracemalloc itself."""
    return snapshot.filter_traces([tracemalloc.Filter(False, BENCH_FILES),
                                   tracemalloc.Filter(False, tracemalloc.__file__)])


def held_at(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int = 5
            ) -> tuple[int, list[str]]:
    """Bytes that stayed allocated between the snapshots, and the lines that hold most."""
    diff = after.compare_to(before, "lineno")
    total = sum(stat.size_diff for stat in diff)
    sites = [f"{stat.size_diff / 1024:>8,.0f} KiB {stat.count_diff:>+8,} blocks  "
             f"{_short(stat.traceback[0].filename)}:{stat.traceback[0].lineno}"
             for stat in sorted(diff, key=lambda s: -s.size_diff)[:top] if stat.size_diff > 0]
    return total, sites


def _short(filename: str) -> str:
    for marker in ("/site-packages/", "/bench/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


async def in_progress(people: int, folder: Path, compiled: Any, screen: Any,
                      sweep_every: float) -> tuple[int, int, dict[str, int], float, list[str]]:
    """(traced bytes, RSS bytes) held for `people` conversations, the containers, seconds,
    the allocation sites that hold the most."""
    variant = Relbot(compiled, screen, folder / f"memory-{people}.sqlite3", keep_chats=False)
    variant.sender.sweep_every = sweep_every
    await variant.start()
    ids = UpdateIds()
    try:
        async def drive(first: int, count: int) -> None:
            for wave in range(first, first + count, WAVE):
                crowd = [Person(i, variant.api, ids)
                         for i in range(wave, min(wave + WAVE, first + count))]
                await asyncio.gather(*(variant.feed(p.start()) for p in crowd))

        await drive(0, min(200, people))  # warm-up: caches, lazy imports, the first sweep
        await asyncio.sleep(variant.sender.sweep_every + 0.5)
        gc.collect()
        before = ours(tracemalloc.take_snapshot())
        before_rss = rss() - tracemalloc.get_tracemalloc_memory()
        began = time.perf_counter()
        await drive(10_000_000, people)
        seconds = time.perf_counter() - began
        await asyncio.sleep(variant.sender.sweep_every + 0.5)  # the sender forgets idle chats
        gc.collect()
        held, sites = held_at(before, ours(tracemalloc.take_snapshot()))
        after_rss = rss() - tracemalloc.get_tracemalloc_memory()
        sizes = containers(variant)
    finally:
        await variant.stop()
    return held, after_rss - before_rss, sizes, seconds, sites


async def walk_one_module(variant: Relbot, person: Person, max_steps: int = 200) -> int:
    """/start, the welcome, then one module until the menu shows again; updates sent."""
    await variant.feed(person.start())
    menus, sent = 0, 1
    while sent < max_steps:
        if person.at_menu():
            menus += 1
            if menus == 2:
                return sent
        await variant.feed(person.next_update())
        sent += 1
    raise SystemExit(f"person {person.index} did not get back to the menu in {max_steps}")


def database_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


async def per_person_on_disk(people: int, folder: Path, compiled: Any, screen: Any
                             ) -> dict[str, Any]:
    path = folder / "module.sqlite3"
    variant = Relbot(compiled, screen, path)
    await variant.start()
    empty = await _compacted(variant.store, path)
    ids = UpdateIds()
    crowd = [Person(i, variant.api, ids) for i in range(people)]
    try:
        updates = sum(await asyncio.gather(*(walk_one_module(variant, p) for p in crowd)))
        rows = await variant.store.run_sync(_row_counts)
        walked = await _compacted(variant.store, path)
    finally:
        await variant.stop()
    later = datetime.now(UTC) + KEEP_FINISHED + timedelta(days=1)
    store = open_store(f"sqlite:///{path}", clock=lambda: later, keys=bench_keys())
    await store.open()
    try:
        report = await Upkeep(store, retention_days=365).run_once()
        rows_after = await store.run_sync(_row_counts)
        retained = await _compacted(store, path)
    finally:
        await store.close()
    return {"people": people, "updates": updates, "empty": empty, "walked": walked,
            "retained": retained, "rows": rows, "rows_after": rows_after,
            "purged": report.inbox + report.outbox}


async def _compacted(store: Any, path: Path) -> int:
    """The file's size once the WAL is folded in and free pages are dropped (VACUUM)."""
    for sql in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"):
        await store.run_sync(lambda conn, sql=sql: conn.execute(sql).fetchall())
    return database_bytes(path)


def _row_counts(conn: Any) -> dict[str, int]:
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


def report_memory(results: dict[int, tuple[int, int, dict[str, int], float, list[str]]]
                  ) -> None:
    print(f"\nprocess memory held for conversations in progress (each person sent /start; "
          f"{WAVE} at a time)")
    print(f"{'conversations':>14} {'traced KiB':>11} {'B/conv':>8} {'RSS KiB':>9} "
          f"{'B/conv':>8} {'updates/s':>10}")
    worst = 0.0
    for people, (traced_bytes, rss_bytes, _, seconds, _) in results.items():
        per, per_rss = traced_bytes / people, rss_bytes / people
        worst = max(worst, per)
        print(f"{people:>14,} {traced_bytes / 1024:>11,.0f} {per:>8,.0f} "
              f"{rss_bytes / 1024:>9,.0f} {per_rss:>8,.0f} {people / seconds:>10,.0f}")
    print(f"bytes per conversation (tracemalloc): {worst:,.0f} (target < {TARGET_BYTES:,}: "
          f"{'ok' if worst < TARGET_BYTES else 'MISSED'}); RSS also moves with the allocator "
          "and SQLite's page cache")
    counts = sorted(results)
    print(f"where the {counts[-1]:,}-conversation run's memory stayed (tracemalloc, by line):")
    for site in results[counts[-1]][4]:
        print(f"  {site}")
    names = sorted(set().union(*(results[n][2] for n in counts)))
    print(f"\ncontainers held by the running parts ({len(names)} dicts, sets, lists and deques"
          " of the sender, receiver, router, conversation, store, bot, rate limiter...);"
          " the non-empty ones, length after each run:")
    grew = []
    for name in names:
        lengths = [results[n][2].get(name, 0) for n in counts]
        if max(lengths) == 0:
            continue
        flag = ""
        if lengths[-1] >= max(10, counts[-1] // 100):
            flag = "  GROWS with people"
            grew.append(name)
        print(f"  {name:<42} " + " ".join(f"{n:>9,}" for n in lengths) + flag)
    print("nothing grows with the people served" if not grew
          else f"grows with the people served: {', '.join(grew)}")


def report_disk(disk: dict[str, Any]) -> None:
    people = disk["people"]
    print(f"\ndatabase bytes per person after a whole module ({people} people, "
          f"{disk['updates']:,} updates: /start, the welcome storing answers, one module "
          "each; file size after a checkpoint and VACUUM, less the empty schema)")
    walked = (disk["walked"] - disk["empty"]) / people
    retained = (disk["retained"] - disk["empty"]) / people
    print(f"  right after the module:           {walked:>8,.0f} B/person")
    print(f"  after the retention rules ran {KEEP_FINISHED.days + 1} days later "
          f"({disk['purged']:,} rows purged): {retained:>8,.0f} B/person")
    print("  rows per person, after the module -> after retention: " + ", ".join(
        f"{t} {n / people:.1f}->{disk['rows_after'].get(t, 0) / people:.1f}"
        for t, n in sorted(disk["rows"].items()) if n and t != "schema_version"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (seconds)")
    parser.add_argument("--conversations", type=int, nargs="+",
                        help="conversations in progress (default 10,000 and 100,000)")
    parser.add_argument("--people", type=int, help="people walking a module (default 200)")
    args = parser.parse_args()
    counts = args.conversations or ([100, 300] if args.quick else [10_000, 100_000])
    walkers = args.people or (5 if args.quick else 200)
    sweep_every = 0.5 if args.quick else 5.0  # the sender's idle sweep (5 s in relbot run)
    print(machine())
    print(command())
    compiled, screen = compiled_and_screen()
    tracemalloc.start()
    results = {}
    with tempfile.TemporaryDirectory(prefix="relbot-memory-") as tmp:
        for people in counts:
            results[people] = asyncio.run(in_progress(people, Path(tmp), compiled, screen,
                                                      sweep_every))
            print(f"  {people:,} conversations: {results[people][0] / people:,.0f} B each "
                  "(traced)", flush=True)
        tracemalloc.stop()
        disk = asyncio.run(per_person_on_disk(walkers, Path(tmp), compiled, screen))
    report_memory(results)
    report_disk(disk)


if __name__ == "__main__":
    main()
