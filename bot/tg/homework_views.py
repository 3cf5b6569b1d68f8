"""What /report and /progress show: built outside any transaction, then queued.

Why apart from `bot.tg.homework`: these read another person's records (a client's, under
the client's lock) or draw a chart (slow: a worker thread), so they are prepared before
the asking person's transaction, which then only queues them.  What a therapist sees is
what the store allows (accepted, unrevoked, their own clients) filtered by the client's
ticks (`bot.homework.sharing`).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.homework import Sharing
from bot.homework.charts import Point, chart_png, report_pdf
from bot.homework.report import AssignmentLine, report_text
from bot.homework.sharing import SavedRecord, Shared, visible_records
from bot.homework.texts import say
from bot.privacy.export import saved_lines

if TYPE_CHECKING:
    from bot.tg.homework import HomeworkDesk

__all__ = ["READ_AGAIN", "SHOWN", "Built", "as_file", "build_progress", "build_report",
           "series"]

#: Saved results /progress offers to read again (the safety plan is not among them).
READ_AGAIN = ("boundary_script", "i_statement", "rehearsal", "journal", "interindependence_map",
              "trust_step", "steady_practice")
SHOWN = 5  # saved results /progress shows; /export has them all
_MAX_TEXT = 4000  # Telegram's limit is 4096 characters


def as_file(name: str, body: bytes) -> dict[str, str]:
    """A file as the outbox keeps it until sent (bot.tg.files)."""
    return {"filename": name, "base64": base64.b64encode(body).decode("ascii")}


@dataclass(frozen=True, slots=True)
class Built:
    """Replies prepared outside the transaction (reading another person's records, or
    drawing a chart); the chat id is added when they are queued."""

    calls: list[tuple[str, dict[str, Any]]]


def series(records: Iterable[SavedRecord]) -> tuple[list[Point], list[Point], list[Point]]:
    """Moods from daily check-ins, and the balance check-in's two sides, over time."""
    moods: list[Point] = []
    giving: list[Point] = []
    alone: list[Point] = []
    for r in records:
        mood = r.data.get("mood")
        if r.kind == "daily_checkin" and isinstance(mood, int | float):
            moods.append((r.created_at, float(mood)))
        if r.kind == "balance_checkin":
            over, own = r.data.get("over_giving"), r.data.get("self_reliance")
            if isinstance(over, int | float):
                giving.append((r.created_at, float(over)))
            if isinstance(own, int | float):
                alone.append((r.created_at, float(own)))
    return moods, giving, alone


async def build_report(desk: HomeworkDesk, therapist_id: int, client_id: int,
                       language_code: str | None) -> Built:
    """Built before the therapist's transaction (it reads the client's records under
    the client's lock); only what the store and the client's ticks allow: a summary,
    a chart and the same as a PDF."""
    async with desk.store.transaction(therapist_id) as tx:
        language = desk.language_for(await tx.load_user(), language_code)
    assignments = await desk.store.therapist_assignments(therapist_id, client_id)
    if not assignments:
        return Built([("sendMessage", {"text": say("report_none", language)})])
    records = await desk.store.records(client_id)
    shared = []
    lines = []
    for a in assignments:
        sharing = Sharing.from_json(a.sharing)
        shared += visible_records(records, sharing, a.answered_at, a.revoked_at)
        done = [d.done_at for d in await desk.store.done_of(a.id)]
        lines.append(AssignmentLine(a.modules, a.schedule, done))
    unique: dict[tuple[str, datetime], Shared] = {}
    for r in shared:  # a record shared under two assignments: what either one allows
        seen = unique.get((r.kind, r.created_at))
        unique[(r.kind, r.created_at)] = r if seen is None else Shared(
            r.kind, {**seen.data, **r.data}, r.created_at)
    ordered = sorted(unique.values(), key=lambda r: r.created_at)
    since = min(a.answered_at for a in assignments if a.answered_at is not None)
    text = report_text(client_id, since, lines, ordered, language,
                       lambda m: desk.title(m, language))
    moods, giving, alone = series(ordered)
    png, pdf = await asyncio.to_thread(
        lambda: (chart_png(moods, giving, alone, language, about_client=True),
                 report_pdf(text, moods, giving, alone, language)))
    return Built([
        ("sendMessage", {"text": text}),
        ("sendPhoto", {"caption": say("report_chart", language),
                       "photo": as_file(f"report-{client_id}.png", png)}),
        ("sendDocument", {"caption": say("report_pdf", language),
                          "document": as_file(f"report-{client_id}-{since:%Y%m%d}.pdf",
                                            pdf)}),
    ])

async def build_progress(desk: HomeworkDesk, user_id: int, language_code: str | None) -> Built:
    """The person's own history: a summary, a chart, saved results newest first; or
    what would appear here and how to turn saving on."""
    async with desk.store.transaction(user_id) as tx:
        user = await tx.load_user()
    language = desk.language_for(user, language_code)
    records = await desk.store.records(user_id)
    moods, giving, alone = series(records)
    kept = [r for r in reversed(records) if r.kind in READ_AGAIN]
    if not moods and not giving and not kept:
        saving = user is not None and bool(user.consent.get("store_answers"))
        key = "progress_empty" if saving else "progress_off"
        return Built([("sendMessage", {"text": say(key, language)})])
    since = min(r.created_at for r in records)
    summary = [say("progress_intro", language, since=f"{since:%d/%m/%Y}")]
    if moods:
        values = [int(v) for _, v in moods]
        if min(values) == max(values):  # one check-in, or all alike: no range to give
            summary.append(say("progress_mood_same", language, count=len(values),
                               last=values[-1]))
        else:
            summary.append(say("progress_moods", language, count=len(values),
                               low=min(values), high=max(values), last=values[-1]))
    if giving:
        summary.append(say("progress_balance", language, count=len(giving)))
    calls: list[tuple[str, dict[str, Any]]] = [("sendMessage",
                                                {"text": "\n".join(summary)})]
    if moods or giving:
        png = await asyncio.to_thread(chart_png, moods, giving, alone, language)
        calls.append(("sendPhoto", {"caption": say("progress_chart", language),
                                    "photo": as_file("progress.png", png)}))
    if not kept:
        calls.append(("sendMessage", {"text": say("progress_none_saved", language)}))
        return Built(calls)
    items = [say("progress_saved", language)]
    for record in kept[:SHOWN]:
        heading, lines = saved_lines(record.kind, dict(record.data), desk.compiled(),
                                     language)
        items.append(f"{heading} · {record.created_at:%d/%m/%Y}\n" + "\n".join(lines))
    if len(kept) > SHOWN:
        items.append(say("progress_more", language, count=len(kept) - SHOWN))
    calls.append(("sendMessage", {"text": "\n\n".join(items)[:_MAX_TEXT]}))
    return Built(calls)

