"""Benchmark: what "apply, then acknowledge" costs, against "store raw, acknowledge, apply".

Why this exists: an update may be acknowledged to Telegram only once it is durably
recorded. relbot applies each update (one transaction: inbox, session, outbox) and only
then asks for the next offset. The alternative stores each raw update first (a write
and a commit), acknowledges at once, and applies it later (a second transaction). This
script runs the real bot (`relbot run`, polling, the example dialogues) against the fake
Telegram, queues a burst of updates from many people, and prints:

- how fast they are acknowledged, and how long a getUpdates batch waits for its ack;
- what one extra durable write per update (the least "store raw first" would add)
  costs on the same database, measured directly.

    .venv/bin/python bench/receive.py                    # 2,000 updates, 100 people, SQLite
    .venv/bin/python bench/receive.py --database-url postgresql://postgres@127.0.0.1/test
    .venv/bin/python bench/receive.py --quick            # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from e2e.harness import BotProcess, running  # noqa: E402
from fakegram import FakeTelegram  # noqa: E402

from bot.storage import open_store  # noqa: E402


def acknowledged(fake: FakeTelegram, updates: int, people: int, first: int) -> dict[str, float]:
    """Queue `updates` commands from `people` at once; time until Telegram forgot them all."""
    began = time.monotonic()
    for n in range(updates):
        fake.send_command(first + n % people, "privacy")
    fake.wait_for(lambda: not fake.pending_updates(), timeout=600, what="every update acked")
    elapsed = time.monotonic() - began
    polls = [c for c in fake.calls("getUpdates") if c.finished is not None]
    waits, sizes = [], []
    for asked, answered in zip(polls[1:], polls, strict=False):
        size = len((answered.response or {}).get("result") or [])
        if size:  # from the answer that brought a batch to the call that acknowledged it
            waits.append(asked.started - (answered.finished or asked.started))
            sizes.append(size)
    return {
        "updates_per_s": updates / elapsed,
        "batches": len(sizes),
        "batch_size": statistics.mean(sizes),
        "ack_wait_median_ms": statistics.median(waits) * 1000,
        "ack_wait_max_ms": max(waits) * 1000,
    }


async def extra_write_ms(database_url: str, writes: int) -> float:
    """Median cost of one more committed write per update (a raw copy of it)."""
    store = open_store(database_url)
    await store.open()
    try:
        times = []
        for n in range(writes):
            began = time.perf_counter()
            async with store.transaction(9_000_000 + n) as tx:
                await tx.mark_seen(n + 1)
            times.append(time.perf_counter() - began)
        return statistics.median(times) * 1000
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file")
    args = parser.parse_args()
    updates, people = (200, 20) if args.quick else (2000, 100)
    with tempfile.TemporaryDirectory() as work, FakeTelegram() as fake:
        url = args.database_url or f"sqlite:///{Path(work) / 'relbot.sqlite3'}"
        with running(BotProcess(fake, Path(work), database_url=url)):
            figures = acknowledged(fake, updates, people, 50_000_001)
        extra = asyncio.run(extra_write_ms(url, 200 if args.quick else 1000))
    per_update = 1000 / figures["updates_per_s"]
    print(f"database: {'PostgreSQL' if url.startswith('postgres') else 'SQLite'}; "
          f"{updates} updates from {people} people, queued at once")
    print(f"apply, then acknowledge: {figures['updates_per_s']:.0f} updates/s acknowledged "
          f"({per_update:.2f} ms each), {figures['batches']} batches of "
          f"{figures['batch_size']:.0f} on average")
    print(f"  a batch waits for its acknowledgement: median {figures['ack_wait_median_ms']:.0f}"
          f" ms, at most {figures['ack_wait_max_ms']:.0f} ms")
    print(f"store raw first: one more committed write per update costs {extra:.2f} ms "
          f"(median), {100 * extra / per_update:.0f}% of what applying one costs now")


if __name__ == "__main__":
    main()
