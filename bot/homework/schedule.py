"""When reminders are due: schedules in the person's time zone, moved out of quiet hours.

Why pure: the reminder job, the Telegram screens and the tests all ask the same question
("after this instant, when is the next reminder?") with the clock passed in, so time is
controlled in tests and nothing here waits, reads the wall clock or touches storage.
Times of day are local (``zoneinfo``); what is stored and compared is UTC.  A reminder that
falls inside quiet hours is moved to the moment they end, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["MAX_DAYS", "QuietHours", "Schedule", "ScheduleError", "next_due", "occurrences"]

Kind = Literal["once", "daily", "weekdays"]
KINDS: tuple[Kind, ...] = ("once", "daily", "weekdays")
#: Longest assignment (a programme of a few months); personal reminders have no end.
MAX_DAYS = 180


class ScheduleError(ValueError):
    """A schedule that cannot be kept (unknown time zone, no weekday, too long)."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ScheduleError(f"unknown time zone {name!r}") from error


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _time(text: object) -> time:
    if not isinstance(text, str):
        raise ScheduleError(f"expected a time of day like 20:00, got {text!r}")
    try:
        return time.fromisoformat(text)
    except ValueError as error:
        raise ScheduleError(f"expected a time of day like 20:00, got {text!r}") from error


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours with no reminders; ``start == end`` means none.  May wrap midnight."""

    start: time = time(22, 0)
    end: time = time(8, 0)

    def contains(self, moment: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def shift(self, local: datetime) -> datetime:
        """The same local moment, or the end of the quiet hours it falls in."""
        if not self.contains(local.timetz().replace(tzinfo=None)):
            return local
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0,
                            microsecond=0)
        return end if end > local else end + timedelta(days=1)

    def to_json(self) -> dict[str, str]:
        return {"start": _hhmm(self.start), "end": _hhmm(self.end)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> QuietHours:
        return cls(_time(data.get("start")), _time(data.get("end")))


NO_QUIET = QuietHours(time(0, 0), time(0, 0))


@dataclass(frozen=True, slots=True)
class Schedule:
    """Reminders at ``at`` local time: once on ``start``, or daily / on chosen weekdays
    (0 = Monday) for ``days`` days from ``start`` (``days=None``: until stopped)."""

    kind: Kind
    at: time
    start: date
    tz: str = "UTC"
    days: int | None = 1
    weekdays: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ScheduleError(f"schedule kind must be one of {', '.join(KINDS)}")
        zone(self.tz)
        if self.days is not None and not 1 <= self.days <= MAX_DAYS:
            raise ScheduleError(f"a schedule lasts 1 to {MAX_DAYS} days")
        if self.kind == "weekdays" and (not self.weekdays or not self.weekdays <= set(range(7))):
            raise ScheduleError("choose at least one weekday (0 = Monday ... 6 = Sunday)")

    @property
    def last_day(self) -> date | None:
        if self.kind == "once":
            return self.start
        return None if self.days is None else self.start + timedelta(days=self.days - 1)

    def runs_on(self, day: date) -> bool:
        if day < self.start or (self.last_day is not None and day > self.last_day):
            return False
        return self.kind != "weekdays" or day.weekday() in self.weekdays

    def ends_at(self) -> datetime | None:
        """The UTC instant after which nothing more is due (end of the last local day)."""
        last = self.last_day
        if last is None:
            return None
        end = datetime.combine(last + timedelta(days=1), time(0), zone(self.tz))
        return end.astimezone(UTC) + timedelta(hours=12)  # room for a quiet-hours shift

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "at": _hhmm(self.at), "start": self.start.isoformat(),
                "tz": self.tz, "days": self.days, "weekdays": sorted(self.weekdays)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Schedule:
        days = data.get("days", 1)
        weekdays = data.get("weekdays") or []
        if days is not None and not isinstance(days, int):
            raise ScheduleError("days must be a whole number")
        if not isinstance(weekdays, list) or not all(isinstance(d, int) for d in weekdays):
            raise ScheduleError("weekdays must be a list of numbers 0-6")
        try:
            start = date.fromisoformat(str(data.get("start")))
        except ValueError as error:
            raise ScheduleError("start must be a date like 2026-01-31") from error
        return cls(cast(Kind, data.get("kind")), _time(data.get("at")), start,
                   str(data.get("tz", "UTC")), days, frozenset(weekdays))


def occurrences(schedule: Schedule, quiet: QuietHours = NO_QUIET,
                *, from_day: date | None = None) -> Iterator[datetime]:
    """Every reminder of the schedule in order, as UTC instants (endless if ``days=None``)."""
    tz = zone(schedule.tz)
    day = max(schedule.start, from_day) if from_day is not None else schedule.start
    while schedule.last_day is None or day <= schedule.last_day:
        if schedule.runs_on(day):
            local = datetime.combine(day, schedule.at, tz)
            # A time skipped by a clock change (02:30 on spring-forward) lands just after it.
            local = local.astimezone(UTC).astimezone(tz)
            yield quiet.shift(local).astimezone(UTC)
        day += timedelta(days=1)


def next_due(schedule: Schedule, after: datetime,
             quiet: QuietHours = NO_QUIET) -> datetime | None:
    """The first reminder strictly after ``after`` (tz-aware), or None when it has ended."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    local_day = after.astimezone(zone(schedule.tz)).date() - timedelta(days=1)
    for due in occurrences(schedule, quiet, from_day=local_day):
        if due > after:
            return due
    return None
