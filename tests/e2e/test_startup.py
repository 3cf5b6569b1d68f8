"""Start-up mistakes an operator makes: each one is a single line on stderr that says
what to fix, exit status 2, no traceback, and never the token, the webhook secret or a
database password. PostgreSQL that comes up after the bot is waited for.

Each test runs ``relbot run`` (or ``relbot chat``) as a process, like a person would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from fakegram import FakeTelegram

from bot.privacy.keyring import new_key_entry

from .conftest import next_user_id
from .harness import POSTGRES_URL, REPO, BotProcess, Person, free_port, running
from .tcpproxy import TcpProxy, target_of, through

TOKEN = "123456:TEST-TOKEN"
SETTINGS = (
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_URL", "DIALOGUES_DIR", "LOG_LEVEL",
    "WEBHOOK_URL", "WEBHOOK_SECRET", "PORT", "LISTEN", "HEALTH_PORT", "STARTUP_TIMEOUT",
    "HEALTH_MAX_BACKLOG", "HEALTH_MAX_AGE",
)  # fmt: skip


@pytest.fixture
def own_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def relbot(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """``relbot <args>`` with only these settings; Telegram defaults to a closed port here,
    so that no test ever reaches out of this machine."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(
        PYTHONPATH=str(REPO),
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=f"http://127.0.0.1:{free_port()}/bot",
        DATABASE_URL=f"sqlite:///{tmp_path / 'relbot.sqlite3'}",
        STARTUP_TIMEOUT="2",
    )
    if settings.get("DATABASE_URL", "").startswith("postgres"):
        env["DATA_KEY"] = new_key_entry()  # required with PostgreSQL (its own test elsewhere)
    env.update(settings)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=90,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def refused(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """The run ended with status 2 and exactly one line on stderr holding each fragment."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("relbot: "), line
    for fragment in fragments:
        assert fragment in line, line
    return line


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    user = parts.username or "postgres"
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{parts.hostname}:{parts.port}"))


# ---- settings ---------------------------------------------------------------------------------
def test_unsupported_database_scheme(tmp_path: Path) -> None:
    result = relbot(tmp_path, "run", DATABASE_URL="mysql://bot:pa55word@db/relbot")
    line = refused(result, "DATABASE_URL", "unsupported database URL scheme 'mysql'",
                   "postgresql://")  # fmt: skip
    assert "pa55word" not in line


def test_bad_log_level(tmp_path: Path) -> None:
    refused(relbot(tmp_path, "run", LOG_LEVEL="verbose"),
            "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL", "'verbose'")


@pytest.mark.parametrize("secret", ["has spaces!", "é-accent", "x" * 257])
def test_webhook_secret_telegram_would_refuse(tmp_path: Path, secret: str) -> None:
    result = relbot(tmp_path, "run", WEBHOOK_URL="https://bot.example.org/telegram",
                    WEBHOOK_SECRET=secret)  # fmt: skip
    line = refused(result, "WEBHOOK_SECRET may only hold 1-256 characters A-Z, a-z, 0-9, _ and -")
    assert secret not in line


def test_unknown_chat_language(tmp_path: Path) -> None:
    refused(relbot(tmp_path, "chat", "--lang", "fr"),
            "no language 'fr' in these dialogues", "en, es")


# ---- listening ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["webhook PORT", "polling HEALTH_PORT", "webhook HEALTH_PORT"])
def test_port_in_use(tmp_path: Path, mode: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = str(taken.getsockname()[1])
        settings = {"LISTEN": "127.0.0.1", "PORT": str(free_port())}
        if mode.startswith("webhook"):
            settings.update(WEBHOOK_URL="https://bot.example.org/telegram", WEBHOOK_SECRET="s3")
        name = mode.split()[1]
        settings[name] = busy
        result = relbot(tmp_path, "run", **settings)
    refused(result, f"port {busy} is already in use ({name})", f"set {name} to a free port")
    assert not (tmp_path / "relbot.sqlite3").exists()  # found before anything else was done


# ---- the database -----------------------------------------------------------------------------
def test_sqlite_folder_not_writable(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes anywhere it has permission bits for; not in sysfs
        folder = Path("/sys/relbot-test")
    else:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o500)
    result = relbot(tmp_path, "run", DATABASE_URL=f"sqlite:///{folder}/relbot.sqlite3")
    refused(result, f"cannot open the SQLite database {folder}/relbot.sqlite3",
            "make its folder writable for this user, or set DATABASE_URL")  # fmt: skip


def test_sqlite_folder_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a folder")
    result = relbot(tmp_path, "run", DATABASE_URL=f"sqlite:///{tmp_path}/data/relbot.sqlite3")
    refused(result, "(a file is in the way of its folder)")


def test_postgres_unreachable_is_retried_then_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    started = time.monotonic()
    result = relbot(tmp_path, "run", STARTUP_TIMEOUT="2",
                    DATABASE_URL=f"postgresql://relbot:pa55word@127.0.0.1:{port}/relbot")
    took = time.monotonic() - started
    line = refused(result, f"cannot reach PostgreSQL at 127.0.0.1:{port} (connection refused)",
                   "fix DATABASE_URL", "tried for 2 s; STARTUP_TIMEOUT")  # fmt: skip
    assert "pa55word" not in line
    assert 2.0 <= took < 20, took  # it waited, and not forever


def test_postgres_database_missing(tmp_path: Path, postgres_available: None) -> None:
    name = f"relbot_missing_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(POSTGRES_URL)._replace(path=f"/{name}", query=""))
    result = relbot(tmp_path, "run", DATABASE_URL=url, STARTUP_TIMEOUT="1")
    refused(result, f"has no database '{name}': create it (createdb {name}), or fix DATABASE_URL")


def test_postgres_login_refused(tmp_path: Path, postgres_available: None) -> None:
    url = with_password(POSTGRES_URL, "pa55word").replace(
        f"{urlsplit(POSTGRES_URL).username or 'postgres'}:", "relbot_no_such_role:", 1
    )
    line = refused(relbot(tmp_path, "run", DATABASE_URL=url),
                   "refused the login", "check the user and password in DATABASE_URL")
    assert "pa55word" not in line


def test_postgres_that_starts_after_the_bot_is_waited_for(
    own_fake: FakeTelegram, tmp_path: Path, postgres_url: str
) -> None:
    """compose may start PostgreSQL after the bot: it keeps trying, then serves."""
    with TcpProxy(target_of(postgres_url)) as proxy:  # not listening yet: "connection refused"
        bot = BotProcess(own_fake, tmp_path, database_url=through(proxy, postgres_url),
                         env={"STARTUP_TIMEOUT": "30"})  # fmt: skip
        threading.Timer(2.0, proxy.resume).start()
        started = time.monotonic()
        with running(bot):
            assert time.monotonic() - started >= 2.0
            ana = Person(own_fake, next_user_id())
            ana.command("start")
            ana.expect("Hi! This tour shows", "Which language do you prefer?")


# ---- Telegram ---------------------------------------------------------------------------------
def test_token_rejected(own_fake: FakeTelegram, tmp_path: Path) -> None:
    wrong = "654321:WRONG-" + uuid.uuid4().hex
    started = time.monotonic()
    result = relbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=wrong, TELEGRAM_API_URL=own_fake.base_url,
                    STARTUP_TIMEOUT="30")  # fmt: skip
    refused(result, "Telegram rejected the token (check TELEGRAM_BOT_TOKEN")
    assert wrong.split(":")[1] not in result.stderr
    assert time.monotonic() - started < 15  # a rejected token is not retried


def test_telegram_unreachable_is_retried_then_one_line(tmp_path: Path) -> None:
    port = free_port()
    started = time.monotonic()
    result = relbot(tmp_path, "run", TELEGRAM_API_URL=f"http://127.0.0.1:{port}/bot",
                    STARTUP_TIMEOUT="2")  # fmt: skip
    took = time.monotonic() - started
    refused(result, f"cannot reach Telegram at 127.0.0.1:{port}",
            "check the network, or TELEGRAM_API_URL", "tried for 2 s")  # fmt: skip
    assert 2.0 <= took < 20, took


def test_telegram_refusing_the_webhook(own_fake: FakeTelegram, tmp_path: Path) -> None:
    own_fake.fail_next("setWebhook", 400,
                       description="Bad Request: bad webhook: An HTTPS URL must be provided")
    port = free_port()
    result = relbot(tmp_path, "run", TELEGRAM_BOT_TOKEN=own_fake.token,
                    TELEGRAM_API_URL=own_fake.base_url, LISTEN="127.0.0.1", PORT=str(port),
                    WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram", WEBHOOK_SECRET="s3cret-1")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last == ("relbot: Telegram refused a call needed to start (Bad webhook: an https url "
                    "must be provided): check WEBHOOK_URL")  # fmt: skip
    assert "s3cret-1" not in result.stderr
