"""Typed values that cross the storage boundary, and the codecs both backends share.

Why this module exists: the rest of the bot must never see a database row or an untyped
dict of state.  Users, outbox items and records are frozen dataclasses; the only JSON
payloads are those that *are* JSON by nature (Bot API parameters, record data), and they are
validated here identically for every backend (e.g. NaN and NUL are rejected everywhere
because PostgreSQL rejects them, so SQLite must not silently accept them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, TypeAlias

from bot.storage.sealing import Codec, Unreadable

__all__ = [
    "SENDABLE",
    "SUPERSEDED",
    "Clock",
    "Consent",
    "JSONValue",
    "Notice",
    "OutboxBacklog",
    "OutboxItem",
    "OutboxStatus",
    "Record",
    "UserRecord",
]

#: `last_error` of a row a safety reply made obsolete (status dead: not to be sent).
SUPERSEDED = "superseded by a safety reply"
#: Rows a successful send may be recorded on: pending ones, and one superseded while its
#: call was already in flight (Telegram has it: it is sent, and keeps no text).
SENDABLE = f"(status = 'pending' OR (status = 'dead' AND last_error = '{SUPERSEDED}'))"

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
Clock: TypeAlias = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_ts(value: datetime) -> str:
    """Fixed-width ISO-8601 UTC text: sorts lexicographically (SQLite) and exports stably."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def check_id(value: int, name: str) -> int:
    """Telegram ids are plain ints (bool is an int in Python, but never a valid id)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"{name} does not fit in 64 bits")
    return value


def check_text(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, got {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"{name} must not contain NUL characters")
    return value


def encode_json(value: Mapping[str, JSONValue], name: str) -> str:
    """Compact JSON text of a JSON object, valid for both SQLite and PostgreSQL jsonb."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping (a JSON object), got {type(value).__name__}")
    try:
        text = json.dumps(dict(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} is not JSON-serialisable: {error}") from error
    if "\\u0000" in text:
        raise ValueError(f"{name} must not contain NUL characters")
    return text


def decode_json_object(text: str) -> dict[str, JSONValue]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("stored JSON is not an object")
    return value


class Consent(Mapping[str, bool]):
    """An immutable, hashable set of named consent flags, e.g. {"store_answers": True}.

    Why not a dict: ``UserRecord`` is frozen and hashable, and a flag must not be flipped
    behind the store's back.  A missing flag means "not granted" (see ``granted``).
    """

    __slots__ = ("_flags",)

    def __init__(self, flags: Mapping[str, bool] | Iterable[tuple[str, bool]] = ()) -> None:
        items = dict(flags)
        for name, granted in items.items():
            if not isinstance(name, str) or not name:
                raise TypeError("consent flag names must be non-empty strings")
            if not isinstance(granted, bool):
                raise TypeError(f"consent flag {name!r} must be a bool")
        self._flags: dict[str, bool] = dict(sorted(items.items()))

    def __getitem__(self, name: str) -> bool:
        return self._flags[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._flags)

    def __len__(self) -> int:
        return len(self._flags)

    def __hash__(self) -> int:
        return hash(frozenset(self._flags.items()))

    def __repr__(self) -> str:
        return f"Consent({self._flags!r})"

    def granted(self, name: str) -> bool:
        return self._flags.get(name, False)

    def with_flag(self, name: str, granted: bool) -> Consent:
        return Consent({**self._flags, name: granted})

    def to_json(self) -> str:
        return json.dumps(self._flags, separators=(",", ":"))


class Notice(StrEnum):
    """Why a returning person starts fresh; they are told once, kindly."""

    EXPIRED = "expired"  # inactive for RETENTION_DAYS: their answers were deleted
    UNREADABLE = "unreadable"  # sealed with a key the bot no longer has


@dataclass(frozen=True, slots=True)
class UserRecord:
    """Everything the bot keeps about a user between updates.

    ``session`` is opaque compact JSON owned by the dialogue engine; the store never parses
    it (it seals it at rest).  ``created_at``/``updated_at`` are None until the record has
    been saved; records returned by the store always have them.  A plain dict is accepted
    for ``consent``.  ``delete_token``/``delete_expires``: the one /delete confirmation
    that still works.  ``notice``: something to tell the person when they next write.
    """

    user_id: int
    chat_id: int
    language: str | None = None
    session: str | None = None
    consent: Mapping[str, bool] = field(default_factory=Consent)
    unreachable: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    delete_token: str | None = None
    delete_expires: datetime | None = None
    notice: Notice | None = None

    def __post_init__(self) -> None:
        check_id(self.user_id, "user_id")
        check_id(self.chat_id, "chat_id")
        check_text(self.language, "language")
        check_text(self.session, "session")
        if not isinstance(self.unreachable, bool):
            raise TypeError("unreachable must be a bool")
        check_text(self.delete_token, "delete_token")
        if self.notice is not None:
            object.__setattr__(self, "notice", Notice(self.notice))
        for name in ("created_at", "updated_at", "delete_expires"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        if not isinstance(self.consent, Consent):
            object.__setattr__(self, "consent", Consent(self.consent))


class OutboxStatus(StrEnum):
    """Lifecycle of an outbox row: pending → sent, or pending → dead (dead-lettered)."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One Bot API call to make after commit, e.g. ("sendMessage", {"chat_id": 1, ...})."""

    id: int
    user_id: int
    chat_id: int
    method: str
    params: dict[str, JSONValue] = field(hash=False)
    status: OutboxStatus
    attempts: int
    not_before: datetime  # earliest time of the next attempt (retry time or claim lease)
    last_error: str | None
    message_id: int | None
    created_at: datetime
    finished_at: datetime | None  # when it was sent or dead-lettered
    urgent: bool = False  # a safety reply: sent before queued rows, without pacing
    unreadable: bool = False  # params sealed with a key we no longer have: cannot be sent


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    """How far the sender is behind: unsent rows, and when the oldest of them was committed.

    Only counts and a time, never a row's content: health checks show it to anyone."""

    pending: int
    oldest_created_at: datetime | None  # None when nothing is pending

    def oldest_age(self, now: datetime) -> float:
        """Seconds the oldest unsent row has waited (0 when nothing is pending)."""
        if self.oldest_created_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_created_at).total_seconds())


@dataclass(frozen=True, slots=True)
class Record:
    """A structured result the user chose to save (journal entry, check-in rating, script)."""

    id: int
    user_id: int
    kind: str
    data: dict[str, JSONValue] = field(hash=False)
    created_at: datetime


class Row(Protocol):
    """What both drivers' rows offer (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: str) -> Any: ...


def as_datetime(value: datetime | str) -> datetime:
    """Drivers return ``datetime`` (asyncpg) or our ISO text (SQLite)."""
    return value if isinstance(value, datetime) else parse_ts(value)


def as_json_object(value: str | dict[str, JSONValue]) -> dict[str, JSONValue]:
    return value if isinstance(value, dict) else decode_json_object(value)


def user_from_row(row: Row, codec: Codec) -> UserRecord:
    """A user row; a session that cannot be opened becomes a fresh start with a notice."""
    user_id = row["user_id"]
    session, notice = row["session"], row["notice"]
    if session is not None:
        try:
            session = codec.open(session, "users", "session", user_id)
        except Unreadable:
            session, notice = None, Notice.UNREADABLE
    expires = row["delete_expires"]
    return UserRecord(
        user_id=user_id,
        chat_id=row["chat_id"],
        language=row["language"],
        session=session,
        consent=Consent(as_json_object(row["consent"])),  # type: ignore[arg-type]
        unreachable=bool(row["unreachable"]),
        created_at=as_datetime(row["created_at"]),
        updated_at=as_datetime(row["updated_at"]),
        delete_token=row["delete_token"],
        delete_expires=as_datetime(expires) if expires is not None else None,
        notice=notice,
    )


def item_from_row(row: Row, codec: Codec) -> OutboxItem:
    finished = row["finished_at"]
    unreadable = False
    try:
        params = decode_json_object(codec.open(row["params"], "outbox", "params", row["user_id"]))
    except Unreadable:
        params, unreadable = {}, True
    return OutboxItem(
        id=row["id"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        method=row["method"],
        params=params,
        status=OutboxStatus(row["status"]),
        attempts=row["attempts"],
        not_before=as_datetime(row["not_before"]),
        last_error=row["last_error"],
        message_id=row["message_id"],
        created_at=as_datetime(row["created_at"]),
        finished_at=as_datetime(finished) if finished is not None else None,
        urgent=bool(row["urgent"]),
        unreadable=unreadable,
    )


def record_from_row(row: Row, codec: Codec) -> Record | None:
    """A saved record, or None if it was sealed with a key we no longer have."""
    try:
        data = decode_json_object(codec.open(row["data"], "records", "data", row["user_id"]))
    except Unreadable:
        return None
    return Record(
        id=row["id"],
        user_id=row["user_id"],
        kind=row["kind"],
        data=data,
        created_at=as_datetime(row["created_at"]),
    )
