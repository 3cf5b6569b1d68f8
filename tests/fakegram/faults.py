"""Fault injection: make the fake Telegram misbehave the ways the real one does.

Why this module exists: a bot's robustness code (retry on 429 with retry_after, give up on
403, survive a slow API, not double-send after a crash) only runs when Telegram
misbehaves, which never happens on demand in production. These knobs make each failure
happen exactly once, at a chosen call, so tests can prove the handling:

* ``fail_next``  – answer the next N calls of a method with an error (429 + retry_after...).
* ``block``      – the user blocked the bot: every send to that chat gets 403.
* ``slow``       – delay every call of a method before it is handled.
* ``stall``      – apply a call at once (as Telegram does) but answer it only after a while;
  if the client gave up or died meanwhile, the call took effect all the same and the
  client never learns it (``StallRecord.answered`` is False): a resend doubles it.
* ``outage``     – every call of a method fails with a status (500 by default) for a time.
* ``drop_next``  – cut the connection without an answer, before or after applying the call
  (the "did my message go out?" ambiguity).
* ``advance_clock`` – move Telegram's clock (dates, callback query expiry) forward.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http import HTTPStatus

from .methods import CANONICAL
from .state import State

DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot "
    "instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def canonical(method: str) -> str:
    name = CANONICAL.get(method.lower())
    if name is None:
        raise ValueError(f"unknown Bot API method {method!r}; known: {sorted(CANONICAL.values())}")
    return name


@dataclass
class Failure:
    method: str
    status: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: str | None


@dataclass
class Hold:
    method: str
    seconds: float
    remaining: int


@dataclass
class Outage:
    method: str
    status: int
    description: str
    until: float  # time.monotonic()


@dataclass
class Drop:
    method: str
    remaining: int
    after_apply: bool


class FaultMixin:
    _state: State
    _stop_event: threading.Event
    _failures: list[Failure]
    _holds: list[Hold]
    _drops: list[Drop]
    _outages: list[Outage]
    _slow: dict[str, float]

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        count: int = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` (to ``chat_id`` if given) fail with ``status``.

        A 429 always carries ``parameters.retry_after`` (default 1) and the description
        "Too Many Requests: retry after N", as Telegram's does.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = DEFAULT_DESCRIPTIONS.get(status, HTTPStatus(status).phrase)
        with self._state.lock:
            self._failures.append(
                Failure(
                    canonical(method),
                    status,
                    description,
                    retry_after,
                    count,
                    None if chat_id is None else str(chat_id),
                )
            )

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sends to their private chat answer 403 (no update sent)."""
        with self._state.lock:
            chat = self._state.chats.get(user_id)
            if chat is None:
                chat = self._state.private_chat(user_id, "Ana", "en", None)
            chat.blocked = True

    def unblock(self, user_id: int) -> None:
        with self._state.lock:
            chat = self._state.chats.get(user_id)
            if chat is not None:
                chat.blocked = False

    def slow(self, method: str, seconds: float) -> None:
        """Delay every call of ``method`` by ``seconds`` before handling it (0 to undo)."""
        with self._state.lock:
            self._slow[canonical(method)] = seconds

    def stall(self, method: str, seconds: float, count: int = 1) -> None:
        """Apply the next ``count`` calls of ``method`` at once but answer each only after
        ``seconds``; a client that gave up or died meanwhile never gets the answer."""
        with self._state.lock:
            self._holds.append(Hold(canonical(method), seconds, count))

    def outage(self, method: str, seconds: float, status: int = 500) -> None:
        """Every call of ``method`` fails with ``status`` for the next ``seconds``."""
        description = DEFAULT_DESCRIPTIONS.get(status, HTTPStatus(status).phrase)
        with self._state.lock:
            self._outages.append(
                Outage(canonical(method), status, description, time.monotonic() + seconds)
            )

    def drop_next(self, method: str, *, count: int = 1, after_apply: bool = False) -> None:
        """Close the connection of the next ``count`` calls without answering. With
        ``after_apply=True`` the call takes effect first (the answer is what gets lost)."""
        with self._state.lock:
            self._drops.append(Drop(canonical(method), count, after_apply))

    def advance_clock(self, seconds: float) -> None:
        """Move Telegram's clock forward: later dates, older callback queries."""
        with self._state.lock:
            self._state.clock_offset += seconds

    def clear_faults(self) -> None:
        with self._state.lock:
            self._failures.clear()
            self._holds.clear()
            self._drops.clear()
            self._outages.clear()
            self._slow.clear()

    # ---- used by the request pipeline -------------------------------------------------------
    def _take_failure(self, method: str, chat_id: str | None) -> Failure | None:
        with self._state.lock:
            for failure in self._failures:
                if failure.method == method and failure.chat_id in (None, chat_id):
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    return failure
        return None

    def _take_outage(self, method: str) -> Outage | None:
        with self._state.lock:
            now = time.monotonic()
            self._outages[:] = [o for o in self._outages if o.until > now]
            return next((o for o in self._outages if o.method == method), None)

    def _take_hold(self, method: str) -> Hold | None:
        with self._state.lock:
            for hold in self._holds:
                if hold.method == method:
                    hold.remaining -= 1
                    if hold.remaining <= 0:
                        self._holds.remove(hold)
                    return hold
        return None

    def _take_drop(self, method: str) -> Drop | None:
        with self._state.lock:
            for drop in self._drops:
                if drop.method == method:
                    drop.remaining -= 1
                    if drop.remaining <= 0:
                        self._drops.remove(drop)
                    return drop
        return None

    def _delay(self, method: str) -> float:
        with self._state.lock:
            return self._slow.get(method, 0.0)
