"""/healthz as an operator and a container runtime see it: 200 while the bot can serve,
503 with the reason while the database is unreachable or the sender falls behind, and 200
again once things are back, in polling mode (on HEALTH_PORT) and in webhook mode (on the
webhook server), on SQLite and on PostgreSQL. The Dockerfile's HEALTHCHECK agrees.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .harness import REPO, BotProcess, Person, free_port, running, wait_until
from .tcpproxy import TcpProxy, target_of, through

ALLOWED_KEYS = {"ok", "reason", "error", "pending", "oldest_pending_seconds"}


@pytest.fixture
def own_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as server:
        yield server


def health(url: str) -> tuple[int, dict[str, Any]]:
    response = httpx.get(url, timeout=15)
    body = response.json()
    assert set(body) <= ALLOWED_KEYS, body  # counts and a reason: nothing about anyone
    return response.status_code, body


def health_url(bot: BotProcess) -> str:
    port = bot.webhook_port if bot.webhook else int(bot.env["HEALTH_PORT"])
    return f"http://127.0.0.1:{port}/healthz"


def wait_for_status(url: str, status: int) -> dict[str, Any]:
    return wait_until(lambda: (lambda got: got[1] if got[0] == status else None)(health(url)),
                      what=f"/healthz to answer {status}")  # fmt: skip


class SQLiteOutage:
    """The outbox table vanishes under the bot (every update and health query fails)."""

    def __init__(self, bot: BotProcess) -> None:
        self.path = bot.database_url[len("sqlite:///") :]

    def _rename(self, old: str, new: str) -> None:
        with sqlite3.connect(self.path, timeout=10) as conn:
            conn.execute(f"ALTER TABLE {old} RENAME TO {new}")

    def begin(self) -> None:
        self._rename("outbox", "outbox_away")

    def end(self) -> None:
        self._rename("outbox_away", "outbox")


class PostgresOutage:
    """Every connection to PostgreSQL drops and new ones are refused (through a proxy)."""

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy

    def begin(self) -> None:
        self.proxy.cut()

    def end(self) -> None:
        self.proxy.resume()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_database_outage_turns_health_503_then_200(
    own_fake: FakeTelegram, tmp_path: Path, request: pytest.FixtureRequest, mode: str,
    backend: str,
) -> None:  # fmt: skip
    with TcpProxy(("127.0.0.1", 1)) as proxy:
        database_url = None
        if backend == "postgres":
            postgres_url = request.getfixturevalue("postgres_url")
            proxy.target = target_of(postgres_url)
            proxy.resume()
            database_url = through(proxy, postgres_url)
        env = {} if mode == "webhook" else {"HEALTH_PORT": str(free_port())}
        bot = BotProcess(own_fake, tmp_path, webhook=mode == "webhook",
                         database_url=database_url, env=env)  # fmt: skip
        outage = PostgresOutage(proxy) if backend == "postgres" else SQLiteOutage(bot)
        ana = Person(own_fake, next_user_id())
        bot.start()
        try:
            url = health_url(bot)
            status, body = health(url)
            assert (status, body) == (200, {"ok": True, "pending": 0,
                                            "oldest_pending_seconds": 0.0})  # fmt: skip
            ana.command("start")
            ana.expect("Hi! This tour shows", "Which language do you prefer?")
            # Both replies recorded as sent (else one is sent again after the outage:
            # delivery is at least once, by design).
            wait_until(lambda: health(url)[1]["pending"] == 0, what="no unsent replies")

            outage.begin()
            body = wait_for_status(url, 503)
            assert body["ok"] is False and "database did not answer" in body["reason"], body

            outage.end()
            assert wait_for_status(url, 200)["ok"] is True
            ana.press("English")  # and the bot serves again
            ana.expect("What should I call you?")
        finally:
            code = bot.stop()
    assert code == 0, bot.output


@pytest.mark.parametrize(
    ("setting", "value", "reason"),
    [
        ("HEALTH_MAX_AGE", "1", r"the oldest unsent reply has waited \d+ s \(HEALTH_MAX_AGE is 1 s"
                                r"\)"),
        ("HEALTH_MAX_BACKLOG", "1", r"2 replies unsent \(HEALTH_MAX_BACKLOG is 1\)"),
    ],
)
def test_a_sender_that_falls_behind_is_503_until_it_catches_up(
    own_fake: FakeTelegram, tmp_path: Path, setting: str, value: str, reason: str
) -> None:
    bot = BotProcess(own_fake, tmp_path, env={"HEALTH_PORT": str(free_port()), setting: value})
    ana = Person(own_fake, next_user_id())
    with running(bot):
        url = health_url(bot)
        assert health(url)[0] == 200
        own_fake.slow("sendMessage", 2.5)  # Telegram answers slowly: replies pile up
        ana.command("start")  # two replies
        body = wait_for_status(url, 503)
        assert re.fullmatch(reason, body["reason"]), body
        assert body["pending"] >= 1
        own_fake.slow("sendMessage", 0)
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
        assert wait_for_status(url, 200)["pending"] == 0


def dockerfile_healthcheck() -> str:
    """The python -c program of the Dockerfile's HEALTHCHECK."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", "")
    match = re.search(r"^HEALTHCHECK .*? CMD (\[.*\])$", text, re.M)
    assert match, "the Dockerfile has a HEALTHCHECK in exec form"
    command = json.loads(match.group(1))
    assert command[:2] == ["python", "-c"], command
    return str(command[2])


def test_the_dockerfile_healthcheck_follows_healthz(own_fake: FakeTelegram, tmp_path: Path) -> None:
    port = str(free_port())
    bot = BotProcess(own_fake, tmp_path, env={"HEALTH_PORT": port})
    program = dockerfile_healthcheck()

    def healthcheck() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-I", "-c", program], capture_output=True,
                              text=True, timeout=30, env={"HEALTH_PORT": port})  # fmt: skip

    with running(bot):
        healthy = healthcheck()
        assert healthy.returncode == 0 and '"ok": true' in healthy.stdout, healthy
        outage = SQLiteOutage(bot)
        outage.begin()
        sick = healthcheck()
        outage.end()
        assert sick.returncode == 1 and "database did not answer" in sick.stdout, sick
    stopped = healthcheck()
    assert stopped.returncode != 0  # nobody answers: unhealthy too
