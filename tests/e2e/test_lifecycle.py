"""The bot process itself: crashes, graceful shutdown, restarts that remember, startup
checks, and logs that keep secrets.

Each test here starts its own ``relbot run`` (and its own fake Telegram) because it kills,
stops or restarts it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .harness import EXAMPLES, BotProcess, Database, Person, running, wait_until


@pytest.fixture
def own_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as server:
        yield server


def in_flight(fake: FakeTelegram, text: str) -> bool:
    """A sendMessage with this text has reached Telegram and is not answered yet."""
    return any(
        c.finished is None and text in str(c.params.get("text")) for c in fake.calls("sendMessage")
    )


def test_crash_mid_send_loses_nothing_and_doubles_only_the_send_in_flight(
    own_fake: FakeTelegram, tmp_path: Path
) -> None:
    """Telegram applied the reply but the bot died before the answer came back: the bot
    cannot know, so it sends it again after the restart. That one message is the only
    double, and nothing is lost (the README states this window)."""
    fake = own_fake
    bot = BotProcess(fake, tmp_path)
    ana = Person(fake, next_user_id())
    with running(bot):
        ana.command("start")
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
        ana.press("English")
        ana.expect("What should I call you?")
        ana.send("Ana")
        ana.expect("Thanks, Ana. From 0 to 10")
        ana.send("8")
        ana.expect("How many hours did you sleep?")
        ana.send("7.5")
        ana.expect("Do you feel rested?")

        # The reply to "yes" is committed to the outbox; Telegram applies its send but
        # answers late...
        fake.stall("sendMessage", 1.5)
        ana.send("yes")
        fake.wait_for(lambda: in_flight(fake, "Pick a path"), what="the reply in flight")
        bot.kill()  # ...and the process dies before the answer.
        fake.wait_for(fake.stalls, what="the stalled call to end")
        assert [(s.applied, s.answered) for s in fake.stalls()] == [(True, False)]
        assert len(ana.messages()) == 7  # it reached the chat

        bot.start()  # same database: the unconfirmed reply is sent again
        (_, question) = ana.expect("Pick a path, or type your own.", "Pick a path")
        assert question.button_texts == ["A walk", "A pause first"]
        ana.press("A walk")
        ana.expect(
            "You picked a walk.", "Plenty of energy, Ana.", "That's the tour. Again or finish?"
        )
        ana.expect_chosen(question.message_id, "A walk")
        ana.expect_nothing_more()
    assert [m.text for m in ana.messages()] == [
        "Hi! This tour shows what a dialogue can do.",
        "Which language do you prefer?\n\n✓ English",
        "What should I call you?",
        "Thanks, Ana. From 0 to 10, how much energy do you have?",
        "How many hours did you sleep?",
        "Do you feel rested?",
        "Pick a path, or type your own.",  # the send in flight at the kill: doubled
        "Pick a path, or type your own.\n\n✓ A walk",
        "You picked a walk.",
        "Plenty of energy, Ana.",
        "That's the tour. Again or finish?",
        ana.texts()[-1],  # the privacy text of expect_nothing_more
    ]


def test_sigterm_while_a_reply_is_in_flight(own_fake: FakeTelegram, tmp_path: Path) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path)
    ana = Person(fake, next_user_id())
    with running(bot):
        fake.slow("sendMessage", 1.0)
        ana.command("start")
        fake.wait_for(lambda: in_flight(fake, "Hi! This tour shows"), what="a reply in flight")
        assert bot.stop() == 0  # SIGTERM: finishes what is in flight, exits cleanly
        fake.slow("sendMessage", 0)
        delivered = len(ana.messages())
        assert delivered >= 1  # the reply in flight arrived

        bot.start()  # anything not yet sent goes out now
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
        ana.press("English")
        ana.expect("What should I call you?")
        ana.expect_nothing_more()
    assert "Traceback" not in bot.output


def test_language_choice_survives_a_restart(own_fake: FakeTelegram, tmp_path: Path) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path)
    ana = Person(fake, next_user_id())
    with running(bot):
        ana.command("start")
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
        ana.command("language")
        (prompt,) = ana.expect("Which language would you like?")
        assert prompt.button_texts == ["English", "Español"]
        ana.press("Español")
        ana.expect("¿Qué idioma prefieres?")
        ana.expect_chosen(prompt.message_id, "Español")
        assert Database(bot.database_url).user(ana.id)["language"] == "es"  # type: ignore[index]

        bot.restart()
        ana.send("ayuda")
        ana.expect("Es un recorrido; cualquier respuesta vale.", "¿Qué idioma prefieres?")
        ana.command("privacy")
        ana.expect("Lo que guardo: tu idioma")


def test_commands_menu_in_english_and_spanish(own_fake: FakeTelegram, tmp_path: Path) -> None:
    with running(BotProcess(own_fake, tmp_path)):
        english, spanish = own_fake.commands(), own_fake.commands("es")
    names = [
        "start", "menu", "help", "back", "cancel", "restart",
        "language", "sos", "privacy", "export", "delete",
    ]  # fmt: skip
    assert [name for name, _ in english] == names
    assert [name for name, _ in spanish] == names
    assert own_fake.commands("en") == english
    assert dict(english)["language"] == "Change the language"
    assert dict(spanish)["language"] == "Cambiar el idioma"
    assert dict(english)["delete"] == "Delete all your data"
    assert dict(spanish)["delete"] == "Borrar todos tus datos"
    assert all(en != es for (_, en), (_, es) in zip(english, spanish, strict=True))


def test_privacy_text(own_fake: FakeTelegram, tmp_path: Path) -> None:
    ana = Person(own_fake, next_user_id())
    with running(BotProcess(own_fake, tmp_path)):
        ana.command("privacy")
        (text,) = ana.expect("What I keep: your language, where you are in an exercise")
        assert "/export sends you a copy of everything; /delete erases all of it" in (
            text.text or ""
        )


# ---- logs ------------------------------------------------------------------------------------
def test_debug_logs_keep_token_secret_texts_and_chat_ids_out(
    own_fake: FakeTelegram, tmp_path: Path
) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path, webhook=True, env={"LOG_LEVEL": "DEBUG"})
    ana = Person(fake, 987_654_321, name="Quokka")
    with running(bot):
        ana.command("start")
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
        ana.press("English")
        ana.expect("What should I call you?")
        ana.send("Zyxwvut Marmalade")
        ana.expect("Thanks, Zyxwvut Marmalade.")
        ana.send("I want to kill myself, Zyxwvut")
        ana.expect("Let's pause for one breath.")  # the examples have no routes: sos
    output = bot.output
    assert "DEBUG" in output  # the level really was DEBUG
    assert "crisis screen matched category=suicide_self_harm user=" in output
    secret_part = fake.token.split(":", 1)[1]
    for leak in (fake.token, secret_part, bot.webhook_secret, "Zyxwvut", "Quokka", "987654321"):
        assert leak and leak not in output, f"{leak!r} is in the log"


def test_run_without_a_token_says_so_and_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("relbot: TELEGRAM_BOT_TOKEN is not set")
    assert "@BotFather" in lines[0]
    assert not (tmp_path / "x.sqlite3").exists()


def test_broken_dialogues_refuse_to_start(own_fake: FakeTelegram, tmp_path: Path) -> None:
    broken = tmp_path / "dialogues"
    shutil.copytree(EXAMPLES, broken)
    tour = broken / "tour.yaml"
    tour.write_text(tour.read_text().replace("goto: ask_energy", "goto: ask_energyy"))
    bot = BotProcess(own_fake, tmp_path / "run", dialogues=broken)
    bot.start(wait=False)
    assert bot.proc is not None
    code = bot.proc.wait(30)
    assert code not in (0, None)
    assert f"{tour}:" in bot.stderr
    assert "ask_energyy" in bot.stderr
    assert "error" in bot.stderr
    assert "Traceback" not in bot.output
    assert own_fake.calls() == []  # never talked to Telegram, never polled
    assert not (tmp_path / "run" / "relbot.sqlite3").exists()


def test_sigint_stops_cleanly_too(own_fake: FakeTelegram, tmp_path: Path) -> None:
    bot = BotProcess(own_fake, tmp_path)
    bot.start()
    assert bot.proc is not None
    bot.proc.send_signal(signal.SIGINT)
    assert bot.proc.wait(30) == 0
    wait_until(lambda: "relbot stopped" in bot.stderr, what="the stop message")
    assert "Traceback" not in bot.output


def test_a_database_broken_under_the_bot_is_waited_for_and_nothing_is_lost(
    own_fake: FakeTelegram, tmp_path: Path
) -> None:
    """A table disappears under the running bot (an operator's mistake): the update waits
    (one warning, no traceback, no "sorry" the person must act on), and once the table is
    back the answer is applied without the person sending it again."""
    import sqlite3

    bot = BotProcess(own_fake, tmp_path)
    ana = Person(own_fake, next_user_id())
    bot.start()
    try:
        ana.command("start")
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
        ana.press("English")
        ana.expect("What should I call you?")
        path = bot.database_url[len("sqlite:///") :]
        with sqlite3.connect(path) as conn:
            conn.execute("ALTER TABLE inbox RENAME TO inbox_away")
        ana.send("Ana")
        wait_until(lambda: "the database failed" in bot.stderr, what="the outage warning")
        assert len(ana.messages()) == 3
        with sqlite3.connect(path) as conn:
            conn.execute("ALTER TABLE inbox_away RENAME TO inbox")
        ana.expect("Thanks, Ana. From 0 to 10")
        ana.expect_nothing_more()
    finally:
        code = bot.stop()
    assert code == 0
    assert bot.stderr.count("the database failed") == 1
    assert "the database works again" in bot.stderr
    assert "Traceback" not in bot.output
    assert "Ana" not in bot.stderr  # the waiting message's text is not in the log
