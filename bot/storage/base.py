"""The storage contract every backend implements, and everything written once on top of it.

Why this module exists: exactly-once update processing (inbox dedupe, user state, an outbox
of Bot API calls made after commit, saved records) must behave identically on SQLite and
PostgreSQL.  Following aiogram's ``BaseStorage``, backends implement a small abstract
surface (the ``_``-prefixed hooks below); the public methods, argument validation, the
per-user lock, the guard against deadlocking re-entrant calls, sealing of free text (see
``sealing``) and the conveniences (``set_unreachable``, ``delete_user``, async context
management) live here once so the backends cannot drift.  Unlike aiogram everything is
typed: no untyped data bags.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Self, TypeVar

from bot.privacy.keyring import KeyRing
from bot.storage.homework import HomeworkStore
from bot.storage.migrations import Upgrade
from bot.storage.models import (
    SUPERSEDED,
    Clock,
    OutboxBacklog,
    OutboxItem,
    OutboxStatus,
    Record,
    check_id,
    utc_now,
)
from bot.storage.sealing import Codec, KeyProvider
from bot.storage.transaction import Snapshot, Transaction

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "MAX_PENDING_LIMIT",
    "OUTBOX_BACKLOG_SQL",
    "SUPERSEDED",
    "Snapshot",
    "Store",
    "Transaction",
    "settle",
]

#: A row that failed this many times is dead-lettered: it stops blocking its chat.
#: Five attempts with the sender's backoff (e.g. 1 s, 5 s, 30 s, 2 min) ride out a
#: Telegram hiccup of a few minutes while a poison row never blocks a chat for long.
DEFAULT_MAX_ATTEMPTS = 5
MAX_PENDING_LIMIT = 1000
_MAX_ERROR_CHARS = 2000

#: The same statement for both dialects (uses the partial index on pending rows).
OUTBOX_BACKLOG_SQL = "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'"

T = TypeVar("T")


async def settle(awaitable: Awaitable[T]) -> T:
    """Await to completion even if the caller is cancelled, then re-raise the cancellation.

    Why: BEGIN/COMMIT/ROLLBACK must not be abandoned half-way, or the connection would be
    handed to the next transaction in an unknown state (or a commit's outcome be unknown).
    """
    future = asyncio.ensure_future(awaitable)
    interrupted = False
    while not future.done():
        try:
            await asyncio.wait({future})
        except asyncio.CancelledError:
            interrupted = True
    if interrupted:
        if not future.cancelled():
            future.exception()  # mark retrieved; the cancellation wins
        raise asyncio.CancelledError
    return future.result()


@dataclass(slots=True)
class _LockEntry:
    lock: asyncio.Lock
    users: int = 0


class UserLocks:
    """In-process FIFO lock per user, so one chat's updates apply strictly one at a time.

    Entries are dropped when nobody holds or waits for them, so memory stays proportional to
    the number of users *currently* being processed, not to all users ever seen.
    """

    def __init__(self) -> None:
        self._entries: dict[int, _LockEntry] = {}

    def __len__(self) -> int:  # users currently holding or awaiting their lock
        return len(self._entries)

    @asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[None]:
        entry = self._entries.get(user_id)
        if entry is None:
            entry = self._entries[user_id] = _LockEntry(asyncio.Lock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[user_id]


class Store(HomeworkStore, ABC):
    """All bot state: users, inbox, outbox, records.  See ``bot.storage`` for the protocol.

    Calling any store method from inside a ``transaction()`` block of the same task raises
    ``RuntimeError`` instead of deadlocking: use the ``Transaction``'s methods there.
    """

    #: True if transactions of different users can be open at the same time (PostgreSQL).
    #: SQLite has a single writer, so its transactions run one after another.
    concurrent_writers: ClassVar[bool]

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        keys: KeyRing | KeyProvider | None = None,
        upgrade: Upgrade = "apply",
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.codec = Codec(keys)
        self._clock_fn = clock or utc_now
        self.max_attempts = max_attempts
        self._user_locks = UserLocks()
        self._in_transaction: set[asyncio.Task[Any]] = set()
        self._is_open = False
        #: What `open()` does with missing migrations (see `bot.storage.migrations.Upgrade`).
        self.upgrade: Upgrade = upgrade
        #: The schema version found by `open()`, before any migration it applied.
        self.schema_found: int | None = None

    # --- lifecycle -----------------------------------------------------------------------
    async def open(self) -> None:
        """Connect and bring the schema up to date (idempotent migrations)."""
        if self._is_open:
            return
        await self._open()
        self._is_open = True

    async def close(self) -> None:
        """Wait for running work, then release connections and threads.  Idempotent."""
        self._guard(require_open=False)
        if not self._is_open:
            return
        self._is_open = False
        await self._close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def schema_version(self) -> int:
        """The highest migration applied to the database now."""
        self._guard()
        return await self._schema_version()

    def now(self) -> datetime:
        """The store's clock (UTC, tz-aware); injectable for tests."""
        value = self._clock_fn()
        if value.tzinfo is None:
            raise ValueError("clock must return timezone-aware datetimes")
        return value

    def _guard(self, *, require_open: bool = True) -> None:
        task = asyncio.current_task()
        if task is not None and task in self._in_transaction:
            raise RuntimeError(
                "store method called inside a transaction() block of the same task; "
                "use the Transaction's methods (this would deadlock otherwise)"
            )
        if require_open and not self._is_open:
            raise RuntimeError("store is not open; call `await store.open()` first")

    # --- the unit of work ----------------------------------------------------------------
    @asynccontextmanager
    async def transaction(self, user_id: int) -> AsyncIterator[Transaction]:
        """Lock the user (in-process and in the database), yield a Transaction, commit on exit.

        An exception (including cancellation) inside the block rolls everything back.
        """
        self._guard()
        check_id(user_id, "user_id")
        task = asyncio.current_task()
        async with self._user_locks.hold(user_id), self._begin(user_id) as tx:
            if task is not None:
                self._in_transaction.add(task)
            try:
                yield tx
            finally:
                tx._close()
                if task is not None:
                    self._in_transaction.discard(task)

    # --- outbox --------------------------------------------------------------------------
    async def pending(
        self, chat_id: int | None = None, limit: int = 100, *, claim_for: timedelta | None = None
    ) -> list[OutboxItem]:
        """Committed, unsent outbox rows that are due, in id order (per-chat order preserved).

        A chat whose oldest pending row waits for a retry is skipped entirely, so its later
        messages never overtake it; dead-lettering (see ``mark_failed``) unblocks the chat.
        ``claim_for``: lease the returned rows for that long (``not_before`` is pushed out) so
        other senders skip them and the rest of their chats; this is how several senders
        (replicas) share one outbox.  Without it the call is a pure read (single sender).
        After a crash, unsent rows come back: immediately, or once their lease has expired.
        """
        self._guard()
        if chat_id is not None:
            check_id(chat_id, "chat_id")
        if not 1 <= limit <= MAX_PENDING_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_PENDING_LIMIT}")
        if claim_for is not None and claim_for <= timedelta(0):
            raise ValueError("claim_for must be positive")
        now = self.now()
        claim_until = now + claim_for if claim_for is not None else None
        items = await self._pending(chat_id, limit, now, claim_until)
        if not any(item.unreadable for item in items):
            return items
        # Sealed with a key the bot no longer has: it can never be sent, so it must not
        # block its chat. Dead-letter it (and everything after it stays in order).
        for item in items:
            if item.unreadable:
                await self._mark_failed(item.id, "unreadable: sealed with a missing data key",
                                        None, now, self.max_attempts)
        return [item for item in items if not item.unreadable]

    async def release(self, items: Sequence[OutboxItem]) -> int:
        """Give back leased rows a sender will not send after all (it stops early: a retry
        holds the chat, it shuts down): due again at once, for any sender. Rows finished or
        claimed again since (``not_before`` changed) are left alone. Returns how many."""
        self._guard()
        leases = [(item.id, item.not_before) for item in items]
        return len(await self._relet(leases, self.now())) if leases else 0

    async def renew(self, items: Sequence[OutboxItem], claim_for: timedelta
                    ) -> list[OutboxItem]:
        """Extend this sender's lease on rows it still holds (``not_before`` unchanged since
        its claim, even if that lease just ran out: nobody claimed them meanwhile); returns
        the renewed items, with their new ``not_before``. A row missing from the answer
        was finished or claimed by another sender: it must not be sent."""
        self._guard()
        if claim_for <= timedelta(0):
            raise ValueError("claim_for must be positive")
        until = self.now() + claim_for
        kept = set(await self._relet([(i.id, i.not_before) for i in items], until))
        return [replace(item, not_before=until) for item in items if item.id in kept]

    async def recent_sends(self, chat_id: int, since: datetime) -> list[datetime]:
        """When this chat's messages (``sendMessage``) were recorded as sent since ``since``,
        oldest first: the pacing history any replica can read (see ``bot.tg.sender``)."""
        self._guard()
        check_id(chat_id, "chat_id")
        return await self._recent_sends(chat_id, since)

    async def mark_sent(self, outbox_id: int, message_id: int | None) -> bool:
        """Record a successful send; False if the row is gone (user deleted) or not pending.

        The row keeps its ids, method, status and times, and loses its parameters (text,
        buttons, a document). A row of a person the bot no longer knows (the last reply
        to /delete) is removed altogether."""
        self._guard()
        check_id(outbox_id, "outbox_id")
        if message_id is not None:
            check_id(message_id, "message_id")
        return await self._mark_sent(outbox_id, message_id, self.now())

    async def mark_failed(
        self, outbox_id: int, error: str, retry_at: datetime | None
    ) -> OutboxStatus | None:
        """Record a failed attempt; returns the row's new status (None if not pending).

        ``retry_at=None`` means the failure is permanent (e.g. 400 Bad Request, 403 blocked):
        the row is dead-lettered at once.  Otherwise the attempt counter grows and the row is
        retried at ``retry_at``, until ``max_attempts`` failures dead-letter it.
        """
        self._guard()
        check_id(outbox_id, "outbox_id")
        if retry_at is not None and retry_at.tzinfo is None:
            raise ValueError("retry_at must be timezone-aware")
        message = str(error)[:_MAX_ERROR_CHARS]
        return await self._mark_failed(outbox_id, message, retry_at, self.now(), self.max_attempts)

    # --- reading and maintenance ---------------------------------------------------------
    async def records(self, user_id: int, kind: str | None = None) -> list[Record]:
        """The user's saved records (optionally one kind), oldest first; those that cannot
        be opened (a lost key) are left out."""
        async with self.transaction(user_id) as tx:
            snapshot = await tx.snapshot()
        return [r for r in snapshot.records if kind is None or r.kind == kind]

    async def purge_inbox(self, older_than: timedelta) -> int:
        """Drop inbox rows older than this; Telegram redelivers for a day at most."""
        self._guard()
        return await self._purge_inbox(self.now() - older_than)

    async def purge_outbox(self, older_than: timedelta) -> int:
        """Drop sent and dead outbox rows finished before this."""
        self._guard()
        return await self._purge_outbox(self.now() - older_than)

    async def scrub_dead(self, older_than: timedelta) -> int:
        """Drop the parameters (text) of dead-lettered rows finished before this; the row
        stays until `purge_outbox`."""
        self._guard()
        return await self._scrub_dead(self.now() - older_than)

    async def inactive_users(self, older_than: timedelta, limit: int = 500) -> list[int]:
        """People not heard from since before this who still have a session or records."""
        self._guard()
        return await self._inactive_users(self.now() - older_than, limit)

    async def expire_user(self, user_id: int, older_than: timedelta) -> bool:
        """Retention for one person, under their lock: False if they came back meanwhile."""
        async with self.transaction(user_id) as tx:
            user = await tx.load_user()
            cutoff = self.now() - older_than
            if user is not None and user.updated_at is not None and user.updated_at >= cutoff:
                return False
            await tx.expire()
            return True

    async def claim_job(self, job: str, every: timedelta) -> bool:
        """True for exactly one caller (replica) per `every` for this job name."""
        self._guard()
        now = self.now()
        return await self._claim_job(job, now, now - every)

    async def users_to_reseal(self, after: int, limit: int = 200) -> list[int]:
        """People (id > after, ascending) with a value not sealed with the current key."""
        self._guard()
        ring = self.codec.ring()
        if ring is None:
            return []
        return await self._users_to_reseal(f"rb1.{ring.current}.", after, limit)

    async def reseal_user(self, user_id: int) -> int:
        async with self.transaction(user_id) as tx:
            return await tx.reseal()

    async def key_usage(self) -> dict[str, int]:
        """How many stored values each key id sealed ("plain": not sealed), for `relbot keys`."""
        self._guard()
        return await self._key_usage()

    async def count_users(self) -> int:
        self._guard()
        return await self._count_users()

    async def outbox_backlog(self) -> OutboxBacklog:
        """How many committed rows are unsent (pending, due or not) and the oldest one's
        ``created_at``: what a health check needs to tell whether the sender keeps up."""
        self._guard()
        return await self._outbox_backlog()

    # --- conveniences written once -------------------------------------------------------
    async def set_unreachable(self, user_id: int, flag: bool) -> bool:
        """Mark a user as having blocked the bot, outside a dialogue; False if unknown."""
        async with self.transaction(user_id) as tx:
            return await tx.set_unreachable(flag)

    async def delete_user(self, user_id: int) -> int:
        """Erase every row of the user in every table (inbox and outbox too); rows deleted."""
        async with self.transaction(user_id) as tx:
            return await tx.delete_rows()

    # --- backend hooks -------------------------------------------------------------------
    @abstractmethod
    async def _open(self) -> None: ...

    @abstractmethod
    async def _close(self) -> None: ...

    @abstractmethod
    def _begin(self, user_id: int) -> AbstractAsyncContextManager[Transaction]:
        """Database side of a transaction: take the DB lock, yield, commit or roll back."""

    @abstractmethod
    async def _pending(
        self, chat_id: int | None, limit: int, now: datetime, claim_until: datetime | None
    ) -> list[OutboxItem]: ...

    @abstractmethod
    async def _schema_version(self) -> int: ...

    @abstractmethod
    async def _relet(self, leases: list[tuple[int, datetime]], until: datetime) -> list[int]:
        """Set ``not_before = until`` on pending rows whose ``not_before`` is still the
        given one; returns their ids."""

    @abstractmethod
    async def _recent_sends(self, chat_id: int, since: datetime) -> list[datetime]: ...

    @abstractmethod
    async def _mark_sent(self, outbox_id: int, message_id: int | None, now: datetime) -> bool: ...

    @abstractmethod
    async def _mark_failed(
        self,
        outbox_id: int,
        error: str,
        retry_at: datetime | None,
        now: datetime,
        max_attempts: int,
    ) -> OutboxStatus | None: ...

    @abstractmethod
    async def _purge_inbox(self, cutoff: datetime) -> int: ...

    @abstractmethod
    async def _purge_outbox(self, cutoff: datetime) -> int: ...

    @abstractmethod
    async def _scrub_dead(self, cutoff: datetime) -> int: ...

    @abstractmethod
    async def _inactive_users(self, cutoff: datetime, limit: int) -> list[int]: ...

    @abstractmethod
    async def _claim_job(self, job: str, now: datetime, due_before: datetime) -> bool: ...

    @abstractmethod
    async def _users_to_reseal(self, prefix: str, after: int, limit: int) -> list[int]: ...

    @abstractmethod
    async def _key_usage(self) -> dict[str, int]: ...

    @abstractmethod
    async def _count_users(self) -> int: ...

    @abstractmethod
    async def _outbox_backlog(self) -> OutboxBacklog: ...

    @abstractmethod
    async def _sql(self, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
        """One statement written once for both dialects (``?`` placeholders, see
        ``bot.storage.homework_sql``), in its own transaction; its rows as dicts."""
