"""Pacing new messages where Telegram applies its limits: per chat, and for the whole bot.

Telegram's Bot FAQ: in one chat, avoid more than about one message a second (short bursts
are allowed); when sending bulk notifications to many users, no more than about 30 a
second. Answers to button presses, edits of a message in the chat the person is acting in
and chat actions ("typing…") are not new messages, and are charged to neither limit.

- `ChatBucket`, per chat: a whole reply goes out at once (a burst as large as one turn's
  messages), and only a flood is slowed to one a second. With several replicas a chat's
  bucket must count sends another replica made a moment ago; `ChatBucket.replayed`
  rebuilds it from the send times the outbox records (`Store.recent_sends`), so pacing
  state needs no table of its own.
- `SendBudget`, for the whole bot (this replica's share): new messages a second, granted
  by `Priority` - safety replies, then replies to people who are talking to the bot now,
  then background sends (reminders, retries, rows the sweep found) - and within a class
  by the message's place in its reply, so everyone's first message goes before anyone's
  third. Background sends keep to the bulk figure (about 30 a second); replies share a
  higher ceiling (REPLY_RATE: `bot.config.DEFAULT_REPLY_RATE` says why). A 429 that is
  about the whole bot pauses it (`pause`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from bot.core.checks_turn import MAX_MESSAGES

__all__ = ["BULK_RATE", "CHAT_BURST", "CHAT_RATE", "ChatBucket", "Priority", "SendBudget",
           "Ticket", "is_new_message"]

#: New messages a second in one chat, sustained (Telegram: "about one a second").
CHAT_RATE = 1.0
#: Messages one chat may get at once: the most one turn sends (four: `relbot validate`
#: warns above, W305) and one the bot adds beside the dialogue (a therapist's offer after
#: the welcome, a notice), so a normal reply is never held back; a flood is.
CHAT_BURST = MAX_MESSAGES + 1
#: New messages a second for background sends: Telegram's figure for bulk notifications.
BULK_RATE = 30.0


def is_new_message(method: str) -> bool:
    """A call that puts a new message in a chat: what Telegram's message limits count.
    Edits, chat actions and answers to presses are not."""
    return method.startswith(("send", "copyMessage", "forwardMessage")) and (
        method != "sendChatAction")


class ChatBucket:
    """A token bucket: `burst` messages at once, then `rate` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    @classmethod
    def replayed(cls, rate: float, burst: int, sends: list[datetime],
                 now: datetime) -> ChatBucket:
        """A bucket as if it had paced `sends` (wall-clock times, oldest first) until `now`."""
        bucket = cls(rate, burst)
        previous: datetime | None = None
        for sent in sends:
            if previous is not None:
                elapsed = (sent - previous).total_seconds()
                bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
            bucket.tokens -= 1
            previous = sent
        if previous is not None:
            elapsed = max(0.0, (now - previous).total_seconds())
            bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
        return bucket

    def delay(self) -> float:
        """Seconds to wait before the next message (and take its token)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def refund(self) -> None:
        """Give back the token of a message that did not go out (an error answer)."""
        self.tokens = min(self.burst, self.tokens + 1)

    def idle(self, now: float) -> bool:
        """Full again: the same as a new bucket, so it can be forgotten."""
        return self.tokens + (now - self.updated) * self.rate >= self.burst

    def spent(self) -> float:
        """Messages' worth of tokens this chat has used and not yet got back: 0 when it has
        been quiet, about `burst` right after a burst."""
        return max(0.0, self.burst - self.tokens - (time.monotonic() - self.updated) * self.rate)


class Priority(IntEnum):
    """Who goes first when the bot's budget of new messages runs short."""

    URGENT = 0  # a safety reply
    REPLY = 1  # a reply to someone who is talking to the bot now
    BACKGROUND = 2  # reminders, retries of failed rows, old rows found by the sweep


@dataclass(eq=False, slots=True)
class Ticket:
    """One new message waiting for the budget: its class, and its place in its reply
    (0 = the reply's first message). `SendBudget.promote` may move it up while it waits."""

    priority: Priority
    position: int = 0
    version: int = 0
    waiter: asyncio.Future[None] | None = field(default=None, repr=False)


class _Refill:
    """Tokens that come back at `rate` a second, at most `capacity` of them."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate, self.capacity = rate, max(1.0, capacity)
        self.tokens, self.updated = self.capacity, now

    def wait(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0

    def give_back(self) -> None:
        self.tokens = min(self.capacity, self.tokens + 1.0)


class SendBudget:
    """New messages a second for this replica, granted in order of (priority, position in
    the reply, arrival). Every message takes a token of `total_rate`; background ones also
    one of `background_rate`, so bulk sends keep to Telegram's bulk figure however much
    room the replies leave. Buckets hold `window` seconds' worth of tokens (at least one):
    a second's, as Telegram states its limits (per second) and as python-telegram-bot's
    own limiter counted them (aiolimiter: `max_rate` per 1 s), so a crowd acting at once
    gets up to a second's worth of messages without queueing; the order matters once a
    queue forms.

    Replies can keep background sends waiting for as long as replies keep every token
    busy: on purpose (a reminder minutes late is fine; a reply seconds late is not), and
    bounded in practice, because the reply ceiling is well above what people can cause
    for long."""

    def __init__(self, total_rate: float, background_rate: float, *,
                 window: float = 1.0) -> None:
        now = time.monotonic()
        self._total = _Refill(total_rate, total_rate * window, now)
        self._background = _Refill(min(background_rate, total_rate),
                                   min(background_rate, total_rate) * window, now)
        self._queue: list[tuple[int, int, int, int, Ticket]] = []
        self._order = itertools.count()
        self._paused_until = 0.0
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for entry in self._queue if _current(entry))

    async def acquire(self, ticket: Ticket) -> None:
        """Wait until `ticket`'s message may be sent (its token is taken)."""
        now = time.monotonic()
        if not self._queue and self._wait(ticket.priority, now) == 0.0:
            self._take(ticket.priority)
            return
        ticket.waiter = asyncio.get_running_loop().create_future()
        self._push(ticket)
        try:
            await ticket.waiter
        finally:
            ticket.waiter = None
            ticket.version += 1  # any entry left in the queue is stale now

    def promote(self, ticket: Ticket, priority: Priority, position: int = 0) -> None:
        """Move a waiting ticket up (never down): its chat's person just wrote, or a
        safety reply was committed for it."""
        key = (priority, position)
        if ticket.waiter is None or key >= (ticket.priority, ticket.position):
            return
        ticket.priority, ticket.position = priority, position
        ticket.version += 1
        self._push(ticket)

    def refund(self, priority: Priority) -> None:
        """A granted message that was not sent after all (its row was superseded or taken
        over by another replica): the token is given back."""
        self._total.give_back()
        if priority is Priority.BACKGROUND:
            self._background.give_back()
        self._schedule()

    def pause(self, seconds: float) -> None:
        """Telegram said the bot sends too much (429 retry_after): no new message for
        `seconds`, whatever its class."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)
        self._schedule()

    def _wait(self, priority: Priority, now: float) -> float:
        wait = max(0.0, self._paused_until - now, self._total.wait(now))
        if priority is Priority.BACKGROUND:
            wait = max(wait, self._background.wait(now))
        return wait

    def _take(self, priority: Priority) -> None:
        self._total.take()
        if priority is Priority.BACKGROUND:
            self._background.take()

    def _push(self, ticket: Ticket) -> None:
        entry = (ticket.priority, ticket.position, next(self._order), ticket.version, ticket)
        heapq.heappush(self._queue, entry)
        if self._queue[0] is entry:
            self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._grant()

    def _grant(self) -> None:
        """Grant the first waiters whose tokens are there; come back when the next is."""
        self._timer = None
        now = time.monotonic()
        while self._queue:
            entry = self._queue[0]
            if not _current(entry):
                heapq.heappop(self._queue)
                continue
            ticket = entry[4]
            wait = self._wait(ticket.priority, now)
            if wait > 0.0:
                self._timer = asyncio.get_running_loop().call_later(wait, self._grant)
                return
            heapq.heappop(self._queue)
            self._take(ticket.priority)
            assert ticket.waiter is not None
            ticket.waiter.set_result(None)
            ticket.version += 1


def _current(entry: tuple[int, int, int, int, Ticket]) -> bool:
    """The entry is the ticket's latest and its waiter still waits (not cancelled)."""
    ticket = entry[4]
    return (entry[3] == ticket.version and ticket.waiter is not None
            and not ticket.waiter.done())
