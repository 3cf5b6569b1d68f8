"""What a therapist may see of a client's saved records, decided in one place.

Why pure and central: the access rules (nothing before acceptance, nothing after
revocation, free text and scripts only if the client ticked them, the safety plan never)
are the promise the client agreed to, so every screen that shows a therapist anything
goes through ``visible_records`` and the tests check it directly.  By default a therapist
sees completion (kept apart, see ``bot.storage.homework``) and check-in ratings: the
numbers, never the words next to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

__all__ = ["FREE_TEXT_KINDS", "RATING_FIELDS", "SCRIPT_KINDS", "SavedRecord", "Shared",
           "Sharing", "visible_records"]


class SavedRecord(Protocol):
    """What ``bot.storage.Record`` offers; kept structural so this module stays pure."""

    @property
    def kind(self) -> str: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Shared:
    """The part of one saved record a therapist may see."""

    kind: str
    data: dict[str, Any]
    created_at: datetime

#: Numbers shared by default (ratings and balance themes), per record kind.
RATING_FIELDS: dict[str, tuple[str, ...]] = {
    "daily_checkin": ("mood", "self_care_done"),
    "balance_checkin": ("over_giving", "self_reliance"),
}
#: Written answers, shared only with the "free text" tick.
FREE_TEXT_KINDS: dict[str, tuple[str, ...] | None] = {
    "daily_checkin": ("boundary_moment", "note", "self_care"),
    "journal": None,  # None: every field
    "interindependence_map": None,
}
#: Saved scripts, shared only with the "scripts" tick.
SCRIPT_KINDS = frozenset({"boundary_script", "i_statement", "rehearsal"})


@dataclass(frozen=True, slots=True)
class Sharing:
    """The client's ticks, item by item; ratings and completion need no tick."""

    free_text: bool = False
    scripts: bool = False

    def to_json(self) -> dict[str, bool]:
        return {"free_text": self.free_text, "scripts": self.scripts}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Sharing:
        return cls(data.get("free_text") is True, data.get("scripts") is True)


def _pick(data: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: data[name] for name in names if name in data}


def visible_records(records: Iterable[SavedRecord], sharing: Sharing,
                    accepted_at: datetime | None, revoked_at: datetime | None) -> list[Shared]:
    """The part of each record the therapist may see, newest last; [] unless accepted and
    not revoked.  Records saved before acceptance are not shared."""
    if accepted_at is None or revoked_at is not None:
        return []
    shown: list[Shared] = []
    for record in records:
        if record.created_at < accepted_at:
            continue
        data = _pick(record.data, RATING_FIELDS.get(record.kind, ()))
        if sharing.free_text and record.kind in FREE_TEXT_KINDS:
            fields = FREE_TEXT_KINDS[record.kind]
            data.update(record.data if fields is None else _pick(record.data, fields))
        if sharing.scripts and record.kind in SCRIPT_KINDS:
            data.update(record.data)
        if data:
            shown.append(Shared(record.kind, data, record.created_at))
    return shown
