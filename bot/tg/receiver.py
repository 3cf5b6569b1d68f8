"""Receive, persist, acknowledge: one raw update in, a verdict on whether to acknowledge.

Why this module exists: Telegram forgets an update once it is acknowledged (by the next
getUpdates offset in polling mode, by a 2xx in webhook mode), so an update may be
acknowledged only once it is *durably recorded*: applied and committed, or set aside as
dead. Both the fetch loop (`bot.tg.poller`) and the webhook server (`bot.tg.webhook`)
hand every raw update to `Receiver.receive` and act on its `Verdict`:

- `APPLIED`: committed (or a duplicate, or a kind the bot ignores): acknowledge.
- `DEAD`: it could not be parsed, or applying it failed `attempts` times for a reason
  other than the database: it is recorded as seen (without its text), the person gets a
  kind apology through the outbox, one warning is logged per kind of failure, and it is
  acknowledged, so one poison update never stops the bot for everyone.
- `LATER`: the database is busy, locked, full or unreachable and did not recover within
  `storage_wait` (or the bot is stopping): do not acknowledge; it is applied after the
  database recovers or after a restart (the inbox makes that exactly once).

Updates are parsed one at a time (python-telegram-bot parses a whole getUpdates batch at
once, which is what one malformed update used to break).
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from telegram import Bot, Update

from bot.logs import user_ref
from bot.metrics import Metrics
from bot.storage import describe, is_transient
from bot.tg.handlers import Router
from bot.tg.outage import Outage, backoff

__all__ = ["APPLIED_KINDS", "NotAnUpdate", "Receiver", "Verdict", "update_id_of"]

log = logging.getLogger(__name__)

#: The update kinds the router acts on; any other kind is acknowledged without parsing.
APPLIED_KINDS = ("message", "callback_query", "my_chat_member")
_APOLOGISE_FOR = ("message", "callback_query")
_ID_RANGE = range(-(2**63), 2**63)
_BOT_PACKAGE = str(Path(__file__).resolve().parents[1])


class Verdict(StrEnum):
    APPLIED = "applied"
    DEAD = "dead"
    LATER = "later"


class NotAnUpdate(ValueError):
    """Valid JSON that is not a Telegram update object (no integer update_id)."""


def update_id_of(raw: object) -> int:
    """The update_id of something that claims to be an update, or NotAnUpdate."""
    if not isinstance(raw, Mapping):
        raise NotAnUpdate(f"an update is a JSON object, not {type(raw).__name__}")
    update_id = raw.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int) or update_id not in _ID_RANGE:
        raise NotAnUpdate("an update needs an integer update_id")
    return update_id


@dataclass(frozen=True, slots=True)
class _Author:
    """Who sent an update, read from the raw JSON (so also for one that does not parse)."""

    user_id: int
    chat_id: int
    language_code: str | None
    query_id: str | None


def _author(raw: Mapping[str, Any], kind: str) -> _Author | None:
    """The person behind a private-chat update, if the raw JSON says so plausibly."""
    body = raw.get(kind)
    if not isinstance(body, Mapping):
        return None
    sender = body.get("from")
    chat = body.get("chat")
    if kind == "callback_query":
        message = body.get("message")
        chat = message.get("chat") if isinstance(message, Mapping) else None
    if not isinstance(sender, Mapping) or not isinstance(chat, Mapping):
        return None
    user_id, chat_id = sender.get("id"), chat.get("id")
    if not all(isinstance(i, int) and not isinstance(i, bool) and i in _ID_RANGE
               for i in (user_id, chat_id)) or chat.get("type") != "private":
        return None
    language = sender.get("language_code")
    query_id = body.get("id") if kind == "callback_query" else None
    return _Author(user_id, chat_id, language if isinstance(language, str) else None,
                   query_id if isinstance(query_id, str) else None)


def _lane(raw: Mapping[str, Any]) -> object:
    """Updates of one person are applied in order; different people's concurrently."""
    for kind in APPLIED_KINDS:
        body = raw.get(kind)
        if isinstance(body, Mapping) and isinstance(body.get("from"), Mapping):
            return ("user", body["from"].get("id"))
    return ("update", raw.get("update_id"))


def _unusable(update: Update) -> str | None:
    """Why a parsed update can never be applied, or None. Telegram ids fit in 64 bits (a
    bigger one cannot be stored); a message always has a chat."""
    ids = [getattr(update.effective_user, "id", 0), getattr(update.effective_chat, "id", 0)]
    if not all(isinstance(i, int) and i in _ID_RANGE for i in ids):
        return "id beyond 64 bits"
    if update.message is not None and update.message.chat is None:
        return "no chat"
    return None


def _where_it_failed(error: BaseException) -> str:
    """`ErrorType at bot/x.py:12`: where in our code it broke, without the message (which
    could quote what the person wrote)."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename.startswith(_BOT_PACKAGE)]
    if not frames:
        return type(error).__name__
    frame = frames[-1]
    where = Path(frame.filename).relative_to(Path(_BOT_PACKAGE).parent)
    return f"{type(error).__name__} at {where}:{frame.lineno}"


class Receiver:
    """Applies raw updates for the fetch loop and the webhook; safe to call concurrently."""

    def __init__(self, router: Router, bot: Bot, *, stopping: asyncio.Event | None = None,
                 attempts: int = 3, time_scale: float = 1.0,
                 metrics: Metrics | None = None) -> None:
        self.router, self.bot = router, bot
        self.metrics = metrics
        self.attempts = attempts
        self.time_scale = time_scale
        self.stopping = stopping or asyncio.Event()  # set: storage waits give up (LATER)
        self.applied = 0
        self.dead = 0  # set aside since start (the inbox keeps them all: countable)
        self._storage = Outage(log, "the database")
        self._poison_seen: dict[tuple[str, str], int] = {}

    async def receive_batch(self, raws: Sequence[Mapping[str, Any]]) -> list[Verdict]:
        """Apply a getUpdates batch: each person's updates in order, people concurrently.
        Returns the verdicts in the batch's order."""
        lanes: dict[object, list[int]] = {}
        for index, raw in enumerate(raws):
            lanes.setdefault(_lane(raw), []).append(index)
        verdicts: list[Verdict] = [Verdict.LATER] * len(raws)

        async def run(indexes: list[int]) -> None:
            for index in indexes:
                verdicts[index] = await self.receive(raws[index])

        await asyncio.gather(*(run(indexes) for indexes in lanes.values()))
        return verdicts

    async def receive(self, raw: Mapping[str, Any], *,
                      storage_wait: float | None = None) -> Verdict:
        """Apply one update; `storage_wait`: give up on a failing database after this many
        seconds (None: wait until it recovers or the bot stops)."""
        if self.metrics is None:
            return await self._receive(raw, storage_wait)
        started = time.perf_counter()
        verdict = await self._receive(raw, storage_wait)
        kind = next((k for k in APPLIED_KINDS if k in raw), "other")
        self.metrics.updates.labels(kind, verdict.value).inc()
        if kind != "other" and verdict is Verdict.APPLIED:
            self.metrics.step_seconds.observe(time.perf_counter() - started)
        return verdict

    async def _receive(self, raw: Mapping[str, Any], storage_wait: float | None) -> Verdict:
        update_id = update_id_of(raw)
        kind = next((k for k in APPLIED_KINDS if k in raw), None)
        if kind is None:
            return Verdict.APPLIED  # edits, polls...: nothing to apply, nothing to lose
        try:
            update = Update.de_json(dict(raw), self.bot)
        except Exception as error:  # a malformed update: retrying cannot help
            return await self._set_aside(raw, update_id, kind, type(error).__name__,
                                         storage_wait)
        unusable = _unusable(update)
        if unusable is not None:
            return await self._set_aside(raw, update_id, kind, unusable, storage_wait)
        started = time.monotonic()
        failures = 0
        while True:
            try:
                await self.router.handle(update, self.bot)
            except Exception as error:
                if is_transient(error):
                    if not await self._wait_for_storage(error, started, storage_wait):
                        return Verdict.LATER
                    continue
                failures += 1
                if failures >= self.attempts:
                    return await self._set_aside(raw, update_id, kind,
                                                 _where_it_failed(error), storage_wait)
                await asyncio.sleep(backoff(failures - 1, base=0.1, cap=1.0,
                                            scale=self.time_scale))
                continue
            self._storage.recovered()
            self.applied += 1
            return Verdict.APPLIED

    async def _wait_for_storage(self, error: BaseException, started: float,
                                storage_wait: float | None) -> bool:
        """Log the outage once and wait a little; False when it is time to give up."""
        self._storage.failed(describe(error))
        if self.stopping.is_set():
            return False
        waited = time.monotonic() - started
        if storage_wait is not None and waited >= storage_wait:
            return False
        attempt = min(self._storage.failures, 10)
        delay = backoff(attempt, base=0.05, cap=2.0, scale=self.time_scale)
        if storage_wait is not None:
            delay = min(delay, max(0.0, storage_wait - waited))
        try:
            await asyncio.wait_for(self.stopping.wait(), delay)
        except TimeoutError:
            return True
        return False

    async def _set_aside(self, raw: Mapping[str, Any], update_id: int, kind: str, reason: str,
                         storage_wait: float | None) -> Verdict:
        """Record a poison update as seen (no text), apologise, and let it be acknowledged."""
        author = _author(raw, kind)
        started = time.monotonic()
        while author is not None:
            try:
                await self.router.set_aside(
                    update_id, author.user_id, author.chat_id, self.bot,
                    language_code=author.language_code, query_id=author.query_id,
                    apologise=kind in _APOLOGISE_FOR)
                break
            except Exception as error:
                if not is_transient(error):
                    log.warning("could not record a set-aside update (%s)", describe(error))
                    break
                if not await self._wait_for_storage(error, started, storage_wait):
                    return Verdict.LATER
        self._storage.recovered()
        self.dead += 1
        key = (kind, reason)
        seen = self._poison_seen[key] = self._poison_seen.get(key, 0) + 1
        if seen == 1 or seen % 100 == 0:
            who = user_ref(author.user_id) if author else "unknown"
            log.warning("set aside an update that cannot be applied (%s: %s); acknowledged, "
                        "not retried; %d like it since start, user=%s", kind, reason, seen, who)
        return Verdict.DEAD
