"""Long polling that acknowledges an update only after it is durably recorded.

Why this module exists instead of python-telegram-bot's Updater: the Updater confirms a
batch (by asking for the next offset) before its handlers have run, so a crash could lose
updates that Telegram had already forgotten; and it parses a whole batch at once, so one
malformed update made it re-fetch the same batch about 90 times a second. This loop:

1. asks for updates (`getUpdates`, raw JSON, one long poll at a time);
2. hands the batch to `Receiver.receive_batch`, which applies each update (or sets a
   poison one aside) and commits it;
3. only then asks for the next offset, which is what acknowledges the batch to Telegram.

A crash at any point loses nothing: an unacknowledged update comes again and the inbox
skips the ones already applied. Failures are logged once per outage (`Outage`), with a
capped backoff. A second poller on the same token (409 Conflict) is one warning, then
backoff, then `PollingConflict` after `conflict_limit` seconds. On stop, the batch in
hand is finished, the last offset is confirmed (a failure there is one line), and the
loop returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.request import BaseRequest

from bot.tg.outage import Outage, backoff, seconds
from bot.tg.receiver import Receiver, Verdict, update_id_of

__all__ = ["Poller", "PollingConflict", "TokenRejected"]

log = logging.getLogger(__name__)

LAST_ACK_TIMEOUT = 5.0  # seconds for the confirming getUpdates on the way out


class PollingConflict(RuntimeError):
    """Another process keeps polling with the same token; the message is one line."""


class TokenRejected(RuntimeError):
    """Telegram does not know the token; the message is one line."""


class Poller:
    def __init__(self, request: BaseRequest, base_url: str, receiver: Receiver, *,
                 allowed_updates: Sequence[str], poll_timeout: int = 50, limit: int = 100,
                 time_scale: float = 1.0, conflict_limit: float = 120.0) -> None:
        self.request = request
        self.base_url = base_url.rstrip("/")
        self.receiver = receiver
        self.allowed_updates = list(allowed_updates)
        self.poll_timeout = poll_timeout
        self.limit = limit
        self.time_scale = time_scale
        self.conflict_limit = conflict_limit * time_scale
        self.offset: int | None = None
        self.last_ok: float | None = None  # time.monotonic() of the last answered poll
        self._outage = Outage(log, "getUpdates")
        self._conflict_since: float | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Poll and apply until `stop` is set; raises PollingConflict or TokenRejected."""
        while not stop.is_set():
            batch = await self._next_batch(stop)
            if batch is None:
                continue
            verdicts = await self.receiver.receive_batch(batch)
            if Verdict.LATER in verdicts:  # stopping while the database was down: the
                break  # whole batch comes again on the next start (applied ones are skipped)
            if batch:
                self.offset = max(update_id_of(raw) for raw in batch) + 1
        await self._confirm_last()

    async def _next_batch(self, stop: asyncio.Event) -> list[Mapping[str, Any]] | None:
        """One long poll, cancelled by `stop`; None after a failure (already waited for)."""
        poll = asyncio.ensure_future(self._get_updates(self.poll_timeout, self.limit))
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not poll.done():
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poll
            return None
        try:
            raw = poll.result()
        except InvalidToken:
            raise TokenRejected("Telegram rejected the bot token (401/404 on getUpdates): "
                                "check TELEGRAM_BOT_TOKEN and TELEGRAM_API_URL") from None
        except Conflict as error:
            await self._conflict(error, stop)
            return None
        except RetryAfter as error:
            self._outage.failed("429 Too Many Requests")
            await _sleep(seconds(error.retry_after), stop)
            return None
        except (TelegramError, OSError, ValueError) as error:
            self._outage.failed(type(error).__name__)
            await _sleep(backoff(self._outage.failures - 1, base=0.5, cap=30.0,
                                 scale=self.time_scale), stop)
            return None
        self._outage.recovered()
        self._conflict_since = None
        self.last_ok = time.monotonic()
        return self._checked(raw)

    def _checked(self, raw: object) -> list[Mapping[str, Any]] | None:
        """The updates of an answer; anything that is not an update object is left out
        (it cannot be acknowledged on its own; the next valid id acknowledges it)."""
        if not isinstance(raw, list):
            self._outage.failed("an answer that is not a list of updates")
            return None
        batch: list[Mapping[str, Any]] = []
        for item in raw:
            try:
                update_id_of(item)
            except ValueError:
                continue
            batch.append(item)
        if raw and not batch:
            self._outage.failed("updates without an update_id")
            return None
        return batch

    async def _conflict(self, error: Conflict, stop: asyncio.Event) -> None:
        if "webhook" in error.message.lower():
            log.warning("a webhook is set for this bot; deleting it to poll instead")
            await self._delete_webhook()
            return
        now = time.monotonic()
        if self._conflict_since is None:
            self._conflict_since = now
            log.warning("another process is polling Telegram with this bot's token (409 "
                        "Conflict); backing off, and stopping if it goes on for %.0f s",
                        self.conflict_limit)
        elif now - self._conflict_since >= self.conflict_limit:
            raise PollingConflict(
                f"another process kept polling Telegram with this bot's token for "
                f"{now - self._conflict_since:.0f} s (409 Conflict): run one instance only, "
                "or use webhook mode (WEBHOOK_URL)")
        attempt = int((now - self._conflict_since) // 2)
        await _sleep(backoff(attempt, base=1.0, cap=15.0, scale=self.time_scale), stop)

    async def _delete_webhook(self) -> None:
        try:
            await self.request.post(f"{self.base_url}/deleteWebhook?drop_pending_updates=false",
                                    read_timeout=LAST_ACK_TIMEOUT)
        except TelegramError as error:
            self._outage.failed(f"deleteWebhook: {type(error).__name__}")

    async def _get_updates(self, timeout: int, limit: int, *,
                           read_timeout: float | None = None) -> object:
        params: dict[str, Any] = {"timeout": timeout, "limit": limit,
                                  "allowed_updates": json.dumps(self.allowed_updates)}
        if self.offset is not None:
            params["offset"] = self.offset
        url = f"{self.base_url}/getUpdates?{urlencode(params)}"
        return await self.request.post(url, read_timeout=read_timeout or timeout + 10.0)

    async def _confirm_last(self) -> None:
        """Acknowledge the last batch now rather than have it delivered (and skipped) again
        after the restart; a failure here costs nothing but that."""
        if self.offset is None:
            return
        try:
            await asyncio.wait_for(self._get_updates(0, 1, read_timeout=LAST_ACK_TIMEOUT),
                                   LAST_ACK_TIMEOUT + 1)
        except (TelegramError, OSError, TimeoutError) as error:
            log.info("could not confirm the last updates on the way out (%s); they will be "
                     "delivered again and skipped", type(error).__name__)


async def _sleep(seconds: float, stop: asyncio.Event) -> None:
    """Sleep, but wake at once when the bot is stopping."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
