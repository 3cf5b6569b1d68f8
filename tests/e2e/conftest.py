"""Fixtures for the end-to-end tests: a fake Telegram, relbot as a process, people.

One bot process per test module (modules that need another setup override ``bot``);
every test talks to it as its own people (distinct user ids), so tests stay independent.

The real programme's conversations (``test_programme.py``) are slow by nature: the bot
sends about one message per second per chat. When that module is part of the run, its
two bots and all its conversations start with the session and run in the background
while the other modules' tests run (``_programme_in_background``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest
from fakegram import FakeTelegram

from . import programme
from .harness import (
    POSTGRES_URL,
    PROGRAMME,
    SKIP_POSTGRES,
    BotProcess,
    Database,
    Person,
    Scenarios,
    drop_postgres_schema,
    postgres_schema_url,
    running,
)

_user_ids = itertools.count(700_001)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The crash test's counts (kills, lost actions, doubled messages), after the run."""
    from .crash import REPORT

    for line in REPORT:
        terminalreporter.write_line(f"crash test: {line}")


def next_user_id() -> int:
    """A user id no other test in this session uses."""
    return next(_user_ids)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").clear_faults()


@pytest.fixture(scope="module")
def bot(fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """relbot run, long polling, the example dialogues, a SQLite file."""
    with running(BotProcess(fake, tmp_path_factory.mktemp("bot"))) as process:
        yield process


@pytest.fixture
def db(bot: BotProcess) -> Database:
    return Database(bot.database_url)


@pytest.fixture
def person(fake: FakeTelegram, bot: BotProcess) -> Callable[..., Person]:
    """``person(language_code="en")`` -> a new Telegram user talking to the running bot."""

    def make(language_code: str = "en", name: str = "Ana") -> Person:
        return Person(fake, next_user_id(), language_code, name)

    return make


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """Fail loudly (not skip) if PostgreSQL is down, unless explicitly told to skip."""
    if SKIP_POSTGRES:
        pytest.skip("RELBOT_SKIP_POSTGRES=1: PostgreSQL end-to-end tests skipped on request")

    async def probe() -> None:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
        await conn.close()

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, probe()).result()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.fail(
            f"PostgreSQL is unreachable at {POSTGRES_URL} ({exc!r}). Start it, point "
            "RELBOT_TEST_POSTGRES_URL at a server, or set RELBOT_SKIP_POSTGRES=1.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def postgres_url(postgres_available: None) -> Iterator[str]:
    """DATABASE_URL for a fresh PostgreSQL schema, dropped afterwards."""
    schema = f"relbot_e2e_{uuid.uuid4().hex[:12]}"
    url = postgres_schema_url(schema)
    try:
        yield url
    finally:
        drop_postgres_schema(schema)


@pytest.fixture
def own_postgres_url(postgres_available: None) -> Iterator[str]:
    """DATABASE_URL for a PostgreSQL schema of this test's bot alone. Bots that share a
    schema share the outbox, and each one's sender would try the others' replies through
    its own fake Telegram (which knows none of those chats)."""
    schema = f"relbot_e2e_{uuid.uuid4().hex[:12]}"
    url = postgres_schema_url(schema)
    try:
        yield url
    finally:
        drop_postgres_schema(schema)


# ---- the real programme, in the background ------------------------------------------------------
@pytest.fixture(scope="session")
def programme_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as server:
        yield server


@pytest.fixture(scope="session")
def programme_bot(
    programme_fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    """Long polling, the real programme, SQLite."""
    workdir = tmp_path_factory.mktemp("programme-polling")
    with running(BotProcess(programme_fake, workdir, dialogues=PROGRAMME)) as process:
        yield process


@pytest.fixture(scope="session")
def programme_webhook_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as server:
        yield server


@pytest.fixture(scope="session")
def programme_webhook_bot(
    programme_webhook_fake: FakeTelegram,
    postgres_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BotProcess]:
    """Webhook mode, the real programme, PostgreSQL."""
    workdir = tmp_path_factory.mktemp("programme-webhook")
    process = BotProcess(
        programme_webhook_fake,
        workdir,
        dialogues=PROGRAMME,
        webhook=True,
        database_url=postgres_url,
    )
    with running(process):
        yield process


@pytest.fixture(scope="session")
def programme_flows(programme_fake: FakeTelegram, programme_bot: BotProcess) -> Iterator[Scenarios]:
    scenarios = Scenarios()
    db = Database(programme_bot.database_url)
    programme.start_polling(scenarios, programme_fake, db, next_user_id)
    yield scenarios
    scenarios.close()


@pytest.fixture(scope="session")
def programme_webhook_flows(
    programme_webhook_fake: FakeTelegram, programme_webhook_bot: BotProcess
) -> Iterator[Scenarios]:
    scenarios = Scenarios()
    db = Database(programme_webhook_bot.database_url)
    programme.start_webhook(scenarios, programme_webhook_fake, db, next_user_id)
    yield scenarios
    scenarios.close()


@pytest.fixture(scope="session", autouse=True)
def _programme_in_background(request: pytest.FixtureRequest) -> None:
    """Start the programme's conversations now if its tests are part of this run."""
    if not any(item.path.name == "test_programme.py" for item in request.session.items):
        return
    for name in ("programme_flows", "programme_webhook_flows"):
        # On an error, the programme's own tests request it again and report it themselves.
        with contextlib.suppress(Exception, pytest.skip.Exception, pytest.fail.Exception):
            request.getfixturevalue(name)
