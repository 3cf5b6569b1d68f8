"""Fixtures that run the one storage contract suite against every backend.

Why: SQLite (file and :memory:) and PostgreSQL must not drift, so every contract test is
parametrised over them.  PostgreSQL tests are never silently skipped: if the server is
unreachable they fail, unless RELBOT_SKIP_POSTGRES=1 is set explicitly.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest

from bot.privacy.keyring import KeyRing, new_key_entry
from bot.storage import PostgresStore, SQLiteStore, Store

from .harness import Backend, FakeClock

POSTGRES_URL = os.environ.get(
    "RELBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SKIP_POSTGRES = os.environ.get("RELBOT_SKIP_POSTGRES") == "1"

#: sqlite-thread: the same file store with every statement on its worker thread
#: (``threaded=True``, see ``bot.storage.sqlite_run``).
ALL_BACKENDS = ["sqlite-file", "sqlite-thread", "sqlite-memory", "postgres"]
PERSISTENT_BACKENDS = ["sqlite-file", "postgres"]


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """Fail loudly (not skip) if PostgreSQL is down, unless explicitly told to skip."""

    async def probe() -> None:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
        await conn.close()

    if SKIP_POSTGRES:
        pytest.skip("RELBOT_SKIP_POSTGRES=1: PostgreSQL backend tests skipped on request")
    error: BaseException | None = None
    try:
        # Own thread: this may be first requested from inside a test's running event loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, probe()).result()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        error = exc
    if error is not None:
        pytest.fail(
            f"PostgreSQL is unreachable at {POSTGRES_URL} ({error!r}). Start it (e.g. "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`), "
            "point RELBOT_TEST_POSTGRES_URL at a server, or set RELBOT_SKIP_POSTGRES=1.",
            pytrace=False,
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


#: Every contract test runs with free text sealed, as the bot does.
TEST_KEYS = KeyRing.parse(new_key_entry("test"))


async def _backend(
    name: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Backend]:
    if name in ("sqlite-file", "sqlite-thread"):
        path = tmp_path / "nested" / "dir" / "relbot.sqlite3"
        threaded = name == "sqlite-thread"
        yield Backend(name, lambda **kw: SQLiteStore(
            path, **{"clock": clock, "keys": TEST_KEYS, "threaded": threaded, **kw}), True)
    elif name == "sqlite-memory":
        yield Backend(name, lambda **kw: SQLiteStore(
            ":memory:", **{"clock": clock, "keys": TEST_KEYS, **kw}), False)
    else:
        request.getfixturevalue("postgres_available")
        schema = f"relbot_test_{uuid.uuid4().hex[:16]}"

        def make(**kw: object) -> Store:
            return PostgresStore(
                POSTGRES_URL, schema=schema, min_size=1, max_size=5,
                **{"clock": clock, "keys": TEST_KEYS, **kw}
            )  # type: ignore[arg-type]

        try:
            yield Backend(name, make, True)
        finally:
            conn = await asyncpg.connect(POSTGRES_URL)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()


@pytest.fixture(params=ALL_BACKENDS)
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Backend]:
    async for value in _backend(request.param, request, tmp_path, clock):
        yield value


@pytest.fixture(params=PERSISTENT_BACKENDS)
async def persistent_backend(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Backend]:
    async for value in _backend(request.param, request, tmp_path, clock):
        yield value


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    async with backend.make() as opened:
        yield opened
