"""The end-to-end harness: relbot as a real process, a person talking to it, the database.

Why this module exists: the end-to-end tests run the bot exactly as it runs in
production (``python -m bot run`` configured by environment variables, talking HTTP to
``TELEGRAM_API_URL``, which is a ``FakeTelegram``) and assert only what a person would
notice. These helpers keep the tests readable:

* ``BotProcess`` starts/stops/kills ``relbot run`` and waits until it polls (or until it
  registered its webhook); its stdout and stderr go to files the tests can read.
* ``Person`` is one Telegram user: ``send``/``command``/``press`` and ``expect``, which
  waits for the next bot messages and checks them in order against text fragments, so
  a doubled or a lost reply shows up as a mismatch.
* ``Database`` reads the bot's tables (SQLite file or a PostgreSQL schema) behind its back.
* ``Scenarios`` runs long, rate-limited conversations of different people at the same
  time (the bot sends about one message per second per chat), one pytest test each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from fakegram import BotMessage, FakeTelegram

from bot.privacy.keyring import KeyRing, new_key_entry
from bot.privacy.keysource import key_file_for

REPO = Path(__file__).resolve().parents[2]
PROGRAMME = REPO / "dialogues"
EXAMPLES = REPO / "dialogues" / "examples"

POSTGRES_URL = os.environ.get(
    "RELBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SKIP_POSTGRES = os.environ.get("RELBOT_SKIP_POSTGRES") == "1"
#: DATA_KEY of every bot on PostgreSQL (required there); SQLite bots generate a key file.
E2E_DATA_KEY = new_key_entry("e2e")

WAIT = 20.0  # seconds; generous for slow CI machines, never reached when things work
STALE = "That button is from an earlier step."
UNSUPPORTED = "I can only read text and button taps"
PRIVACY = ("What I keep: your language", "Lo que guardo: tu idioma")
CHOSEN = "✓"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT, what: str = "") -> Any:
    """Poll ``predicate`` (e.g. a database query) until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.02)


# ---- the bot process ---------------------------------------------------------------------------
class BotProcess:
    """``relbot run`` as a subprocess, configured only through its environment."""

    def __init__(
        self,
        fake: FakeTelegram,
        workdir: Path,
        *,
        database_url: str | None = None,
        dialogues: Path = EXAMPLES,
        webhook: bool = False,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.fake = fake
        self.command = command or [sys.executable, "-m", "bot", "run"]
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or f"sqlite:///{workdir / 'relbot.sqlite3'}"
        self.webhook_port = free_port() if webhook else None
        self.webhook_secret = "e2e-Secret_" + os.urandom(8).hex() if webhook else None
        self.env = {
            **os.environ,
            "PTB_TIMEDELTA": "true",
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "DATABASE_URL": self.database_url,
            "DIALOGUES_DIR": str(dialogues),
            "LOG_LEVEL": "INFO",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        for name in ("WEBHOOK_URL", "WEBHOOK_SECRET", "PORT", "DATA_KEY", "RETENTION_DAYS",
                     "MIGRATE", "REPLICAS"):
            self.env.pop(name, None)
        if not self.database_url.startswith("sqlite:"):
            self.env["DATA_KEY"] = E2E_DATA_KEY
            self.env["MIGRATE"] = "1"  # a fresh schema per test (production: relbot db upgrade)
        if webhook:
            self.env.update(
                WEBHOOK_URL=self.webhook_url,
                WEBHOOK_SECRET=self.webhook_secret or "",
                PORT=str(self.webhook_port),
                LISTEN="127.0.0.1",
            )
        self.env.update(env or {})
        self.stdout_path = workdir / "stdout.log"
        self.stderr_path = workdir / "stderr.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.exit_codes: list[int] = []  # of every SIGTERM stop

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.webhook_port}/telegram"

    @property
    def webhook(self) -> bool:
        return self.webhook_port is not None

    # ---- lifecycle ----------------------------------------------------------------------------
    def start(self, *, wait: bool = True) -> BotProcess:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        hooks_before = len(self.fake.calls("setWebhook"))
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        if wait:
            try:
                self.wait_ready(hooks_before)
            except BaseException:  # a start that timed out must not leave the bot running
                if self.proc.poll() is None:
                    self.proc.kill()
                    self.proc.wait(10)
                raise
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _check_alive(self) -> None:
        if not self.alive():
            raise AssertionError(f"relbot run exited early ({self.returncode}):\n{self.output}")

    def wait_ready(self, hooks_before: int = 0) -> None:
        """Until the bot listens: a pending long poll, or its webhook registered."""
        if self.webhook:

            def registered() -> bool:
                self._check_alive()
                hooks = [c for c in self.fake.calls("setWebhook") if c.finished is not None]
                return len(hooks) > hooks_before and hooks[-1].ok

            self.fake.wait_for(registered, WAIT, what="setWebhook")
        else:

            def polling() -> bool:
                self._check_alive()
                return self.fake.is_polling()

            self.fake.wait_for(polling, WAIT, what="a getUpdates long poll")

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._after_exit(code)
        return code

    def kill(self) -> int:
        """SIGKILL: a crash, nothing gets to clean up."""
        assert self.proc is not None
        self.proc.kill()
        code = self.proc.wait(10)
        if not self.webhook:
            self.fake.wait_for(lambda: not self.fake.is_polling(), 5, what="the poll to end")
        return code

    def _after_exit(self, code: int) -> None:
        self.exit_codes.append(code)
        if not self.webhook:  # the fake notices the dead long poll within ~50 ms
            self.fake.wait_for(lambda: not self.fake.is_polling(), 5, what="the poll to end")

    def restart(self) -> None:
        assert self.stop() == 0, self.output
        self.start()

    # ---- output -----------------------------------------------------------------------------
    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def wait_log(self, text: str, timeout: float = WAIT) -> None:
        """Until ``text`` appears in the bot's stderr."""
        wait_until(lambda: text in self.stderr, timeout, what=f"{text!r} in the log")

    def assert_healthy(self) -> None:
        """Nothing escaped as a traceback, no warning was printed, every exit was clean."""
        output = self.output
        assert "Traceback" not in output, output
        assert "Warning" not in output, output
        assert all(code == 0 for code in self.exit_codes), (self.exit_codes, output)


@contextlib.contextmanager
def running(bot: BotProcess) -> Iterator[BotProcess]:
    """Start; at the end stop with SIGTERM and require exit code 0 and a clean log."""
    bot.start()
    try:
        yield bot
    finally:  # stop it in any case; judge the exit only if the test itself passed
        code = bot.stop() if bot.alive() else 0
    assert code == 0, f"relbot run exited with {code}:\n{bot.output}"
    bot.assert_healthy()


# ---- a person ------------------------------------------------------------------------------
class Person:
    """One Telegram user in a private chat with the bot (chat id == user id)."""

    def __init__(
        self, fake: FakeTelegram, user_id: int, language_code: str = "en", name: str = "Ana"
    ) -> None:
        self.fake = fake
        self.id = user_id
        self.language_code = language_code
        self.name = name
        self.read = 0  # bot messages already checked by expect()

    # ---- actions ----------------------------------------------------------------------------
    def send(self, text: str) -> int:
        return self.fake.send_text(
            self.id, text, language_code=self.language_code, first_name=self.name
        )

    def command(self, command: str, payload: str | None = None) -> int:
        return self.fake.send_command(
            self.id, command, payload, language_code=self.language_code, first_name=self.name
        )

    def button(self, label: str) -> BotMessage:
        """The newest bot message that shows a button with this label."""
        for message in reversed(self.messages()):
            if label in message.button_texts:
                return message
        raise AssertionError(f"no button {label!r} in chat {self.id}: {self.texts()}")

    def press(self, label: str) -> int:
        message = self.button(label)
        return self.fake.press(self.id, message.message_id, button_text=label)

    def press_raw(self, message_id: int, data: str) -> int:
        return self.fake.press_raw(self.id, message_id, data)

    # ---- what the person sees -----------------------------------------------------------------
    def messages(self) -> list[BotMessage]:
        return self.fake.messages(self.id)

    def texts(self) -> list[str]:
        return [m.text or "" for m in self.messages()]

    def last(self) -> BotMessage:
        return self.fake.last_message(self.id)

    def expect(self, *fragments: str, timeout: float = WAIT) -> list[BotMessage]:
        """The next ``len(fragments)`` bot messages, each containing its fragment, in order."""
        want = self.read + len(fragments)
        found = self.fake.wait_for_messages(self.id, want, timeout)
        new = found[self.read : want]
        for message, fragment in zip(new, fragments, strict=True):
            assert fragment in (message.text or ""), (
                f"expected {fragment!r} in {message.text!r}; the chat so far: {self.texts()}"
            )
        self.read = want
        return new

    def barrier(self) -> None:
        """Send /privacy (changes nothing) and wait for its answer: every reply to earlier
        updates was committed before it and, the outbox being ordered, sent before it."""
        self.command("privacy")
        self.fake.wait_for(
            lambda: any(t.startswith(PRIVACY) for t in self.texts()[self.read :]),
            WAIT,
            what=f"the /privacy answer in chat {self.id}",
        )

    def expect_nothing_more(self) -> None:
        """After a barrier: the only new message is the privacy text."""
        self.barrier()
        new = self.texts()[self.read :]
        assert len(new) == 1 and new[0].startswith(PRIVACY), f"unexpected messages: {new}"
        self.read += 1

    def answer_to(self, update_id: int) -> Any:
        """The callback answer the bot gave to the press injected as ``update_id``."""
        query_id = self.fake.update(update_id)["callback_query"]["id"]
        return self.fake.wait_for(
            lambda: next(
                (a for a in self.fake.callback_answers() if a.callback_query_id == query_id),
                None,
            ),
            WAIT,
            what=f"an answer to callback query {query_id}",
        )

    def expect_chosen(self, message_id: int, label: str) -> BotMessage:
        """The pressed question now ends with "✓ label" and has no keyboard left."""

        def edited() -> BotMessage | None:
            message = self.fake.message(self.id, message_id)
            return message if (message.text or "").endswith(f"{CHOSEN} {label}") else None

        message = self.fake.wait_for(edited, WAIT, what=f"message {message_id} marked {label}")
        assert message.buttons == [], message
        return message


# ---- the database behind the bot's back ------------------------------------------------------
def at_name_question(person: Person) -> None:
    """Start the example tour in English and stop at its first typed question."""
    person.command("start")
    person.expect("Hi! This tour shows", "Which language do you prefer?")
    person.press("English")
    person.expect("What should I call you?")


class Database:
    """Raw reads of relbot's tables, independent of the bot's storage code; sealed values
    are opened with the bot's key (its key file, or the e2e DATA_KEY)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def keys(self) -> KeyRing:
        path = key_file_for(self.url)
        if path is None:
            return KeyRing.parse(E2E_DATA_KEY)
        return KeyRing.parse(path.read_text(encoding="ascii"))

    def opened(self, table: str, column: str, user_id: int, stored: str | None) -> str | None:
        """A sealed column's plaintext (as the bot would read it)."""
        if stored is None or not stored.startswith("rb1."):
            return stored
        return self.keys().open(stored, f"{table}.{column}:{user_id}")

    def records(self, user_id: int) -> list[tuple[str, Any]]:
        """(kind, data) of the person's saved records, opened, oldest first."""
        rows = self.query("SELECT kind, data FROM records WHERE user_id = ? ORDER BY id", user_id)
        return [(str(kind), json.loads(self.opened("records", "data", user_id, data) or "{}"))
                for kind, data in rows]

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if self.url.startswith("sqlite:///"):
            path = self.url[len("sqlite:///") :]
            if not Path(path).exists():
                return []
            conn = sqlite3.connect(path, timeout=10)
            try:
                return [tuple(row) for row in conn.execute(sql, args)]
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise
            finally:
                conn.close()
        return asyncio.run(self._pg(sql, args))

    async def _pg(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        parts = sql.split("?")  # qmark placeholders -> $1, $2...
        sql = parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], start=1))
        conn = await asyncpg.connect(self.url)
        try:
            return [tuple(row) for row in await conn.fetch(sql, *args)]
        except asyncpg.UndefinedTableError:
            return []
        finally:
            await conn.close()

    def user(self, user_id: int) -> dict[str, Any] | None:
        rows = self.query(
            "SELECT language, session, consent, unreachable FROM users WHERE user_id = ?",
            user_id,
        )
        if not rows:
            return None
        language, session, consent, unreachable = rows[0]
        return {
            "language": language,
            "session": self.opened("users", "session", user_id, session),
            "consent": consent,
            "unreachable": bool(unreachable),
        }

    def count(self, table: str, user_id: int) -> int:
        return int(self.query(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", user_id)[0][0])

    def rows_about(self, user_id: int) -> dict[str, int]:
        return {t: self.count(t, user_id) for t in ("users", "inbox", "outbox", "records")}

    def wait_all_sent(self, user_id: int, timeout: float = WAIT) -> None:
        """Until every outbox row of the user is recorded as sent; on timeout, the rows."""
        try:
            wait_until(lambda: all(s == "sent" for _, s in self.outbox(user_id)), timeout)
        except AssertionError:
            rows = self.query("SELECT id, method, status, attempts, last_error FROM outbox"
                              " WHERE user_id = ? ORDER BY id", user_id)
            raise AssertionError(f"not every reply recorded as sent: {rows}") from None

    def outbox(self, user_id: int) -> list[tuple[str, str]]:
        """(method, status) of the user's outbox rows, oldest first."""
        rows = self.query(
            "SELECT method, status FROM outbox WHERE user_id = ? ORDER BY id", user_id
        )
        return [(str(m), str(s)) for m, s in rows]


def postgres_schema_url(schema: str) -> str:
    """The test server's URL with ``search_path`` set to a fresh schema (created here)."""

    async def create() -> None:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
        try:
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        finally:
            await conn.close()

    asyncio.run(create())
    parts = urlsplit(POSTGRES_URL)
    separator = "&" if parts.query else "?"
    return f"{POSTGRES_URL}{separator}search_path={schema}"


def drop_postgres_schema(schema: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    asyncio.run(drop())


# ---- long conversations side by side -----------------------------------------------------------
class Scenarios:
    """Start several people's conversations at once; each test then waits for its own.

    The bot sends about one message per second per chat, so a whole module of the
    programme takes ~20 s of wall time for one person, and the same for five people.
    """

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=12, thread_name_prefix="scenario")
        self.futures: dict[str, Future[None]] = {}

    def start(self, name: str, scenario: Callable[[], None]) -> None:
        self.futures[name] = self.pool.submit(scenario)

    def result(self, name: str, timeout: float = 120.0) -> None:
        self.futures[name].result(timeout)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
