"""Migrations as a command: `relbot db status | upgrade`, and what `relbot run` does with a
schema it does not match, as an operator sees it (processes, real PostgreSQL and SQLite).

- PostgreSQL: `relbot run` neither upgrades a shared schema on start (unless told to with
  `--migrate` / MIGRATE=1) nor starts against one older or newer than it knows; it says so
  in one line. `relbot db upgrade` applies what is missing, `relbot db status` tells.
- SQLite (one process, the embedded default): `relbot run` upgrades on start.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
from fakegram import FakeTelegram

from bot.storage.migrations import POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS

from .conftest import next_user_id
from .harness import BotProcess, Person, running
from .test_startup import refused, relbot

KNOWN = len(POSTGRES_MIGRATIONS)


def version_of(url: str) -> int:
    async def read() -> int:
        base, _, schema = url.partition("?search_path=")
        conn = await asyncpg.connect(base, server_settings={"search_path": schema})
        try:
            return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) "
                                           "FROM schema_version"))
        finally:
            await conn.close()

    return asyncio.run(read())


def test_postgres_is_upgraded_by_the_command_not_by_run(
    tmp_path: Path, own_postgres_url: str
) -> None:
    url = own_postgres_url
    refused(relbot(tmp_path, "run", DATABASE_URL=url),
            f"database schema is at version 0, this relbot needs {KNOWN}",
            "run `relbot db upgrade` first")

    status = relbot(tmp_path, "db", "status", DATABASE_URL=url)
    assert status.returncode == 1, status.stderr
    assert f"schema version 0; this relbot knows 1 to {KNOWN}" in status.stdout
    assert "missing 1: users, inbox, outbox, records" in status.stdout
    assert "run `relbot db upgrade`" in status.stdout

    upgrade = relbot(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"applied {KNOWN}: " in upgrade.stdout and upgrade.stderr == ""
    assert version_of(url) == KNOWN
    again = relbot(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert again.returncode == 0 and "already up to date" in again.stdout
    status = relbot(tmp_path, "db", "status", DATABASE_URL=url)
    assert status.returncode == 0 and "up to date" in status.stdout


def test_postgres_run_starts_on_an_upgraded_schema_and_serves(
    tmp_path: Path, own_postgres_url: str
) -> None:
    assert relbot(tmp_path, "db", "upgrade", DATABASE_URL=own_postgres_url).returncode == 0
    with FakeTelegram() as fake:
        bot = BotProcess(fake, tmp_path / "bot", database_url=own_postgres_url,
                         env={"MIGRATE": "0"})
        with running(bot):
            person = Person(fake, next_user_id())
            person.command("start")
            person.expect("")  # any reply: it serves
        bot.assert_healthy()


def test_postgres_newer_schema_is_refused_by_run_and_by_upgrade(
    tmp_path: Path, own_postgres_url: str
) -> None:
    url = own_postgres_url
    assert relbot(tmp_path, "db", "upgrade", DATABASE_URL=url).returncode == 0

    async def from_the_future() -> None:
        base, _, schema = url.partition("?search_path=")
        conn = await asyncpg.connect(base, server_settings={"search_path": schema})
        try:
            await conn.execute("INSERT INTO schema_version VALUES (99, 'future', now())")
        finally:
            await conn.close()

    asyncio.run(from_the_future())
    line = f"database schema is at version 99, this code knows only up to {KNOWN}"
    refused(relbot(tmp_path, "run", DATABASE_URL=url), line, "upgrade relbot")
    refused(relbot(tmp_path, "run", "--migrate", DATABASE_URL=url), line)
    upgrade = relbot(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert upgrade.returncode == 1 and line in upgrade.stderr, upgrade.stderr
    assert "Traceback" not in upgrade.stderr


def test_postgres_run_with_migrate_upgrades_on_start(
    tmp_path: Path, own_postgres_url: str
) -> None:
    # Telegram is a closed port here: the start ends on that, after the database step.
    result = relbot(tmp_path, "run", "--migrate", DATABASE_URL=own_postgres_url)
    line = refused(result)
    assert "schema" not in line and "Telegram" in line, line
    assert version_of(own_postgres_url) == KNOWN
    result = relbot(tmp_path, "run", DATABASE_URL=own_postgres_url, MIGRATE="1")
    assert "schema" not in refused(result)


def test_sqlite_is_upgraded_by_run_itself(tmp_path: Path) -> None:
    status = relbot(tmp_path, "db", "status")
    assert status.returncode == 1 and "schema version 0" in status.stdout
    line = refused(relbot(tmp_path, "run"))
    assert "schema" not in line and "Telegram" in line, line
    status = relbot(tmp_path, "db", "status")
    assert status.returncode == 0, status.stdout
    assert f"schema version {len(SQLITE_MIGRATIONS)}; " in status.stdout


def test_a_wrong_migrate_setting_is_one_line(tmp_path: Path) -> None:
    refused(relbot(tmp_path, "run", MIGRATE="maybe"), "MIGRATE must be 1 (yes) or 0 (no)")
