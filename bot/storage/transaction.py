"""One person's unit of work, and the snapshot of everything stored about them.

Why this module exists: everything done for one update (inbox check, the person's state,
the outbox calls, saved records) goes through a `Transaction`, so it commits or rolls
back together. Sealing of free text at rest happens here, once, for every backend: the
session, outbox parameters and record data are sealed on the way in (see `sealing`);
backends open them again when they build rows. Obtained only from `Store.transaction`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.storage.homework import HomeworkTransaction
from bot.storage.models import (
    Clock,
    JSONValue,
    Notice,
    Record,
    UserRecord,
    check_id,
    encode_json,
)
from bot.storage.sealing import Codec, Unreadable

__all__ = ["Snapshot", "Transaction"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything stored about one person, opened (for /export)."""

    user: UserRecord | None
    records: list[Record]
    unreadable_records: int  # sealed with a key the bot no longer has


class Transaction(HomeworkTransaction, ABC):
    """One user's unit of work; everything done through it commits or rolls back together.

    Obtained only from ``Store.transaction(user_id)``, which holds the user's lock for the
    whole block, so ``load_user`` always sees the state left by the previous update.
    """

    def __init__(self, user_id: int, clock: Clock, codec: Codec) -> None:
        self.user_id = user_id
        self._clock = clock
        self._codec = codec
        self._open = True

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError("transaction already finished; open a new one")

    def _close(self) -> None:
        self._open = False

    async def seen(self, update_id: int) -> bool:
        """Inbox check: was this exact update already processed?  (Never "highest id seen".)"""
        self._check_open()
        return await self._seen(check_id(update_id, "update_id"))

    async def mark_seen(self, update_id: int) -> None:
        """Record the update as processed; idempotent.  Commits with everything else."""
        self._check_open()
        await self._mark_seen(check_id(update_id, "update_id"), self._clock())

    async def load_user(self) -> UserRecord | None:
        """The user's committed state, or None for a first contact."""
        self._check_open()
        return await self._load_user()

    async def save_user(self, record: UserRecord) -> UserRecord:
        """Insert or update the user; returns the record as stored (timestamps filled in).

        ``created_at`` of an existing row is kept; ``updated_at`` is always "now".
        """
        self._check_open()
        if not isinstance(record, UserRecord):
            raise TypeError(f"save_user expects a UserRecord, got {type(record).__name__}")
        if record.user_id != self.user_id:
            raise ValueError(
                f"transaction is for user {self.user_id}, record is for user {record.user_id}"
            )
        if record.session is not None:
            sealed = self._codec.seal(record.session, "users", "session", self.user_id)
            record = replace(record, session=sealed)
        return await self._save_user(record, self._clock())

    async def enqueue(self, chat_id: int, method: str, params: Mapping[str, JSONValue]) -> int:
        """Add a Bot API call (e.g. "sendMessage") to make after commit; returns its outbox id.

        The parameters (text, buttons, a document's bytes) are sealed until sent, and
        dropped once Telegram has accepted the call."""
        self._check_open()
        if not isinstance(method, str) or not method:
            raise ValueError("method must be a non-empty Bot API method name")
        text = self._codec.seal(encode_json(params, "params"), "outbox", "params", self.user_id)
        return await self._enqueue(check_id(chat_id, "chat_id"), method, text, self._clock())

    # --- safety replies first (see bot.conversation): a separate path, on purpose -------
    async def enqueue_urgent(
        self, chat_id: int, method: str, params: Mapping[str, JSONValue]
    ) -> int:
        """Enqueue a safety reply: like ``enqueue``, then marked urgent, so the sender makes
        it before the chat's queued rows and without its per-chat pacing."""
        outbox_id = await self.enqueue(chat_id, method, params)
        await self._mark_urgent(outbox_id)
        return outbox_id

    async def supersede_queued(self, chat_id: int) -> int:
        """Dead-letter this person's pending, non-urgent rows for ``chat_id`` with the error
        ``SUPERSEDED``: replies a safety interruption made obsolete, which must never be
        sent after it.  Returns how many rows were superseded."""
        self._check_open()
        return await self._supersede_queued(check_id(chat_id, "chat_id"), self._clock())

    async def add_record(self, kind: str, data: Mapping[str, JSONValue]) -> int:
        """Save a structured result the user chose to keep (journal entry, rating, script)."""
        self._check_open()
        if not isinstance(kind, str) or not kind:
            raise ValueError("kind must be a non-empty string")
        text = self._codec.seal(encode_json(data, "data"), "records", "data", self.user_id)
        return await self._add_record(kind, text, self._clock())

    async def delete_records(self) -> int:
        """Erase the person's saved records (they withdrew consent); returns how many."""
        self._check_open()
        return await self._delete_records()

    async def snapshot(self) -> Snapshot:
        """Everything stored about the person, opened: their settings, session, records."""
        self._check_open()
        rows = await self._records()
        records = [r for r in rows if r is not None]
        return Snapshot(await self._load_user(), records, len(rows) - len(records))

    async def expire(self) -> None:
        """Retention: drop the person's saved records and session, and leave a notice."""
        self._check_open()
        user = await self._load_user()
        await self._delete_records()
        if user is not None:
            await self._save_user(replace(user, session=None, notice=Notice.EXPIRED,
                                          delete_token=None, delete_expires=None),
                                  self._clock())

    async def reseal(self) -> int:
        """Seal again, with the current key, whatever of this person is sealed with an older
        key or not at all; values sealed with a key we lack are left alone. Returns count."""
        self._check_open()
        count = 0
        for table, column, key, stored in await self._sealed_values():
            if not self._codec.needs_reseal(stored):
                continue
            try:
                plain = self._codec.open(stored, table, column, self.user_id)
            except Unreadable:
                continue
            await self._rewrite(table, column, key,
                                self._codec.seal(plain, table, column, self.user_id))
            count += 1
        return count

    async def set_unreachable(self, flag: bool) -> bool:
        """Flag the user as having blocked the bot (or not); False if there is no such user."""
        user = await self.load_user()
        if user is None:
            return False
        if user.unreachable != bool(flag):
            await self.save_user(replace(user, unreachable=bool(flag)))
        return True

    async def delete_rows(self) -> int:
        """Erase every row about this user in every table; returns the number of rows."""
        self._check_open()
        return await self._erase_homework() + await self._delete_rows()

    # --- backend hooks -------------------------------------------------------------------
    @abstractmethod
    async def _seen(self, update_id: int) -> bool: ...

    @abstractmethod
    async def _mark_seen(self, update_id: int, now: datetime) -> None: ...

    @abstractmethod
    async def _load_user(self) -> UserRecord | None: ...

    @abstractmethod
    async def _save_user(self, record: UserRecord, now: datetime) -> UserRecord: ...

    @abstractmethod
    async def _enqueue(self, chat_id: int, method: str, params: str, now: datetime) -> int: ...

    @abstractmethod
    async def _add_record(self, kind: str, data: str, now: datetime) -> int: ...

    @abstractmethod
    async def _mark_urgent(self, outbox_id: int) -> None: ...

    @abstractmethod
    async def _supersede_queued(self, chat_id: int, now: datetime) -> int: ...

    @abstractmethod
    async def _delete_rows(self) -> int: ...

    @abstractmethod
    async def _delete_records(self) -> int: ...

    @abstractmethod
    async def _records(self) -> list[Record | None]:
        """The person's records in id order; None for one that cannot be opened."""

    @abstractmethod
    async def _sealed_values(self) -> list[tuple[str, str, int, str]]:
        """(table, column, row key, stored text) of every sealed column of the person."""

    @abstractmethod
    async def _rewrite(self, table: str, column: str, key: int, stored: str) -> None: ...

    @abstractmethod
    async def _sql(self, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
        """One statement written once for both dialects (``?`` placeholders), inside
        this transaction; its rows as dicts."""
