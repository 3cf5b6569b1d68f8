"""A database in trouble: the update waits and is applied, never dropped with a "sorry".

- SQLite write-locked by another process for 7 s (longer than the 5 s busy timeout).
- A PostgreSQL backend terminated in the middle of the update's transaction.
- A full disk under SQLite (a small tmpfs), then space again.
- A read-only database at start: one line, exit status 2, no traceback.

In polling mode the update is simply not acknowledged until it is applied; in webhook
mode Telegram gets 503 after a bounded wait and delivers it again. Either way the
person sees the reply once, without sending anything again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .dbfaults import sqlite_locked, terminate_postgres_backends
from .harness import (
    POSTGRES_URL,
    BotProcess,
    Database,
    Person,
    at_name_question,
    running,
)

SORRY = "Sorry, something went wrong"


@pytest.fixture
def own_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.2) as server:
        yield server


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_sqlite_locked_for_7s_delays_the_reply_and_drops_nothing(
    own_fake: FakeTelegram, tmp_path: Path, mode: str
) -> None:
    """Webhook mode runs with RELBOT_TIME_SCALE=0.05, so an update waits 1 s (not 20 s) for
    the database before Telegram gets a 503 and delivers it again."""
    fake = own_fake
    env = {"RELBOT_TIME_SCALE": "0.05"} if mode == "webhook" else {}
    bot = BotProcess(fake, tmp_path, webhook=mode == "webhook", env=env)
    ana = Person(fake, next_user_id())
    with running(bot):
        at_name_question(ana)
        db = Database(bot.database_url)
        db.wait_all_sent(ana.id)
        lock = sqlite_locked(bot.database_url)
        try:
            began = time.monotonic()
            update = ana.send("Ana")
            bot.wait_log("receiver: the database failed (SQLITE_BUSY: database is locked)")
            time.sleep(max(0.0, 7 - (time.monotonic() - began)))
            assert len(ana.messages()) == 3  # nothing yet, and no "sorry"
        finally:
            lock.rollback()
            lock.close()
        ana.expect("Thanks, Ana. From 0 to 10")
        ana.expect_nothing_more()
        if bot.webhook:  # 503 while it waited too long, then applied on a redelivery
            statuses = [d.status for d in fake.webhook_deliveries() if d.update_id == update]
            assert 503 in statuses and statuses[-1] == 200 and statuses.count(200) == 1
    assert SORRY not in "".join(ana.texts())
    assert bot.stderr.count("receiver: the database failed") == 1
    assert "the database works again" in bot.stderr


def test_a_postgres_backend_terminated_mid_transaction_is_retried(
    own_fake: FakeTelegram, tmp_path: Path, own_postgres_url: str
) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path, database_url=own_postgres_url)
    ana = Person(fake, next_user_id())

    async def terminate_mid_transaction() -> None:
        """Hold the person's lock so the bot's transaction waits inside; kill its backend."""
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", ana.id)
            ana.send("Ana")
            assert bot.proc is not None
            assert await terminate_postgres_backends(conn, bot.proc.pid, waiting_on_a_lock=True)
            await asyncio.to_thread(bot.wait_log, "the database failed")
            await conn.execute("SELECT pg_advisory_unlock($1)", ana.id)
        finally:
            await conn.close()

    with running(bot):
        at_name_question(ana)
        asyncio.run(terminate_mid_transaction())
        ana.expect("Thanks, Ana. From 0 to 10")
        ana.send("8")
        ana.expect("How many hours did you sleep?")
        ana.expect_nothing_more()
    assert SORRY not in "".join(ana.texts())
    assert "the database works again" in bot.stderr


@contextlib.contextmanager
def small_filesystem(size_kb: int) -> Iterator[Path]:
    """A tmpfs of `size_kb` (needs mount rights: root in a container or CI)."""
    where = Path(tempfile.mkdtemp(prefix="relbot-full-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs",
                              str(where)], capture_output=True)
    if mounted.returncode != 0:
        where.rmdir()
        pytest.fail("a full-disk test needs a small filesystem: run as root (mount tmpfs); "
                    f"mount said: {mounted.stderr.decode().strip()}", pytrace=False)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        with contextlib.suppress(OSError):
            where.rmdir()


def fill(folder: Path) -> Path:
    """Write until the filesystem is full; returns the filler file."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 4096)
    return filler


def test_a_full_disk_delays_the_reply_and_drops_nothing(
    own_fake: FakeTelegram, tmp_path: Path
) -> None:
    fake = own_fake
    with small_filesystem(4096) as disk:
        bot = BotProcess(fake, tmp_path, database_url=f"sqlite:///{disk / 'relbot.sqlite3'}")
        ana = Person(fake, next_user_id())
        with running(bot):
            at_name_question(ana)
            filler = fill(disk)
            for answer in ("Ana", "8", "7.5"):
                ana.send(answer)
            bot.wait_log("the database failed")
            time.sleep(1.0)
            assert len(ana.messages()) == 3  # waiting, not apologising
            filler.unlink()  # space again
            ana.expect("Thanks, Ana. From 0 to 10", "How many hours did you sleep?",
                       "Do you feel rested?")
            ana.expect_nothing_more()
        assert SORRY not in "".join(ana.texts())
        assert bot.stderr.count("receiver: the database failed (SQLITE_FULL") == 1


def start_and_wait(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "run"], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env})


@contextlib.contextmanager
def read_only_copy(database: Path) -> Iterator[Path]:
    """The database in a place this process cannot write: a read-only mount when running
    as root (root writes through file modes), file modes otherwise."""
    where = Path(tempfile.mkdtemp(prefix="relbot-ro-"))
    try:
        if os.geteuid() == 0:
            with small_filesystem(8192) as disk:
                shutil.copy(database, disk / database.name)
                subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
                yield disk / database.name
        else:
            shutil.copy(database, where / database.name)
            (where / database.name).chmod(0o444)
            where.chmod(0o555)
            yield where / database.name
    finally:
        where.chmod(0o755)
        shutil.rmtree(where, ignore_errors=True)


def test_a_read_only_sqlite_database_refuses_to_start_in_one_line(
    own_fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = BotProcess(own_fake, tmp_path)
    with running(bot):
        pass  # a real database, created and migrated by the bot
    env = {**bot.env}
    polls = len(own_fake.calls("getUpdates"))
    with read_only_copy(Path(bot.database_url[len("sqlite:///") :])) as database:
        env["DATABASE_URL"] = f"sqlite:///{database}"
        result = start_and_wait(env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"relbot: cannot write to the SQLite database {database} (")
    assert "writable" in lines[0]
    assert len(own_fake.calls("getUpdates")) == polls  # it never started polling


def test_a_read_only_postgres_database_refuses_to_start_in_one_line(
    own_fake: FakeTelegram, tmp_path: Path, own_postgres_url: str
) -> None:
    bot = BotProcess(own_fake, tmp_path, database_url=own_postgres_url)
    with running(bot):
        pass
    polls = len(own_fake.calls("getUpdates"))
    read_only = own_postgres_url + "&default_transaction_read_only=on"  # like a standby
    result = start_and_wait({**bot.env, "DATABASE_URL": read_only}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("relbot: cannot write to the PostgreSQL database 127.0.0.1")
    assert "read-only transaction" in lines[0] and "postgres@" not in lines[0]
    assert len(own_fake.calls("getUpdates")) == polls
