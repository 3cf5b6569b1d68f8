"""SQLite backend: the default for a single bot process; stdlib only.

Why it looks like this: one connection, so one transaction at a time, which is also all
SQLite allows (one writer); a lock (``ConnectionLock``) guards the connection for the
length of a transaction and for every other call (otherwise a sender's ``pending()`` could
read a row that is later rolled back). Its statements run on the event loop, where each takes
microseconds, and never a hop to a thread; whatever could block (another process's lock,
checkpoints, jobs that grow with the tables) is kept off the loop: see ``sqlite_run``,
which also says why with the benchmark's figures. ``BEGIN IMMEDIATE`` takes SQLite's
write lock up front, so the user's state is read after the lock and a second process on
the same file is waited for (up to ``busy_timeout``) instead of failing mid-transaction.
WAL + ``synchronous=NORMAL``: commits survive a process crash (a power cut may lose the
last few, never corrupt the file).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from bot.privacy.keyring import KeyRing
from bot.storage.base import (
    DEFAULT_MAX_ATTEMPTS,
    OUTBOX_BACKLOG_SQL,
    SUPERSEDED,
    Store,
    Transaction,
    settle,
)
from bot.storage.faults import StorageRefused, describe
from bot.storage.migrations import (
    SQLITE_MIGRATIONS,
    SQLITE_SCHEMA_VERSION_TABLE,
    USER_TABLES,
    Upgrade,
    to_apply,
)
from bot.storage.models import (
    Clock,
    Consent,
    OutboxBacklog,
    OutboxItem,
    OutboxStatus,
    Record,
    UserRecord,
    as_datetime,
    format_ts,
    item_from_row,
    parse_ts,
    record_from_row,
    user_from_row,
)
from bot.storage.sealing import SEALED_COLUMNS, KeyProvider
from bot.storage.sqlite_run import (
    LoopRunner,
    Runner,
    ThreadRunner,
    rollback_if_active,
)
from bot.storage.sqlite_sql import (
    _CLAIM_JOB,
    _FORGET_SENT_OF_UNKNOWN,
    _INACTIVE,
    _KEY_USAGE,
    _MARK_FAILED,
    _MARK_SENT,
    _RECENT_SENDS,
    _SAVE_USER,
    _TO_RESEAL,
    PENDING_ALL,
    PENDING_CHAT,
)

__all__ = ["SQLiteStore"]

T = TypeVar("T")
Row = sqlite3.Row
_SCHEMA_VERSION = "SELECT COALESCE(MAX(version), 0) FROM schema_version"
Params = tuple[object, ...] | dict[str, object]


def _atomic(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``fn`` in its own write transaction, as one job."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        rollback_if_active(conn)
        raise
    return result


# Statement runners (the first argument is always the connection).
def _rows(conn: sqlite3.Connection, sql: str, params: Params = ()) -> list[Row]:
    return conn.execute(sql, params).fetchall()


def _rowcount(conn: sqlite3.Connection, sql: str, params: Params = ()) -> int:
    return conn.execute(sql, params).rowcount


def _lastrowid(conn: sqlite3.Connection, sql: str, params: Params = ()) -> int:
    return int(conn.execute(sql, params).lastrowid or 0)


class SQLiteStore(Store):
    """Store on one SQLite file (or ``:memory:``), one connection (see ``sqlite_run``).

    ``threaded=True`` runs every statement on the worker thread (the first design): for a
    file on a filesystem where a plain write can stall; slower on a local disk.
    """

    concurrent_writers = False

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        busy_timeout: float = 5.0,
        keys: KeyRing | KeyProvider | None = None,
        upgrade: Upgrade = "apply",
        threaded: bool = False,
    ) -> None:
        super().__init__(clock=clock, max_attempts=max_attempts, keys=keys, upgrade=upgrade)
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout
        runner = ThreadRunner if threaded else LoopRunner
        self._runner: Runner = runner(self.path, busy_timeout)
        self._conn_lock = self._runner.lock

    @property
    def in_memory(self) -> bool:
        return self.path == ":memory:"

    @property
    def hops(self) -> int:
        """Jobs handed to the worker thread since open (what the benchmark counts)."""
        return self._runner.hops

    async def _exclusive(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one self-contained job while no transaction is open on the connection."""
        async with self._conn_lock:
            result = await self._runner.job(fn, *args)
            await self._runner.after()
            return result

    async def _slow(self, fn: Callable[..., T], *args: Any) -> T:
        """Like ``_exclusive``, for a job whose cost grows with the tables (off the loop)."""
        async with self._conn_lock:
            result = await self._runner.slow_job(fn, *args)
            await self._runner.after()
            return result

    async def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Escape hatch for maintenance and tests (backups, ad-hoc queries): runs ``fn`` with
        the connection on the worker thread, between transactions."""
        self._guard()
        return await self._slow(fn)

    # --- lifecycle -----------------------------------------------------------------------
    async def _open(self) -> None:
        try:
            if not self.in_memory:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise self._refused(error) from error
        try:
            await settle(self._runner.open())
            self.schema_found = await self._runner.slow_job(
                _migrate, format_ts(self.now()), self.upgrade)
            await self._runner.slow_job(_check_writable)
        except (sqlite3.Error, OSError) as error:
            await self._runner.close()
            raise self._refused(error) from error
        except BaseException:
            await self._runner.close()
            raise

    def _refused(self, error: BaseException) -> StorageRefused:
        """One line for a database the bot cannot use at all (checked once, at start)."""
        return StorageRefused(
            f"cannot write to the SQLite database {self.path} ({describe(error)}); make sure "
            "the file and its folder exist and are writable by this user, and the disk has space"
        )

    async def _close(self) -> None:
        async with self._conn_lock:
            await settle(self._runner.close())

    # --- transactions --------------------------------------------------------------------
    @asynccontextmanager
    async def _begin(self, user_id: int) -> AsyncIterator[Transaction]:
        runner = self._runner
        async with self._conn_lock:
            try:
                await runner.begin()
            except BaseException:
                await runner.finish(rollback_if_active)
                raise
            try:
                yield SQLiteTransaction(self, user_id)
            except BaseException:
                await runner.finish(rollback_if_active)
                raise
            try:
                await runner.finish(_rowcount, "COMMIT")
            except BaseException:
                await runner.finish(rollback_if_active)
                raise
            await runner.after()

    # --- outbox and maintenance ----------------------------------------------------------
    async def _pending(
        self, chat_id: int | None, limit: int, now: datetime, claim_until: datetime | None
    ) -> list[OutboxItem]:
        params = {"now": format_ts(now), "limit": limit, "chat_id": chat_id}
        sql = PENDING_ALL if chat_id is None else PENDING_CHAT
        if claim_until is None:
            rows = await self._exclusive(_rows, sql, params)
            return [item_from_row(row, self.codec) for row in rows]
        until = format_ts(claim_until)

        def claim(conn: sqlite3.Connection) -> list[Row]:
            rows = _rows(conn, sql, params)
            update = "UPDATE outbox SET not_before = ? WHERE id = ?"
            conn.executemany(update, [(until, row["id"]) for row in rows])
            return rows

        rows = await self._exclusive(_atomic, claim)
        return [replace(item_from_row(row, self.codec), not_before=claim_until) for row in rows]

    async def _schema_version(self) -> int:
        return int((await self._exclusive(_rows, _SCHEMA_VERSION))[0][0])

    async def _relet(self, leases: list[tuple[int, datetime]], until: datetime) -> list[int]:
        sql = ("UPDATE outbox SET not_before = ? WHERE id = ? AND status = 'pending'"
               " AND not_before = ?")
        rows = [(format_ts(until), outbox_id, format_ts(lease)) for outbox_id, lease in leases]

        def relet(conn: sqlite3.Connection) -> list[int]:
            return [row[1] for row in rows if _rowcount(conn, sql, row) == 1]

        return await self._exclusive(_atomic, relet)

    async def _recent_sends(self, chat_id: int, since: datetime) -> list[datetime]:
        rows = await self._exclusive(_rows, _RECENT_SENDS, (format_ts(since), chat_id))
        return [parse_ts(row[0]) for row in rows]

    async def _mark_sent(self, outbox_id: int, message_id: int | None, now: datetime) -> bool:
        def sent(conn: sqlite3.Connection) -> bool:
            if _rowcount(conn, _MARK_SENT, (message_id, format_ts(now), outbox_id)) == 1:
                return True
            return _rowcount(conn, _FORGET_SENT_OF_UNKNOWN, (outbox_id,)) == 1

        return await self._exclusive(sent)

    async def _mark_failed(
        self,
        outbox_id: int,
        error: str,
        retry_at: datetime | None,
        now: datetime,
        max_attempts: int,
    ) -> OutboxStatus | None:
        params = {
            "error": error,
            "permanent": retry_at is None,
            "max": max_attempts,
            "retry_at": format_ts(retry_at) if retry_at is not None else None,
            "now": format_ts(now),
            "id": outbox_id,
        }
        rows = await self._exclusive(_rows, _MARK_FAILED, params)
        return OutboxStatus(rows[0]["status"]) if rows else None

    async def _purge_inbox(self, cutoff: datetime) -> int:
        sql = "DELETE FROM inbox WHERE seen_at < ?"
        return await self._slow(_rowcount, sql, (format_ts(cutoff),))

    async def _purge_outbox(self, cutoff: datetime) -> int:
        sql = "DELETE FROM outbox WHERE status <> 'pending' AND finished_at < ?"
        return await self._slow(_rowcount, sql, (format_ts(cutoff),))

    async def _scrub_dead(self, cutoff: datetime) -> int:
        sql = ("UPDATE outbox SET params = '{}'"
               " WHERE status = 'dead' AND finished_at < ? AND params <> '{}'")
        return await self._slow(_rowcount, sql, (format_ts(cutoff),))

    async def _inactive_users(self, cutoff: datetime, limit: int) -> list[int]:
        rows = await self._slow(_rows, _INACTIVE, (format_ts(cutoff), limit))
        return [int(row[0]) for row in rows]

    async def _claim_job(self, job: str, now: datetime, due_before: datetime) -> bool:
        params = (job, format_ts(now), format_ts(due_before))
        return bool(await self._exclusive(_atomic, lambda c: _rows(c, _CLAIM_JOB, params)))

    async def _users_to_reseal(self, prefix: str, after: int, limit: int) -> list[int]:
        params = {"n": len(prefix), "p": prefix, "after": after, "limit": limit}
        return [int(row[0]) for row in await self._slow(_rows, _TO_RESEAL, params)]

    async def _key_usage(self) -> dict[str, int]:
        return {str(k): int(n) for k, n in await self._slow(_rows, _KEY_USAGE)}

    async def _count_users(self) -> int:
        rows = await self._slow(_rows, "SELECT COUNT(*) FROM users")
        return int(rows[0][0])

    async def _outbox_backlog(self) -> OutboxBacklog:
        [(count, oldest)] = await self._slow(_rows, OUTBOX_BACKLOG_SQL)
        return OutboxBacklog(int(count), as_datetime(oldest) if oldest is not None else None)

    async def _sql(self, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
        return await self._slow(_atomic, lambda conn: _dicts(conn, sql, params))


def _neutral(params: Sequence[object]) -> tuple[object, ...]:
    """Parameters of a dialect-neutral statement, as SQLite stores them."""
    return tuple(format_ts(p) if isinstance(p, datetime) else
                 int(p) if isinstance(p, bool) else p for p in params)


def _dicts(conn: sqlite3.Connection, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(sql, _neutral(params)).fetchall()]


def _check_writable(conn: sqlite3.Connection) -> None:
    """Write a row and roll it back: a read-only file passes BEGIN IMMEDIATE, not this."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("UPDATE schema_version SET description = description")
    finally:
        rollback_if_active(conn)


def _migrate(conn: sqlite3.Connection, now: str, upgrade: Upgrade) -> int:
    """Apply what is missing (as `upgrade` says); returns the version found."""

    def step(conn: sqlite3.Connection) -> int:
        conn.execute(SQLITE_SCHEMA_VERSION_TABLE)
        current = int(conn.execute(_SCHEMA_VERSION).fetchone()[0])
        for migration in to_apply(SQLITE_MIGRATIONS, current, upgrade):
            for statement in migration.statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                (migration.version, migration.description, now),
            )
        return current

    return _atomic(conn, step)


class SQLiteTransaction(Transaction):
    """Statements of one open ``BEGIN IMMEDIATE`` transaction (see ``sqlite_run``)."""

    def __init__(self, store: SQLiteStore, user_id: int) -> None:
        super().__init__(user_id, store.now, store.codec)
        self._call = store._runner.statement  # the transaction already holds the connection

    async def _seen(self, update_id: int) -> bool:
        sql = "SELECT 1 FROM inbox WHERE user_id = ? AND update_id = ?"
        return bool(await self._call(_rows, sql, (self.user_id, update_id)))

    async def _mark_seen(self, update_id: int, now: datetime) -> None:
        sql = "INSERT INTO inbox VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
        await self._call(_rowcount, sql, (self.user_id, update_id, format_ts(now)))

    async def _load_user(self) -> UserRecord | None:
        rows = await self._call(_rows, "SELECT * FROM users WHERE user_id = ?", (self.user_id,))
        return user_from_row(rows[0], self._codec) if rows else None

    async def _save_user(self, record: UserRecord, now: datetime) -> UserRecord:
        stamp = format_ts(now)
        params = (
            record.user_id,
            record.chat_id,
            record.language,
            record.session,
            Consent(record.consent).to_json(),
            int(record.unreachable),
            format_ts(record.created_at) if record.created_at is not None else stamp,
            stamp,
            record.delete_token,
            format_ts(record.delete_expires) if record.delete_expires is not None else None,
            record.notice,
        )
        return user_from_row((await self._call(_rows, _SAVE_USER, params))[0], self._codec)

    async def _enqueue(self, chat_id: int, method: str, params: str, now: datetime) -> int:
        sql = (
            "INSERT INTO outbox (user_id, chat_id, method, params, not_before, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
        )
        stamp = format_ts(now)
        return await self._call(
            _lastrowid, sql, (self.user_id, chat_id, method, params, stamp, stamp)
        )

    async def _mark_urgent(self, outbox_id: int) -> None:
        await self._call(_rowcount, "UPDATE outbox SET urgent = 1 WHERE id = ?", (outbox_id,))

    async def _supersede_queued(self, chat_id: int, now: datetime) -> int:
        sql = (
            "UPDATE outbox SET status = 'dead', last_error = ?, finished_at = ?"
            " WHERE user_id = ? AND chat_id = ? AND status = 'pending' AND urgent = 0"
        )
        params = (SUPERSEDED, format_ts(now), self.user_id, chat_id)
        return await self._call(_rowcount, sql, params)

    async def _add_record(self, kind: str, data: str, now: datetime) -> int:
        sql = "INSERT INTO records (user_id, kind, data, created_at) VALUES (?, ?, ?, ?)"
        return await self._call(_lastrowid, sql, (self.user_id, kind, data, format_ts(now)))

    async def _records(self) -> list[Record | None]:
        sql = "SELECT * FROM records WHERE user_id = ? ORDER BY id"
        rows = await self._call(_rows, sql, (self.user_id,))
        return [record_from_row(row, self._codec) for row in rows]

    async def _delete_records(self) -> int:
        sql = "DELETE FROM records WHERE user_id = ?"
        return await self._call(_rowcount, sql, (self.user_id,))

    async def _sealed_values(self) -> list[tuple[str, str, int, str]]:
        found: list[tuple[str, str, int, str]] = []
        for table, column in SEALED_COLUMNS:
            key = "user_id" if table == "users" else "id"
            sql = (f'SELECT "{key}", "{column}" FROM "{table}" WHERE user_id = ?'
                   f' AND "{column}" IS NOT NULL')
            if table == "outbox":
                sql += " AND status = 'pending'"
            for row in await self._call(_rows, sql, (self.user_id,)):
                found.append((table, column, int(row[0]), str(row[1])))
        return found

    async def _rewrite(self, table: str, column: str, key: int, stored: str) -> None:
        name = "user_id" if table == "users" else "id"
        sql = f'UPDATE "{table}" SET "{column}" = ? WHERE "{name}" = ? AND user_id = ?'
        await self._call(_rowcount, sql, (stored, key, self.user_id))

    async def _sql(self, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
        return await self._call(_dicts, sql, params)

    async def _delete_rows(self) -> int:
        total = 0
        for table in USER_TABLES:
            sql = f'DELETE FROM "{table}" WHERE user_id = ?'
            total += await self._call(_rowcount, sql, (self.user_id,))
        return total
