"""The two /export documents: a readable text in the person's language, and JSON.

Why this module exists: a person asking "what do you have about me?" deserves an answer
they can read, not a dump of internal tables. Both documents come from one opened
`Snapshot` (settings, the exercise in progress, saved results), so they always agree.
The JSON shape is documented in docs/export-format.md and versioned (`version`): add
keys, never rename or remove them without a new version.

Homework (`HomeworkSnapshot`) is in both documents too: the offers a therapist made to
the person and what they finished of each, their reminders, and, for a therapist, their
account and the assignments they made. A client's name is never in a therapist's file
(only a number): it is the client's data, not theirs.

Words come from `export_labels.yaml` beside this file; a coded answer ("held") is shown
with the label of the button that chose it, looked up in the compiled dialogues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.core.compile import CompiledBundle
from bot.core.types import Session
from bot.homework.report import schedule_words
from bot.homework.schedule import Schedule, ScheduleError
from bot.storage import JSONValue, Snapshot
from bot.storage.homework import Assignment, HomeworkSnapshot, Reminder
from bot.storage.models import format_ts

__all__ = ["EXPORT_VERSION", "ExportFiles", "build_export", "export_json", "export_text",
           "saved_lines"]

EXPORT_VERSION = 1
_LABELS = Path(__file__).with_name("export_labels.yaml")
_FLAGS = ("adult", "store_answers")  # the consent flags shown under Settings


@cache
def labels() -> dict[str, dict[str, dict[str, str]]]:
    data: dict[str, dict[str, dict[str, str]]] = yaml.safe_load(
        _LABELS.read_text(encoding="utf-8"))
    return data


def _word(section: str, key: str, language: str, fallback: str | None = None) -> str:
    entry = labels()[section].get(key)
    if entry is None:
        return fallback if fallback is not None else key
    return entry.get(language) or entry.get("en") or key


@dataclass(frozen=True, slots=True)
class ExportFiles:
    """The two documents, ready to send (file name, bytes)."""

    text_name: str
    text: bytes
    json_name: str
    json: bytes


def _stamp(value: datetime | None) -> str | None:
    return format_ts(value) if value is not None else None


def _plain(value: Any) -> JSONValue:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _assignment(a: Assignment) -> dict[str, JSONValue]:
    return {"modules": list(a.modules), "status": a.status, "note": a.note,
            "schedule": _plain(a.schedule.to_json()), "sharing": _plain(a.sharing),
            "offered_at": format_ts(a.created_at), "answered_at": _stamp(a.answered_at),
            "stopped_at": _stamp(a.revoked_at)}


def _reminder(r: Reminder) -> dict[str, JSONValue]:
    return {"schedule": _plain(r.schedule.to_json()) if r.schedule is not None else None,
            "quiet_hours": _plain(r.quiet.to_json()), "next_at": format_ts(r.due_at),
            "for_homework": r.assignment_id is not None}


def homework_json(homework: HomeworkSnapshot | None) -> JSONValue:
    """The `homework` key: null when the person has none (docs/export-format.md)."""
    if homework is None or homework.empty:
        return None
    therapist = homework.therapist
    return {
        "assigned_to_you": [{**_assignment(a), "done": [
            {"module": d.module, "done_at": format_ts(d.done_at)} for d in done]}
            for a, done in homework.assigned],
        "reminders": [_reminder(r) for r in homework.reminders],
        "as_therapist": None if therapist is None else {
            "name": therapist.name, "since": format_ts(therapist.created_at),
            "stopped_at": _stamp(therapist.revoked_at),
            "told_when_done": therapist.notify_done,
            "assignments_made": [{**_assignment(a), "client": a.client_id}
                                 for a in homework.made]},
    }


def export_json(snapshot: Snapshot, compiled: CompiledBundle, language: str,
                now: datetime, homework: HomeworkSnapshot | None = None
                ) -> dict[str, JSONValue]:
    """The documented JSON shape (docs/export-format.md), decrypted, in plain values."""
    user = snapshot.user
    consent = dict(user.consent) if user is not None else {}
    session = Session.from_json(user.session if user is not None else None)
    in_progress: JSONValue = None
    values = {k: _plain(v) for k, v in session.vars.items() if k not in compiled.builtins}
    if session.module is not None or values:
        in_progress = {"module": session.module, "values": values}
    return {
        "format": "relbot-export",
        "version": EXPORT_VERSION,
        "exported_at": format_ts(now),
        "language": language,
        "settings": {
            "language": user.language if user is not None else None,
            "consent": {name: bool(granted) for name, granted in consent.items()},
            "first_seen": _stamp(user.created_at) if user is not None else None,
            "last_active": _stamp(user.updated_at) if user is not None else None,
        },
        "in_progress": in_progress,
        "saved": [
            {"kind": r.kind, "title": _word("kinds", r.kind, language),
             "saved_at": format_ts(r.created_at), "answers": _plain(r.data)}
            for r in snapshot.records
        ],
        "unreadable_saved": snapshot.unreadable_records,
        "homework": homework_json(homework),
    }


def _choice_labels(compiled: CompiledBundle, language: str) -> dict[tuple[str, str], str]:
    """(variable, coded value) -> the label of a button that sets it."""
    found: dict[tuple[str, str], str] = {}
    for dialogue in compiled.dialogues.values():
        for state in dialogue.states.values():
            for choice in state.choices.values():
                for name, value in choice.set:
                    if isinstance(value, str):
                        key = (name, value)
                        found.setdefault(key, choice.label.render(language, {}))
    return found


def _shown(name: str, value: Any, language: str, choices: dict[tuple[str, str], str]) -> str:
    if isinstance(value, bool):
        return _word("words", "yes" if value else "no", language)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        return choices.get((name, value), value)
    return str(value)


def _answer_lines(answers: dict[str, Any], language: str,
                  choices: dict[tuple[str, str], str], *, labelled_only: bool = False) -> list[str]:
    """One line per answer; `labelled_only`: leave out the dialogue's own bookkeeping
    (unlabelled flags and counters), but never text."""
    lines = []
    for name, value in answers.items():
        if value is None or value == "" or value == []:
            continue
        known = name in labels()["fields"]
        if labelled_only and not known and not isinstance(value, str):
            continue
        label = _word("fields", name, language, fallback=name)
        lines.append(f"  {label}: {_shown(name, value, language, choices)}")
    return lines


def saved_lines(kind: str, data: dict[str, Any], compiled: CompiledBundle,
                language: str) -> tuple[str, list[str]]:
    """A saved result as /export shows it: its heading and one labelled line per answer
    (for /progress and a therapist's report, which show saved results the same way)."""
    lines = _answer_lines(data, language, _choice_labels(compiled, language),
                          labelled_only=True)
    return _word("kinds", kind, language), [line.strip() for line in lines]


def export_text(data: dict[str, Any], compiled: CompiledBundle, language: str) -> str:
    """The readable document, built from `export_json`'s output (so both agree)."""
    def w(key: str, **values: Any) -> str:
        return _word("words", key, language).format(**values)

    choices = _choice_labels(compiled, language)
    settings = data["settings"]
    out = [w("title"), "=" * len(w("title")), "", w("intro"),
           f"{w('exported_at')}: {_day(data['exported_at'])}", "", w("settings"),
           "-" * len(w("settings"))]
    if settings["language"]:
        out.append(f"  {w('language')}: {_language_name(settings['language'])}")
    for flag in _FLAGS:
        if flag in settings["consent"]:
            out.append(f"  {w(flag)}: {w('yes' if settings['consent'][flag] else 'no')}")
    for key in ("first_seen", "last_active"):
        if settings[key]:
            out.append(f"  {w(key)}: {_day(settings[key])}")
    out += ["", w("in_progress"), "-" * len(w("in_progress"))]
    progress = data["in_progress"] or {"module": None, "values": {}}
    module = progress["module"] if progress["module"] != compiled.config.menu else None
    lines = _answer_lines(progress["values"], language, choices, labelled_only=True)
    if module:
        out.append(f"  {_module_title(compiled, module, language)}")
    if lines:
        out += [f"  {w('kept_for_now')}", *("  " + line for line in lines)]
    if not module and not lines:
        out.append(f"  {w('nothing_in_progress')}")
    out += ["", w("saved"), "-" * len(w("saved"))]
    if not data["saved"]:
        out.append(f"  {w('none_saved')}")
    for item in data["saved"]:
        out += ["", f"  {item['title']}, {_day(item['saved_at'])}"]
        out += ["  " + line for line in _answer_lines(item["answers"], language, choices)]
    if data["unreadable_saved"]:
        out += ["", w("unreadable", count=data["unreadable_saved"])]
    if data.get("homework"):
        out += homework_text(data["homework"], compiled, language)
    return "\n".join(out) + "\n"


def homework_text(homework: dict[str, Any], compiled: CompiledBundle,
                  language: str) -> list[str]:
    """The homework section of the readable document (from `homework_json`'s output)."""
    def w(key: str, **values: Any) -> str:
        return _word("words", key, language).format(**values)

    def titles(modules: list[str]) -> str:
        return ", ".join(_module_title(compiled, m, language) for m in modules)

    def offer(item: dict[str, Any], note: str = "hw_note") -> list[str]:
        lines = [f"  {titles(item['modules'])}",
                 f"    {w('hw_status')}: {_word('hw_status', item['status'], language)}",
                 f"    {w('hw_when')}: {_schedule(item['schedule'], language)}",
                 f"    {w('hw_offered')}: {_day(item['offered_at'])}"]
        if item["note"]:
            lines.append(f"    {w(note)}: {item['note']}")
        ticks = [_word("hw_sharing", k, language) for k, on in item["sharing"].items() if on]
        if item["status"] == "accepted":
            lines.append(f"    {w('hw_shared')}: " + "; ".join([w("hw_shared_always"), *ticks]))
        return lines

    out = ["", w("homework"), "-" * len(w("homework"))]
    for item in homework["assigned_to_you"]:
        out += ["", *offer(item)]
        for done in item["done"]:
            out.append(f"    {w('hw_done')}: {_module_title(compiled, done['module'], language)}"
                       f", {_day(done['done_at'])}")
    if homework["reminders"]:
        out += ["", f"  {w('hw_reminders')}"]
        for reminder in homework["reminders"]:
            plan = (_schedule(reminder["schedule"], language) if reminder["schedule"]
                    else w("hw_once"))
            out.append(f"    {plan}; {w('hw_next')}: {_day(reminder['next_at'])}")
    therapist = homework["as_therapist"]
    if therapist is not None:
        out += ["", f"  {w('hw_as_therapist', name=therapist['name'])}",
                f"    {w('hw_since')}: {_day(therapist['since'])}"]
        for item in therapist["assignments_made"]:
            client = item["client"]
            who = w("hw_client", number=client) if client is not None else w("hw_no_client")
            out += ["", f"  {who}", *offer(item, "hw_your_note")]
    return out


def _module_title(compiled: CompiledBundle, module: str, language: str) -> str:
    dialogue = compiled.dialogues.get(module)
    title = dialogue.model.title.get(language) if dialogue is not None else None
    return title or module


def _schedule(data: dict[str, Any], language: str) -> str:
    """A stored schedule in the words the homework messages use (or its raw kind)."""
    try:
        words = schedule_words(Schedule.from_json(data), language)
    except ScheduleError:
        return str(data.get("kind", "?"))
    return f"{words}, {data.get('at', '')} ({data.get('tz', 'UTC')})"


def _day(stamp: str) -> str:
    """2025-01-01T12:00:00.000000+00:00 -> 2025-01-01 12:00 (UTC, unambiguous everywhere)."""
    return stamp[:10] + " " + stamp[11:16]


def _language_name(code: str) -> str:
    return {"en": "English", "es": "Español"}.get(code, code)


def build_export(snapshot: Snapshot, compiled: CompiledBundle, language: str,
                 now: datetime, homework: HomeworkSnapshot | None = None) -> ExportFiles:
    data = export_json(snapshot, compiled, language, now, homework)
    day = format_ts(now)[:10]
    text = export_text(data, compiled, language)
    body = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    return ExportFiles(f"relbot-my-data-{day}.txt", text.encode(),
                       f"relbot-my-data-{day}.json", body.encode())
