"""The outbox sender: makes committed Bot API calls, in order per chat, politely.

Replies are written to the outbox in the step's transaction; this module sends them
after commit and records the outcome. One drain task per chat keeps that chat's
messages in order while chats proceed concurrently. Telegram's rules as they matter:

- 429 (after python-telegram-bot's AIORateLimiter gave up): wait `retry_after`.
- 5xx, network errors, timeouts: retry with backoff, a bounded number of times (a
  timed-out send may have arrived, so no blind resend loop); then dead-letter.
- 403 (blocked, deactivated): mark the person unreachable and stop sending to them.
- "message is not modified" is success; other 400s are dead-lettered (never retried).
- About one message per second per private chat (a small burst is allowed), on top of
  AIORateLimiter's global 30/s; a typing action shows while a reply is held back.
- Safety replies first: see `kick(urgent=True)` below.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.logs import user_ref
from bot.storage import OutboxItem, Store
from bot.tg.files import inflate_files

__all__ = ["ChatBucket", "Sender"]

log = logging.getLogger(__name__)

NOT_ERRORS = ("message is not modified", "query is too old")


class ChatBucket:
    """A token bucket: `burst` messages at once, then `rate` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def delay(self) -> float:
        """Seconds to wait before the next message (and take its token)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Sender:
    def __init__(self, bot: Bot, store: Store, *, rate: float = 1.0, burst: int = 3,
                 backoff: float = 1.0, sweep_every: float = 5.0) -> None:
        self.bot, self.store = bot, store
        self.rate, self.burst, self.backoff = rate, burst, backoff
        self.sweep_every = sweep_every
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()
        self._buckets: dict[int, ChatBucket] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._closing = False
        self.last_sweep = float("-inf")  # time.monotonic() when a sweep last finished
        self._urgent_epochs: dict[int, int] = {}  # chat -> urgent kicks so far
        self._wake: dict[int, asyncio.Event] = {}  # chat -> ends its pacing wait early

    # --- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Send what a previous run committed but never sent, then keep sweeping."""
        await self.sweep()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="outbox-sweeper")

    async def close(self, timeout: float = 15.0) -> None:
        """Finish sending what is in flight (bounded), then stop."""
        self._closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    @property
    def alive(self) -> bool:
        """Running, and its sweeper finished a sweep lately (what /healthz reads)."""
        running = self._sweeper is not None and not self._sweeper.done() and not self._closing
        stale_after = max(30.0, 6 * self.sweep_every)
        return running and time.monotonic() - self.last_sweep < stale_after

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            try:
                await self.sweep()
            except Exception:
                log.exception("outbox sweep failed")

    async def sweep(self) -> None:
        for item in await self.store.pending(None, limit=500):
            self.kick(item.chat_id)
        self.last_sweep = time.monotonic()

    # --- draining -----------------------------------------------------------------

    def kick(self, chat_id: int, *, urgent: bool = False) -> None:
        """Make sure this chat's outbox is being drained.

        `urgent`: a safety reply was just committed. Its rows are `urgent` and the chat's
        older queued rows were superseded in the same transaction, so the next rows this
        chat's drain fetches are the safety reply. A drain that is busy with an older batch
        (or waiting out the pacing delay for one of its rows) notices the new epoch, drops
        that batch without sending it and fetches again; urgent rows skip the pacing.
        Why not a second sender task: one drain per chat is what keeps a chat's messages
        in order, and the supersede makes "first" a matter of fetching again."""
        if urgent:
            self._urgent_epochs[chat_id] = self._urgent_epochs.get(chat_id, 0) + 1
            wake = self._wake.get(chat_id)
            if wake is not None:
                wake.set()
        if self._closing and chat_id not in self._tasks:
            return
        if chat_id in self._tasks:
            self._again.add(chat_id)
            return
        self._tasks[chat_id] = asyncio.create_task(self._drain(chat_id), name="outbox-drain")

    async def _drain(self, chat_id: int) -> None:
        try:
            while True:
                self._again.discard(chat_id)
                epoch = self._urgent_epochs.get(chat_id, 0)  # before the fetch: no race
                items = await self.store.pending(chat_id, limit=50)
                if not items:
                    if chat_id in self._again:
                        continue
                    return
                if len(items) > 1 and items[0].method == "sendMessage" and not items[0].urgent:
                    await self._typing(chat_id)
                for item in items:
                    if self._urgent_epochs.get(chat_id, 0) != epoch:
                        break  # a safety reply came in: this batch is stale, fetch again
                    if not await self._deliver(item):
                        return  # a retry is scheduled; later rows wait behind it
        except Exception:
            log.exception("outbox drain failed")
        finally:
            self._tasks.pop(chat_id, None)
            if chat_id in self._again and not self._closing:
                self._again.discard(chat_id)
                self.kick(chat_id)

    async def _typing(self, chat_id: int) -> None:
        with contextlib.suppress(TelegramError):
            await self.bot.send_chat_action(chat_id, "typing")

    async def _deliver(self, item: OutboxItem) -> bool:
        """Make one call; True when the row is finished (sent or dead), False to retry."""
        if item.method == "sendMessage" and not item.urgent:
            bucket = self._buckets.setdefault(item.chat_id, ChatBucket(self.rate, self.burst))
            wait = bucket.delay()
            if wait > 0 and await self._paced_until_urgent(item.chat_id, wait):
                return True  # superseded while it waited; the drain fetches again
        try:
            message_id = await self._call(item.method, item.params)
        except RetryAfter as exc:
            delay = _seconds(exc.retry_after)
            log.warning("rate limited by Telegram, retrying in %.1fs", delay)
            return await self._retry(item, "429 retry_after", delay)
        except Forbidden:
            log.info("user unreachable (blocked the bot) user=%s", user_ref(item.user_id))
            await self.store.set_unreachable(item.user_id, True)
            await self._dead_letter_chat(item.chat_id, "403 forbidden")
            return True
        except BadRequest as exc:
            if any(text in exc.message.lower() for text in NOT_ERRORS):
                await self.store.mark_sent(item.id, None)
                return True
            log.error("Telegram refused a %s call: %s", item.method, exc.message)
            await self.store.mark_failed(item.id, f"400 {exc.message}", None)
            return True
        except (TimedOut, NetworkError) as exc:
            delay = self.backoff * 2 ** min(item.attempts, 6)
            log.warning("%s while sending, retrying in %.1fs", type(exc).__name__, delay)
            return await self._retry(item, type(exc).__name__, delay)
        await self.store.mark_sent(item.id, message_id)
        return True

    async def _paced_until_urgent(self, chat_id: int, wait: float) -> bool:
        """Wait out the pacing delay; True if an urgent kick ended it early (the row in
        hand was superseded then, so it must not be sent)."""
        epoch = self._urgent_epochs.get(chat_id, 0)
        wake = self._wake.setdefault(chat_id, asyncio.Event())
        wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), wait)
        self._wake.pop(chat_id, None)
        return self._urgent_epochs.get(chat_id, 0) != epoch

    async def _call(self, method: str, params: Mapping[str, Any]) -> int | None:
        """Make a stored call through the Bot's typed method of the same Bot API name."""
        kwargs = inflate_files(dict(params))
        if isinstance(kwargs.get("reply_markup"), Mapping):
            kwargs["reply_markup"] = InlineKeyboardMarkup.de_json(kwargs["reply_markup"], self.bot)
        function = getattr(self.bot, method, None)
        if function is None:
            result = await self.bot.do_api_request(method, api_kwargs=kwargs)
        else:
            result = await function(**kwargs)
        message_id = getattr(result, "message_id", None)
        return message_id if isinstance(message_id, int) else None

    async def _retry(self, item: OutboxItem, error: str, delay: float) -> bool:
        retry_at = self.store.now() + timedelta(seconds=delay)
        status = await self.store.mark_failed(item.id, error, retry_at)
        if status is not None and str(status) == "dead":
            return True
        loop = asyncio.get_running_loop()
        loop.call_later(delay + 0.01, self.kick, item.chat_id)
        return False

    async def _dead_letter_chat(self, chat_id: int, error: str) -> None:
        for item in await self.store.pending(chat_id, limit=500):
            await self.store.mark_failed(item.id, error, None)


def _seconds(value: Any) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)
