"""Pure scheduling: local times, weekdays, N days, quiet hours, clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.homework import QuietHours, Schedule, ScheduleError, next_due, occurrences

NO_QUIET = QuietHours(time(0), time(0))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_for_n_days_at_local_time() -> None:
    schedule = Schedule("daily", time(20, 0), date(2026, 3, 2), "Europe/Madrid", 3)
    assert list(occurrences(schedule)) == [utc(2026, 3, 2, 19), utc(2026, 3, 3, 19),
                                           utc(2026, 3, 4, 19)]


def test_weekdays_only_on_the_chosen_days() -> None:
    # 2026-03-02 is a Monday; Monday and Thursday for two weeks.
    schedule = Schedule("weekdays", time(9, 0), date(2026, 3, 2), "UTC", 14,
                        frozenset({0, 3}))
    days = [d.date() for d in occurrences(schedule)]
    assert days == [date(2026, 3, 2), date(2026, 3, 5), date(2026, 3, 9), date(2026, 3, 12)]


def test_once_is_one_reminder_and_then_nothing() -> None:
    schedule = Schedule("once", time(18, 30), date(2026, 3, 2), "America/Bogota")
    assert next_due(schedule, utc(2026, 3, 1)) == utc(2026, 3, 2, 23, 30)
    assert next_due(schedule, utc(2026, 3, 2, 23, 30)) is None


def test_next_due_is_strictly_after_the_clock() -> None:
    schedule = Schedule("daily", time(8, 0), date(2026, 1, 1), "UTC", None)
    assert next_due(schedule, utc(2026, 5, 5, 8)) == utc(2026, 5, 6, 8)
    assert next_due(schedule, utc(2026, 5, 5, 7, 59)) == utc(2026, 5, 5, 8)


def test_quiet_hours_move_to_their_end_including_past_midnight() -> None:
    quiet = QuietHours(time(22), time(7, 30))
    late = Schedule("daily", time(23, 0), date(2026, 3, 2), "Europe/Madrid", 1)
    early = Schedule("daily", time(6, 0), date(2026, 3, 2), "Europe/Madrid", 1)
    assert list(occurrences(late, quiet)) == [utc(2026, 3, 3, 6, 30)]
    assert list(occurrences(early, quiet)) == [utc(2026, 3, 2, 6, 30)]
    assert next_due(late, utc(2026, 3, 2, 23), quiet) == utc(2026, 3, 3, 6, 30)


def test_daytime_quiet_hours_and_none() -> None:
    quiet = QuietHours(time(9), time(17))
    assert quiet.contains(time(12)) and not quiet.contains(time(17))
    assert not NO_QUIET.contains(time(3))


def test_a_clock_change_keeps_the_local_time() -> None:
    schedule = Schedule("daily", time(20, 0), date(2026, 3, 28), "Europe/Madrid", 2)
    # Summer time starts on 29 March 2026: 20:00 is 19:00 UTC, then 18:00 UTC.
    assert list(occurrences(schedule)) == [utc(2026, 3, 28, 19), utc(2026, 3, 29, 18)]


def test_a_skipped_local_time_fires_just_after_the_change() -> None:
    schedule = Schedule("once", time(2, 30), date(2026, 3, 29), "Europe/Madrid")
    [due] = occurrences(schedule)
    assert due == utc(2026, 3, 29, 1, 30)  # 03:30 local, the first time that exists


@pytest.mark.parametrize("bad", [
    {"kind": "hourly"}, {"tz": "Mars/Olympus"}, {"days": 0}, {"days": 1000},
    {"kind": "weekdays", "weekdays": frozenset()}, {"kind": "weekdays", "weekdays": {7}},
])
def test_schedules_that_cannot_be_kept_are_refused(bad: dict[str, object]) -> None:
    args: dict[str, object] = {"kind": "daily", "at": time(9), "start": date(2026, 1, 1),
                               "tz": "UTC", "days": 3, **bad}
    with pytest.raises(ScheduleError):
        Schedule(**args)  # type: ignore[arg-type]


def test_json_round_trip() -> None:
    schedule = Schedule("weekdays", time(7, 15), date(2026, 1, 5), "Asia/Tokyo", 28,
                        frozenset({1, 4}))
    assert Schedule.from_json(schedule.to_json()) == schedule
    quiet = QuietHours(time(21), time(9))
    assert QuietHours.from_json(quiet.to_json()) == quiet
    with pytest.raises(ScheduleError):
        Schedule.from_json({"kind": "daily", "at": "8pm", "start": "2026-01-01"})


def test_endless_daily_reminders_do_not_end() -> None:
    schedule = Schedule("daily", time(20), date(2026, 1, 1), "UTC", None)
    assert schedule.ends_at() is None
    assert next_due(schedule, utc(2030, 1, 1)) == utc(2030, 1, 1, 20)
    assert Schedule("daily", time(20), date(2026, 1, 1), "UTC", 2).ends_at() is not None
    assert next_due(schedule, utc(2026, 1, 1) - timedelta(days=10)) == utc(2026, 1, 1, 20)
