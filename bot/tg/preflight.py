"""Pre-flight checks: what `relbot run` needs, checked before python-telegram-bot starts.

A mistake in the configuration or the environment is found here and reported as one line
that says what to fix (`StartupError`), instead of a traceback from deep inside a library
with a misleading last line. In order: the ports the bot will listen on, the database
(opened, migrated, closed again), and the token (`getMe` through a short-lived client).
PostgreSQL and Telegram are retried for up to `STARTUP_TIMEOUT` seconds first, so that
compose may start PostgreSQL after the bot. `explain` gives the same kind of line for a
start-up failure that still escapes later (the catch at the top of `relbot run`).
No line ever holds the token, the webhook secret or a database password.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from urllib.parse import urlsplit

import asyncpg
import tornado.netutil
from telegram import Bot
from telegram.error import (
    BadRequest,
    Conflict,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.config import DEFAULT_API_URL, Settings
from bot.storage import SchemaVersionError, StorageRefused, Store, open_store

__all__ = ["StartupError", "check", "explain"]


class StartupError(Exception):
    """The bot cannot start; the message is one line that says what to fix."""


class _Transient(Exception):
    """Worth another try until STARTUP_TIMEOUT runs out; the message says what was seen."""


async def check(settings: Settings) -> None:
    """Raise `StartupError` unless the ports, the database and the token all work."""
    check_ports(settings)
    await check_database(settings)
    await check_telegram(settings)


# ---- ports ----------------------------------------------------------------------------------
def listening_ports(settings: Settings) -> Iterator[tuple[str, int]]:
    """(setting, port) for each port the bot will listen on."""
    if settings.webhook:
        yield "PORT", settings.port
    if settings.health_port is not None and not (
        settings.webhook and settings.health_port == settings.port
    ):
        yield "HEALTH_PORT", settings.health_port


def check_ports(settings: Settings) -> None:
    for name, port in listening_ports(settings):
        try:
            for sock in tornado.netutil.bind_sockets(port, settings.listen):  # as tornado will
                sock.close()
        except OSError as exc:
            raise StartupError(_port_line(name, port, settings.listen, exc)) from None


def _port_line(name: str, port: int, address: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} is already in use ({name}): stop the program that uses it, "
                f"or set {name} to a free port")
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port} ({name}): set {name} to 1024 or above"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {address!r}: no such address here (check LISTEN)"
    return f"cannot listen on {address}:{port} ({name}): {_reason(exc)}"


# ---- database -------------------------------------------------------------------------------
async def check_database(settings: Settings) -> None:
    try:
        store = open_store(settings.database_url, upgrade=settings.upgrade)
    except ValueError as exc:
        raise StartupError(f"DATABASE_URL: {exc}") from None
    await _retrying(lambda: _open_and_close(store, settings), settings.startup_timeout)


async def _open_and_close(store: Store, settings: Settings) -> None:
    try:
        await store.open()
    except Exception as exc:
        line, retry = _database_problem(exc, settings.database_url)
        if line is None:
            raise
        if retry:
            raise _Transient(line) from None
        raise StartupError(line) from None
    await store.close()


def _database_problem(exc: BaseException, database_url: str) -> tuple[str | None, bool]:
    """(one line, worth retrying) for a failed open. The store says `StorageRefused` for a
    database it cannot use at all; a PostgreSQL server that is not there yet (retried),
    a missing database or a refused login are said more precisely from its cause."""
    if isinstance(exc, StorageRefused):
        cause = exc.__cause__
        if database_url.startswith("sqlite:") and isinstance(cause, OSError):
            return database_line(cause, database_url), False  # its folder, said precisely
        if cause is not None and not database_url.startswith("sqlite:") and (
                _retry_worthy(cause, database_url) or isinstance(
                    cause, asyncpg.InvalidAuthorizationSpecificationError)):
            return database_line(cause, database_url), _retry_worthy(cause, database_url)
        return str(exc), False
    line = database_line(exc, database_url)
    return line, line is not None and _retry_worthy(exc, database_url)


_DATABASE_ERRORS = (sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError,
                    SchemaVersionError)


def _retry_worthy(exc: BaseException, database_url: str) -> bool:
    """Errors of a server that is not there yet (compose starts it after the bot); a SQLite
    file that cannot be opened will not open later either."""
    if database_url.startswith("sqlite:"):
        return False
    return isinstance(exc, OSError | TimeoutError | asyncpg.CannotConnectNowError
                      | asyncpg.InvalidCatalogNameError | asyncpg.TooManyConnectionsError
                      | asyncpg.PostgresConnectionError)


def database_line(exc: BaseException, database_url: str) -> str | None:
    """One line for a database failure at start, or None if it is not one we know."""
    if isinstance(exc, SchemaVersionError):
        return f"DATABASE_URL: {exc}"
    if database_url.startswith("sqlite:"):
        if isinstance(exc, OSError | sqlite3.Error):
            path = database_url[len("sqlite:///"):]
            return (f"cannot open the SQLite database {path} ({_reason(exc)}): make its folder "
                    "writable for this user, or set DATABASE_URL")
        return None
    where = _postgres_where(database_url)
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        name = urlsplit(database_url).path.lstrip("/") or "(default)"
        return (f"PostgreSQL at {where} has no database {name!r}: create it "
                f"(createdb {name}), or fix DATABASE_URL")
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return (f"PostgreSQL at {where} refused the login ({exc}): check the user and "
                "password in DATABASE_URL")
    if isinstance(exc, asyncpg.PostgresError):
        return f"PostgreSQL at {where} refused to start relbot's tables ({exc})"
    if isinstance(exc, OSError | TimeoutError | asyncpg.InterfaceError):
        return (f"cannot reach PostgreSQL at {where} ({_reason(exc)}): start it, or fix "
                "DATABASE_URL")
    return None


def _postgres_where(database_url: str) -> str:
    """host:port, never the user's password."""
    try:
        parts = urlsplit(database_url)
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
    except ValueError:
        return "the host in DATABASE_URL"


# ---- Telegram -------------------------------------------------------------------------------
async def check_telegram(settings: Settings) -> None:
    """getMe through a short-lived client: is the token accepted, and is Telegram there?"""
    await _retrying(lambda: _get_me(settings), settings.startup_timeout)


async def _get_me(settings: Settings) -> None:
    request = HTTPXRequest(connect_timeout=5.0, read_timeout=10.0)
    try:
        async with Bot(settings.token, base_url=settings.api_url, request=request):
            pass  # initialising a Bot is getMe
    except RetryAfter as exc:
        raise _Transient(f"Telegram asked to wait ({exc.message})") from None
    except TelegramError as exc:
        line = telegram_line(exc, settings)
        if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
            raise _Transient(line) from None
        raise StartupError(line) from None


def telegram_line(exc: TelegramError, settings: Settings) -> str:
    """One line for a failed Bot API call that the bot needs to start."""
    where = urlsplit(settings.api_url).netloc or settings.api_url
    if isinstance(exc, InvalidToken):
        custom = settings.api_url.rstrip("/") != DEFAULT_API_URL
        return ("Telegram rejected the token (check TELEGRAM_BOT_TOKEN"
                + (", and TELEGRAM_API_URL)" if custom else ")"))
    if isinstance(exc, Conflict):
        return (f"Telegram says another program is getting this bot's updates ({exc.message}):"
                " stop the other relbot, or use another token")
    if isinstance(exc, BadRequest):
        hint = "WEBHOOK_URL" if settings.webhook else "TELEGRAM_API_URL"
        return f"Telegram refused a call needed to start ({exc.message}): check {hint}"
    if isinstance(exc, NetworkError):
        return (f"cannot reach Telegram at {where} ({exc.message}): check the network, or "
                "TELEGRAM_API_URL")
    return (f"the server at {where} does not answer like the Bot API ({exc.message}): "
            "check TELEGRAM_API_URL")


# ---- shared ---------------------------------------------------------------------------------
async def _retrying(attempt: Callable[[], Awaitable[None]], timeout: float) -> None:
    """Run `attempt` until it succeeds, raises StartupError, or `timeout` runs out."""
    started = time.monotonic()
    delay = 0.25
    while True:
        try:
            return await attempt()
        except _Transient as exc:
            waited = time.monotonic() - started
            if waited >= timeout:
                raise StartupError(f"{exc} (tried for {waited:.0f} s; STARTUP_TIMEOUT sets how "
                                   "long)") from None
            await asyncio.sleep(min(delay, timeout - waited))
            delay = min(delay * 2, 5.0)


def _reason(exc: BaseException) -> str:
    """What went wrong in a few words: "connection refused", "permission denied"..."""
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    if isinstance(exc, FileExistsError | NotADirectoryError):
        return "a file is in the way of its folder"
    if isinstance(exc, TimeoutError):
        return "no answer"
    if isinstance(exc, OSError) and (exc.errno or exc.strerror):
        text = os.strerror(exc.errno) if exc.errno else str(exc.strerror)
        return text[0].lower() + text[1:]
    return str(exc) or type(exc).__name__


def explain(exc: BaseException, settings: Settings) -> str | None:
    """One line for a start-up failure that got past the checks, or None for a bug.

    python-telegram-bot may re-raise another error while cleaning up (\"This Application
    is still running!\"): the cause is found along the chain of exceptions."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StartupError):
            return str(current)
        if isinstance(current, StorageRefused):  # already one line about the database
            return str(current)
        if isinstance(current, TelegramError):
            return telegram_line(current, settings)
        if isinstance(current, OSError) and current.errno == errno.EADDRINUSE:
            return "a port is already in use: set PORT (and HEALTH_PORT) to free ports"
        if isinstance(current, _DATABASE_ERRORS):  # a bare OSError may come from anywhere
            line = database_line(current, settings.database_url)
            if line is not None:
                return line
        current = current.__cause__ or current.__context__
    return None
