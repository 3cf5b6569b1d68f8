"""Database faults made on purpose, behind the bot's back, for the end-to-end tests.

Why this module exists: the storage-fault tests need another process's write lock on the
bot's SQLite file, and a way to terminate exactly the PostgreSQL backends that serve the
bot under test (other engineers' tests share the server, so never all of them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from .harness import POSTGRES_URL, WAIT

__all__ = ["postgres_client_ports", "sqlite_locked", "terminate_postgres_backends"]


def sqlite_locked(url: str) -> sqlite3.Connection:
    """Another process's write lock on the bot's SQLite file (``BEGIN EXCLUSIVE``), held
    until ``.rollback()``: the bot's writes wait (busy_timeout) and then fail as locked."""
    conn = sqlite3.connect(url[len("sqlite:///") :], timeout=10, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    return conn


def postgres_client_ports(pid: int) -> set[int]:
    """Local ports of the TCP connections process ``pid`` has open to the test server."""
    server_port = urlsplit(POSTGRES_URL).port or 5432
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == server_port:
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


async def terminate_postgres_backends(conn: asyncpg.Connection, pid: int, *,
                                      waiting_on_a_lock: bool = False) -> int:
    """``pg_terminate_backend`` the PostgreSQL backends serving process ``pid`` (only its
    own: other tests share the server), or only those blocked on a lock; waits up to
    ``WAIT`` for at least one; returns how many were terminated."""
    deadline = time.monotonic() + WAIT
    while True:
        ports = sorted(postgres_client_ports(pid))
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE client_port = ANY($1::int[]) AND pid <> pg_backend_pid()"
            " AND (NOT $2 OR wait_event_type = 'Lock')", ports, waiting_on_a_lock)
        if rows or time.monotonic() > deadline:
            return len(rows)
        await asyncio.sleep(0.02)
