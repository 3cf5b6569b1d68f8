"""Driving many simulated people through one bot variant at once, and what that cost.

Why this exists: the in-process benchmarks (`inprocess`, `growth`, `memory`) all need
"N people, each closed-loop, concurrently, through variant X, timed and counted"; this
is that loop, once. Each person waits for the whole reply to an update before acting
again (as a person would); people act concurrently (as the webhook delivers them).
"""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from people import Person, UpdateIds
from variants import Variant

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "Run", "command", "compiled_and_screen", "count_hops", "machine", "walk"]


@dataclass
class Run:
    """One variant walking one crowd: wall time, updates, calls by method, streams."""

    name: str
    seconds: float
    updates: int
    calls: Counter[str]
    server_seconds: float
    moves: dict[int, list[str]] = field(default_factory=dict)
    streams: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    hops: int | None = None
    cpu_seconds: float = 0.0  # the process's CPU time (all threads): steadier under load

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    @property
    def cpu_us(self) -> float:
        """CPU microseconds per update."""
        return 1e6 * self.cpu_seconds / self.updates

    @property
    def calls_per_update(self) -> float:
        return sum(self.calls.values()) / self.updates


def compiled_and_screen() -> tuple[Any, Any]:
    """The shipped dialogues, compiled, and the crisis screen, as `relbot run` loads them."""
    from bot.cli.folders import SHIPPED, compiled_or_exit
    from bot.safety import Screen

    return compiled_or_exit(SHIPPED), Screen.load()


def count_hops(store: Any) -> Callable[[], int] | None:
    """Count round trips to the SQLite worker thread by wrapping this store's submit (the
    bench's own instance only); None if the store has no such method."""
    submit = getattr(store, "_submit", None)
    if submit is None:
        return None
    hops = [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        hops[0] += 1
        return submit(*args, **kwargs)

    store._submit = counted
    return lambda: hops[0]


async def walk(variant: Variant, people: int, steps: int, *,
               replay: dict[int, list[dict[str, Any]]] | None = None,
               record: bool = False, first_person: int = 0) -> Run:
    """Start the variant, walk `people` people `steps` updates each (or replay recorded
    streams), stop it. Only the walk is timed; the calls made while starting are not counted."""
    await variant.start()
    hops = count_hops(getattr(variant, "store", None))
    variant.api.calls.clear()
    variant.api.server_seconds = 0.0
    ids = UpdateIds()
    crowd = [Person(first_person + i, variant.api, ids) for i in range(people)]
    streams: dict[int, list[dict[str, Any]]] = {}

    async def one(person: Person) -> None:
        if replay is not None:
            for raw in replay[person.index]:
                await variant.feed(raw)
            return
        raw = person.start()
        for n in range(steps):
            if record:
                streams.setdefault(person.index, []).append(raw)
            await variant.feed(raw)
            if n < steps - 1:
                raw = person.next_update()

    hop_base = hops() if hops else 0
    began, cpu = time.perf_counter(), time.process_time()
    try:
        await asyncio.gather(*(one(p) for p in crowd))
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    finally:
        await variant.stop()
    updates = sum(len(s) for s in replay.values()) if replay is not None else people * steps
    return Run(variant.name, seconds, updates, Counter(variant.api.calls),
               variant.api.server_seconds, {p.index: p.moves for p in crowd}, streams,
               hops() - hop_base if hops else None, cpu)


def machine() -> str:
    cores = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"machine: {cores} cores ({platform.machine()}), Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"load average {load:.1f} at start")


def command() -> str:
    return "command: .venv/bin/python " + " ".join(
        [str(Path(sys.argv[0]).relative_to(ROOT)) if Path(sys.argv[0]).is_absolute()
         else sys.argv[0], *sys.argv[1:]])
