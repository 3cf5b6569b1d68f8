"""Homework behind the `Store` interface: therapists, links, assignments, reminders.

Why mixins written once: every statement is dialect-neutral (``homework_sql``), so the
methods live here once and reach the database through each backend's one ``_sql`` hook.
Person-scoped steps (opening a link, answering an offer, firing one's reminder) run on a
``Transaction`` under that person's lock, with the reply in the same commit; operator and
job steps (inviting, listing, claiming due reminders) run on the ``Store``.
The therapist's note is sealed at rest for the therapist; clients' records stay where they
are (sealed) and are filtered by ``bot.homework.sharing`` when a therapist asks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.homework.links import LinkKind, NewLink
from bot.homework.schedule import QuietHours, Schedule, next_due
from bot.storage import homework_sql as q
from bot.storage.models import Clock, UserRecord, as_datetime
from bot.storage.sealing import Codec, Unreadable

__all__ = ["Assignment", "Done", "HomeworkSnapshot", "HomeworkStore", "HomeworkTransaction",
           "LinkGrant", "Reminder", "Therapist"]

Status = Literal["offered", "accepted", "declined", "revoked"]
Row = dict[str, Any]


def _ts(value: Any) -> datetime | None:
    return None if value is None else as_datetime(value)


@dataclass(frozen=True, slots=True)
class Therapist:
    user_id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None
    notify_done: bool = False  # told when a client finishes an assigned module

    @classmethod
    def from_row(cls, row: Row) -> Therapist:
        return cls(int(row["user_id"]), str(row["name"]), as_datetime(row["created_at"]),
                   _ts(row["revoked_at"]), bool(row["notify_done"]))


@dataclass(frozen=True, slots=True)
class Assignment:
    id: int
    therapist_id: int
    client_id: int | None
    modules: tuple[str, ...]
    schedule: Schedule
    note: str | None  # None also when it was sealed with a key the bot no longer has
    status: Status
    sharing: dict[str, bool]
    created_at: datetime
    answered_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: Row, codec: Codec) -> Assignment:
        note = row["note"]
        if note is not None:
            try:
                note = codec.open(note, "assignments", "note", int(row["user_id"]))
            except Unreadable:
                note = None
        client = row["client_id"]
        return cls(int(row["id"]), int(row["user_id"]), None if client is None else int(client),
                   tuple(json.loads(row["modules"])),
                   Schedule.from_json(json.loads(row["schedule"])), note, row["status"],
                   {k: bool(v) for k, v in json.loads(row["sharing"]).items()},
                   as_datetime(row["created_at"]), _ts(row["answered_at"]),
                   _ts(row["revoked_at"]))


@dataclass(frozen=True, slots=True)
class Done:
    assignment_id: int
    module: str
    done_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Done:
        return cls(int(row["assignment_id"]), str(row["module"]), as_datetime(row["done_at"]))


@dataclass(frozen=True, slots=True)
class Reminder:
    """One reminder series (or a one-off snooze: ``schedule`` None), due at ``due_at``."""

    id: int
    user_id: int
    assignment_id: int | None
    schedule: Schedule | None
    quiet: QuietHours
    due_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> Reminder:
        schedule = json.loads(row["schedule"])
        assignment = row["assignment_id"]
        return cls(int(row["id"]), int(row["user_id"]),
                   None if assignment is None else int(assignment),
                   Schedule.from_json(schedule) if schedule else None,
                   QuietHours.from_json(json.loads(row["quiet"])), as_datetime(row["due_at"]))


@dataclass(frozen=True, slots=True)
class LinkGrant:
    """What a valid link gave the person who opened it."""

    kind: LinkKind
    therapist: Therapist | None = None
    assignment: Assignment | None = None


@dataclass(frozen=True, slots=True)
class HomeworkSnapshot:
    """Everything homework keeps about one person, for /export: as a client (offers made
    to them, what they finished of each, their reminders) and as a therapist (their
    account, whether revoked or not, and every assignment they made, notes opened)."""

    assigned: list[tuple[Assignment, list[Done]]]
    reminders: list[Reminder]
    therapist: Therapist | None
    made: list[Assignment]

    @property
    def empty(self) -> bool:
        return not (self.assigned or self.reminders or self.therapist or self.made)


def _dump(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class HomeworkTransaction:
    """Homework steps of one person, inside their transaction (mixed into `Transaction`)."""

    user_id: int
    _clock: Clock
    _codec: Codec

    async def _sql(self, sql: str, params: Sequence[object]) -> list[Row]:
        raise NotImplementedError  # provided by the backend's Transaction

    def _check_open(self) -> None:
        raise NotImplementedError

    async def load_user(self) -> UserRecord | None:
        raise NotImplementedError

    async def homework_snapshot(self) -> HomeworkSnapshot:
        """What /export shows of homework (see `HomeworkSnapshot`)."""
        assigned = [(a, await self.done_of(a.id)) for a in await self.my_assignments()]
        rows = await self._sql(q.THERAPIST_ACCOUNT, (self.user_id,))
        made = await self._sql(q.ASSIGNMENTS_MADE, (self.user_id,))
        return HomeworkSnapshot(assigned, await self.my_reminders(),
                                Therapist.from_row(rows[0]) if rows else None,
                                [Assignment.from_row(row, self._codec) for row in made])

    # --- links ---------------------------------------------------------------------------
    async def redeem_link(self, kind: LinkKind, token_hash: str) -> LinkGrant | None:
        """Use a link once: a therapist account, or an offer bound to this person (who may
        open their own offer again until they answer it, e.g. after a redelivery). None for
        anything not valid: unknown, used by someone else, expired, revoked, one's own."""
        self._check_open()
        now = self._clock()
        [link] = await self._sql(q.LINK_FOR_UPDATE, (token_hash, kind.value, now)) or [None]
        if link is None:
            return None
        if kind is LinkKind.ASSIGNMENT:
            me = self.user_id
            rows = await self._sql(q.BIND_CLIENT, (me, link["assignment_id"], me, me))
            if not rows:
                return None
            if link["used_at"] is None and not await self._sql(q.USE_LINK, (now, token_hash)):
                return None
            if link["used_at"] is not None and rows[0]["client_id"] != me:
                return None
            return LinkGrant(kind, assignment=Assignment.from_row(rows[0], self._codec))
        if link["used_at"] is not None or not await self._sql(q.USE_LINK, (now, token_hash)):
            return None
        [row] = await self._sql(q.UPSERT_THERAPIST, (self.user_id, link["name"], now))
        return LinkGrant(kind, therapist=Therapist.from_row(row))

    # --- reading, inside a transaction (the store's own methods may not be used there) ---
    async def therapists(self) -> list[Therapist]:
        self._check_open()
        return [Therapist.from_row(row) for row in await self._sql(q.THERAPISTS, ())]

    async def done_of(self, assignment_id: int) -> list[Done]:
        self._check_open()
        rows = await self._sql(q.DONE_OF_ASSIGNMENTS, (assignment_id,))
        return [Done.from_row(row) for row in rows]

    async def my_clients(self) -> list[Assignment]:
        """This therapist's accepted, unrevoked assignments (none if not active)."""
        self._check_open()
        rows = await self._sql(q.THERAPIST_CLIENTS, (self.user_id,))
        return [Assignment.from_row(row, self._codec) for row in rows]

    # --- as an operator ------------------------------------------------------------------
    async def add_therapist_invite(self, name: str, link: NewLink) -> None:
        """Keep (the hash of) a therapist invite made by this person (an operator)."""
        self._check_open()
        if link.kind is not LinkKind.THERAPIST or not name.strip():
            raise ValueError("a therapist invite needs a name and a therapist link")
        await self._sql(q.ADD_LINK, (link.token_hash, self.user_id, link.kind.value,
                                     name.strip(), None, self._clock(), link.expires_at))

    # --- as a therapist ------------------------------------------------------------------
    async def therapist(self) -> Therapist | None:
        """This person's therapist account, if they have one that is not revoked."""
        self._check_open()
        rows = await self._sql(q.ACTIVE_THERAPIST, (self.user_id,))
        return Therapist.from_row(rows[0]) if rows else None

    async def set_notify_done(self, on: bool) -> bool:
        """Be told (or not) when a client finishes an assigned module; False if this
        person is not an active therapist."""
        self._check_open()
        return bool(await self._sql(q.SET_NOTIFY, (int(on), self.user_id)))

    async def draft_assignment(self, note: str | None) -> Assignment | None:
        """Start an offer (``/assign``), keeping the optional note sealed; None if this
        person is not an active therapist. ``finish_assignment`` completes it."""
        if await self.therapist() is None:
            return None
        now = self._clock()
        sealed = (None if not note else
                  self._codec.seal(note, "assignments", "note", self.user_id))
        placeholder = Schedule("once", now.time().replace(second=0, microsecond=0), now.date())
        [row] = await self._sql(q.NEW_ASSIGNMENT, (self.user_id, "[]",
                                                   _dump(placeholder.to_json()), sealed, now))
        return Assignment.from_row(row, self._codec)

    async def finish_assignment(self, draft_id: int, modules: Sequence[str],
                                schedule: Schedule, link: NewLink) -> Assignment | None:
        """Fix the modules and schedule of this therapist's draft and put it behind
        ``link``. None if there is no such draft (e.g. a second tap), or no longer a
        therapist."""
        if link.kind is not LinkKind.ASSIGNMENT or not modules:
            raise ValueError("an assignment needs modules and an assignment link")
        if await self.therapist() is None:
            return None
        rows = await self._sql(q.FINALISE, (_dump(list(modules)), _dump(schedule.to_json()),
                                            draft_id, self.user_id))
        if not rows:
            return None
        await self._sql(q.ADD_LINK, (link.token_hash, self.user_id, link.kind.value, None,
                                     draft_id, self._clock(), link.expires_at))
        return Assignment.from_row(rows[0], self._codec)

    async def create_assignment(self, modules: Sequence[str], schedule: Schedule,
                                note: str | None, link: NewLink) -> Assignment | None:
        """Draft and finish in one go; None if this person is not an active therapist."""
        draft = await self.draft_assignment(note)
        if draft is None:
            return None
        return await self.finish_assignment(draft.id, modules, schedule, link)

    # --- as a client ---------------------------------------------------------------------
    async def my_assignments(self) -> list[Assignment]:
        self._check_open()
        rows = await self._sql(q.CLIENT_ASSIGNMENTS, (self.user_id,))
        return [Assignment.from_row(row, self._codec) for row in rows]

    async def answer_assignment(self, assignment_id: int, *, accept: bool,
                                sharing: Mapping[str, bool] | None = None,
                                tz: str = "UTC", quiet: QuietHours | None = None
                                ) -> Assignment | None:
        """Accept (with the ticks, time zone and quiet hours; reminders start) or decline an
        offer made to this person; None if there is no such open offer."""
        self._check_open()
        rows = await self._sql(q.ASSIGNMENT_OF_CLIENT, (assignment_id, self.user_id))
        if not rows:
            return None
        offer = Assignment.from_row(rows[0], self._codec)
        schedule = Schedule.from_json({**offer.schedule.to_json(), "tz": tz})
        ticks = {k: bool(v) for k, v in (sharing or {}).items()} if accept else {}
        status = "accepted" if accept else "declined"
        rows = await self._sql(q.ANSWER, (status, _dump(ticks), _dump(schedule.to_json()),
                                          self._clock(), assignment_id, self.user_id))
        if not rows:
            return None
        if accept:
            await self.add_reminder(schedule, quiet or QuietHours(), assignment_id)
        return Assignment.from_row(rows[0], self._codec)

    async def revoke_sharing(self, assignment_id: int | None = None) -> list[int]:
        """Stop one accepted assignment (or all): the therapist sees nothing of it from now
        on, past data included, and its reminders stop. Returns the ids revoked."""
        self._check_open()
        now = self._clock()
        rows = (await self._sql(q.REVOKE, (now, self.user_id)) if assignment_id is None
                else await self._sql(q.REVOKE_ONE, (now, self.user_id, assignment_id)))
        for row in rows:
            await self._sql(q.STOP_REMINDERS_OF, (self.user_id, row["id"]))
        return [int(row["id"]) for row in rows]

    async def mark_done(self, assignment_id: int, module: str) -> bool:
        """Record that a module of an accepted assignment was done (and when)."""
        self._check_open()
        args = (self.user_id, module, self._clock(), assignment_id, self.user_id)
        return bool(await self._sql(q.ADD_DONE, args))

    async def module_done(self, module: str) -> list[int]:
        """This person finished ``module``: count it for each accepted assignment that has
        it. Returns those assignments' ids."""
        self._check_open()
        args = (self.user_id, module, self._clock(), self.user_id, f'%"{module}"%')
        return [int(r["assignment_id"]) for r in await self._sql(q.ADD_DONE_FOR_MODULE, args)]

    # --- reminders -----------------------------------------------------------------------
    async def add_reminder(self, schedule: Schedule | None, quiet: QuietHours,
                           assignment_id: int | None = None, *,
                           due_at: datetime | None = None) -> Reminder | None:
        """A reminder series from ``schedule`` (None if nothing is left of it), or with
        ``schedule=None`` a one-off at ``due_at`` (a snooze)."""
        self._check_open()
        now = self._clock()
        if schedule is not None:
            due_at = next_due(schedule, now, quiet)
        if due_at is None:
            return None
        plan = _dump(schedule.to_json()) if schedule is not None else "{}"
        [row] = await self._sql(q.ADD_REMINDER, (self.user_id, assignment_id, plan,
                                                 _dump(quiet.to_json()), due_at, now))
        return Reminder.from_row(row)

    async def my_reminders(self) -> list[Reminder]:
        self._check_open()
        return [Reminder.from_row(r) for r in await self._sql(q.REMINDERS_OF_USER,
                                                               (self.user_id,))]

    async def stop_reminder(self, reminder_id: int) -> bool:
        self._check_open()
        return bool(await self._sql(q.DELETE_REMINDER, (reminder_id, self.user_id)))

    async def fire_reminder(self, reminder_id: int) -> Reminder | None:
        """Take a due reminder of this person (the caller enqueues it in this transaction)
        and move the series on to its next time, or end it. None if it is not due any
        more (another replica fired it), its assignment ended, or the person blocked us."""
        self._check_open()
        now = self._clock()
        rows = await self._sql(q.REMINDER_DUE, (reminder_id, self.user_id, now))
        if not rows:
            return None
        user = await self.load_user()
        if user is not None and user.unreachable:  # blocked the bot: stop, do not pile up
            await self._sql(q.STOP_ALL_REMINDERS, (self.user_id,))
            return None
        reminder = Reminder.from_row(rows[0])
        following = (None if reminder.schedule is None
                     else next_due(reminder.schedule, now, reminder.quiet))
        if following is None:
            await self._sql(q.DELETE_REMINDER, (reminder_id, self.user_id))
        else:
            await self._sql(q.MOVE_REMINDER, (following, reminder_id))
        if reminder.assignment_id is not None:
            rows = await self._sql(q.ASSIGNMENT_OF_CLIENT,
                                   (reminder.assignment_id, self.user_id))
            if not rows or rows[0]["status"] != "accepted":
                await self._sql(q.STOP_REMINDERS_OF, (self.user_id, reminder.assignment_id))
                return None
        return reminder

    async def _erase_homework(self) -> int:
        """Rows hanging off this person's assignments, as therapist or client."""
        total = 0
        for sql in q.ERASE:
            total += len(await self._sql(sql, (self.user_id,) * sql.count("?")))
        return total


class HomeworkStore:
    """Operator and job steps (mixed into `Store`)."""

    codec: Codec

    def now(self) -> datetime:
        raise NotImplementedError

    def _guard(self, *, require_open: bool = True) -> None:
        raise NotImplementedError

    async def _sql(self, sql: str, params: Sequence[object]) -> list[Row]:
        raise NotImplementedError

    async def add_therapist_invite(self, name: str, link: NewLink) -> None:
        """Keep (the hash of) an operator's one-time therapist invite for ``name``."""
        self._guard()
        if link.kind is not LinkKind.THERAPIST or not name.strip():
            raise ValueError("a therapist invite needs a name and a therapist link")
        await self._sql(q.ADD_LINK, (link.token_hash, 0, link.kind.value, name.strip(), None,
                                     self.now(), link.expires_at))

    async def therapists(self) -> list[Therapist]:
        self._guard()
        return [Therapist.from_row(row) for row in await self._sql(q.THERAPISTS, ())]

    async def revoke_therapist(self, user_id: int) -> bool:
        self._guard()
        return bool(await self._sql(q.REVOKE_THERAPIST, (self.now(), user_id)))

    async def therapist_assignments(self, therapist_id: int,
                                    client_id: int | None = None) -> list[Assignment]:
        """Accepted, unrevoked assignments of an active therapist (optionally one client):
        all a therapist may ever look at."""
        self._guard()
        rows = (await self._sql(q.THERAPIST_CLIENTS, (therapist_id,)) if client_id is None
                else await self._sql(q.THERAPIST_CLIENT, (therapist_id, client_id)))
        return [Assignment.from_row(row, self.codec) for row in rows]

    async def done_of(self, assignment_id: int) -> list[Done]:
        self._guard()
        rows = await self._sql(q.DONE_OF_ASSIGNMENTS, (assignment_id,))
        return [Done.from_row(row) for row in rows]

    async def therapists_to_tell(self, client_id: int, module: str) -> list[int]:
        """Active therapists who asked to hear when this client finishes ``module`` of an
        assignment of theirs the client accepted."""
        self._guard()
        rows = await self._sql(q.TO_NOTIFY, (client_id, f'%"{module}"%'))
        return [int(row["user_id"]) for row in rows]

    async def reminders_due(self) -> int:
        """How many reminders are due and not claimed by any sender (for /metrics)."""
        self._guard()
        now = self.now()
        rows = await self._sql(q.COUNT_DUE_REMINDERS, (now, now))
        return int(rows[0]["n"]) if rows else 0

    async def claim_reminders(self, lease: timedelta, limit: int = 100) -> list[Reminder]:
        """Due reminders, leased to this caller for ``lease`` (other replicas skip them)."""
        self._guard()
        if lease <= timedelta(0) or not 1 <= limit <= 1000:
            raise ValueError("lease must be positive and limit between 1 and 1000")
        now = self.now()
        rows = await self._sql(q.CLAIM_REMINDERS, (now + lease, now, now, limit, now))
        return sorted((Reminder.from_row(row) for row in rows),
                      key=lambda r: (r.due_at, r.id))
