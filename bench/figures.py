"""Figures for the end-to-end benchmarks: percentiles, Telegram's limits, the machine.

Why its own module: bench/http_latency.py and bench/replicas.py print the same kinds of
figures (nearest-rank p50/p99, the busiest second of sendMessage overall and to one
chat, the machine and the command that reproduces a table) and must compute them alike.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def busiest_second(times: Sequence[float]) -> int:
    """The most events in any window of one second."""
    ordered, most, low = sorted(times), 0, 0
    for high, at in enumerate(ordered):
        while at - ordered[low] >= 1.0:
            low += 1
        most = max(most, high - low + 1)
    return most


def limits(sends: Sequence[tuple[int, float]]) -> tuple[int, int]:
    """(max sendMessage in any 1 s overall, max to one chat in any 1 s)."""
    per_chat: dict[int, list[float]] = defaultdict(list)
    for chat, at in sends:
        per_chat[chat].append(at)
    overall = busiest_second([at for _, at in sends])
    return overall, max((busiest_second(times) for times in per_chat.values()), default=0)


def machine(postgres_url: str | None = None) -> str:
    """Cores, Python, SQLite (and PostgreSQL) versions, python-telegram-bot's version."""
    import telegram

    parts = [f"{os.cpu_count()} cores ({platform.machine()}, {platform.system()})",
             f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}",
             f"python-telegram-bot {telegram.__version__}"]
    if postgres_url:
        parts.insert(3, f"PostgreSQL {_postgres_version(postgres_url)}")
    return ", ".join(parts)


def _postgres_version(url: str) -> str:
    import asyncio

    import asyncpg

    async def ask() -> str:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    return asyncio.run(ask()).split()[0]


def command_line() -> str:
    return " ".join([".venv/bin/python", *sys.argv])


def seconds_text(value: float) -> str:
    return "-" if value != value else f"{value:.2f}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Iterator[str]:
    """A Markdown table, ready for the README."""
    yield "| " + " | ".join(header) + " |"
    yield "|" + "|".join("---" for _ in header) + "|"
    for row in rows:
        yield "| " + " | ".join(str(cell) for cell in row) + " |"
