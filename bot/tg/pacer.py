"""The sender's pacing, one outbox row at a time: its chat's turn, then the bot's budget.

Why its own module: `bot.tg.pacing` holds the arithmetic (a chat's bucket, the bot's
priority budget); this is what the sender does with it per chat - who is waiting for a
reply (a plain kick) and who is not (a background kick), each message's place in its
reply, "typing…" while a chat's flood is held back, the wait that a safety reply cuts
short, and whether a 429 was about a chat or about the bot. Every piece of state here
is per chat and goes with the chat's drain (or, for buckets, once the chat is quiet), so
memory follows the chats being served now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Container
from datetime import timedelta

from telegram import Bot
from telegram.error import TelegramError

from bot.storage import OutboxItem, Store
from bot.tg.outage import Outage
from bot.tg.pacing import ChatBucket, Priority, SendBudget, Ticket, is_new_message

__all__ = ["QUIET_CHAT", "TYPING_AFTER", "Pacer"]

log = logging.getLogger(__name__)

TYPING_AFTER = 0.5  # seconds a message must be held back before "typing…" is shown
#: A 429 for a chat that had used at most this many messages' worth of its burst is about
#: the bot as a whole (Telegram's answer does not say which limit was hit).
QUIET_CHAT = 1.0


class Pacer:
    """Per-chat pacing and the bot's budget for one sender. `epoch_of(chat)` is the
    sender's count of urgent kicks for the chat: a change means the row in hand was
    superseded by a safety reply."""

    def __init__(self, bot: Bot, store: Store, budget: SendBudget, *, rate: float,
                 burst: int, epoch_of: Callable[[int], int]) -> None:
        self.bot, self.store, self.budget = bot, store, budget
        self.rate, self.burst = rate, burst
        self._epoch_of = epoch_of
        self.buckets: dict[int, ChatBucket] = {}
        self._wake: dict[int, asyncio.Event] = {}  # chat -> ends its pacing wait early
        # Chats whose person wrote since their drain started; how many new messages each
        # drain was granted since (the next one's place in its reply); a waiting ticket.
        self._replying: set[int] = set()
        self._position: dict[int, int] = {}
        self._tickets: dict[int, Ticket] = {}
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._typing = Outage(log, "sendChatAction (typing)")

    async def close(self) -> None:
        for task in list(self._side_tasks):
            task.cancel()
        await asyncio.gather(*self._side_tasks, return_exceptions=True)

    # --- what kicks and drains tell it ------------------------------------------------

    def kicked(self, chat_id: int, *, urgent: bool, background: bool) -> None:
        """Urgent: cut the chat's waits short. Not background: its person just acted, so
        its messages are replies again, counted from the first."""
        ticket = self._tickets.get(chat_id)
        if urgent:
            wake = self._wake.get(chat_id)
            if wake is not None:
                wake.set()
            if ticket is not None:  # to the front, to drop its stale batch at once
                self.budget.promote(ticket, Priority.URGENT)
        if not background:
            self._replying.add(chat_id)
            self._position[chat_id] = 0
            if ticket is not None:
                self.budget.promote(ticket, Priority.REPLY)

    def drain_ended(self, chat_id: int, *, again: bool) -> None:
        """A drain finished; `again`: another starts at once, in the same class."""
        self._tickets.pop(chat_id, None)
        if not again:
            self._replying.discard(chat_id)
            self._position.pop(chat_id, None)

    def forget_idle(self, draining: Container[int]) -> None:
        now = time.monotonic()
        for chat_id in [c for c, b in self.buckets.items() if b.idle(now)]:
            if chat_id not in draining:
                del self.buckets[chat_id]

    async def replay(self, chat_id: int) -> None:
        """Rebuild the chat's bucket from its sends recorded in the last refill period,
        whichever replica made them."""
        since = self.store.now() - timedelta(seconds=self.burst / self.rate)
        sends = await self.store.recent_sends(chat_id, since)
        self.buckets[chat_id] = ChatBucket.replayed(self.rate, self.burst, sends,
                                                    self.store.now())

    # --- one row ------------------------------------------------------------------------

    async def wait_for_turn(self, item: OutboxItem) -> bool:
        """Pace messages per chat; show "typing…" while one is held back for a while.
        Urgent rows (safety replies) are never held back. True if an urgent kick ended the
        wait: the row in hand was superseded then, and must not be sent."""
        if not is_new_message(item.method) or item.urgent:
            return False
        bucket = self.buckets.setdefault(item.chat_id, ChatBucket(self.rate, self.burst))
        wait = bucket.delay()
        if wait >= TYPING_AFTER:
            self._side(self._show_typing(item.chat_id))
        return wait > 0 and await self._paced_until_urgent(item.chat_id, wait)

    async def charge(self, item: OutboxItem, epoch: int) -> Priority | None:
        """Wait for the bot's budget if the row is a new message; returns the class it was
        charged as (None if an urgent kick came meanwhile: the row was superseded, the
        token is given back). Edits and other calls are not charged: URGENT, for free."""
        if not is_new_message(item.method):
            return Priority.URGENT
        chat_id = item.chat_id
        priority = (Priority.URGENT if item.urgent else
                    Priority.REPLY if chat_id in self._replying else Priority.BACKGROUND)
        ticket = self._tickets[chat_id] = Ticket(priority, self._position.get(chat_id, 0))
        try:
            await self.budget.acquire(ticket)
        finally:
            self._tickets.pop(chat_id, None)
        self._position[chat_id] = self._position.get(chat_id, 0) + 1
        if self._epoch_of(chat_id) != epoch:
            self.budget.refund(ticket.priority)
            return None
        return ticket.priority

    def refund(self, item: OutboxItem, charged: Priority | None = None) -> None:
        """A failed attempt sent nothing: it must not hold back the retry or the next reply
        (nor, when it was never made, `charged`: the bot's budget)."""
        if not is_new_message(item.method):
            return
        bucket = self.buckets.get(item.chat_id)
        if bucket is not None:
            bucket.refund()
        if charged is not None:
            self.budget.refund(charged)

    def too_many_requests(self, item: OutboxItem, retry_after: float) -> None:
        """A 429 (after `refund`): the row waits `retry_after` (the caller reschedules it);
        if the chat had been quiet, the limit hit must be the bot's own, and every new
        message waits as long."""
        if not is_new_message(item.method):
            return
        bucket = self.buckets.get(item.chat_id)
        if bucket is None or bucket.spent() <= QUIET_CHAT:
            self.budget.pause(retry_after)

    # --- helpers ------------------------------------------------------------------------

    async def _paced_until_urgent(self, chat_id: int, wait: float) -> bool:
        """Wait out the pacing delay; True if an urgent kick ended it early."""
        epoch = self._epoch_of(chat_id)
        wake = self._wake.setdefault(chat_id, asyncio.Event())
        wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), wait)
        self._wake.pop(chat_id, None)
        return self._epoch_of(chat_id) != epoch

    def _side(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _show_typing(self, chat_id: int) -> None:
        """Optional: a failure is one warning per outage and never stops a reply."""
        try:
            await self.bot.send_chat_action(chat_id, "typing")
        except TelegramError as error:
            self._typing.failed(type(error).__name__)
        else:
            self._typing.recovered()
