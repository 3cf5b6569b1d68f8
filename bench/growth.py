"""Benchmark: does an update cost more when many people are stored? relbot vs PicklePersistence.

Why this exists (issue 14): relbot keeps every person in SQLite and touches only the
rows of the person in hand (indexed), so its per-update cost should not grow with the
people stored (target: 1,000,000 within 1.2x of 1,000). python-telegram-bot's
PicklePersistence writes *everything* on each flush, so its flush grows with the people
it holds; this finds how large it can get before one flush takes two minutes.

    .venv/bin/python bench/growth.py            # 1,000 / 100,000 / 1,000,000 stored
    .venv/bin/python bench/growth.py --quick    # a smoke run, a few seconds

relbot: each database is seeded directly with SQL (as bench/storage.py seeds: every
person with inbox, outbox and record rows, here with a real session), then the real
parts (`bench/variants.py` Relbot, in-memory Bot API) serve new people walking the
shipped dialogues; the sizes take turns in interleaved rounds. PicklePersistence: user
data and a conversation state per person (the same session JSON), flushed with
`PicklePersistence.flush()`, at growing sizes until a flush exceeds the budget or the
next size would not fit in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from storage import _seed  # bench/storage.py: people with history, straight into the schema
from telegram.ext import PicklePersistence
from variants import Relbot
from walking import command, compiled_and_screen, machine, walk

from bot.core.types import Pressed, Session, Started, Typed
from bot.storage import SQLiteStore
from bot.turn import take_turn

TARGET_RATIO = 1.2
FLUSH_BUDGET = 120.0  # seconds: "up to the size it can flush in two minutes"


def typical_session(compiled: object, screen: object) -> str:
    """A session a few steps into a module, as it is stored (JSON)."""
    session = take_turn(compiled, screen, Session(vars={"language": "en"}),  # type: ignore[arg-type]
                        Started("balance_checkin")).session
    for _ in range(4):
        frame = session.stack[-1]
        state = compiled.dialogues[frame.module].states[frame.state]  # type: ignore[attr-defined]
        event = Pressed(session.step, next(iter(state.choices))) if state.choices else Typed("5")
        session = take_turn(compiled, screen, session, event).session  # type: ignore[arg-type]
    return session.to_json()


async def seed(path: Path, people: int, session: str) -> float:
    """A database with `people` stored people; returns the seconds it took."""
    store = SQLiteStore(path)
    await store.open()
    began = time.perf_counter()
    try:
        await store.run_sync(lambda conn: _seed(conn, people))
        await store.run_sync(lambda conn: conn.execute("UPDATE users SET session = ?",
                                                       (session,)))
        await store.run_sync(lambda conn: conn.execute("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        await store.close()
    return time.perf_counter() - began


async def relbot_growth(sizes: list[int], walkers: int, steps: int, rounds: int,
                        folder: Path, session: str) -> dict[int, list[float]]:
    compiled, screen = compiled_and_screen()
    for people in sizes:
        seconds = await seed(folder / f"{people}.sqlite3", people, session)
        size = (folder / f"{people}.sqlite3").stat().st_size / 2**20
        print(f"  seeded {people:>9,} people in {seconds:5.1f} s ({size:,.0f} MiB)", flush=True)
    per_update: dict[int, list[float]] = {}
    order = list(sizes)
    for round_no in range(rounds):
        for people in order:
            variant = Relbot(compiled, screen, folder / f"{people}.sqlite3")
            # New people every round (ids far above the seeded ones).
            run = await walk(variant, walkers, steps, first_person=round_no * walkers)
            per_update.setdefault(people, []).append(1e6 / run.per_second)
            print(f"  round {round_no + 1}: {people:>9,} stored: "
                  f"{run.per_second:,.0f} updates/s", flush=True)
        order = order[1:] + order[:1]
    return per_update


async def pickle_growth(start: int, budget: float, memory_cap: int, folder: Path,
                        session: str) -> list[tuple[int, float, float]]:
    """(people, flush seconds, file MiB) for growing sizes, until a flush exceeds the
    budget or the next size would not fit in `memory_cap` bytes."""
    results: list[tuple[int, float, float]] = []
    people = start
    per_person = 0.0
    while True:
        path = folder / f"state-{people}.pickle"
        # on_flush: filling it must not write the file once per person; one flush is timed.
        persistence = PicklePersistence(path, update_interval=60, on_flush=True)
        for uid in range(1, people + 1):
            mine = session.replace('"v":{', f'"v":{{"id":{uid},', 1)  # its own object, as
            await persistence.update_user_data(uid, {"session": mine})  # after unpickling
            await persistence.update_conversation("dialogue", (uid, uid), 0)
        began = time.perf_counter()
        await persistence.flush()
        seconds = time.perf_counter() - began
        mib = path.stat().st_size / 2**20
        results.append((people, seconds, mib))
        print(f"  PicklePersistence: {people:>10,} people, flush {seconds:7.2f} s, "
              f"{mib:,.0f} MiB", flush=True)
        per_person = max(per_person, 4 * path.stat().st_size / people)  # objects ~4x pickle
        del persistence
        path.unlink()
        gc.collect()
        nxt = people * 10 if seconds < budget / 20 else people * 2
        if seconds > budget or nxt * per_person > memory_cap:
            return results
        people = nxt


def available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 * 2**30


def report(per_update: dict[int, list[float]], flushes: list[tuple[int, float, float]],
           walkers: int, steps: int, budget: float, memory_cap: int) -> None:
    sizes = sorted(per_update)
    base = statistics.median(per_update[sizes[0]])
    print(f"\nrelbot: {walkers} new people x {steps} updates per round, "
          f"{len(per_update[sizes[0]])} interleaved round(s), median shown")
    print(f"{'people stored':>14} {'µs/update':>10} {'updates/s':>10} {'vs smallest':>12}")
    for people in sizes:
        median = statistics.median(per_update[people])
        print(f"{people:>14,} {median:>10,.0f} {1e6 / median:>10,.0f} {median / base:>11.2f}x")
    largest = statistics.median(per_update[sizes[-1]]) / base
    print(f"{sizes[-1]:,} vs {sizes[0]:,}: {largest:.2f}x (target within {TARGET_RATIO}x: "
          f"{'ok' if largest <= TARGET_RATIO else 'MISSED'})")
    print(f"\nPicklePersistence (one flush writes everyone; budget {budget:g} s, memory cap "
          f"{memory_cap / 2**30:.1f} GiB)")
    print(f"{'people held':>14} {'flush s':>8} {'file MiB':>9} {'µs/person':>10}"
          f" {'updates/s if flushed every update':>34}")
    for people, seconds, mib in flushes:
        print(f"{people:>14,} {seconds:>8.2f} {mib:>9,.0f} {1e6 * seconds / people:>10.2f}"
              f" {1 / seconds:>34,.3g}")
    people, seconds, _ = flushes[-1]
    if seconds > budget:
        print(f"a flush exceeded {budget:g} s at {people:,} people")
    else:
        reach = int(people * budget / seconds)
        print(f"largest flushed: {people:,} people in {seconds:.1f} s (stopped by the memory "
              f"cap); at this rate a {budget:.0f} s flush holds about {reach:,} people "
              "(extrapolated linearly)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (seconds)")
    parser.add_argument("--sizes", type=int, nargs="+", help="people stored (relbot)")
    parser.add_argument("--walkers", type=int, help="people walking per round (default 200)")
    parser.add_argument("--steps", type=int, default=15, help="updates per walking person")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    parser.add_argument("--budget", type=float, help="PicklePersistence flush budget, seconds")
    args = parser.parse_args()
    sizes = args.sizes or ([1_000, 10_000] if args.quick else [1_000, 100_000, 1_000_000])
    walkers = args.walkers or (10 if args.quick else 200)
    steps = min(args.steps, 8) if args.quick else args.steps
    rounds = args.rounds or (1 if args.quick else 3)
    budget = args.budget or (0.05 if args.quick else FLUSH_BUDGET)
    # The machine is shared: at most half of what is free, and at most 4 GiB.
    memory_cap = (200 * 2**20) if args.quick else min(available_memory() // 2, 4 * 2**30)
    print(machine())
    print(command())
    with tempfile.TemporaryDirectory(prefix="relbot-growth-") as tmp:
        compiled, screen = compiled_and_screen()
        session = typical_session(compiled, screen)
        print(f"a stored session: {len(session.encode())} bytes of JSON")
        per_update = asyncio.run(relbot_growth(sizes, walkers, steps, rounds, Path(tmp),
                                               session))
        for path in Path(tmp).glob("*.sqlite3*"):
            os.unlink(path)
        flushes = asyncio.run(pickle_growth(1_000, budget, memory_cap, Path(tmp), session))
    report(per_update, flushes, walkers, steps, budget, memory_cap)


if __name__ == "__main__":
    main()
