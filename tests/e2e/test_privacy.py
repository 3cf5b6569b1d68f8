"""Privacy as a person meets it, through the fake Telegram, on SQLite and PostgreSQL.

- Without consent, words typed through the whole programme are gone from every column of
  every table (sealed values opened) once the replies are sent.
- /export sends two documents that read well, in English and in Spanish.
- /delete: a stale or superseded confirmation does nothing; the newest erases every row
  that mentions the person; a redelivered press changes nothing; /export then says
  nothing is stored, and /start greets them as someone new.
- Changing consent from yes to no erases the saved answers, after confirming.
- A 500 on an /export document or on the /delete "Done" edit is retried: nothing is lost.

The real programme's bots (``programme_bot``: polling, SQLite; ``programme_webhook_bot``:
webhook, PostgreSQL) are shared with test_programme.py; every test has its own people.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fakegram import FakeTelegram

from bot.cli.folders import compiled_or_exit

from . import programme
from .conftest import next_user_id
from .harness import PROGRAMME, BotProcess, Database, Person, wait_until
from .walk import plan, play

MENU = programme.MENU
BACKENDS = {
    "sqlite": ("programme_fake", "programme_bot"),
    "postgres": ("programme_webhook_fake", "programme_webhook_bot"),
}
#: Where to keep copies of the export documents for a person to read (optional).
KEEP_EXPORTS = os.environ.get("RELBOT_KEEP_EXPORTS")


@pytest.fixture(params=sorted(BACKENDS))
def programme_on(request: pytest.FixtureRequest) -> tuple[FakeTelegram, Database]:
    fake_name, bot_name = BACKENDS[request.param]
    fake: FakeTelegram = request.getfixturevalue(fake_name)
    bot: BotProcess = request.getfixturevalue(bot_name)
    return fake, Database(bot.database_url)


# ---- reading the whole database behind the bot's back -----------------------------------------
def every_value(db: Database) -> list[tuple[str, str, Any, str]]:
    """(table, column, user_id, text) of every non-null value of every table in the bot's
    database, sealed values opened with the bot's key."""
    if db.url.startswith("sqlite:///"):
        tables = [r[0] for r in db.query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    else:
        tables = [r[0] for r in db.query(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema()")]
    found = []
    for table in tables:
        if db.url.startswith("sqlite:///"):
            columns = [r[1] for r in db.query(f'PRAGMA table_info("{table}")')]
        else:
            columns = [r[0] for r in db.query(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = ?", table)]
        select = ", ".join(f'CAST("{c}" AS TEXT)' for c in columns)
        for row in db.query(f'SELECT {select} FROM "{table}"'):
            values = dict(zip(columns, row, strict=True))
            for column, value in values.items():
                if value is None:
                    continue
                text = str(value)
                if text.startswith("rb1."):
                    text = db.opened(table, column, int(values["user_id"]), text) or ""
                found.append((table, column, values.get("user_id"), text))
    return found


def no_pending(db: Database, user_ids: list[int]) -> bool:
    marks = ", ".join("?" for _ in user_ids)
    rows = db.query(
        f"SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND user_id IN ({marks})",
        *user_ids)
    return rows[0][0] == 0


# ---- nothing kept without consent -----------------------------------------------------------
WALKS = {  # module button -> the word typed at its free-text questions
    "Balance check-in": "Quillbalance",
    # Noticing hands off to the boundary script, and the script to the rehearsal,
    # which quotes it back: the whole chain, with the hand-offs carrying the text.
    "Noticing a pattern": "Quillnoticing",
    "I-statement builder": "Quillistatement",
    "Trust and healthy dependence": "Quilltrust",
    "Interindependence map": "Quillmap",
    "Steady from within": "Quillsteady",
    "Daily check-in": "Quilldaily",
    "About this bot": "Quillabout",
    "If you're not safe right now": "Quillsafety",
}


def test_nothing_typed_without_consent_survives_the_programme(
    programme_on: tuple[FakeTelegram, Database],
) -> None:
    fake, db = programme_on
    compiled = compiled_or_exit(PROGRAMME)
    walks = {label: plan(compiled, label, word) for label, word in WALKS.items()}
    assert sum(len(w.typed) for w in walks.values()) >= 30  # typed at every text question
    people = {label: Person(fake, next_user_id()) for label in walks}
    with ThreadPoolExecutor(max_workers=len(walks)) as pool:
        for future in [pool.submit(play, people[label], walk) for label, walk in walks.items()]:
            future.result(timeout=600)
    # The script built from what was typed (the boundary-script step, then the rehearsal
    # opening with it) carried the text across both hand-offs ...
    noticing = people["Noticing a pattern"]
    assert sum(t.startswith("Quillnoticing") for t in noticing.texts()) >= 2, noticing.texts()
    # ... and once the replies are out, no column of any table holds any typed word.
    ids = [p.id for p in people.values()]
    wait_until(lambda: no_pending(db, ids), what="every reply sent")
    leaks = [(t, c) for t, c, _, text in every_value(db) if "Quill" in text]
    assert leaks == []
    for label, person in people.items():  # still known, at the menu, in English
        user = db.user(person.id)
        assert user is not None and user["language"] == "en"
        if label != "About this bot":  # that walk replays the welcome and says yes
            assert json.loads(user["consent"]) == {"adult": True, "store_answers": False}


# ---- /export ----------------------------------------------------------------------------------
def _documents(person: Person, *captions: str) -> tuple[str, dict[str, Any]]:
    text_doc, json_doc = person.expect(*captions)
    assert text_doc.file is not None and json_doc.file is not None
    assert text_doc.file.filename.endswith(".txt") and json_doc.file.filename.endswith(".json")
    readable = (text_doc.file.content or b"").decode("utf-8")
    data = json.loads(json_doc.file.content or b"")
    if KEEP_EXPORTS:
        folder = Path(KEEP_EXPORTS)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{person.language_code}-{text_doc.file.filename}").write_text(readable)
        (folder / f"{person.language_code}-{json_doc.file.filename}").write_bytes(
            json_doc.file.content or b"")
    return readable, data


def test_export_reads_well_in_english(programme_fake: FakeTelegram, programme_bot: BotProcess,
                                      ) -> None:
    db = Database(programme_bot.database_url)
    ana = Person(programme_fake, next_user_id())
    programme.daily_checkin_by_buttons(ana, db, store=True)
    ana.command("export")
    readable, data = _documents(ana, "Everything I have stored about you, to read.",
                                "The same, as a JSON file for other apps.")
    for words in ("Your relbot data\n================", "Language: English",
                  "Confirmed 18 or older: yes", "Keep my answers: yes",
                  "No exercise in progress.", "Saved answers", "Daily check-in, 20",
                  "Mood (0-10): 8", "A boundary moment: Yes, and I held it",
                  "Did something for yourself: no"):
        assert words in readable, (words, readable)
    assert "Note:" not in readable  # an empty answer is not shown
    assert data["language"] == "en" and data["unreadable_saved"] == 0
    assert [(s["kind"], s["title"]) for s in data["saved"]] == [
        ("daily_checkin", "Daily check-in")]
    assert data["saved"][0]["answers"]["boundary_moment"] == "held"
    # The documents' bytes left the outbox once Telegram had them.
    wait_until(lambda: no_pending(db, [ana.id]), what="the documents sent")
    rows = db.query("SELECT method, params FROM outbox WHERE user_id = ?", ana.id)
    assert [p for m, p in rows if m == "sendDocument"] == ["{}", "{}"]


def test_export_reads_well_in_spanish(programme_fake: FakeTelegram, programme_bot: BotProcess,
                                      ) -> None:
    db = Database(programme_bot.database_url)
    bea = Person(programme_fake, next_user_id(), "es")
    programme.daily_checkin_by_typing_in_spanish(bea, db)
    bea.command("export")
    readable, data = _documents(bea, "Todo lo que tengo guardado sobre ti, para leer.",
                                "Lo mismo, en un archivo JSON para otras aplicaciones.")
    for words in ("Tus datos de relbot", "Idioma: Español", "Guardar mis respuestas: sí",
                  "Respuestas guardadas", "Registro diario, 20", "Ánimo (0-10): 3",
                  "Un momento con un límite: Sí, alguien lo cruzó",
                  "Nota: Le dije a mi jefe que el viernes no me quedo.",
                  "Lo que hiciste por ti: Un paseo al mediodía"):
        assert words in readable, (words, readable)
    assert "Mood" not in readable and "Saved" not in readable
    assert data["language"] == "es"
    assert data["saved"][0]["title"] == "Registro diario"


def test_a_500_on_an_export_file_is_retried_and_both_documents_arrive(
    programme_fake: FakeTelegram, programme_bot: BotProcess
) -> None:
    """Files go through the outbox like every reply: one refused upload is sent again."""
    db = Database(programme_bot.database_url)
    ana = Person(programme_fake, next_user_id())
    programme.daily_checkin_by_buttons(ana, db, store=True)
    programme_fake.fail_next("sendDocument", 500, count=1, chat_id=ana.id)
    ana.command("export")
    readable, data = _documents(ana, "Everything I have stored about you, to read.",
                                "The same, as a JSON file for other apps.")
    assert "Daily check-in" in readable and data["language"] == "en"
    wait_until(lambda: no_pending(db, [ana.id]), what="the documents sent")
    statuses = [r[0] for r in db.query("SELECT status FROM outbox WHERE user_id = ?", ana.id)]
    assert "dead" not in statuses
    sends = [c.status for c in programme_fake.calls("sendDocument")
             if c.params.get("chat_id") == ana.id]
    assert sends == [500, 200, 200]  # refused once, then both delivered


# ---- /delete ----------------------------------------------------------------------------------
def test_only_the_newest_delete_confirmation_erases_and_then_nothing_mentions_them(
    programme_on: tuple[FakeTelegram, Database],
) -> None:
    fake, db = programme_on
    ana = Person(fake, next_user_id())
    programme.daily_checkin_by_buttons(ana, db, store=True)
    assert db.count("records", ana.id) == 1

    ana.command("delete")
    (older,) = ana.expect("This erases everything I have stored about you, for good.")
    ana.command("delete")
    (newest,) = ana.expect("This erases everything")
    stale = fake.press(ana.id, older.message_id, button_text="Yes, delete everything")
    assert ana.answer_to(stale).text.startswith("That confirmation is no longer valid")
    ana.expect_nothing_more()
    assert db.count("records", ana.id) == 1 and db.user(ana.id) is not None

    press = fake.press(ana.id, newest.message_id, button_text="Yes, delete everything")
    fake.wait_for(lambda: (fake.message(ana.id, newest.message_id).text or "").startswith(
        "Done. Everything I had stored about you is gone."), what="done")
    wait_until(lambda: not any(db.rows_about(ana.id).values()), what="every row erased")
    mentions = [(t, c) for t, c, _, text in every_value(db) if str(ana.id) in text]
    assert mentions == []

    if db.url.startswith("sqlite"):  # (the webhook fake is shared with a test that
        fake.redeliver(press)  # counts deliveries) Telegram delivers it again: no effect
    ana.command("export")
    ana.expect("I have nothing stored about you.")
    ana.command("start")  # a new person: the whole welcome, not "welcome back"
    ana.expect("Hi, I'm relbot. Which language would you like?")
    assert db.count("records", ana.id) == 0


def test_a_500_on_the_delete_confirmation_edit_still_tells_them_it_is_done(
    programme_fake: FakeTelegram, programme_bot: BotProcess
) -> None:
    db = Database(programme_bot.database_url)
    ana = Person(programme_fake, next_user_id())
    programme.daily_checkin_by_buttons(ana, db, store=True)
    ana.command("delete")
    (confirm,) = ana.expect("This erases everything")
    programme_fake.fail_next("editMessageText", 500, count=1, chat_id=ana.id)
    programme_fake.press(ana.id, confirm.message_id, button_text="Yes, delete everything")
    programme_fake.wait_for(lambda: (programme_fake.message(ana.id, confirm.message_id).text
                                     or "").startswith("Done. Everything I had stored about you"),
                            what="the confirmation edited to done, after one refusal")
    edits = [c.status for c in programme_fake.calls("editMessageText")
             if c.params.get("chat_id") == ana.id]
    assert edits[-2:] == [500, 200]
    wait_until(lambda: not any(db.rows_about(ana.id).values()), what="every row erased")


def test_a_delete_confirmation_kept_is_used_up(
    programme_fake: FakeTelegram, programme_bot: BotProcess
) -> None:
    db = Database(programme_bot.database_url)
    ana = Person(programme_fake, next_user_id())
    programme.welcome_by_buttons(ana, store=False)
    ana.command("delete")
    (confirm,) = ana.expect("This erases everything")
    ana.press("No, keep it")
    programme_fake.wait_for(lambda: programme_fake.message(ana.id, confirm.message_id).text
                            == "Okay, nothing was deleted.", what="kept")
    late = programme_fake.press_raw(ana.id, confirm.message_id,
                                    confirm.callback_data[0])  # the yes, pressed late
    assert ana.answer_to(late).text.startswith("That confirmation is no longer valid")
    assert db.user(ana.id) is not None


# ---- consent from yes to no -------------------------------------------------------------------
def test_changing_consent_to_no_erases_saved_answers_after_confirming(
    programme_fake: FakeTelegram, programme_bot: BotProcess
) -> None:
    db = Database(programme_bot.database_url)
    ana = Person(programme_fake, next_user_id())
    programme.daily_checkin_by_buttons(ana, db, store=True)
    ana.press("About this bot")
    ana.expect("Hi, I'm relbot. Which language would you like?")
    ana.press("English")
    ana.expect("I'm an automated bot", "I'm not therapy")
    ana.press("Okay, go on")
    ana.expect("Are you 18 or older?")
    ana.press("Yes, I'm 18+")
    ana.expect("Last thing", "If you say yes", "If you say no", "So, may I store your answers?")
    ana.press("No, don't store them")
    ana.expect("You said yes before, so I may have kept some of your answers.")
    assert db.count("records", ana.id) == 1  # nothing erased before the confirmation
    ana.press("Yes, erase them")
    ana.expect("Done: what I had kept is erased", MENU)
    assert db.records(ana.id) == []
    user = db.user(ana.id)
    assert user is not None
    assert json.loads(user["consent"]) == {"adult": True, "store_answers": False}
