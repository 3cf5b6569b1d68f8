"""PostgreSQL backend (asyncpg): for running several bot replicas against one database.

Why it looks like this: with several replicas the in-process per-user lock is not enough,
so every transaction also takes ``pg_advisory_xact_lock(user_id)``; it works for users
who have no row yet (unlike ``SELECT ... FOR UPDATE``) and is released by COMMIT/ROLLBACK
or by the server if the replica dies.  Transactions run at READ COMMITTED on purpose: each
statement then sees what the previous lock holder committed (REPEATABLE READ would take its
snapshot at the lock statement itself, *before* the lock is granted, and read stale state).

Advisory lock keys share one bigint space per database: user locks use the (positive)
Telegram user id, the store's own locks use negative constants.  A collision with another
application's locks can only cause extra waiting, never wrong results.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from asyncpg.transaction import Transaction as PgTransaction

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
    POSTGRES_MIGRATIONS,
    POSTGRES_SCHEMA_VERSION_TABLE,
    USER_TABLES,
    Upgrade,
    to_apply,
)
from bot.storage.models import (
    SENDABLE,
    Clock,
    Consent,
    OutboxBacklog,
    OutboxItem,
    OutboxStatus,
    Record,
    UserRecord,
    item_from_row,
    record_from_row,
    user_from_row,
)
from bot.storage.sealing import SEALED_COLUMNS, KeyProvider

__all__ = ["PostgresStore"]

MIGRATION_LOCK_KEY = -int.from_bytes(b"relbot:M", "big")
CLAIM_LOCK_KEY = -int.from_bytes(b"relbot:C", "big")
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

_SAVE_USER = """
INSERT INTO users (user_id, chat_id, language, session, consent, unreachable,
                   created_at, updated_at, delete_token, delete_expires, notice)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11)
ON CONFLICT (user_id) DO UPDATE SET
    chat_id = EXCLUDED.chat_id, language = EXCLUDED.language, session = EXCLUDED.session,
    consent = EXCLUDED.consent, unreachable = EXCLUDED.unreachable,
    updated_at = EXCLUDED.updated_at, delete_token = EXCLUDED.delete_token,
    delete_expires = EXCLUDED.delete_expires, notice = EXCLUDED.notice
RETURNING *"""

# As in SQLite: a sent row keeps no text; an erased person's last reply keeps no row.
# One statement, one round trip: the row is marked sent, or removed if its person is gone
# (the last reply to /delete). The two conditions exclude each other, so the two parts
# never touch the same row.
_MARK_SENT = """
WITH forgotten AS (
    DELETE FROM outbox AS o WHERE o.id = $3 AND {SENDABLE}
      AND NOT EXISTS (SELECT 1 FROM users AS u WHERE u.user_id = o.user_id)
    RETURNING o.id),
sent AS (
    UPDATE outbox AS o SET status = 'sent', message_id = $1, finished_at = $2, params = '{{}}'
    WHERE o.id = $3 AND {SENDABLE}
      AND EXISTS (SELECT 1 FROM users AS u WHERE u.user_id = o.user_id)
    RETURNING o.id)
SELECT (SELECT COUNT(*) FROM forgotten) + (SELECT COUNT(*) FROM sent)""".format(
    SENDABLE=SENDABLE.replace("status", "o.status").replace("last_error", "o.last_error"))
# Uses the index on finished_at: only the last few seconds of the whole outbox are read.
_RECENT_SENDS = (
    "SELECT finished_at FROM outbox WHERE finished_at >= $2 AND chat_id = $1"
    " AND status = 'sent' AND method = 'sendMessage' ORDER BY finished_at"
)
_SCHEMA_VERSION = "SELECT COALESCE(MAX(version), 0) FROM schema_version"
_INACTIVE = """
SELECT u.user_id FROM users AS u
WHERE u.updated_at < $1
  AND (u.session IS NOT NULL OR EXISTS (SELECT 1 FROM records AS r WHERE r.user_id = u.user_id))
ORDER BY u.updated_at LIMIT $2"""
# Concurrent claimers of one job serialise on its row; the loser's WHERE then fails.
_CLAIM_JOB = """
INSERT INTO job_runs (job, last_run_at) VALUES ($1, $2)
ON CONFLICT (job) DO UPDATE SET last_run_at = EXCLUDED.last_run_at
WHERE job_runs.last_run_at <= $3
RETURNING job"""
_TO_RESEAL = """
SELECT user_id FROM users WHERE session IS NOT NULL AND substr(session, 1, $1) <> $2
  AND user_id > $3
UNION
SELECT user_id FROM outbox WHERE params <> '{}' AND substr(params, 1, $1) <> $2
  AND user_id > $3
UNION
SELECT user_id FROM records WHERE substr(data, 1, $1) <> $2 AND user_id > $3
UNION
SELECT user_id FROM assignments WHERE note IS NOT NULL AND substr(note, 1, $1) <> $2
  AND user_id > $3
ORDER BY 1 LIMIT $4"""
_KEY_USAGE = """
SELECT CASE WHEN substr(v, 1, 4) = 'rb1.' THEN split_part(v, '.', 2) ELSE 'plain' END
           AS key_id,
       COUNT(*)
FROM (SELECT session AS v FROM users WHERE session IS NOT NULL
      UNION ALL SELECT params FROM outbox WHERE params <> '{}'
      UNION ALL SELECT data FROM records
      UNION ALL SELECT note FROM assignments WHERE note IS NOT NULL) AS sealed
GROUP BY key_id"""

# Same rule as SQLite: a chat is skipped from its first not-yet-due pending row onwards.
_PENDING = """
SELECT * FROM outbox AS o
WHERE o.status = 'pending' {chat_filter}
  AND NOT EXISTS (
      SELECT 1 FROM outbox AS b
      WHERE b.status = 'pending' AND b.chat_id = o.chat_id
        AND b.id <= o.id AND b.not_before > $1)
ORDER BY o.id
LIMIT $2"""
PENDING_ALL = _PENDING.format(chat_filter="")
PENDING_CHAT = _PENDING.format(chat_filter="AND o.chat_id = $3")
_CLAIM_SUFFIX = "\nFOR UPDATE OF o SKIP LOCKED"

_MARK_FAILED = """
UPDATE outbox SET
    attempts = attempts + 1,
    last_error = $1,
    status = CASE WHEN $2::boolean OR attempts + 1 >= $3::int THEN 'dead' ELSE 'pending' END,
    not_before = COALESCE($4::timestamptz, not_before),
    finished_at = CASE WHEN $2::boolean OR attempts + 1 >= $3::int
                       THEN $5::timestamptz ELSE NULL END
WHERE id = $6 AND status = 'pending'
RETURNING status"""


def _where(dsn: str) -> str:
    """host/database of a DSN, without user or password, for messages."""
    parts = urlsplit(dsn)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.hostname or 'localhost'}{port}{parts.path}"


def _affected(status: str) -> int:
    """Row count from a command tag such as ``DELETE 3``."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresStore(Store):
    """Store on PostgreSQL via an asyncpg pool; safe with several replicas.

    ``schema``: keep the tables in this schema (created if missing) via ``search_path``;
    handy for tests and for sharing a database.
    """

    concurrent_writers = True

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        clock: Clock | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        min_size: int = 1,
        max_size: int = 10,
        keys: KeyRing | KeyProvider | None = None,
        upgrade: Upgrade = "apply",
    ) -> None:
        super().__init__(clock=clock, max_attempts=max_attempts, keys=keys, upgrade=upgrade)
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise ValueError(f"invalid schema name: {schema!r}")
        self.dsn = dsn
        self.schema = schema
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("store is not open")
        return self._pool

    # --- lifecycle -----------------------------------------------------------------------
    async def _open(self) -> None:
        settings = {"application_name": "relbot"}
        if self.schema is not None:
            settings["search_path"] = self.schema
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=self._min_size, max_size=self._max_size,
                server_settings=settings, reset=_keep_session,
            )
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            raise self._refused(error) from error
        try:
            await self._migrate()
            await self._check_writable()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            await self._close()
            raise self._refused(error) from error
        except BaseException:
            await self._close()
            raise

    def _refused(self, error: BaseException) -> StorageRefused:
        """One line for a database the bot cannot use at all (checked once, at start)."""
        reason = str(error).splitlines()[0][:200] if str(error) else describe(error)
        return StorageRefused(
            f"cannot write to the PostgreSQL database {_where(self.dsn)} ({reason}); check "
            "that the server is up, and that this role may create and write tables there"
        )

    async def _check_writable(self) -> None:
        """Write a row and roll it back: a read-only role or a standby fails here."""
        async with self.pool.acquire() as conn:
            tx = conn.transaction()
            await tx.start()
            try:
                await conn.execute("UPDATE schema_version SET description = description")
            finally:
                await tx.rollback()

    async def _close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await settle(pool.close())

    async def _migrate(self) -> None:
        """Apply missing migrations; replicas starting together serialise on a lock."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
            if self.schema is not None:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            await conn.execute(POSTGRES_SCHEMA_VERSION_TABLE)
            current = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            self.schema_found = current
            for migration in to_apply(POSTGRES_MIGRATIONS, current, self.upgrade):
                for statement in migration.statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_version VALUES ($1, $2, $3)",
                    migration.version,
                    migration.description,
                    self.now(),
                )

    # --- transactions --------------------------------------------------------------------
    @asynccontextmanager
    async def _begin(self, user_id: int) -> AsyncIterator[Transaction]:
        async with self.pool.acquire() as conn:
            tx = conn.transaction(isolation="read_committed")
            try:
                await settle(tx.start())
                await conn.execute("SELECT pg_advisory_xact_lock($1)", user_id)
                yield PostgresTransaction(self, conn, user_id)
            except BaseException:
                await _abort(conn, tx)
                raise
            try:
                await settle(tx.commit())
            except BaseException:
                await _abort(conn, tx)
                raise

    # --- outbox and maintenance ----------------------------------------------------------
    async def _pending(
        self, chat_id: int | None, limit: int, now: datetime, claim_until: datetime | None
    ) -> list[OutboxItem]:
        sql = PENDING_ALL if chat_id is None else PENDING_CHAT
        args: list[object] = [now, limit] if chat_id is None else [now, limit, chat_id]
        if claim_until is None:
            return [item_from_row(row, self.codec) for row in await self.pool.fetch(sql, *args)]
        # Claims are serialised by one lock so a claimer always sees earlier claims (their
        # pushed-out not_before blocks the whole chat); SKIP LOCKED skips rows that a
        # mark_sent/mark_failed/delete_user is changing right now instead of waiting.
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", CLAIM_LOCK_KEY)
            rows = await conn.fetch(sql + _CLAIM_SUFFIX, *args)
            if rows:
                await conn.execute(
                    "UPDATE outbox SET not_before = $1 WHERE id = ANY($2::bigint[])",
                    claim_until,
                    [row["id"] for row in rows],
                )
        return [replace(item_from_row(row, self.codec), not_before=claim_until) for row in rows]

    async def _schema_version(self) -> int:
        return int(await self.pool.fetchval(_SCHEMA_VERSION))

    async def _relet(self, leases: list[tuple[int, datetime]], until: datetime) -> list[int]:
        rows = await self.pool.fetch(
            "UPDATE outbox AS o SET not_before = $1"
            " FROM unnest($2::bigint[], $3::timestamptz[]) AS l(id, until)"
            " WHERE o.id = l.id AND o.status = 'pending' AND o.not_before = l.until"
            " RETURNING o.id",
            until, [i for i, _ in leases], [u for _, u in leases])
        return [int(row[0]) for row in rows]

    async def _recent_sends(self, chat_id: int, since: datetime) -> list[datetime]:
        rows = await self.pool.fetch(_RECENT_SENDS, chat_id, since)
        return [row[0] for row in rows]

    async def _mark_sent(self, outbox_id: int, message_id: int | None, now: datetime) -> bool:
        return bool(await self.pool.fetchval(_MARK_SENT, message_id, now, outbox_id))

    async def _mark_failed(
        self,
        outbox_id: int,
        error: str,
        retry_at: datetime | None,
        now: datetime,
        max_attempts: int,
    ) -> OutboxStatus | None:
        status = await self.pool.fetchval(
            _MARK_FAILED, error, retry_at is None, max_attempts, retry_at, now, outbox_id
        )
        return OutboxStatus(status) if status is not None else None

    async def _purge_inbox(self, cutoff: datetime) -> int:
        return _affected(await self.pool.execute("DELETE FROM inbox WHERE seen_at < $1", cutoff))

    async def _purge_outbox(self, cutoff: datetime) -> int:
        sql = "DELETE FROM outbox WHERE status <> 'pending' AND finished_at < $1"
        return _affected(await self.pool.execute(sql, cutoff))

    async def _scrub_dead(self, cutoff: datetime) -> int:
        sql = ("UPDATE outbox SET params = '{}'"
               " WHERE status = 'dead' AND finished_at < $1 AND params <> '{}'")
        return _affected(await self.pool.execute(sql, cutoff))

    async def _inactive_users(self, cutoff: datetime, limit: int) -> list[int]:
        return [int(row[0]) for row in await self.pool.fetch(_INACTIVE, cutoff, limit)]

    async def _claim_job(self, job: str, now: datetime, due_before: datetime) -> bool:
        return await self.pool.fetchval(_CLAIM_JOB, job, now, due_before) is not None

    async def _users_to_reseal(self, prefix: str, after: int, limit: int) -> list[int]:
        rows = await self.pool.fetch(_TO_RESEAL, len(prefix), prefix, after, limit)
        return [int(row[0]) for row in rows]

    async def _key_usage(self) -> dict[str, int]:
        return {str(k): int(n) for k, n in await self.pool.fetch(_KEY_USAGE)}

    async def _count_users(self) -> int:
        return int(await self.pool.fetchval("SELECT COUNT(*) FROM users"))

    async def _outbox_backlog(self) -> OutboxBacklog:
        count, oldest = await self.pool.fetchrow(OUTBOX_BACKLOG_SQL)
        return OutboxBacklog(int(count), oldest)

    async def _sql(self, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
        return [dict(row) for row in await self.pool.fetch(_dollars(sql), *params)]


def _dollars(sql: str) -> str:
    """``?`` placeholders of a dialect-neutral statement as asyncpg's ``$1, $2, ...``."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What the pool does to a connection given back, besides rolling back an open
    transaction (asyncpg always does that): nothing. asyncpg's default sends one more
    round trip per use (unlock all advisory locks, close cursors, unlisten, reset all);
    this store takes only transaction-level locks and sets no session state."""


async def _abort(conn: asyncpg.Connection, tx: PgTransaction) -> None:
    """Roll back; if the connection is in an unknown state, drop it (the server then rolls
    back on its own) rather than return it to the pool."""
    try:
        await settle(tx.rollback())
    except Exception:
        conn.terminate()


class PostgresTransaction(Transaction):
    """Statements on the connection that holds the transaction and the user's lock."""

    def __init__(self, store: PostgresStore, conn: asyncpg.Connection, user_id: int) -> None:
        super().__init__(user_id, store.now, store.codec)
        self._conn = conn

    async def _seen(self, update_id: int) -> bool:
        sql = "SELECT EXISTS (SELECT 1 FROM inbox WHERE user_id = $1 AND update_id = $2)"
        return bool(await self._conn.fetchval(sql, self.user_id, update_id))

    async def _mark_seen(self, update_id: int, now: datetime) -> None:
        sql = "INSERT INTO inbox VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        await self._conn.execute(sql, self.user_id, update_id, now)

    async def _load_user(self) -> UserRecord | None:
        row = await self._conn.fetchrow("SELECT * FROM users WHERE user_id = $1", self.user_id)
        return user_from_row(row, self._codec) if row is not None else None

    async def _save_user(self, record: UserRecord, now: datetime) -> UserRecord:
        row = await self._conn.fetchrow(
            _SAVE_USER,
            record.user_id,
            record.chat_id,
            record.language,
            record.session,
            Consent(record.consent).to_json(),
            record.unreachable,
            record.created_at or now,
            now,
            record.delete_token,
            record.delete_expires,
            record.notice,
        )
        return user_from_row(row, self._codec)

    async def _enqueue(self, chat_id: int, method: str, params: str, now: datetime) -> int:
        sql = (
            "INSERT INTO outbox (user_id, chat_id, method, params, not_before, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $5) RETURNING id"
        )
        return int(await self._conn.fetchval(sql, self.user_id, chat_id, method, params, now))

    async def _mark_urgent(self, outbox_id: int) -> None:
        await self._conn.execute("UPDATE outbox SET urgent = TRUE WHERE id = $1", outbox_id)

    async def _supersede_queued(self, chat_id: int, now: datetime) -> int:
        sql = (
            "UPDATE outbox SET status = 'dead', last_error = $1, finished_at = $2"
            " WHERE user_id = $3 AND chat_id = $4 AND status = 'pending' AND NOT urgent"
        )
        return _affected(await self._conn.execute(sql, SUPERSEDED, now, self.user_id, chat_id))

    async def _add_record(self, kind: str, data: str, now: datetime) -> int:
        sql = (
            "INSERT INTO records (user_id, kind, data, created_at)"
            " VALUES ($1, $2, $3, $4) RETURNING id"
        )
        return int(await self._conn.fetchval(sql, self.user_id, kind, data, now))

    async def _records(self) -> list[Record | None]:
        sql = "SELECT * FROM records WHERE user_id = $1 ORDER BY id"
        rows = await self._conn.fetch(sql, self.user_id)
        return [record_from_row(row, self._codec) for row in rows]

    async def _delete_records(self) -> int:
        sql = "DELETE FROM records WHERE user_id = $1"
        return _affected(await self._conn.execute(sql, self.user_id))

    async def _sealed_values(self) -> list[tuple[str, str, int, str]]:
        found: list[tuple[str, str, int, str]] = []
        for table, column in SEALED_COLUMNS:
            key = "user_id" if table == "users" else "id"
            sql = (f'SELECT "{key}", "{column}" FROM "{table}" WHERE user_id = $1'
                   f' AND "{column}" IS NOT NULL')
            if table == "outbox":
                sql += " AND status = 'pending'"
            for row in await self._conn.fetch(sql, self.user_id):
                found.append((table, column, int(row[0]), str(row[1])))
        return found

    async def _rewrite(self, table: str, column: str, key: int, stored: str) -> None:
        name = "user_id" if table == "users" else "id"
        sql = f'UPDATE "{table}" SET "{column}" = $1 WHERE "{name}" = $2 AND user_id = $3'
        await self._conn.execute(sql, stored, key, self.user_id)

    async def _sql(self, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
        return [dict(row) for row in await self._conn.fetch(_dollars(sql), *params)]

    async def _delete_rows(self) -> int:
        total = 0
        for table in USER_TABLES:
            status = await self._conn.execute(
                f'DELETE FROM "{table}" WHERE user_id = $1', self.user_id
            )
            total += _affected(status)
        return total
