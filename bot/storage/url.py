"""``open_store(database_url)``: pick and configure a backend from one setting.

Why this module exists: deployments configure storage with a single URL (env var or CLI
flag), in the SQLAlchemy-style spelling operators already know, and the rest of the bot
only ever sees the ``Store`` interface.
"""

from __future__ import annotations

from bot.privacy.keyring import KeyRing
from bot.storage.base import DEFAULT_MAX_ATTEMPTS, Store
from bot.storage.migrations import Upgrade
from bot.storage.models import Clock
from bot.storage.postgres import PostgresStore
from bot.storage.sealing import KeyProvider
from bot.storage.sqlite import SQLiteStore

__all__ = ["open_store", "sqlite_path"]

_SQLITE_PREFIX = "sqlite:///"
_POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def sqlite_path(database_url: str) -> str:
    """``sqlite:///rel/path`` → ``rel/path``; ``sqlite:////abs/path`` → ``/abs/path``;
    ``sqlite:///:memory:`` → ``:memory:``."""
    if not database_url.startswith(_SQLITE_PREFIX):
        raise ValueError(f"not a sqlite URL (expected {_SQLITE_PREFIX}...): {database_url!r}")
    path = database_url[len(_SQLITE_PREFIX) :]
    if not path or "?" in path or "#" in path:
        raise ValueError(f"sqlite URL needs a file path and no query: {database_url!r}")
    return path


def open_store(
    database_url: str,
    *,
    clock: Clock | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    schema: str | None = None,
    keys: KeyRing | KeyProvider | None = None,
    upgrade: Upgrade = "apply",
) -> Store:
    """Build the store for ``database_url`` (not yet opened: ``await store.open()`` or use
    ``async with open_store(url) as store``).

    Supported: ``sqlite:///relative/path.sqlite3``, ``sqlite:////abs/path``,
    ``sqlite:///:memory:``, ``postgresql://...`` and ``postgres://...`` (asyncpg DSN).
    ``schema`` (PostgreSQL only) keeps the tables in that schema.  Parent directories of a
    SQLite file are created on open.  ``keys``: the ring that seals free text at rest
    (``bot.privacy.keysource.key_source`` finds it for a database URL). ``upgrade``: what
    ``open()`` does with missing migrations (``bot.storage.migrations.Upgrade``).
    """
    if database_url.startswith(_SQLITE_PREFIX):
        if schema is not None:
            raise ValueError("schema= is only supported for PostgreSQL")
        return SQLiteStore(sqlite_path(database_url), clock=clock, max_attempts=max_attempts,
                           keys=keys, upgrade=upgrade)
    if database_url.startswith(_POSTGRES_PREFIXES):
        return PostgresStore(database_url, schema=schema, clock=clock, max_attempts=max_attempts,
                             keys=keys, upgrade=upgrade)
    scheme = database_url.split(":", 1)[0] if ":" in database_url else database_url
    raise ValueError(
        f"unsupported database URL scheme {scheme!r}; use sqlite:///path, "
        "sqlite:///:memory: or postgresql://user@host/db"
    )
