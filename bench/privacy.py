"""Benchmark: what encryption at rest costs per update.

Why this exists: every update seals the person's session and each reply's parameters,
and opens the session again; the sender opens each reply before sending it. This script
runs the same realistic update (a ~700-byte session, two replies of ~300 characters)
through SQLite with and without a key ring, interleaved so machine noise hits both
equally, and prints the medians and the difference. It also times sealing and opening
alone.

    .venv/bin/python bench/privacy.py            # 3,000 updates each way
    .venv/bin/python bench/privacy.py --quick    # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bot.privacy.keyring import KeyRing, new_key_entry
from bot.storage import SQLiteStore, Store, UserRecord

SESSION_VARS = {"language": "en", "adult": True, "store_answers": False,
                "dm_describe": "When you read my messages without asking, " * 4,
                "dm_express": "I feel watched and I stop trusting us. " * 4,
                "dm_assert": "Please ask me before you look at my phone. " * 3}
REPLY = "Here's what you wrote: “" + "When you read my messages without asking, " * 6 + "”"


async def _one_update(store: Store, user_id: int, update_id: int) -> None:
    async with store.transaction(user_id) as tx:
        await tx.seen(update_id)
        user = await tx.load_user() or UserRecord(user_id, user_id, language="en")
        step = json.loads(user.session)["n"] + 1 if user.session else 0
        session = json.dumps({"s": [["dear_man", "express"]], "v": SESSION_VARS, "n": step})
        await tx.save_user(replace(user, session=session))
        for _ in range(2):
            await tx.enqueue(user_id, "sendMessage", {"chat_id": user_id, "text": REPLY})
        await tx.mark_seen(update_id)
    for item in await store.pending(user_id):
        await store.mark_sent(item.id, 1)


class CountingKeys:
    """A key provider that counts how often the store seals or opens something."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring, self.uses = ring, 0

    def ring(self) -> KeyRing:
        self.uses += 1
        return self._ring


async def run(updates: int, directory: Path) -> tuple[dict[str, list[int]], dict[str, int],
                                                        float]:
    """Wall time per update for each store, CPU time (all threads) per store, and how many
    seal/open operations one update makes."""
    keys = CountingKeys(KeyRing.parse(new_key_entry("bench")))
    stores = {"plain": SQLiteStore(directory / "plain.sqlite3"),
              "sealed": SQLiteStore(directory / "sealed.sqlite3", keys=keys)}
    samples: dict[str, list[int]] = {name: [] for name in stores}
    cpu: dict[str, int] = dict.fromkeys(stores, 0)
    for store in stores.values():
        await store.open()
    try:
        for i in range(updates + updates // 10):  # the first 10 % are warm-up
            order = list(stores.items())
            for name, store in order if i % 2 else reversed(order):  # neither always first
                c0, t0 = time.process_time_ns(), time.perf_counter_ns()
                await _one_update(store, 1 + i % 50, 1000 + i)
                if i >= updates // 10:
                    samples[name].append(time.perf_counter_ns() - t0)
                    cpu[name] += time.process_time_ns() - c0
            if i == updates // 10 - 1:
                keys.uses = 0
    finally:
        for store in stores.values():
            await store.close()
    return samples, cpu, keys.uses / updates


def micro(rounds: int) -> tuple[float, float]:
    """Median µs to seal and to open one session."""
    ring = KeyRing.parse(new_key_entry("bench"))
    text = json.dumps({"v": SESSION_VARS})
    seal, open_ = [], []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        sealed = ring.seal(text, "users.session:1")
        t1 = time.perf_counter_ns()
        ring.open(sealed, "users.session:1")
        t2 = time.perf_counter_ns()
        seal.append(t1 - t0)
        open_.append(t2 - t1)
    return statistics.median(seal) / 1000, statistics.median(open_) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (seconds)")
    args = parser.parse_args()
    updates = 200 if args.quick else 3_000
    seal_us, open_us = micro(2_000 if args.quick else 20_000)
    print(f"seal one session ({len(json.dumps({'v': SESSION_VARS}))} B): {seal_us:.1f} µs; "
          f"open: {open_us:.1f} µs")
    with tempfile.TemporaryDirectory() as directory:
        samples, cpu, ops = asyncio.run(run(updates, Path(directory)))
    plain = statistics.median(samples["plain"]) / 1000
    sealed = statistics.median(samples["sealed"]) / 1000
    cpu_plain, cpu_sealed = (cpu[k] / updates / 1000 for k in ("plain", "sealed"))
    print(f"seal/open operations per update: {ops:.1f}")
    print(f"one update + drain (2 replies), {updates} each way:")
    print(f"  wall median: plain {plain:.0f} µs, sealed {sealed:.0f} µs "
          f"({sealed - plain:+.0f} µs; the machine's noise is larger than this)")
    print(f"  CPU per update (all threads): plain {cpu_plain:.0f} µs, sealed "
          f"{cpu_sealed:.0f} µs ({cpu_sealed - cpu_plain:+.0f} µs, "
          f"{(cpu_sealed - cpu_plain) / cpu_plain:+.1%})")


if __name__ == "__main__":
    main()
