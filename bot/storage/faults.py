"""Which storage errors are worth waiting out, and the refusal to start on a bad database.

Why this module exists: a database that is busy (SQLite write-locked by another process),
briefly gone (a PostgreSQL backend terminated, a failover) or full is a *fault of the
moment*: the update that hit it must wait and be tried again, never be dropped. A
database that cannot be written at all when the bot starts is a *configuration mistake*:
the bot must refuse to start with one line that says what to fix, instead of starting and
apologising to every person. Callers outside this package never import a driver, so they
ask `is_transient` here and catch `StorageRefused`.
"""

from __future__ import annotations

import re
import sqlite3

import asyncpg

__all__ = ["StorageRefused", "describe", "is_transient"]

# SQLite primary result codes (exc.sqlite_errorcode & 0xFF) that pass with time: busy and
# locked (another writer), out of memory, I/O error, full, cannot open (e.g. out of file
# descriptors), protocol (a lock race), and read-only (permissions changed under a running
# bot: waiting lets an operator fix them without losing anything).
_SQLITE_TRANSIENT = {5, 6, 7, 8, 10, 13, 14, 15}
# PostgreSQL SQLSTATE classes and codes that pass with time: connection exceptions (08),
# transaction rollbacks such as deadlocks and serialization failures (40), insufficient
# resources such as a full disk (53), operator intervention such as a terminated backend
# or a restart (57), system errors (58), lock not available, read-only (a standby
# during failover).
_POSTGRES_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
_POSTGRES_TRANSIENT_CODES = {"55P03", "25006", "42P01", "42703", "42501"}
# A table or column gone, or a permission revoked, under the running bot breaks every
# update alike: an operator's mistake to wait for, not a reason to drop what people sent.
# (PostgreSQL: undefined table or column, insufficient privilege, listed above.)
_SCHEMA_BROKEN = re.compile(r"^no such (table|column)\b")


def is_transient(error: BaseException) -> bool:
    """True when the storage error should be waited out and the work tried again."""
    if isinstance(error, sqlite3.OperationalError):
        text = str(error).lower()
        if _SCHEMA_BROKEN.search(text):
            return True
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _SQLITE_TRANSIENT
        return any(word in text for word in ("locked", "busy", "disk", "unable to open"))
    if isinstance(error, asyncpg.PostgresError):
        state = str(getattr(error, "sqlstate", "") or "")
        return state[:2] in _POSTGRES_TRANSIENT_CLASSES or state in _POSTGRES_TRANSIENT_CODES
    if isinstance(error, asyncpg.InterfaceError):
        return "closed" in str(error).lower() or "connection" in str(error).lower()
    return isinstance(error, OSError | TimeoutError | ConnectionError)


class StorageRefused(RuntimeError):
    """The database cannot be used at all (read-only, unreachable, wrong permissions); the
    message is one line a person can act on."""


def describe(error: BaseException) -> str:
    """A short, safe reason for a storage error (no SQL, no values, no password)."""
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", None) or type(error).__name__
        return f"{name}: {str(error).splitlines()[0][:200]}"
    if isinstance(error, asyncpg.PostgresError):
        return f"{type(error).__name__} ({getattr(error, 'sqlstate', '?')})"
    return type(error).__name__
