"""`relbot db status | upgrade`: the database schema as a deliberate step.

Why this module exists: replicas sharing one PostgreSQL schema must not each change it on
start (nor start against a schema they do not know), so on PostgreSQL `relbot run` only
checks the version and refuses one that is older or newer than it knows (one line), and
the upgrade is this command, run once per release (compose runs it as a one-shot service
before the replicas). SQLite, the embedded default, is upgraded by `relbot run` itself.

`status` prints the database's version and the versions this relbot knows, and exits 0
when they match, 1 when an upgrade is due or the database is newer (so a deploy script
can check), 2 when the database cannot be used. `upgrade` applies what is missing, in
order, each migration in its own transaction with the schema_version row that records it.
Neither needs the bot token or the data key: no person's data is read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bot.config import DEFAULT_DATABASE_URL, _safe_url
from bot.storage import SchemaVersionError, StorageRefused, Upgrade, open_store
from bot.storage.migrations import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, Migration

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="the database schema: status, upgrade")
    p.add_argument("action", choices=("status", "upgrade"))
    p.add_argument("--database-url", default=None, help="overrides $DATABASE_URL")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    url = args.database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    known = SQLITE_MIGRATIONS if url.startswith("sqlite:") else POSTGRES_MIGRATIONS
    upgrade: Upgrade = "apply" if args.action == "upgrade" else "leave"
    try:
        found, now = asyncio.run(_open(url, upgrade))
    except SchemaVersionError as exc:  # newer than this relbot: never touched
        print(f"relbot: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # an unsupported or malformed URL
        print(f"relbot: DATABASE_URL: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        line = _database_line(exc, url)
        if line is None:
            raise
        print(f"relbot: {line}", file=sys.stderr)
        return 2
    print(f"database: {_safe_url(url)}")
    if args.action == "upgrade":
        applied = known[found:now]
        for migration in applied:
            print(f"applied {migration.version}: {migration.description}")
        print(f"schema version {now} (up to date)" if applied else
              f"schema version {now}: already up to date")
        return 0
    return _status(found, known)


def _status(current: int, known: tuple[Migration, ...]) -> int:
    print(f"schema version {current}; this relbot knows 1 to {len(known)}")
    missing = known[current:]
    if not missing:
        print("up to date")
        return 0
    for migration in missing:
        print(f"missing {migration.version}: {migration.description}")
    print("run `relbot db upgrade` (with the same DATABASE_URL) to apply them")
    return 1


async def _open(url: str, upgrade: Upgrade) -> tuple[int, int]:
    """(version found, version now)."""
    async with open_store(url, upgrade=upgrade) as store:
        assert store.schema_found is not None
        return store.schema_found, await store.schema_version()


def _database_line(exc: BaseException, url: str) -> str | None:
    """One line for a database that cannot be used (the same lines as `relbot run`)."""
    from bot.tg.preflight import database_line  # its wording for PostgreSQL's errors

    cause = exc.__cause__ if isinstance(exc, StorageRefused) else None
    line = database_line(cause, url) if cause is not None else None
    if line is None:
        line = str(exc) if isinstance(exc, StorageRefused) else database_line(exc, url)
    return line
