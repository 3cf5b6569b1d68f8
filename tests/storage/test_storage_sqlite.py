"""SQLite-only guarantees: pragmas, index use of the hot queries, clean thread shutdown.

Why separate from the contract suite: these are properties of the SQLite implementation
(the per-update cost must stay O(1) in the number of users), not of the interface.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from bot.storage import SQLiteStore, StorageRefused
from bot.storage.base import OUTBOX_BACKLOG_SQL
from bot.storage.sqlite import PENDING_ALL, PENDING_CHAT


def _plan(conn: sqlite3.Connection, sql: str, params: object) -> str:
    rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return "\n".join(str(row[3]) for row in rows)


@pytest.mark.parametrize(("threaded", "waits"), [(False, (0, 0)), (True, (5000, 1000))])
async def test_pragmas_and_parent_directories(
    tmp_path: Path, threaded: bool, waits: tuple[int, int]
) -> None:
    """On the event loop the connection never waits inside SQLite (busy_timeout 0: the
    store waits with asyncio.sleep) and never checkpoints (a thread does)."""
    path = tmp_path / "a" / "b" / "bot.sqlite3"
    async with SQLiteStore(path, threaded=threaded) as store:
        pragmas = await store.run_sync(
            lambda conn: [
                conn.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout",
                             "wal_autocheckpoint")
            ]
        )
    assert path.exists()
    assert pragmas == ["wal", 1, 1, *waits]  # synchronous=1 is NORMAL


@pytest.mark.parametrize(
    ("sql", "params", "indexes"),
    [
        (PENDING_ALL, {"now": "x", "limit": 10}, ["outbox_pending", "outbox_pending_chat"]),
        (PENDING_CHAT, {"now": "x", "limit": 10, "chat_id": 1}, ["outbox_pending_chat"]),
        (
            "SELECT 1 FROM inbox WHERE user_id = 1 AND update_id = 2",
            (),
            ["PRIMARY KEY (user_id=? AND update_id=?)"],
        ),
        ("SELECT * FROM users WHERE user_id = 1", (), ["INTEGER PRIMARY KEY"]),
        ("SELECT * FROM records WHERE user_id = 1 AND kind = 'j'", (), ["records_user_kind"]),
        ("SELECT * FROM outbox WHERE user_id = 1", (), ["outbox_user"]),
        ("DELETE FROM inbox WHERE seen_at < 'x'", (), ["inbox_seen_at"]),
        (OUTBOX_BACKLOG_SQL, (), ["outbox_pending"]),  # what /healthz asks every time
    ],
)
async def test_hot_queries_use_indexes(sql: str, params: object, indexes: list[str]) -> None:
    async with SQLiteStore(":memory:") as store:
        plan = await store.run_sync(lambda conn: _plan(conn, sql, params))
    for index in indexes:
        assert index in plan, plan
    # No full scan of a table (a SCAN over an index is fine: it is the partial one).
    for line in plan.splitlines():
        if line.startswith("SCAN"):
            assert "USING" in line, plan


async def test_close_stops_the_worker_thread(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "x.sqlite3")
    await store.open()
    assert any(t.name.startswith("relbot-sqlite") for t in threading.enumerate())
    await store.close()
    await store.close()  # idempotent
    assert not any(t.name.startswith("relbot-sqlite") for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="not open"):
        await store.count_users()


async def test_a_file_that_cannot_be_opened_raises_its_own_error(tmp_path: Path) -> None:
    """Not "store is not connected" from the clean-up: the operator must see the cause."""
    store = SQLiteStore(tmp_path)  # a folder, not a database file
    with pytest.raises(StorageRefused, match="unable to open database file"):
        await store.open()
    assert not any(t.name.startswith("relbot-sqlite") for t in threading.enumerate())
