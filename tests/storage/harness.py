"""Test harness shared by the storage tests: a fake clock and backend handles.

Why separate from conftest.py: test modules import these types; conftest is for fixtures.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import asyncpg

from bot.storage import PostgresStore, SQLiteStore, Store, UserRecord


class FakeClock:
    """Deterministic store clock: timestamps in exports are exact; leases can expire."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Backend:
    """How to open stores on one test database, and inspect it independently of the API."""

    name: str
    make: Callable[..., Store]  # make(**options) -> unopened store on the same database
    persistent: bool

    async def schema(self, store: Store) -> dict[str, set[str]]:
        """Every table in the live schema with its columns (generic, not from our code)."""
        if isinstance(store, SQLiteStore):

            def run(conn):  # type: ignore[no-untyped-def]
                names = conn.execute(
                    "SELECT name FROM sqlite_schema WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite_%'"
                ).fetchall()
                return {
                    row[0]: {col[1] for col in conn.execute(f'PRAGMA table_info("{row[0]}")')}
                    for row in names
                }

            return await store.run_sync(run)
        assert isinstance(store, PostgresStore)
        conn = await asyncpg.connect(store.dsn)
        try:
            rows = await conn.fetch(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = $1",
                store.schema,
            )
        finally:
            await conn.close()
        tables: dict[str, set[str]] = {}
        for row in rows:
            tables.setdefault(row["table_name"], set()).add(row["column_name"])
        return tables

    async def query(self, store: Store, sql: str) -> list[tuple[object, ...]]:
        """Run a raw, parameterless query (identifiers only) on the test database."""
        if isinstance(store, SQLiteStore):
            return await store.run_sync(lambda conn: [tuple(r) for r in conn.execute(sql)])
        assert isinstance(store, PostgresStore)
        conn = await asyncpg.connect(store.dsn, server_settings={"search_path": store.schema})
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    async def dump(self, store: Store, user_id: int) -> dict[str, list[dict[str, object]]]:
        """Every raw row of ``user_id`` in every table with a user_id column, as stored."""
        tables: dict[str, list[dict[str, object]]] = {}
        for table, columns in sorted((await self.schema(store)).items()):
            if "user_id" not in columns:
                continue
            names = sorted(columns)
            select = ", ".join(f'"{c}"' for c in names)
            sql = f'SELECT {select} FROM "{table}" WHERE user_id = {int(user_id)}'
            rows = await self.query(store, sql)
            tables[table] = sorted(
                (dict(zip(names, row, strict=True)) for row in rows), key=repr)
        return tables

    async def outbox_rows(self, store: Store, user_id: int) -> list[dict[str, object]]:
        """The person's raw outbox rows in id order."""
        return sorted((await self.dump(store, user_id))["outbox"], key=lambda r: r["id"])  # type: ignore[arg-type, return-value]

    async def user_row_counts(self, store: Store, user_id: int) -> dict[str, int]:
        """Rows of ``user_id`` in every table of the schema that has a user_id column."""
        counts = {}
        for table, columns in (await self.schema(store)).items():
            if "user_id" in columns:
                sql = f'SELECT COUNT(*) FROM "{table}" WHERE user_id = {int(user_id)}'
                counts[table] = int((await self.query(store, sql))[0][0])
        return counts


class Boom(Exception):
    pass


async def handle(store: Store, user_id: int, update_id: int, text: str = "hi") -> bool:
    """One update through the exactly-once model; False if it was a redelivery."""
    async with store.transaction(user_id) as tx:
        if await tx.seen(update_id):
            return False
        user = await tx.load_user() or UserRecord(user_id, user_id, session='{"n":0}')
        count = json.loads(user.session or '{"n":0}')["n"]
        await asyncio.sleep(0)  # let other tasks interleave between read and write
        await tx.save_user(replace(user, session=json.dumps({"n": count + 1})))
        await tx.enqueue(user.chat_id, "sendMessage", {"chat_id": user.chat_id, "text": text})
        await tx.mark_seen(update_id)
        return True


async def counter(store: Store, user_id: int) -> int:
    async with store.transaction(user_id) as tx:
        user = await tx.load_user()
    assert user is not None and user.session is not None
    return int(json.loads(user.session)["n"])


def texts(items: list) -> list[str]:  # type: ignore[type-arg]
    return [item.params["text"] for item in items]
