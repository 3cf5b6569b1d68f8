"""The outbox sender: makes committed Bot API calls, in order per chat, politely.

Replies are written to the outbox in the step's transaction; this module sends them
after commit and records the outcome. One drain task per chat keeps that chat's
messages in order while chats proceed concurrently. Telegram's rules as they matter:

- 429, 5xx, network errors and timeouts: retry with capped exponential backoff (or
  `retry_after`) for a long time (`RetryPolicy.give_up_after`, hours), then the row is
  dead: one warning line (no text), counted in `stats` and in the outbox.
- The client waits long for an answer (see `bot.tg.app`): a send that reached Telegram
  but was answered slowly is not sent again.
- A send that worked is recorded even if the database is busy or briefly gone: the
  record is retried (one warning per outage), never the send.
- 403 (blocked, deactivated): mark the person unreachable and stop sending to them.
- "message is not modified" is success; other 400s are dead at once (never retried).
- Telegram's limits where Telegram applies them (`bot.tg.pacing`): per chat, a whole
  reply at once and only a flood slowed to about one message a second (`ChatBucket`); for
  the whole bot, new messages granted by class (`SendBudget`): replies to people who are
  talking to the bot (a plain `kick`) before background sends (`kick(background=True)`:
  reminders, retries, the sweep), and everyone's first message before anyone's third.
  Edits (the "✓" on a pressed question) and chat actions are charged to neither; the
  answer to a press is made by `bot.tg.handlers`, outside the outbox, uncharged too.
- A 429 holds back that chat for `retry_after` (the row is rescheduled); when the chat had
  been quiet, the limit hit must be the bot's own, and every new message waits as long.
- A "typing…" action shows only while a reply is held back by its chat's pacing, and never
  delays it: a reply that goes out at once costs no extra call. Buckets of idle chats are
  forgotten, so memory does not grow with every chat ever seen.
- Safety replies first: see `kick(urgent=True)` below.
- A stored document (`/export`) is uploaded from the outbox row (`bot.tg.files`).

Several replicas (PostgreSQL): see `Sender(lease=...)`: each drain claims its chat's rows
with a lease, so exactly one replica sends a reply, in order per chat.

What cannot be exactly once: a call that Telegram applied but whose answer never arrived
(the process died, or the answer took longer than the client waits) is made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.config import DEFAULT_REPLY_RATE
from bot.logs import user_ref
from bot.storage import OutboxItem, Store, describe, is_transient
from bot.tg.files import inflate_files
from bot.tg.outage import Outage, backoff, seconds
from bot.tg.pacer import Pacer
from bot.tg.pacing import BULK_RATE, CHAT_BURST, CHAT_RATE, ChatBucket, SendBudget

__all__ = [
    "CLAIM_BATCH",
    "LEASE",
    "MIN_LEASE",
    "STORE_MAX_ATTEMPTS",
    "ChatBucket",
    "RetryPolicy",
    "SendBudget",
    "Sender",
    "SenderStats",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
NOT_ERRORS = ("message is not modified", "query is too old")
#: The store's own attempt ceiling, set so high that `RetryPolicy.give_up_after` decides.
STORE_MAX_ATTEMPTS = 1_000_000
#: Seconds a replica's claim on a chat's rows lasts; a replica that dies holds them this
#: long. Short, because it is renewed: before a call with less than a third of it left, and
#: every third of it while a call is in flight (the client waits up to 60 s for Telegram's
#: answer, `bot.tg.app.SEND_READ_TIMEOUT`) until its outcome is recorded.
LEASE = 30.0
#: The shortest lease, whatever RELBOT_TIME_SCALE says (a loaded test machine lags).
MIN_LEASE = 5.0
#: Seconds between a row's claim and its call after which the row is re-checked (renewed)
#: before the call: it waited, and a safety turn elsewhere may have superseded it.
HELD_BACK = 0.5
#: Rows one claim takes: what one chat's pacing sends well within the lease.
CLAIM_BATCH = 20


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long a failing call is retried: waits of base, 2 base, ... up to cap, for
    give_up_after seconds from when the reply was committed. All multiplied by `scale`."""

    base: float = 1.0
    cap: float = 60.0
    give_up_after: float = 6 * 3600.0
    scale: float = 1.0

    def wait(self, attempt: int) -> float:
        return backoff(attempt, base=self.base, cap=self.cap, scale=self.scale)

    @property
    def deadline(self) -> float:
        return self.give_up_after * self.scale


@dataclass(slots=True)
class SenderStats:
    """Counters since start, for logs and later metrics (the outbox keeps the totals)."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    last_sent: float | None = None  # time.monotonic() of the last successful call


class Sender:
    """Sends the outbox; see the module docstring.

    `lease` (seconds, PostgreSQL with one or more replicas; see `LEASE`): drains claim their
    chat's rows (`Store.pending(claim_for=...)`: `FOR UPDATE SKIP LOCKED` under one claim
    lock, and a lease) so exactly one replica sends each reply; a chat's later rows cannot
    be claimed while earlier ones are leased, so its order holds across replicas. The lease
    is renewed (`Store.renew`) before a call and while it is in flight; a row whose renewal
    fails was taken over and is not sent. Rows a drain will not send after all are released
    at once; a replica that died holds its rows until the lease ends, and the other
    replicas' sweeps then pick them up. Without `lease` (SQLite: one process) drains read
    the outbox without claiming.

    Pacing for the whole deployment. Per chat: the claim keeps a chat with one replica at a
    time, and a replica that starts a drain rebuilds that chat's bucket from the chat's
    sends recorded in the database (`Store.recent_sends`), so a reply handled by another
    replica a moment ago counts; why not a pacing table: the outbox already records every
    send, and one read per drain start costs less than a write per message. The bot's
    budget (`budget`: REPLY_RATE and the bulk rate) is split evenly across replicas in
    `bot.tg.app` (REPLICAS): it needs no coordination and never exceeds the limit; a dead
    replica's share is unused until it is back, which costs throughput only at peaks. A
    drain waits for its budget *before* it checks the lease and makes the call, so no call
    waits out its lease in a queue and then goes out after another replica took the row
    over. The budget is the sender's own, not the HTTP client's: only the sender knows
    which calls are new messages and who is waiting for them.
    """

    def __init__(self, bot: Bot, store: Store, *, rate: float = CHAT_RATE,
                 burst: int = CHAT_BURST, policy: RetryPolicy | None = None,
                 sweep_every: float = 5.0, lease: float | None = None,
                 budget: SendBudget | None = None) -> None:
        self.bot, self.store = bot, store
        self.rate, self.burst = rate, burst
        self.lease = lease
        self.budget = budget or SendBudget(DEFAULT_REPLY_RATE, BULK_RATE)
        self.pacer = Pacer(bot, store, self.budget, rate=rate, burst=burst,
                           epoch_of=lambda chat_id: self._urgent_epochs.get(chat_id, 0))
        self.policy = policy or RetryPolicy()
        self.sweep_every = sweep_every
        self.stats = SenderStats()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._again: set[int] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._closing = False
        self._telegram = Outage(log, "sending to Telegram")
        self._storage = Outage(log, "recording sends in the database")
        self.last_sweep = float("-inf")  # time.monotonic() when a sweep last finished
        self._urgent_epochs: dict[int, int] = {}  # chat -> urgent kicks so far

    # --- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Send what a previous run committed but never sent, then keep sweeping."""
        try:
            await self.sweep()
        except Exception as error:
            if not is_transient(error):
                raise
            self._storage.failed(describe(error))  # the sweeper tries again shortly
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="outbox-sweeper")

    async def close(self, timeout: float = 15.0) -> None:
        """Finish the calls in flight (bounded), then stop; the rest waits in the outbox."""
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
        await self.pacer.close()

    # --- what /healthz and metrics read ---------------------------------------------

    @property
    def alive(self) -> bool:
        """Running, and its sweeper (which re-kicks every chat with due rows every
        `sweep_every`) finished a sweep lately: what /healthz reads."""
        running = self._sweeper is not None and not self._sweeper.done() and not self._closing
        stale_after = max(30.0, 6 * self.sweep_every)
        return running and time.monotonic() - self.last_sweep < stale_after

    @property
    def chats_in_flight(self) -> int:
        return len(self._tasks)

    @property
    def tracked_chats(self) -> int:
        """Chats with a pacing bucket: those served in the last few seconds."""
        return len(self.pacer.buckets)

    async def backlog(self, limit: int = 1000) -> int:
        """Outbox rows due now, up to `limit` (a database read)."""
        return len(await self.store.pending(None, limit=limit))

    # --- sweeping -----------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            try:
                await self.sweep()
            except Exception as error:
                if not is_transient(error):
                    raise
                self._storage.failed(describe(error))  # the next sweep tries again
            self._forget_idle_buckets()

    async def sweep(self) -> None:
        for item in await self.store.pending(None, limit=500):
            self.kick(item.chat_id, background=True)
        self.last_sweep = time.monotonic()

    def _forget_idle_buckets(self) -> None:
        self.pacer.forget_idle(self._tasks)
        for chat_id in [c for c in self._urgent_epochs if c not in self._tasks]:
            del self._urgent_epochs[chat_id]  # only a running drain compares epochs

    # --- draining -----------------------------------------------------------------

    def kick(self, chat_id: int, *, urgent: bool = False, background: bool = False) -> None:
        """Make sure this chat's outbox is being drained.

        A plain kick says the chat's person just acted: its new messages are replies, sent
        before background ones, counted from their reply's first. `background`: nobody in
        the chat is waiting (a reminder, a retry, the sweep); it never demotes a drain.

        `urgent`: a safety reply was just committed. Its rows are `urgent` and the chat's
        older queued rows were superseded in the same transaction, so the next rows this
        chat's drain fetches are the safety reply. A drain that is busy with an older batch
        (or waiting out the pacing delay for one of its rows) notices the new epoch, drops
        that batch without sending it and fetches again; urgent rows skip the pacing.
        Why not a second sender task: one drain per chat is what keeps a chat's messages
        in order, and the supersede makes "first" a matter of fetching again."""
        if urgent:
            self._urgent_epochs[chat_id] = self._urgent_epochs.get(chat_id, 0) + 1
        if self._closing:
            self.pacer.kicked(chat_id, urgent=urgent, background=True)
            return
        self.pacer.kicked(chat_id, urgent=urgent, background=background)
        if chat_id in self._tasks:
            self._again.add(chat_id)
            return
        self._start_drain(chat_id)

    def _start_drain(self, chat_id: int) -> None:
        self._tasks[chat_id] = asyncio.create_task(self._drain(chat_id), name="outbox-drain")

    async def _drain(self, chat_id: int) -> None:
        try:
            if self.lease is not None:
                await self.pacer.replay(chat_id)
            while not self._closing:
                self._again.discard(chat_id)
                epoch = self._urgent_epochs.get(chat_id, 0)  # before the fetch: no race
                items = await self._fetch(chat_id)
                fetched = time.monotonic()
                if not items:
                    if chat_id in self._again:
                        continue
                    return
                for index, item in enumerate(items):
                    if self._urgent_epochs.get(chat_id, 0) != epoch or self._closing:
                        await self._release(items[index:])  # a stale batch: fetch again
                        break
                    if await self.pacer.wait_for_turn(item):
                        continue  # superseded while it waited: the epoch check above
                    granted = await self.pacer.charge(item, epoch)  # before the lease check
                    if granted is None:
                        continue  # superseded while it waited: the epoch check above
                    held = await self._keep_lease(item, time.monotonic() - fetched)
                    if held is None:  # another replica took the row over meanwhile
                        self.pacer.refund(item, granted)
                        await self._release(items[index + 1:])
                        break
                    if not await self._deliver(held):
                        await self._release(items[index + 1:])
                        return  # a retry is scheduled; later rows wait behind it
        except Exception as error:
            if not is_transient(error):
                log.exception("outbox drain failed")
            else:  # the database is busy: the sweep comes back to this chat
                self._storage.failed(describe(error))
        finally:
            self._tasks.pop(chat_id, None)
            again = chat_id in self._again and not self._closing
            self.pacer.drain_ended(chat_id, again=again)
            if again:
                self._again.discard(chat_id)
                self._start_drain(chat_id)  # its class and place in the reply carry over

    async def _fetch(self, chat_id: int) -> list[OutboxItem]:
        if self.lease is None:
            return await self.store.pending(chat_id, limit=50)
        return await self.store.pending(chat_id, limit=CLAIM_BATCH,
                                        claim_for=timedelta(seconds=self.lease))

    async def _keep_lease(self, item: OutboxItem, held_for: float) -> OutboxItem | None:
        """The row, still this sender's with enough lease left to make the call and record
        it before another replica may claim it; renewed if it runs short, or if it was
        held back (`held_for` seconds since the claim: a pacing or budget wait), because
        meanwhile a safety turn on another replica may have superseded it, and an older
        message must not go out after the safety reply. None if it is another replica's
        now, superseded or finished: skip it. Without claims (one process), always the
        row itself (a local urgent kick already ends its wait)."""
        if self.lease is None:
            return item
        left = (item.not_before - self.store.now()).total_seconds()
        if left > self.lease / 3 and held_for < HELD_BACK:
            return item
        renewed = await self._record(
            lambda: self.store.renew([item], timedelta(seconds=self.lease or LEASE)))
        return renewed[0] if renewed else None

    async def _release(self, items: list[OutboxItem]) -> None:
        if self.lease is not None and items:
            await self._record(lambda: self.store.release(items))

    async def _deliver(self, item: OutboxItem) -> bool:
        """Make one call; True when the row is finished (sent or dead), False to retry.
        With claims, the lease is renewed while the call and its record are in flight."""
        if self.lease is None:
            return await self._deliver_now(item)
        heartbeat = asyncio.create_task(self._hold_lease(item, self.lease))
        try:
            return await self._deliver_now(item)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _hold_lease(self, item: OutboxItem, lease: float) -> None:
        """Renew the row's lease every third of it until cancelled (or the row is done)."""
        while True:
            await asyncio.sleep(lease / 3)
            try:
                renewed = await self.store.renew([item], timedelta(seconds=lease))
            except Exception as error:  # the next beat tries again; the record is retried
                self._storage.failed(describe(error))
                continue
            if not renewed:
                return  # finished (or failed and rescheduled) meanwhile
            item = renewed[0]

    async def _deliver_now(self, item: OutboxItem) -> bool:
        try:
            message_id = await self._call(item.method, item.params)
        except RetryAfter as exc:
            self.pacer.refund(item)
            self._telegram.failed("429 Too Many Requests")
            wait = seconds(exc.retry_after)
            self.pacer.too_many_requests(item, wait)
            return await self._retry(item, "429 retry_after", wait)
        except Forbidden:
            log.info("user unreachable (blocked the bot) user=%s", user_ref(item.user_id))
            if item.chat_id == item.user_id:  # a private chat: the person blocked the bot
                await self._record(lambda: self.store.set_unreachable(item.user_id, True))
            await self._dead_letter_chat(item.chat_id, "403 forbidden")
            return True
        except BadRequest as exc:
            if any(text in exc.message.lower() for text in NOT_ERRORS):
                await self._record(lambda: self.store.mark_sent(item.id, None))
                return True
            await self._dead(item, f"400 {exc.message}")
            return True
        except (NetworkError, TelegramError) as exc:  # 5xx, timeouts, connection errors
            self.pacer.refund(item)
            self._telegram.failed(type(exc).__name__)
            return await self._retry(item, type(exc).__name__, self.policy.wait(item.attempts))
        self._telegram.recovered()
        self.stats.sent += 1
        self.stats.last_sent = time.monotonic()
        await self._record(lambda: self.store.mark_sent(item.id, message_id))
        return True

    async def _call(self, method: str, params: Mapping[str, Any]) -> int | None:
        """Make a stored call through the Bot's typed method of the same Bot API name."""
        kwargs = inflate_files(dict(params))  # a stored document becomes an upload
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
        age = (self.store.now() - item.created_at).total_seconds()
        if age + delay > self.policy.deadline:
            await self._dead(item, f"{error}, retried for {age:.0f} s")
            return True
        self.stats.retried += 1
        retry_at = self.store.now() + timedelta(seconds=delay)
        status = await self._record(lambda: self.store.mark_failed(item.id, error, retry_at))
        if status is not None and str(status) == "dead":  # the store's own ceiling
            self._count_dead(item, error)
            return True
        asyncio.get_running_loop().call_later(delay + 0.01, lambda: self.kick(
            item.chat_id, background=True))
        return False

    async def _dead(self, item: OutboxItem, error: str) -> None:
        status = await self._record(lambda: self.store.mark_failed(item.id, error, None))
        if status is not None:
            self._count_dead(item, error)

    def _count_dead(self, item: OutboxItem, error: str) -> None:
        self.stats.dead += 1
        log.warning("reply not delivered, given up (%s; %s after %d attempt(s)) user=%s",
                    item.method, error.split(":")[0][:80], item.attempts + 1,
                    user_ref(item.user_id))

    async def _dead_letter_chat(self, chat_id: int, error: str) -> None:
        items = await self._record(lambda: self.store.pending(chat_id, limit=500)) or []
        for pending in items:
            await self._record(lambda p=pending: self.store.mark_failed(p.id, error, None))

    async def _record(self, action: Callable[[], Awaitable[T]]) -> T | None:
        """Write an outcome, waiting out a busy or briefly unreachable database: a call that
        worked must not be made again because its record failed. None if it never could."""
        attempt = 0
        while True:
            try:
                result = await action()
            except Exception as error:
                if not is_transient(error):
                    log.warning("could not record a send (%s)", describe(error))
                    return None
                self._storage.failed(describe(error))
                await asyncio.sleep(backoff(min(attempt, 10), base=0.05, cap=2.0,
                                            scale=self.policy.scale))
                attempt += 1
                continue
            self._storage.recovered()
            return result
