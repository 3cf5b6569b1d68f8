"""Helpers for the crash test: scripted walks, a person who walks one, and the comparison.

Why this module exists: the crash test kills the bot at random moments while twenty
people walk the example tour, and then asks, person by person, whether what they saw
and where they ended up is what a clean run gives. That needs three things that would
drown the test itself:

* `walks(n)`: n deterministic, different walks (languages, typed and tapped answers,
  the sub-dialogue, one or two rounds);
* `Walker`: a person who performs a walk like a human, waiting for the bot's answer
  before the next action (a doubled message does not confuse them: they tap the newest
  copy of a button, and count messages with doubles folded);
* `compare`: the person's messages against the clean run's, folding each run of
  consecutive copies of one message; of each message's copies, one is its delivery and
  every other copy must be a send the bot had not recorded, made by a process that was
  then killed (Telegram applied it; the answer, or its record, did not survive the kill).

Which copy is the delivery: usually the one the outbox records as sent. But a safety turn
(the tour's "A pause first" opens the pause module, a safety module) supersedes the
person's queued replies in its transaction, and a queued reply may be in flight right then:
Telegram applies it, the row is already dead ("superseded by a safety reply") and its
mark_sent changes nothing (the storage contract: a superseded row is never recorded as
sent). Seen after a restart: the new process re-sends a killed process's unrecorded reply
while the press that was waiting for it is applied; the reply is answered, the supersede
commits, then the record comes (SQLite serialises them: 140 ms later on a loaded machine).
So a message may have one copy that is neither recorded nor a kill's; never two, and never
one beside a recorded copy: that would be a real double (a send whose record was lost and
then made again, or one update applied twice).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fakegram import BotMessage, FakeTelegram

from .harness import Database, Person

Action = tuple[str, str]  # ("command" | "send" | "press", argument)
REPORT: list[str] = []  # one line per crash run, printed at the end (see conftest)
WALK_TIMEOUT = 90.0  # seconds a person waits for one answer, downtime included


def walks(count: int) -> list[list[Action]]:
    """`count` different walks through the example tour, the same every run."""
    out = []
    for n in range(count):
        spanish = n % 4 == 3
        walk: list[Action] = [("command", "start")]
        laps = 2
        for lap in range(laps):
            walk += [("press", "Español" if spanish else "English"),
                     ("send", f"P{n}-{lap}"),
                     ("send", str((n + lap) % 11)),
                     ("send", "7.5" if n % 2 else "4"),
                     ("send", ("sí" if spanish else "yes") if n % 5 else "no")]
            if n % 3 == 1:
                walk += [("press", "Primero una pausa" if spanish else "A pause first"),
                         ("press", "Hecho" if spanish else "Done")]
            elif n % 3 == 2:
                walk += [("send", f"a swim {n}")]
            else:
                walk += [("press", "Un paseo" if spanish else "A walk")]
            last = lap == laps - 1
            walk += [("press", ("Terminar" if spanish else "Finish") if last else
                      ("Otra vez" if spanish else "Again"))]
        out.append(walk)
    return out


def original(message: BotMessage) -> str:
    """The text the message was sent with (before any edit marked a choice)."""
    return (message.history[0].text if message.history else message.text) or ""


def folded(messages: Sequence[BotMessage]) -> list[list[BotMessage]]:
    """Runs of consecutive messages sent with the same text: one message and its doubles."""
    groups: list[list[BotMessage]] = []
    for message in messages:
        if groups and original(groups[-1][-1]) == original(message):
            groups[-1].append(message)
        else:
            groups.append([message])
    return groups


@dataclass
class Walker:
    """One person walking one walk. `counts[i]`: how many messages the clean run showed
    after action i; without it (the clean run itself) the walker waits until the update
    is applied and every reply to it sent, as the database shows, and records the count."""

    fake: FakeTelegram
    person: Person
    walk: list[Action]
    db: Database
    counts: list[int] | None = None
    seen: list[int] = field(default_factory=list)

    def run(self) -> None:
        for index, (kind, argument) in enumerate(self.walk):
            if kind == "command":
                update = self.person.command(argument)
            elif kind == "send":
                update = self.person.send(argument)
            else:
                message = self.person.button(argument)  # the newest copy that has it
                update = self.fake.press(self.person.id, message.message_id,
                                         button_text=argument)
            self.seen.append(self.wait(index, update))

    def wait(self, index: int, update: int) -> int:
        if self.counts is not None:
            want = self.counts[index]
            self.fake.wait_for(lambda: len(folded(self.person.messages())) >= want,
                               WALK_TIMEOUT, what=f"{want} messages for {self.person.id}")
            return want
        deadline = time.monotonic() + WALK_TIMEOUT
        while not (self.db.query("SELECT 1 FROM inbox WHERE update_id = ?", update) and not
                   self.db.query("SELECT 1 FROM outbox WHERE user_id = ? AND status = "
                                 "'pending'", self.person.id)):
            assert time.monotonic() < deadline, f"update {update} never finished"
            time.sleep(0.05)
        return len(folded(self.person.messages()))


@dataclass
class Clean:
    """What one person saw in the clean run, and where they ended."""

    messages: list[tuple[str, str]]  # (sent text, text now)
    counts: list[int]
    session: dict[str, Any]


def clean_record(walker: Walker, db: Database) -> Clean:
    messages = [(original(m), m.text or "") for m in walker.person.messages()]
    assert len(folded(walker.person.messages())) == len(messages), "a double in a clean run"
    return Clean(messages, walker.seen, session_of(db, walker.person.id))


def session_of(db: Database, user_id: int) -> dict[str, Any]:
    user = db.user(user_id)
    assert user is not None
    return {"session": json.loads(user["session"]), "language": user["language"]}


@dataclass
class Outcome:
    """The comparison for one person."""

    equal: bool
    lost: list[str]
    doubles: int
    doubles_in_flight: int
    problems: list[str]


def compare(person: Person, clean: Clean, db: Database, fake: FakeTelegram,
            starts: Sequence[float]) -> Outcome:
    """Each message of the clean run shown once (or more, only if a kill caught its send in
    flight), in order, in its final state; and the same final session. Of a message's
    copies, all but one must be sends the bot never recorded that were in flight at a kill
    (see the module docstring for the one that may be unrecorded)."""
    groups = folded(person.messages())
    problems: list[str] = []
    lost = [sent for sent, _ in clean.messages[len(groups):]]
    for i, ((sent, final), group) in enumerate(zip(clean.messages, groups, strict=False)):
        if original(group[0]) != sent:
            problems.append(f"message {i}: {original(group[0])!r} instead of {sent!r}")
            break
        if final not in [m.text for m in group]:
            problems.append(f"message {i}: never became {final!r}: {[m.text for m in group]}")
    if len(groups) > len(clean.messages):
        problems.append(f"extra messages: {[original(g[0]) for g in groups[len(clean.messages):]]}")
    # The sends the bot knows went out. Only sends: an edit's row holds the id of the message
    # it edited, which may be a kill's copy in flight (the person tapped that copy).
    recorded = {row[0] for row in db.query(
        "SELECT message_id FROM outbox WHERE user_id = ? AND status = 'sent'"
        " AND method LIKE 'send%'", person.id)}
    doubles = doubles_in_flight = 0
    for group in (g for g in groups if len(g) > 1):
        in_flight = [m for m in group if m.message_id not in recorded
                     and _in_flight_at_a_kill(fake, person.id, m, starts)]
        doubles += len(group) - 1
        doubles_in_flight += min(len(in_flight), len(group) - 1)
        if len(group) - len(in_flight) > 1:  # more than the one delivery: a real double
            problems.append(_unexplained(person.id, group, recorded, in_flight, db, fake,
                                         starts))
    if session_of(db, person.id) != clean.session:
        problems.append(f"session {session_of(db, person.id)} != clean {clean.session}")
    return Outcome(not problems and not lost, lost, doubles, doubles_in_flight, problems)


def _unexplained(chat_id: int, group: list[BotMessage], recorded: set[int],
                 in_flight: list[BotMessage], db: Database, fake: FakeTelegram,
                 starts: Sequence[float]) -> str:
    """What the failure shows: the copies, the chat's sends and outbox rows (no text in the
    rows; the calls' texts are the fake's, cut short), times from the first start."""
    killed = {m.message_id for m in in_flight}
    copies = [(m.message_id, "recorded" if m.message_id in recorded else
               "in flight at a kill" if m.message_id in killed else "unexplained") for m in group]
    calls = [(round(c.started - starts[0], 3), c.status, str(c.params.get("text"))[:20],
              ((c.response or {}).get("result") or {}).get("message_id"))
             for c in fake.calls("sendMessage") if c.params.get("chat_id") == chat_id]
    rows = db.query("SELECT id, method, status, message_id, last_error FROM outbox"
                    " WHERE user_id = ? ORDER BY id", chat_id)
    return (f"{original(group[0])!r} {len(group)} times, more than one copy not in flight "
            f"at a kill: {copies}; starts {[round(t - starts[0], 3) for t in starts]}; "
            f"calls {calls}; rows {rows}")


def record_lags(fake: FakeTelegram, db: Database, people: Sequence[int]) -> list[float]:
    """Seconds from Telegram answering each sendMessage to the bot recording it as sent:
    the window in which a kill makes that message come twice."""
    answered = {}
    for call in fake.calls("sendMessage"):
        result = (call.response or {}).get("result") or {}
        if call.finished is not None and "message_id" in result:
            answered[(call.params.get("chat_id"), result["message_id"])] = call.finished
    lags = []
    for person in people:
        for message_id, finished in db.query(
                "SELECT message_id, finished_at FROM outbox WHERE user_id = ? AND status ="
                " 'sent' AND method = 'sendMessage'", person):
            when = finished if isinstance(finished, datetime) else datetime.fromisoformat(finished)
            if (person, message_id) in answered:
                lags.append(when.timestamp() - answered[(person, message_id)])
    return lags


#: How long after the moment a kill was decided a killed process's last request may still
#: reach the fake: the kill is recorded just before the signal is sent, and a request
#: already in the kernel's buffers arrives after it (seen: 1 ms).
KILL_GRACE = 0.1


def _in_flight_at_a_kill(fake: FakeTelegram, chat_id: int, message: BotMessage,
                         starts: Sequence[float]) -> bool:
    """The sendMessage that made `message` (which the bot never recorded as sent) was the
    last one to this chat of a process that was then killed: the one it had in flight
    (a chat's messages go one at a time). `starts`: when each process started; all but
    the last were killed. (A killed process's last request may reach the fake a few
    milliseconds after the SIGKILL: it counts as that process's.)"""
    calls = [c for c in fake.calls("sendMessage") if c.params.get("chat_id") == chat_id]
    for began, ended in itertools.pairwise(starts):  # the killed processes
        theirs = [c for c in calls if began <= c.started < ended + KILL_GRACE]
        if theirs and ((theirs[-1].response or {}).get("result") or {}).get(
                "message_id") == message.message_id:
            return True
    return False
