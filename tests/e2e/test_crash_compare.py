"""The crash test's judge on its own: which doubled messages it forgives and which it reports.

Why this module exists: the crash test (test_crash.py) passes when every doubled message
is explained by a kill, so a judge that forgives too much would let a real double through
unnoticed. Here the "bot" is this test: it makes sendMessage calls over HTTP to the fake
Telegram and writes the outbox rows a bot would have written (a small SQLite file with the
columns the judge reads), with "kills" at chosen moments; `compare` must forgive exactly
the copies a kill or a superseded send explains, and report every other one. Fast (no bot
process), so it runs with the ordinary tests.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .crash import KILL_GRACE, Clean, Outcome, compare
from .harness import Database, Person

SUPERSEDED = "superseded by a safety reply"


class Chat:
    """One person's chat as a bot leaves it: the calls Telegram saw, the outbox it kept."""

    def __init__(self, fake: FakeTelegram, path: Path) -> None:
        self.fake, self.person = fake, Person(fake, next_user_id())
        self.person.command("start")  # Telegram knows the chat once the person wrote
        self.db = Database(f"sqlite:///{path}")
        self.conn = sqlite3.connect(path)
        self.conn.executescript(
            "CREATE TABLE users (user_id INTEGER, language TEXT, session TEXT, consent INTEGER,"
            " unreachable INTEGER);"
            "CREATE TABLE outbox (id INTEGER PRIMARY KEY, user_id INTEGER, method TEXT,"
            " status TEXT, message_id INTEGER, last_error TEXT);")
        self.conn.execute("INSERT INTO users VALUES (?, 'en', '{}', 0, 0)", (self.person.id,))
        self.conn.commit()
        self.starts = [time.time()]

    def send(self, text: str) -> int:
        """A sendMessage call, as the bot makes it; the message id Telegram answered."""
        request = urllib.request.Request(
            f"{self.fake.base_url}{self.fake.token}/sendMessage",
            data=json.dumps({"chat_id": self.person.id, "text": text}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(json.load(answer)["result"]["message_id"])

    def row(self, status: str, message_id: int | None = None, error: str | None = None,
            method: str = "sendMessage") -> None:
        self.conn.execute("INSERT INTO outbox (user_id, method, status, message_id, last_error)"
                          " VALUES (?, ?, ?, ?, ?)",
                          (self.person.id, method, status, message_id, error))
        self.conn.commit()

    def kill(self) -> None:
        """The process dies: later calls are the next process's."""
        self.starts.append(time.time())
        time.sleep(KILL_GRACE + 0.05)

    def judge(self, *texts: str) -> Outcome:
        clean = Clean([(t, t) for t in texts], [], {"session": {}, "language": "en"})
        return compare(self.person, clean, self.db, self.fake, self.starts)


@pytest.fixture
def chat(fake: FakeTelegram, tmp_path: Path) -> Iterator[Chat]:
    chat = Chat(fake, tmp_path / "judge.sqlite3")
    yield chat
    chat.conn.close()


def test_a_send_in_flight_at_a_kill_and_its_recorded_resend_is_forgiven(chat: Chat) -> None:
    chat.row("sent", chat.send("Hi"))
    chat.send("Which?")  # its answer or record died with the process
    chat.kill()
    chat.row("sent", chat.send("Which?"))
    outcome = chat.judge("Hi", "Which?")
    assert (outcome.equal, outcome.doubles, outcome.doubles_in_flight) == (True, 1, 1)


def test_an_edit_of_the_copy_in_flight_does_not_make_it_recorded(chat: Chat) -> None:
    """The person tapped the first copy: the edit's row holds that copy's id."""
    first = chat.send("Which?")
    chat.kill()
    chat.row("sent", chat.send("Which?"))
    chat.row("sent", first, method="editMessageText")
    outcome = chat.judge("Which?")
    assert (outcome.equal, outcome.doubles, outcome.doubles_in_flight) == (True, 1, 1)


def test_a_reply_superseded_while_its_resend_was_in_flight_is_forgiven(chat: Chat) -> None:
    chat.send("Pick a path")  # killed before its record, twice
    chat.kill()
    chat.send("Pick a path")
    chat.kill()
    chat.send("Pick a path")  # delivered, but the row was superseded before mark_sent
    chat.row("dead", None, SUPERSEDED)
    chat.row("sent", chat.send("Let's pause"))
    outcome = chat.judge("Pick a path", "Let's pause")
    assert (outcome.equal, outcome.doubles, outcome.doubles_in_flight) == (True, 2, 2)


def test_a_message_recorded_twice_is_a_double(chat: Chat) -> None:
    """One update applied twice, or one reply enqueued twice: no kill explains it."""
    chat.row("sent", chat.send("Thanks"))
    chat.row("sent", chat.send("Thanks"))
    outcome = chat.judge("Thanks")
    assert not outcome.equal and "'Thanks' 2 times" in outcome.problems[0], outcome


def test_a_send_made_again_in_the_same_process_is_a_double(chat: Chat) -> None:
    """Its record was lost (or a second drain sent it) while the process lived on."""
    chat.send("Thanks")
    chat.row("sent", chat.send("Thanks"))
    chat.row("sent", chat.send("How many?"))
    chat.kill()
    outcome = chat.judge("Thanks", "How many?")
    assert not outcome.equal and "'Thanks' 2 times" in outcome.problems[0], outcome


def test_a_resend_made_twice_after_a_kill_is_a_double(chat: Chat) -> None:
    """The first copy was in flight at the kill; the restarted process then sent the row
    twice (its first record lost): one copy more than the kill explains."""
    chat.send("Thanks")
    chat.kill()
    chat.send("Thanks")
    chat.row("sent", chat.send("Thanks"))
    outcome = chat.judge("Thanks")
    assert not outcome.equal and "'Thanks' 3 times" in outcome.problems[0], outcome
    assert "'in flight at a kill'), (" in outcome.problems[0] and "unexplained" in str(outcome)
