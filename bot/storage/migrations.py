"""Versioned schema for each backend: ordered SQL steps, applied once each, in order.

Why this module exists: the schema must evolve without hand-run SQL on production
databases, and both backends must keep the same shape.  Each backend has its own ordered
list (types differ: TEXT timestamps vs TIMESTAMPTZ, TEXT vs JSONB); ``schema_version``
records what has been applied, so opening a store any number of times is idempotent.
To change the schema, append a ``Migration`` with the next version to BOTH lists (never
edit an applied one), and update ``USER_TABLES`` if you add a table about people.

Every table except the bookkeeping in ``SYSTEM_TABLES`` has a ``user_id`` column: that is
what makes erasure complete (tests check this generically against the live schema, and
that no column of any table mentions an erased person).  There are
deliberately no foreign keys to ``users``: an update from a user who never got a ``users``
row (ignored, or answered with "please /start") still needs its inbox and outbox rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "POSTGRES_MIGRATIONS",
    "SQLITE_MIGRATIONS",
    "SYSTEM_TABLES",
    "USER_TABLES",
    "Migration",
    "SchemaBehind",
    "SchemaVersionError",
    "Upgrade",
    "to_apply",
]


class SchemaVersionError(RuntimeError):
    """The database was migrated by a newer relbot than this one; refuse to touch it."""


class SchemaBehind(SchemaVersionError):
    """The database lacks migrations this relbot needs, and it was told not to apply them
    (PostgreSQL: several replicas must not race to change a shared schema on start)."""


#: What opening a store does with missing migrations: apply them, refuse to start (one
#: line), or leave them (`relbot db status` only reads).
Upgrade = Literal["apply", "refuse", "leave"]


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


#: Tables holding per-user data, with the column that orders their rows in an export.
USER_TABLES: dict[str, str] = {
    "users": "user_id",
    "inbox": "update_id",
    "outbox": "id",
    "records": "id",
    # Homework (issue 11): user_id is the therapist, the client or the link's issuer.
    "therapists": "user_id",
    "links": "created_at",
    "assignments": "id",
    "homework_done": "id",
    "reminders": "id",
}
#: Bookkeeping tables that hold nothing about any person.
SYSTEM_TABLES: frozenset[str] = frozenset({"schema_version", "job_runs"})

#: Why 2: a safety reply (a turn that opens a safety module) must reach the person first.
#: Its rows are `urgent`: the sender makes them before the chat's queued rows and without
#: its per-chat pacing; the queued rows it made obsolete are dead-lettered as superseded.
URGENT_DESCRIPTION = "outbox.urgent: safety replies are sent first"

#: Why 4: therapists, single-use deep links (only their hash is kept), assignments with
#: the client's sharing ticks, completion, and reminders the running bot claims when due.
#: `assignments.user_id` is the therapist and `client_id` the client: erasing either one
#: removes the assignment (see `bot.storage.homework`).  Times are the dialect's type,
#: JSON is text in both, so the statements in `bot.storage.homework_sql` are written once.
HOMEWORK_DESCRIPTION = "homework: therapists, links, assignments, completion, reminders"


def _homework(ts: str, ident: str, big: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE therapists (
            user_id    {big} PRIMARY KEY,
            name        TEXT NOT NULL,
            created_at  {ts} NOT NULL,
            revoked_at  {ts},
            notify_done INTEGER NOT NULL DEFAULT 0 CHECK (notify_done IN (0, 1))
        )""",
        f"""CREATE TABLE links (
            token_hash    TEXT PRIMARY KEY,
            user_id       {big} NOT NULL,
            kind          TEXT NOT NULL CHECK (kind IN ('t', 'a')),
            name          TEXT,
            assignment_id {big},
            created_at    {ts} NOT NULL,
            expires_at    {ts} NOT NULL,
            used_at       {ts}
        )""",
        "CREATE INDEX links_user ON links (user_id)",
        f"""CREATE TABLE assignments (
            id          {ident},
            user_id     {big} NOT NULL,
            client_id   {big},
            modules     TEXT NOT NULL,
            schedule    TEXT NOT NULL,
            note        TEXT,
            status      TEXT NOT NULL DEFAULT 'offered'
                        CHECK (status IN ('offered', 'accepted', 'declined', 'revoked')),
            sharing     TEXT NOT NULL DEFAULT '{{}}',
            created_at  {ts} NOT NULL,
            answered_at {ts},
            revoked_at  {ts}
        )""",
        "CREATE INDEX assignments_user ON assignments (user_id, id)",
        "CREATE INDEX assignments_client ON assignments (client_id, id)",
        f"""CREATE TABLE homework_done (
            id            {ident},
            user_id       {big} NOT NULL,
            assignment_id {big} NOT NULL,
            module        TEXT NOT NULL,
            done_at       {ts} NOT NULL
        )""",
        "CREATE INDEX homework_done_assignment ON homework_done (assignment_id, id)",
        "CREATE INDEX homework_done_user ON homework_done (user_id)",
        f"""CREATE TABLE reminders (
            id            {ident},
            user_id       {big} NOT NULL,
            assignment_id {big},
            schedule      TEXT NOT NULL,
            quiet         TEXT NOT NULL,
            due_at        {ts} NOT NULL,
            claimed_until {ts},
            created_at    {ts} NOT NULL
        )""",
        "CREATE INDEX reminders_due ON reminders (due_at)",
        "CREATE INDEX reminders_user ON reminders (user_id)",
        "CREATE INDEX reminders_assignment ON reminders (assignment_id)",
    )

SQLITE_SCHEMA_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  TEXT NOT NULL
)"""

POSTGRES_SCHEMA_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL
)"""

# Timestamps in SQLite are fixed-width ISO-8601 UTC text (see models.format_ts), so text
# comparison is time comparison.  AUTOINCREMENT: ids are never reused after deletion, so a
# sender holding an old outbox id can never mark somebody else's message as sent.
SQLITE_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "users, inbox, outbox, records",
        (
            """CREATE TABLE users (
                user_id     INTEGER PRIMARY KEY,
                chat_id     INTEGER NOT NULL,
                language    TEXT,
                session     TEXT,
                consent     TEXT NOT NULL DEFAULT '{}',
                unreachable INTEGER NOT NULL DEFAULT 0 CHECK (unreachable IN (0, 1)),
                created_at  TEXT NOT NULL,
                updated_at  TEXT NOT NULL
            )""",
            """CREATE TABLE inbox (
                user_id   INTEGER NOT NULL,
                update_id INTEGER NOT NULL,
                seen_at   TEXT NOT NULL,
                PRIMARY KEY (user_id, update_id)
            ) WITHOUT ROWID""",
            "CREATE INDEX inbox_seen_at ON inbox (seen_at)",
            """CREATE TABLE outbox (
                id          INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id     INTEGER NOT NULL,
                chat_id     INTEGER NOT NULL,
                method      TEXT NOT NULL,
                params      TEXT NOT NULL,
                status      TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sent', 'dead')),
                attempts    INTEGER NOT NULL DEFAULT 0,
                not_before  TEXT NOT NULL,
                last_error  TEXT,
                message_id  INTEGER,
                created_at  TEXT NOT NULL,
                finished_at TEXT
            )""",
            "CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending'",
            "CREATE INDEX outbox_pending_chat ON outbox (chat_id, id) WHERE status = 'pending'",
            "CREATE INDEX outbox_user ON outbox (user_id)",
            "CREATE INDEX outbox_finished ON outbox (finished_at) WHERE status <> 'pending'",
            """CREATE TABLE records (
                id         INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id    INTEGER NOT NULL,
                kind       TEXT NOT NULL,
                data       TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX records_user_kind ON records (user_id, kind, id)",
        ),
    ),
    Migration(
        2,
        URGENT_DESCRIPTION,
        (
            "ALTER TABLE outbox ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0"
            " CHECK (urgent IN (0, 1))",
        ),
    ),
    Migration(
        3,
        "privacy: /delete confirmation, notices, retention jobs",
        (
            "ALTER TABLE users ADD COLUMN delete_token TEXT",
            "ALTER TABLE users ADD COLUMN delete_expires TEXT",
            "ALTER TABLE users ADD COLUMN notice TEXT",
            "CREATE INDEX users_updated_at ON users (updated_at)",
            """CREATE TABLE job_runs (
                job         TEXT PRIMARY KEY,
                last_run_at TEXT NOT NULL
            )""",
        ),
    ),
    Migration(4, HOMEWORK_DESCRIPTION,
              _homework("TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER")),
)

POSTGRES_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "users, inbox, outbox, records",
        (
            """CREATE TABLE users (
                user_id     BIGINT PRIMARY KEY,
                chat_id     BIGINT NOT NULL,
                language    TEXT,
                session     TEXT,
                consent     JSONB NOT NULL DEFAULT '{}',
                unreachable BOOLEAN NOT NULL DEFAULT FALSE,
                created_at  TIMESTAMPTZ NOT NULL,
                updated_at  TIMESTAMPTZ NOT NULL
            )""",
            """CREATE TABLE inbox (
                user_id   BIGINT NOT NULL,
                update_id BIGINT NOT NULL,
                seen_at   TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (user_id, update_id)
            )""",
            "CREATE INDEX inbox_seen_at ON inbox (seen_at)",
            """CREATE TABLE outbox (
                id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_id     BIGINT NOT NULL,
                chat_id     BIGINT NOT NULL,
                method      TEXT NOT NULL,
                params      JSONB NOT NULL,
                status      TEXT NOT NULL DEFAULT 'pending'
                            CHECK (status IN ('pending', 'sent', 'dead')),
                attempts    INTEGER NOT NULL DEFAULT 0,
                not_before  TIMESTAMPTZ NOT NULL,
                last_error  TEXT,
                message_id  BIGINT,
                created_at  TIMESTAMPTZ NOT NULL,
                finished_at TIMESTAMPTZ
            )""",
            "CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending'",
            "CREATE INDEX outbox_pending_chat ON outbox (chat_id, id) WHERE status = 'pending'",
            "CREATE INDEX outbox_user ON outbox (user_id)",
            "CREATE INDEX outbox_finished ON outbox (finished_at) WHERE status <> 'pending'",
            """CREATE TABLE records (
                id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                user_id    BIGINT NOT NULL,
                kind       TEXT NOT NULL,
                data       JSONB NOT NULL,
                created_at TIMESTAMPTZ NOT NULL
            )""",
            "CREATE INDEX records_user_kind ON records (user_id, kind, id)",
        ),
    ),
    Migration(
        2,
        URGENT_DESCRIPTION,
        ("ALTER TABLE outbox ADD COLUMN urgent BOOLEAN NOT NULL DEFAULT FALSE",),
    ),
    Migration(
        3,
        "privacy: sealed params and data (text), /delete confirmation, notices, jobs",
        (
            # Sealed values are text, not JSON; unsealed old rows keep their JSON text.
            "ALTER TABLE outbox ALTER COLUMN params TYPE TEXT USING params::text",
            "ALTER TABLE records ALTER COLUMN data TYPE TEXT USING data::text",
            "ALTER TABLE users ADD COLUMN delete_token TEXT",
            "ALTER TABLE users ADD COLUMN delete_expires TIMESTAMPTZ",
            "ALTER TABLE users ADD COLUMN notice TEXT",
            "CREATE INDEX users_updated_at ON users (updated_at)",
            """CREATE TABLE job_runs (
                job         TEXT PRIMARY KEY,
                last_run_at TIMESTAMPTZ NOT NULL
            )""",
        ),
    ),
    Migration(4, HOMEWORK_DESCRIPTION,
              _homework("TIMESTAMPTZ", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                        "BIGINT")),
)


def to_apply(migrations: Sequence[Migration], current: int,
             upgrade: Upgrade = "apply") -> list[Migration]:
    """The steps to apply now to a database at ``current``, in order.

    Raises ``SchemaVersionError`` if the database is newer than this code knows, and
    ``SchemaBehind`` if steps are missing and ``upgrade`` is "refuse"; with "leave" nothing
    is applied.
    """
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise AssertionError(f"migration versions must be 1..n without gaps: {versions}")
    if current > len(migrations):
        raise SchemaVersionError(
            f"database schema is at version {current}, this code knows only up to "
            f"{len(migrations)}; upgrade relbot"
        )
    missing = list(migrations[current:])
    if missing and upgrade == "refuse":
        raise SchemaBehind(
            f"database schema is at version {current}, this relbot needs {len(migrations)}: "
            "run `relbot db upgrade` first (or start one replica with `relbot run --migrate`)"
        )
    return missing if upgrade == "apply" else []
