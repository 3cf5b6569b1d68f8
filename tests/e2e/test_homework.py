"""Homework through the fake Telegram: a therapist, two clients, and someone else.

What a person would notice: the operator's invite makes a therapist; /assign gives a
link; a client opening it sees who, the note, the schedule and what is shared, and
accepts (with a tick) or declines; the therapist hears "accepted" or only "not
accepted"; /clients and /report show only clients who accepted, only what they ticked,
nothing after /sharing revokes it, and nothing of another therapist's clients.  Links
that are guessed, reused or tampered with all get the same "not valid".  Real bot
process, real SQLite, the real programme.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fakegram import FakeTelegram

from bot.cli import main

from . import programme
from .conftest import next_user_id
from .harness import PROGRAMME, BotProcess, Database, Person, running

NOT_VALID = "This link is not valid."
WELCOME = "Hi, I'm relbot. Which language would you like?"
NOTE = "Try it after dinner"


@pytest.fixture(scope="module")
def hw_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as server:
        yield server


@pytest.fixture(scope="module")
def hw_bot(hw_fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[BotProcess]:
    workdir = tmp_path_factory.mktemp("homework")
    clock = workdir / "clock"  # seconds to add to the bot's clock (bot.clock.FileClock)
    admin = next_user_id()
    with running(BotProcess(hw_fake, workdir, dialogues=PROGRAMME,
                            env={"RELBOT_TEST_CLOCK_FILE": str(clock),
                                 "ADMIN_USER_IDS": f"1,{admin}"})) as process:
        process.env["ADMIN_ID"] = str(admin)  # for the tests: who may /invite
        yield process


def set_clock(bot: BotProcess, moment: datetime) -> None:
    """Make the bot's clock read ``moment`` (from now on, it runs on from there)."""
    offset = (moment - datetime.now(UTC)).total_seconds()
    (bot.workdir / "clock").write_text(f"{offset:.3f}")


def accept(client: Person, payload: str, zone: str, *, tick: str | None = None) -> int:
    """Open the link, tick, accept, pick the zone; returns the offer's message id."""
    fake = client.fake
    client.command("start", payload)
    offer, *_ = client.expect("has suggested some practice for you:", WELCOME)
    if tick is not None:
        client.press(f"☐ {tick}")
        fake.wait_for(lambda: f"☑ {tick}" in fake.message(client.id, offer.message_id)
                      .button_texts, 20, what="the tick")
    client.press("Accept")
    fake.wait_for(lambda: zone in fake.message(client.id, offer.message_id).button_texts,
                  20, what="the time zones")
    client.press(zone)
    fake.wait_for(lambda: (fake.message(client.id, offer.message_id).text or "")
                  .startswith("Accepted."), 20, what="accepted")
    return offer.message_id


def keep(name: str, content: bytes) -> None:
    """Leave a copy of a chart where a person can look at it (RELBOT_KEEP_CHARTS=folder)."""
    folder = os.environ.get("RELBOT_KEEP_CHARTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(content)


def someone(fake: FakeTelegram, language: str = "en") -> Person:
    return Person(fake, next_user_id(), language)


def invite(bot: BotProcess, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["therapist", "invite", "--name", name,
                 "--database-url", bot.database_url]) == 0
    [payload] = re.findall(r"/start (\S+)", capsys.readouterr().out)
    return payload


def become_therapist(fake: FakeTelegram, bot: BotProcess, name: str,
                     capsys: pytest.CaptureFixture[str]) -> tuple[Person, str]:
    payload = invite(bot, name, capsys)
    therapist = someone(fake)
    therapist.command("start", payload)
    therapist.expect(f"You're set up as a therapist, {name}.", WELCOME)
    return therapist, payload


def assign(therapist: Person, *modules: str, note: str = NOTE) -> str:
    therapist.send(f"/assign {note}")
    (picker,) = therapist.expect("Which exercises?")
    for module in modules:
        label = f"☐ {module}"
        therapist.press(label)
        therapist.fake.wait_for(lambda lab=label: f"☑{lab[1:]}" in
                                therapist.fake.message(therapist.id,
                                                       picker.message_id).button_texts,
                                20, what="the tick")
    therapist.press("Next")
    therapist.fake.wait_for(lambda: "Every day for 7 days" in therapist.fake.message(
        therapist.id, picker.message_id).button_texts, 20, what="the schedule buttons")
    therapist.press("Every day for 7 days")
    therapist.fake.wait_for(lambda: "20:00" in therapist.fake.message(
        therapist.id, picker.message_id).button_texts, 20, what="the time buttons")
    therapist.press("20:00")
    ready = therapist.fake.wait_for(lambda: (therapist.fake.message(
        therapist.id, picker.message_id).text or "").startswith("Ready.") and
        therapist.fake.message(therapist.id, picker.message_id), 20, what="the link")
    [payload] = re.findall(r"start=(a_\S+)", ready.text or "")
    (qr,) = therapist.expect("The same link as a QR code")
    assert qr.kind == "photo" and qr.file is not None
    assert qr.file.content.startswith(b"\x89PNG")
    return payload


def test_a_therapist_assigns_one_client_accepts_another_declines(
        hw_fake: FakeTelegram, hw_bot: BotProcess, capsys: pytest.CaptureFixture[str]) -> None:
    fake = hw_fake
    ana, _ = become_therapist(fake, hw_bot, "Dr Ana", capsys)

    payload = assign(ana, "Daily check-in")
    bea = someone(fake)
    bea.command("start", payload)
    offer, _ = bea.expect("Dr Ana has suggested some practice for you:", WELCOME)
    text = offer.text or ""
    assert "Daily check-in" in text and f"“{NOTE}”" in text
    assert "Every day for 7 days, at 20:00" in text or "Every day for 7 days at 20:00" in text
    assert "check-in ratings (numbers only)" in text
    bea.press("☐ Share my written answers")
    fake.wait_for(lambda: "☑ Share my written answers" in fake.message(
        bea.id, offer.message_id).button_texts, 20, what="the tick")
    bea.press("Accept")
    fake.wait_for(lambda: "Spain (Madrid)" in fake.message(bea.id, offer.message_id)
                  .button_texts, 20, what="the time zones")
    bea.press("Spain (Madrid)")
    fake.wait_for(lambda: (fake.message(bea.id, offer.message_id).text or "")
                  .startswith("Accepted. Your first reminder comes"), 20, what="accepted")
    assert "20:00" in (fake.message(bea.id, offer.message_id).text or "")
    ana.expect(f"Your client ({bea.id}) accepted: Daily check-in.")

    # Ana asks to hear when homework is done; the check-in (answers stored) counts, she is
    # told, and its rating is shared.
    ana.command("notify")
    ana.expect("I'll tell you each time a client finishes homework you gave them.")
    programme.daily_checkin_by_buttons(bea, Database(hw_bot.database_url), store=True)
    ana.expect(f"Your client ({bea.id}) just did: Daily check-in.")

    # The second client declines: the therapist learns only "not accepted".
    second = assign(ana, "Daily check-in", note="")
    cai = someone(fake, "es")
    cai.command("start", second)
    offer_es, _ = cai.expect("Dr Ana te ha propuesto practicar:", "Hola")
    assert "Su nota" not in (offer_es.text or "")
    cai.press("No, gracias")
    fake.wait_for(lambda: (fake.message(cai.id, offer_es.message_id).text or "")
                  .startswith("Has dicho que no."), 20, what="declined")
    (told,) = ana.expect("An assignment you offered was not accepted.")
    assert str(cai.id) not in (told.text or "")

    # /clients and /report: the one who accepted, only what she agreed to.
    ana.command("clients")
    (clients,) = ana.expect(f"Client {bea.id}: Daily check-in; times done: 1.")
    assert str(cai.id) not in (clients.text or "")
    ana.send(f"/report {bea.id}")
    report, chart, pdf = ana.expect(f"Report for client {bea.id}", "Check-ins over time",
                                    "The same report as a PDF")
    assert "Daily check-in (Every day for 7 days): done 1 of 7" in (report.text or "")
    assert "Check-in moods (0-10): " in (report.text or "") and " 8" in (report.text or "")
    assert chart.kind == "photo" and chart.file is not None and chart.file.content
    assert chart.file.content.startswith(b"\x89PNG")
    assert pdf.kind == "document" and pdf.file is not None and pdf.file.content
    assert pdf.file.content.startswith(b"%PDF") and (pdf.file.filename or "").endswith(".pdf")
    keep("report-chart.png", chart.file.content)

    # Her own history: the check-in's mood, a chart, and nothing else saved yet.
    bea.command("progress")
    summary, own_chart, _ = bea.expect("What you've saved since",
                                           "How your check-ins changed over time.",
                                           "No scripts or journal entries saved yet.")
    assert "Daily check-ins: 1. Your mood: 8." in (
        summary.text or "")
    assert own_chart.file is not None and own_chart.file.content
    keep("progress-chart.png", own_chart.file.content)
    ana.send(f"/report {cai.id}")
    ana.expect("There is nothing you can see for that client.")

    # The link is spent: reusing it, or a tampered one, says only "not valid".
    dan = someone(fake)
    dan.command("start", payload)
    dan.expect(NOT_VALID, WELCOME)
    dan.command("start", payload[:-1] + ("A" if payload[-1] != "A" else "B"))
    dan.expect(NOT_VALID)
    dan.command("start", "a_guess")
    dan.expect(NOT_VALID)

    # Another therapist sees none of Ana's clients.
    eva, _ = become_therapist(fake, hw_bot, "Dr Eva", capsys)
    eva.command("clients")
    eva.expect("No client has accepted an assignment yet.")
    eva.send(f"/report {bea.id}")
    eva.expect("There is nothing you can see for that client.")

    # Someone who kept nothing learns what /progress would show and how to keep answers.
    dan.command("progress")
    (nothing,) = dan.expect("Nothing is saved for you, so there is nothing to show yet.")
    assert "“About this bot”" in (nothing.text or "")
    cai.command("progress")
    cai.expect("No estoy guardando nada tuyo")

    # Someone who is not a therapist cannot assign or look.
    dan.command("assign")
    dan.expect("This is for therapists.")
    dan.command("clients")
    dan.expect("This is for therapists.")

    # A second assignment from Ana, scripts ticked: /sharing shows Ana once, with both.
    third = assign(ana, "Balance check-in", note="")
    bea.command("start", third)
    (offer2,) = bea.expect("Dr Ana has suggested some practice for you:")  # no welcome again
    bea.press("☐ Share my saved scripts")
    fake.wait_for(lambda: "☑ Share my saved scripts" in fake.message(
        bea.id, offer2.message_id).button_texts, 20, what="the tick")
    bea.press("Accept")
    fake.wait_for(lambda: "Spain (Madrid)" in fake.message(bea.id, offer2.message_id)
                  .button_texts, 20, what="the time zones")
    bea.press("Spain (Madrid)")
    ana.expect(f"Your client ({bea.id}) accepted: Balance check-in.")

    # /sharing shows what Ana sees and stops it at once, past data included.
    bea.command("sharing")
    (sharing,) = bea.expect("Dr Ana (Daily check-in, Balance check-in) can see:")
    assert "your written answers; your saved scripts" in (sharing.text or "")
    assert sharing.button_texts == ["Stop sharing with Dr Ana"]
    bea.press("Stop sharing with Dr Ana")
    bea.expect("Done: Dr Ana can no longer see anything of yours")
    ana.send(f"/report {bea.id}")
    ana.expect("There is nothing you can see for that client.")
    ana.command("clients")
    ana.expect("No client has accepted an assignment yet.")

    # /export holds the homework too: Bea's offers, what she did and her reminders; Ana's
    # account and what she assigned (a client only by number).
    bea.command("export")
    readable, data = export_documents(bea)
    mine = data["homework"]["assigned_to_you"]
    assert [(a["modules"], a["status"]) for a in mine] == [
        (["daily_checkin"], "revoked"), (["balance_checkin"], "revoked")]
    assert mine[0]["note"] == NOTE and [d["module"] for d in mine[0]["done"]] == [
        "daily_checkin"]
    assert data["homework"]["as_therapist"] is None
    for words in ("Homework\n--------", "  Daily check-in\n    Status: stopped",
                  f"Note from the therapist: {NOTE}", "    Finished: Daily check-in, "):
        assert words in readable, (words, readable)
    ana.command("export")
    readable, data = export_documents(ana)
    made = data["homework"]["as_therapist"]
    assert made["name"] == "Dr Ana" and len(made["assignments_made"]) == 3
    assert {a["client"] for a in made["assignments_made"]} == {bea.id, cai.id}
    assert "You are a therapist on relbot, as Dr Ana" in readable
    assert f"Assignment for client no. {bea.id}" in readable
    assert f"Your note: {NOTE}" in readable and "Status: declined" in readable


def export_documents(person: Person) -> tuple[str, dict[str, Any]]:
    """The two /export documents: the readable text and the JSON."""
    text_doc, json_doc = person.expect("Everything I have stored about you, to read.",
                                       "The same, as a JSON file for other apps.")
    assert text_doc.file is not None and json_doc.file is not None
    return (text_doc.file.content or b"").decode("utf-8"), json.loads(json_doc.file.content or b"")


def test_an_invite_works_once(hw_fake: FakeTelegram, hw_bot: BotProcess,
                              capsys: pytest.CaptureFixture[str]) -> None:
    _, payload = become_therapist(hw_fake, hw_bot, "Dr Flo", capsys)
    other = someone(hw_fake)
    other.command("start", payload)
    other.expect(NOT_VALID, WELCOME)
    other.command("assign")
    other.expect("This is for therapists.")


def test_reminders_come_at_local_time_once_across_a_restart_and_snooze(
        hw_fake: FakeTelegram, hw_bot: BotProcess, capsys: pytest.CaptureFixture[str]) -> None:
    fake, db = hw_fake, Database(hw_bot.database_url)
    ana, _ = become_therapist(fake, hw_bot, "Dr Gil", capsys)
    payload = assign(ana, "Daily check-in")
    bea = someone(fake)
    accept(bea, payload, "Mexico (CDMX)")
    ana.expect(f"Your client ({bea.id}) accepted")
    programme.welcome_by_buttons(bea, store=False)
    [(due,)] = db.query("SELECT due_at FROM reminders WHERE user_id = ?", bea.id)
    due = due if isinstance(due, datetime) else datetime.fromisoformat(due)
    local = due.astimezone(ZoneInfo("America/Mexico_City"))
    assert (local.hour, local.minute) == (20, 0)  # 20:00 where she is

    set_clock(hw_bot, due - timedelta(minutes=2))
    bea.expect_nothing_more()  # not yet
    hw_bot.stop()  # a deploy between scheduling and firing
    set_clock(hw_bot, due + timedelta(seconds=5))
    hw_bot.start()
    (reminder,) = bea.expect("Time for your practice from Dr Gil: Daily check-in.")
    assert reminder.button_texts == ["Start now: Daily check-in", "Remind me in 1 hour"]
    bea.expect_nothing_more()  # once
    [(next_due,)] = db.query("SELECT due_at FROM reminders WHERE user_id = ?", bea.id)
    next_due = next_due if isinstance(next_due, datetime) else datetime.fromisoformat(next_due)
    assert next_due - due == timedelta(days=1)

    bea.press("Remind me in 1 hour")
    fake.wait_for(lambda: (fake.message(bea.id, reminder.message_id).text or "")
                  .startswith("Okay, I'll remind you again in an hour."), 20, what="snoozed")
    set_clock(hw_bot, due + timedelta(minutes=50))
    bea.expect_nothing_more()
    set_clock(hw_bot, due + timedelta(hours=1, minutes=1))
    bea.expect("Time for your practice from Dr Gil")
    bea.press("Start now: Daily check-in")
    bea.expect("Quick check-in, under a minute.", "From 0 to 10, how is your mood today?")

    # Revoked: the next day's reminder does not come.
    bea.command("sharing")
    bea.expect("Dr Gil (Daily check-in) can see:")
    bea.press("Stop sharing with Dr Gil")
    bea.expect("Done: Dr Gil can no longer see anything of yours")
    set_clock(hw_bot, next_due + timedelta(minutes=1))
    bea.expect_nothing_more()
    assert db.query("SELECT COUNT(*) FROM reminders WHERE user_id = ?", bea.id) == [(0,)]


def test_a_personal_daily_reminder_can_be_set_changed_and_stopped(
        hw_fake: FakeTelegram, hw_bot: BotProcess) -> None:
    fake, db = hw_fake, Database(hw_bot.database_url)
    eli = someone(fake, "es")
    eli.command("reminders")
    (menu,) = eli.expect("No tienes recordatorios personales.")
    assert "Cada día a las 20:00" in menu.button_texts
    eli.press("Cada día a las 20:00")
    fake.wait_for(lambda: "España (Madrid)" in fake.message(eli.id, menu.message_id)
                  .button_texts, 20, what="the zones")
    eli.press("España (Madrid)")
    fake.wait_for(lambda: (fake.message(eli.id, menu.message_id).text or "")
                  .startswith("Hecho: te lo recordaré cada día a las 20:00"), 20, what="set")
    [(due,)] = db.query("SELECT due_at FROM reminders WHERE user_id = ?", eli.id)
    due = due if isinstance(due, datetime) else datetime.fromisoformat(due)
    assert due.astimezone(ZoneInfo("Europe/Madrid")).hour == 20

    eli.command("reminders")
    (listing,) = eli.expect("Un recordatorio para tu registro diario cada día a las 20:00")
    eli.press("Cada día a las 08:00")  # change: replaces the 20:00 one
    fake.wait_for(lambda: "España (Madrid)" in fake.message(eli.id, listing.message_id)
                  .button_texts, 20, what="the zones")
    eli.press("España (Madrid)")
    fake.wait_for(lambda: (fake.message(eli.id, listing.message_id).text or "")
                  .startswith("Hecho: te lo recordaré cada día a las 08:00"), 20, what="changed")
    [(due,)] = db.query("SELECT due_at FROM reminders WHERE user_id = ?", eli.id)
    due = due if isinstance(due, datetime) else datetime.fromisoformat(due)
    set_clock(hw_bot, due + timedelta(seconds=5))
    (reminder,) = eli.expect("Es hora de tu registro diario.")
    assert reminder.button_texts == ["Empezar ahora: Registro diario", "Recuérdamelo en 1 hora"]

    eli.command("reminders")
    eli.expect("Un recordatorio para tu registro diario cada día a las 08:00")
    eli.press("Desactivar mis recordatorios")
    fake.wait_for(lambda: any((m.text or "").startswith("Hecho: ya no te enviaré recordatorios")
                              for m in eli.messages()), 20, what="stopped")
    assert db.query("SELECT COUNT(*) FROM reminders WHERE user_id = ?", eli.id) == [(0,)]


def test_an_operator_invites_a_therapist_from_telegram(
        hw_fake: FakeTelegram, hw_bot: BotProcess) -> None:
    admin = Person(hw_fake, int(hw_bot.env["ADMIN_ID"]))
    admin.command("invite")
    admin.expect("Send /invite followed by the therapist's name")
    admin.send("/invite Dr Hal")
    (ready,) = admin.expect("A one-time therapist invite for Dr Hal, valid for 14 days.")
    [payload] = re.findall(r"start=(t_\S+)", ready.text or "")
    hal = someone(hw_fake)
    hal.command("start", payload)
    hal.expect("You're set up as a therapist, Dr Hal.", WELCOME)
    hal.command("clients")
    hal.expect("No client has accepted an assignment yet.")
    hal.send("/invite Someone Else")  # a therapist is not an operator
    hal.expect("Only the people who run this bot can invite therapists.")


def test_a_link_opened_by_someone_new_survives_the_welcome(
        hw_fake: FakeTelegram, hw_bot: BotProcess, capsys: pytest.CaptureFixture[str]) -> None:
    fake = hw_fake
    ivo, _ = become_therapist(fake, hw_bot, "Dr Ivo", capsys)
    payload = assign(ivo, "Daily check-in")
    jan = someone(fake)
    jan.command("start", payload)
    jan.expect("Dr Ivo has suggested some practice for you:", WELCOME)
    programme.welcome_by_buttons(jan, store=True)  # language, age, consent first
    (again,) = jan.expect("Dr Ivo has suggested some practice for you:")  # then the offer
    assert again.button_texts[-2:] == ["Accept", "No, thanks"]
    jan.press("Accept")
    fake.wait_for(lambda: "Spain (Madrid)" in fake.message(jan.id, again.message_id)
                  .button_texts, 20, what="the time zones")
    jan.press("Spain (Madrid)")
    fake.wait_for(lambda: (fake.message(jan.id, again.message_id).text or "")
                  .startswith("Accepted."), 20, what="accepted")
    ivo.expect(f"Your client ({jan.id}) accepted")
