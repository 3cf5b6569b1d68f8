"""Secrets and people stay out of the bot's output, at DEBUG, whatever happens; and the
data key can be rotated while the bot runs.

Each test starts its own ``relbot run`` (and its own fake Telegram). The whole output of
the process (stdout and stderr, every level) is searched for the token, the webhook
secret, the data key, chat ids, names and what people typed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakegram import FakeTelegram

from bot.privacy.keyring import KeyRing, new_key_entry

from .harness import EXAMPLES, POSTGRES_URL, REPO, BotProcess, Database, Person, running

TYPED = ("Zyxwvut Marmalade", "I want to kill myself, Zyxwvut")


@pytest.fixture
def own_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as server:
        yield server


def assert_no_leak(output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret and secret not in output, f"{secret!r} is in the output:\n{output}"


def relbot(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items()
            if k not in ("DATA_KEY", "DATABASE_URL", "RETENTION_DAYS", "WEBHOOK_URL")}
    full.update(PYTHONPATH=str(REPO), LOG_LEVEL="DEBUG", DIALOGUES_DIR=str(EXAMPLES), **env)
    return subprocess.run([sys.executable, "-m", "bot", *args], env=full, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


KEY = new_key_entry("prod")
START_UP_MISTAKES = {
    "postgres without DATA_KEY": (
        {"DATABASE_URL": POSTGRES_URL}, "relbot: DATA_KEY is required with PostgreSQL"),
    "a malformed DATA_KEY": (
        {"DATA_KEY": "prod:" + KEY.split(":")[1][:20]}, "relbot: DATA_KEY: key 1 (prod) is not"),
    "RETENTION_DAYS not a number": (
        {"RETENTION_DAYS": "a year"}, "relbot: RETENTION_DAYS must be a whole number"),
    "an unreadable key file": (
        {"DATABASE_URL": "sqlite:///data/relbot.sqlite3"},
        "relbot: cannot read the data key file data/relbot.key"),
}


@pytest.mark.parametrize("mistake", sorted(START_UP_MISTAKES))
def test_start_up_mistakes_are_one_line_without_secrets(
    mistake: str, own_fake: FakeTelegram, tmp_path: Path
) -> None:
    env, message = START_UP_MISTAKES[mistake]
    if mistake == "an unreadable key file":
        (tmp_path / "data" / "relbot.key").mkdir(parents=True)  # a folder, not a file
    result = relbot(tmp_path, {"TELEGRAM_BOT_TOKEN": own_fake.token,
                               "TELEGRAM_API_URL": own_fake.base_url, **env}, "run")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
    assert_no_leak(result.stdout + result.stderr, own_fake.token, KEY.split(":")[1][:20])
    assert own_fake.calls() == []  # it never talked to Telegram


def test_a_rejected_token_is_not_printed(own_fake: FakeTelegram, tmp_path: Path) -> None:
    wrong = "123456:Wrong-Secret-Part-9f8e7d"
    result = relbot(tmp_path, {"TELEGRAM_BOT_TOKEN": wrong,
                               "TELEGRAM_API_URL": own_fake.base_url}, "run")
    assert result.returncode != 0
    assert_no_leak(result.stdout + result.stderr, wrong, "Wrong-Secret-Part-9f8e7d")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_whole_conversation_with_faults_at_debug_leaks_nothing(
    own_fake: FakeTelegram, tmp_path: Path, log_format: str
) -> None:
    fake = own_fake
    data_key = new_key_entry("logs")
    bot = BotProcess(fake, tmp_path, webhook=True,
                     env={"LOG_LEVEL": "DEBUG", "DATA_KEY": data_key, "LOG_FORMAT": log_format})
    ana = Person(fake, 918_273_645, name="Quokkafirst")
    with running(bot):
        fake.fail_next("sendMessage", 502, chat_id=ana.id)  # a fault: retried
        ana.command("start")
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
        ana.press("English")
        ana.expect("What should I call you?")
        fake.fail_next("sendMessage", 429, retry_after=1, chat_id=ana.id)  # rate limited
        ana.send(TYPED[0])
        ana.expect("Thanks, Zyxwvut Marmalade.")
        forged = ana.press_raw(ana.last().message_id, "privacy:delete:forged")
        assert ana.answer_to(forged).text.startswith("That confirmation is no longer valid")
        ana.send(TYPED[1])
        ana.expect("Let's pause for one breath.")  # the examples open `sos` on a disclosure
        ana.barrier()  # the rest of the crisis reply
        ana.read = len(ana.messages())
        ana.command("export")
        ana.expect("Everything I have stored about you", "The same, as a JSON file")
        ana.command("delete")
        ana.expect("This erases everything")
        ana.press("Yes, delete everything")
        fake.wait_for(lambda: any((m.text or "").startswith("Done.") for m in ana.messages()),
                      what="the deletion")
    output = bot.output
    assert "DEBUG" in output  # the level really was DEBUG
    if log_format == "json":  # one object a line, for a log collector
        records = [json.loads(line) for line in bot.stderr.splitlines()]
        assert records and all({"time", "level", "logger", "message"} <= set(r)
                               for r in records)
        assert any(r["level"] == "DEBUG" for r in records)
    assert_no_leak(output, fake.token, fake.token.split(":", 1)[1], bot.webhook_secret or "",
                   data_key, data_key.split(":", 1)[1], str(ana.id), "Quokkafirst",
                   "Zyxwvut", "kill myself")


def test_rotating_the_key_file_while_the_bot_runs(own_fake: FakeTelegram, tmp_path: Path) -> None:
    bot = BotProcess(own_fake, tmp_path)
    ana = Person(own_fake, 5_550_001)
    key_file = tmp_path / "relbot.key"
    with running(bot):
        ana.command("start")
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
        ana.press("English")
        ana.expect("What should I call you?")
        ana.send("Ana")
        ana.expect("Thanks, Ana. From 0 to 10")
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        old = KeyRing.parse(key_file.read_text()).current
        assert f"generated a new data key in {key_file}" in bot.stderr

        env = {"DATABASE_URL": bot.database_url}
        rotated = relbot(tmp_path, env, "keys", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        new = KeyRing.parse(key_file.read_text())
        assert new.ids == (new.current,) and new.current != old
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"

        ana.send("7")  # the bot reads her session, sealed with the new key, and goes on
        ana.expect("How many hours did you sleep?")
        status = relbot(tmp_path, env, "keys", "status")
        assert f"{new.current} (current key):" in status.stdout
        assert old not in status.stdout.split("stored values by key:")[1]
        user = Database(bot.database_url).user(ana.id)
        assert user is not None and '"energy":7' in (user["session"] or "")
    assert bot.stderr.count("generated a new data key") == 1
    assert_no_leak(bot.output + rotated.stdout + status.stdout, new.entries().split(":")[1])
