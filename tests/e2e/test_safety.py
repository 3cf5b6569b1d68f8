"""Safety replies first, end to end: the real programme, long polling, SQLite.

A person types a disclosure while the bot is still sending an earlier multi-message
reply at Telegram's pace (about one message a second per chat). The first safety
message must reach them within one second of their message, measured at the fake
Telegram server, and the queued replies it made obsolete must never arrive.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fakegram import FakeTelegram

from .harness import PROGRAMME, BotProcess, Database, Person, running

FIRST_SAFETY_MESSAGE = "It sounds like things might be really hard for you"
CONSENT_QUESTION = "So, may I store your answers?"
SUPERSEDED = "superseded by a safety reply"


@pytest.fixture(scope="module")
def bot(fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """relbot run, long polling, the real programme (it has the routes), SQLite."""
    with running(BotProcess(fake, tmp_path_factory.mktemp("safety"), dialogues=PROGRAMME)) as p:
        yield p


def pending(db: Database, user_id: int) -> int:
    rows = db.query("SELECT COUNT(*) FROM outbox WHERE user_id = ? AND status = 'pending'",
                    user_id)
    return int(rows[0][0])


def test_a_disclosure_mid_reply_gets_the_first_safety_message_within_a_second(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    ana.command("start")
    for answer in ("English", "Okay, go on", "Yes, I'm 18+"):  # 8 replies queue up in all
        ana.send(answer)
    fake.wait_for_messages(ana.id, 3)  # the first burst is out; the rest wait their turn
    queued = pending(db, ana.id)
    assert queued >= 3, queued  # a multi-message reply is still being sent

    before = time.time()
    ana.send("I want to kill myself")
    call = fake.wait_for(
        lambda: next((c for c in fake.calls("sendMessage") if c.finished is not None
                      and FIRST_SAFETY_MESSAGE in str(c.params.get("text"))), None),
        what="the first safety message",
    )
    latency = call.started - before
    print(f"\nfirst safety message reached the fake server {latency * 1000:.0f} ms after "
          f"the disclosure ({queued} replies were still queued)")
    assert latency < 1.0, f"{latency:.3f} s"

    # The replies it made obsolete are superseded, never sent: the consent question
    # arrives once, after "Go back to what I was doing", not before the safety reply.
    texts = [m.text or "" for m in ana.messages()]
    assert FIRST_SAFETY_MESSAGE in texts[-1] and CONSENT_QUESTION not in "".join(texts)
    superseded = db.query("SELECT COUNT(*) FROM outbox WHERE user_id = ? AND last_error = ?",
                          ana.id, SUPERSEDED)[0][0]
    assert int(superseded) >= 1
    ana.read = len(texts)
    ana.press("I'm not sure")
    ana.expect("Thank you for telling me", "What would you like to do now?")
    ana.press("Go back to what I was doing")
    ana.expect("Okay. Type sos whenever you want these numbers again.", CONSENT_QUESTION)
    ana.press("No, don't store them")
    ana.expect("That's fine. Everything still works", "There's no set order")
    ana.expect_nothing_more()
    assert sum(CONSENT_QUESTION in (m.text or "") for m in ana.messages()) == 1


def test_sos_mid_reply_is_sent_first_too(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    bea = person("es")
    bea.command("start")
    for answer in ("Español", "De acuerdo, sigue", "Sí, tengo 18 o más"):
        bea.send(answer)
    fake.wait_for_messages(bea.id, 3)
    assert pending(db, bea.id) >= 3
    before = time.time()
    bea.command("sos")
    call = fake.wait_for(
        lambda: next((c for c in fake.calls("sendMessage") if c.finished is not None
                      and "Estoy aquí. Este bot no es un servicio de crisis"
                      in str(c.params.get("text"))), None),
        what="the sos reply",
    )
    assert call.started - before < 1.0
    assert "¿puedo guardar tus respuestas?" not in "".join(m.text or "" for m in bea.messages())
