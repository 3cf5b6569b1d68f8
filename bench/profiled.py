"""cProfile around one benchmark run, split into our code, python-telegram-bot's and the rest.

Why this exists: issue 14 asks which part of an update's cost is ours (bot/) and which is
python-telegram-bot's own floor; a flat cProfile listing mixes them. This prints the top
functions by cumulative and by own time, each tagged with whose it is, and the own time
summed per owner.
"""

from __future__ import annotations

import asyncio
import cProfile
import pstats
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

__all__ = ["owner", "print_profile"]

ROOT = Path(__file__).resolve().parents[1]
TOP = 25


def owner(filename: str) -> str:
    """Whose code a profiled function is: ours, python-telegram-bot's, the bench's, or other."""
    if filename.startswith(str(ROOT / "bot")):
        return "ours"
    if "/telegram/" in filename:
        return "ptb"
    if filename.startswith(str(ROOT / "bench")):
        return "bench"
    if "site-packages" in filename:
        return "library"
    return "stdlib"  # including built-ins ("~") and C functions


def _where(key: tuple[str, int, str]) -> str:
    filename, line, function = key
    path = Path(filename)
    for base in (ROOT, *[p for p in path.parents if p.name == "site-packages"]):
        if path.is_relative_to(base):
            return f"{path.relative_to(base)}:{line} {function}"
    if filename == "~":
        return function
    return f"{path.name}:{line} {function}"


def print_profile(make_run: Callable[[], Awaitable[Any]], label: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    result = asyncio.run(make_run())  # type: ignore[arg-type]
    profiler.disable()
    updates = getattr(result, "updates", 0)
    stats = pstats.Stats(profiler)
    entries: dict[Any, tuple[int, float, float]] = {
        key: (value[1], value[2], value[3]) for key, value in stats.stats.items()}  # type: ignore[attr-defined]
    total = sum(own for _, own, _ in entries.values())
    print(f"\nprofile of {label}: {updates:,} updates, {total:.2f} s of profiled own time "
          f"({1e6 * total / max(updates, 1):,.0f} µs per update under the profiler)")
    shares: dict[str, float] = {}
    for key, (_, own, _) in entries.items():
        shares[owner(key[0])] = shares.get(owner(key[0]), 0.0) + own
    print("own time by owner: " + ", ".join(
        f"{name} {100 * own / total:.0f}%" for name, own in
        sorted(shares.items(), key=lambda kv: -kv[1])))
    ours = {k: v for k, v in entries.items() if owner(k[0]) == "ours"}
    for title, index, pool, top in (("cumulative", 2, entries, TOP),
                                     ("own time (tottime)", 1, entries, TOP),
                                     ("own time, ours (bot/) only", 1, ours, 15)):
        print(f"\ntop {top} by {title}")
        print(f"{'owner':<8} {'calls':>9} {'own s':>7} {'cum s':>7} {'cum µs/upd':>10}  function")
        ranked = sorted(pool.items(), key=lambda kv: -kv[1][index])[:top]
        for key, (calls, own, cumulative) in ranked:
            print(f"{owner(key[0]):<8} {calls:>9,} {own:>7.2f} {cumulative:>7.2f} "
                  f"{1e6 * cumulative / max(updates, 1):>10,.0f}  {_where(key)[:90]}")
