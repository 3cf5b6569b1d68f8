"""Homework: therapists' assignments, personal reminders, deep links, sharing consent.

Why a package of its own: the rules here (when a reminder is due in someone's time zone,
what a link may grant, what a therapist may see) are pure functions of their inputs and
a clock passed in, so they are tested without Telegram, a database or waiting for hours.
The Telegram screens and the reminder job call into this package; storage is behind the
``Store`` interface (``bot.storage.homework``).
"""

from bot.homework.links import (
    LINK_TTL,
    LinkKind,
    NewLink,
    hash_token,
    new_link,
    parse_payload,
)
from bot.homework.schedule import (
    QuietHours,
    Schedule,
    ScheduleError,
    next_due,
    occurrences,
)
from bot.homework.sharing import Sharing, visible_records

__all__ = [
    "LINK_TTL",
    "LinkKind",
    "NewLink",
    "QuietHours",
    "Schedule",
    "ScheduleError",
    "Sharing",
    "hash_token",
    "new_link",
    "next_due",
    "occurrences",
    "parse_payload",
    "visible_records",
]
