"""The /export documents, built from a real snapshot, read in both languages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from bot.cli.folders import compiled_or_exit
from bot.core.compile import CompiledBundle
from bot.homework.schedule import QuietHours, Schedule
from bot.privacy.export import build_export, labels
from bot.storage import Record, Snapshot, UserRecord
from bot.storage.homework import Assignment, Done, HomeworkSnapshot, Reminder, Therapist

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def programme() -> CompiledBundle:
    return compiled_or_exit(ROOT / "dialogues")


def _snapshot(language: str) -> Snapshot:
    session = json.dumps({"s": [["dear_man", "express"]], "n": 7, "v": {
        "language": language, "adult": True, "store_answers": True,
        "dm_who": "parent", "dm_describe": "Mum reads my diary", "welcomed": True}})
    user = UserRecord(1, 1, language=language, session=session,
                      consent={"adult": True, "store_answers": True},
                      created_at=datetime(2026, 1, 5, 18, 0, tzinfo=UTC), updated_at=NOW)
    script = Record(1, 1, "boundary_script", {
        "dm_who": "partner", "dm_describe": "You read my messages twice this week.",
        "dm_express": "I felt watched.", "dm_assert": "Please ask me first.",
        "dm_reinforce": "", "dm_mindful": "", "dm_confident": "", "dm_give": "",
        "dm_hold": ""}, datetime(2026, 2, 14, 20, 5, tzinfo=UTC))
    return Snapshot(user, [script], 1)


def test_the_readable_document_in_english(programme: CompiledBundle) -> None:
    files = build_export(_snapshot("en"), programme, "en", NOW)
    text = files.text.decode()
    assert files.text_name == "relbot-my-data-2026-03-01.txt"
    for line in ("Your relbot data", "Exported: 2026-03-01 09:30", "Language: English",
                 "First message: 2026-01-05 18:00", "Where you are now",
                 "  Boundary script builder", "Who it is with: A parent",
                 "Describe: Mum reads my diary", "  Boundary script, 2026-02-14 20:05",
                 "Who it is with: My partner", "Describe: You read my messages twice this week.",
                 "Ask: Please ask me first.",
                 "1 saved item(s) could not be read: they were encrypted with a key"):
        assert line in text, (line, text)
    assert "welcomed" not in text and "Reinforce" not in text  # bookkeeping, empty answers


def test_the_readable_document_in_spanish(programme: CompiledBundle) -> None:
    text = build_export(_snapshot("es"), programme, "es", NOW).text.decode()
    for line in ("Tus datos de relbot", "Idioma: Español", "Guardar mis respuestas: sí",
                 "Guion para poner un límite", "Con quién es: Mi madre o mi padre",
                 "Describir: Mum reads my diary", "Con quién es: Mi pareja",
                 "Pedir: Please ask me first.", "No se pudieron leer 1"):
        assert line in text, (line, text)
    assert "Who it is with" not in text


def test_the_json_document_has_the_documented_shape(programme: CompiledBundle) -> None:
    data = json.loads(build_export(_snapshot("es"), programme, "es", NOW).json)
    assert set(data) == {"format", "version", "exported_at", "language", "settings",
                         "in_progress", "saved", "unreadable_saved", "homework"}
    assert data["homework"] is None  # no homework: null, not empty lists
    assert (data["format"], data["version"], data["language"]) == ("relbot-export", 1, "es")
    assert data["settings"] == {"language": "es",
                                "consent": {"adult": True, "store_answers": True},
                                "first_seen": "2026-01-05T18:00:00.000000+00:00",
                                "last_active": "2026-03-01T09:30:00.000000+00:00"}
    assert data["in_progress"]["module"] == "dear_man"
    assert data["in_progress"]["values"]["dm_describe"] == "Mum reads my diary"
    [saved] = data["saved"]
    assert (saved["kind"], saved["title"]) == ("boundary_script", "Guion para poner un límite")
    assert saved["saved_at"] == "2026-02-14T20:05:00.000000+00:00"
    assert saved["answers"]["dm_assert"] == "Please ask me first."
    assert data["unreadable_saved"] == 1


def test_every_saved_field_and_kind_has_words_in_every_language(
    programme: CompiledBundle,
) -> None:
    words = labels()
    for dialogue in programme.dialogues.values():
        for state in dialogue.states.values():
            save = state.source.save
            if save is None:
                continue
            assert save.kind in words["kinds"], save.kind
            for field in save.fields:
                assert field in words["fields"], (save.kind, field)
    for section in words.values():
        for key, variants in section.items():
            assert set(programme.config.languages) <= set(variants), key


def test_nobody_known_exports_nothing_but_settings(programme: CompiledBundle) -> None:
    user = UserRecord(2, 2, language="en", created_at=NOW, updated_at=NOW)
    text = build_export(Snapshot(user, [], 0), programme, "en", NOW).text.decode()
    assert "No exercise in progress." in text and "Nothing saved." in text


def _homework() -> HomeworkSnapshot:
    plan = Schedule("daily", time(20, 0), date(2026, 2, 20), "Europe/Madrid", 7)
    offer = Assignment(4, 9, 1, ("daily_checkin", "dear_man"), plan, "Try it after dinner",
                       "accepted", {"free_text": True, "scripts": False},
                       datetime(2026, 2, 19, 10, tzinfo=UTC), datetime(2026, 2, 19, 11, tzinfo=UTC),
                       None)
    made = Assignment(5, 1, None, ("steady",), plan, "For Monday", "offered", {},
                      datetime(2026, 2, 25, tzinfo=UTC), None, None)
    return HomeworkSnapshot(
        [(offer, [Done(4, "daily_checkin", datetime(2026, 2, 21, 19, 5, tzinfo=UTC))])],
        [Reminder(1, 1, 4, plan, QuietHours(), datetime(2026, 3, 1, 19, tzinfo=UTC))],
        Therapist(1, "Dr Ana", datetime(2026, 2, 1, tzinfo=UTC), None, True), [made])


@pytest.mark.parametrize(("language", "lines"), [
    ("en", ["Homework\n--------", "  Daily check-in, Boundary script builder\n"
            "    Status: accepted\n    When: Every day for 7 days, 20:00 (Europe/Madrid)",
            "Note from the therapist: Try it after dinner",
            "Shared with the therapist: the modules you finished; your ratings; what you wrote",
            "Finished: Daily check-in, 2026-02-21 19:05", "  Reminders\n",
            "You are a therapist on relbot, as Dr Ana", "Assignment not opened by anyone yet",
            "  Steady from within\n    Status: offered, not answered yet",
            "Your note: For Monday"]),
    ("es", ["Tareas\n------", "  Registro diario, Guion para poner un límite\n"
            "    Estado: aceptada\n    Cuándo: cada día durante 7 días, 20:00 (Europe/Madrid)",
            "Nota de tu terapeuta: Try it after dinner",
            "Compartido con tu terapeuta: los módulos que terminaste; tus valoraciones; "
            "lo que escribiste", "Terminado: Registro diario, 2026-02-21 19:05",
            "  Recordatorios\n", "Eres terapeuta en relbot, con el nombre Dr Ana",
            "Tarea que nadie ha abierto todavía", "Estado: ofrecida, sin responder todavía",
            "Tu nota: For Monday"]),
])
def test_homework_is_in_both_documents(programme: CompiledBundle, language: str,
                                       lines: list[str]) -> None:
    files = build_export(_snapshot(language), programme, language, NOW, _homework())
    text = files.text.decode()
    for line in lines:
        assert line in text, (line, text)
    data = json.loads(files.json)["homework"]
    [mine] = data["assigned_to_you"]
    assert (mine["status"], mine["note"], mine["done"][0]["module"]) == (
        "accepted", "Try it after dinner", "daily_checkin")
    assert data["reminders"][0]["next_at"] == "2026-03-01T19:00:00.000000+00:00"
    assert data["as_therapist"]["assignments_made"][0]["client"] is None
