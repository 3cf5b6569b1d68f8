"""The therapist's summary of one client, as text: completion, ratings, shared words.

Why pure: what a report says is decided from what the client agreed to share (already
filtered by `sharing.visible_records`) and the assignments, so it is tested without
Telegram or a database, and the same text goes to the chat and (later) the PDF.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.homework.schedule import Schedule, occurrences
from bot.homework.sharing import Shared
from bot.homework.texts import say

__all__ = ["AssignmentLine", "report_text", "schedule_words"]

_WORDS_PER_ITEM = 400  # characters of shared free text per record, so the report stays short


@dataclass(frozen=True, slots=True)
class AssignmentLine:
    modules: Sequence[str]
    schedule: Schedule
    done: Sequence[datetime]


def schedule_words(schedule: Schedule, language: str) -> str:
    key = {("once", 1): "schedule_once", ("daily", 7): "schedule_d7",
           ("daily", 14): "schedule_d14", ("weekdays", 14): "schedule_w14"}.get(
        (schedule.kind, schedule.days or 0))
    if key is not None:
        words = say(key, language)
        # In Spanish the label follows a colon or sits inside a sentence: no capital there
        # (the buttons keep theirs).
        return words[:1].lower() + words[1:] if language == "es" else words
    return f"{schedule.kind} × {schedule.days}"


def _often(total: object, language: str) -> str:
    """A balance check-in side (0-24) in words, as the chart shows it: never a score."""
    if not isinstance(total, int | float):
        return "-"
    key = "chart_rarely" if total < 7 else "chart_sometimes" if total < 17 else "chart_often"
    return say(key, language).lower()


def _day(moment: datetime) -> str:
    return f"{moment:%d/%m}"


def _date(moment: datetime, language: str) -> str:
    """A whole date as people write it: 2026-03-02 in English, 02/03/2026 in Spanish."""
    return f"{moment:%d/%m/%Y}" if language == "es" else f"{moment:%Y-%m-%d}"


def report_text(client: int, since: datetime, lines: Sequence[AssignmentLine],
                shared: Sequence[Shared], language: str,
                title: Callable[[str], str]) -> str:
    """The report in ``language``; ``title`` names a module in that language."""
    out = [say("report_title", language, client=client, since=_date(since, language)), ""]
    for line in lines:
        planned = sum(1 for _ in occurrences(line.schedule))
        last = (say("report_last", language, date=_date(max(line.done), language))
                if line.done else "")
        out.append("• " + say("report_completion", language,
                              modules=", ".join(title(m) for m in line.modules),
                              schedule=schedule_words(line.schedule, language),
                              done=len(line.done), planned=planned, last=last))
    moods = [f"{_day(r.created_at)} {r.data['mood']}" for r in shared
             if r.kind == "daily_checkin" and isinstance(r.data.get("mood"), int | float)]
    balance = [f"{_day(r.created_at)} {_often(r.data.get('over_giving'), language)} / "
               f"{_often(r.data.get('self_reliance'), language)}" for r in shared
               if r.kind == "balance_checkin"]
    out.append("")
    if moods:
        out.append(say("report_moods", language, values=", ".join(moods)))
    if balance:
        out.append(say("report_balance", language, values=", ".join(balance)))
    if not moods and not balance:
        out.append(say("report_no_ratings", language))
    words = [(r, v) for r in shared for k, v in r.data.items()
             if isinstance(v, str) and v.strip() and k not in ("mood",)]
    if words:
        out += ["", say("report_words", language)]
        for record, value in words:
            out.append(f"{_day(record.created_at)} {title(record.kind)}: "
                       f"{value.strip()[:_WORDS_PER_ITEM]}")
    return "\n".join(out)
