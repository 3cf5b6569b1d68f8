"""Telegram failing for a while, a second instance, and stopping: one line each, no floods.

- A getUpdates outage is one warning and one "works again" line (it was a traceback per
  attempt: 104 in 30 s), with backoff between attempts.
- SIGTERM while Telegram answers slowly, including the last getUpdates that confirms the
  final batch on the way out: exit 0, no traceback. Two SIGTERMs 50 ms apart: exit 0.
- A second poller on the same token (409 Conflict): one warning, backoff, then exit
  status 3 with one line saying what to do.
- A webhook left set from webhook mode: deleted with one warning, then polling works.
- sendChatAction (the optional "typing…") failing never holds back a reply.
- Pacing: a burst of five (a whole reply), then about one message a second per chat;
  "typing…" only while a message is actually held back; a failed send does not cost a
  later message its turn.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .harness import BotProcess, Person, running, wait_until


@pytest.fixture
def own_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as server:
        yield server


def test_a_getupdates_outage_is_one_warning_and_one_recovery_line(
    own_fake: FakeTelegram, tmp_path: Path
) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path)
    ana = Person(fake, next_user_id())
    with running(bot):
        polls = len(fake.calls("getUpdates"))
        fake.outage("getUpdates", 6.0, status=502)
        ana.command("start")  # ends the long poll in progress; the next ones fail
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
        fake.wait_for(lambda: any(c.status == 502 for c in fake.calls("getUpdates")),
                      what="the outage to bite")
        ana.command("privacy")  # sent during the outage: delivered after it
        ana.expect("What I keep", timeout=30)
        attempts = len(fake.calls("getUpdates")) - polls
        assert attempts < 15  # backing off (0.5 s, 1 s, 2 s...), not ~90 a second
    log = bot.stderr
    assert log.count("getUpdates failed (NetworkError)") == 1
    assert log.count("getUpdates works again") == 1
    assert "Traceback" not in log


def test_sigterm_while_telegram_answers_slowly_exits_cleanly(
    own_fake: FakeTelegram, tmp_path: Path
) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path)
    ana = Person(fake, next_user_id())
    bot.start()
    ana.command("start")
    ana.expect("Hi! This tour shows", "Which language do you prefer?")
    fake.slow("sendMessage", 2.0)
    fake.slow("getUpdates", 8.0)  # also the confirming getUpdates on the way out
    ana.press("English")
    fake.wait_for(lambda: any(c.finished is None for c in fake.calls("sendMessage")),
                  what="a send in flight")
    began = time.monotonic()
    assert bot.stop() == 0
    assert time.monotonic() - began < 20
    fake.clear_faults()
    assert "Traceback" not in bot.output
    assert "relbot stopped" in bot.stderr
    bot.start()  # whatever was not sent goes out now, once
    ana.expect("What should I call you?")
    ana.expect_nothing_more()
    assert bot.stop() == 0
    assert "Traceback" not in bot.output


def test_two_sigterms_50ms_apart_exit_0(own_fake: FakeTelegram, tmp_path: Path) -> None:
    for pause in (0.05, 0.0, 0.2):
        bot = BotProcess(own_fake, tmp_path / str(pause))
        bot.start()
        assert bot.proc is not None
        bot.proc.send_signal(signal.SIGTERM)
        time.sleep(pause)
        bot.proc.send_signal(signal.SIGTERM)
        assert bot.proc.wait(30) == 0, bot.output
        assert "Traceback" not in bot.output
        wait_until(lambda b=bot: not own_fake.is_polling(), what="the poll to end")


def test_a_second_poller_is_one_warning_then_a_clear_exit(
    own_fake: FakeTelegram, tmp_path: Path
) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path, env={"RELBOT_TIME_SCALE": "0.05"})  # 120 s -> 6 s
    bot.start()
    stop = threading.Event()

    def other_instance() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                client.post(f"{fake.base_url}{fake.token}/getUpdates", data={"timeout": "1"})

    other = threading.Thread(target=other_instance)
    other.start()
    try:
        assert bot.proc is not None
        code = bot.proc.wait(30)
    finally:
        stop.set()
        other.join()
    assert code == 3
    lines = bot.stderr.splitlines()
    assert sum("another process is polling" in line for line in lines) == 1
    assert lines[-1].startswith("relbot: another process kept polling Telegram with this bot's")
    assert "run one instance only" in lines[-1]
    assert "Traceback" not in bot.output


def test_a_webhook_left_set_is_deleted_to_poll(own_fake: FakeTelegram, tmp_path: Path) -> None:
    fake = own_fake
    httpx.post(f"{fake.base_url}{fake.token}/setWebhook", data={"url": "https://old.example/x"})
    bot = BotProcess(fake, tmp_path)
    ana = Person(fake, next_user_id())
    with running(bot):
        ana.command("start")
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
    assert bot.stderr.count("a webhook is set for this bot; deleting it") == 1
    assert [c.ok for c in fake.calls("deleteWebhook")] == [True]


def test_typing_failures_never_hold_a_reply_back(own_fake: FakeTelegram, tmp_path: Path) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path)
    ana = Person(fake, next_user_id())
    with running(bot):
        fake.outage("sendChatAction", 30.0, status=500)
        ana.command("start")
        for _ in range(5):  # the sixth and seventh messages are held back: "typing…"
            ana.command("privacy")
        ana.expect("Hi! This tour shows", "Which language", *["What I keep"] * 5)
        ana.expect_nothing_more()
    assert bot.stderr.count("sendChatAction (typing) failed") == 1
    assert "Traceback" not in bot.output


def test_pacing_a_burst_then_one_a_second_and_typing_only_when_held_back(
    own_fake: FakeTelegram, tmp_path: Path
) -> None:
    fake = own_fake
    bot = BotProcess(fake, tmp_path)
    ana = Person(fake, next_user_id())
    with running(bot):
        ana.command("start")
        for _ in range(5):
            ana.command("privacy")
        ana.expect("Hi! This tour shows", "Which language", *["What I keep"] * 5)
        time.sleep(5.2)  # the bucket fills up again
        asked = time.time()
        ana.command("privacy")
        ana.expect("What I keep")
    sends = [c for c in fake.calls("sendMessage") if c.params["chat_id"] == ana.id]
    times = [c.started for c in sends]
    assert times[4] - times[0] < 0.8  # a burst of five at once (the bounds allow for a
    assert 0.8 < times[5] - times[4] < 2.0 and 0.8 < times[6] - times[5] < 2.0  # busy CI)
    typing = [a.at for a in fake.chat_actions(ana.id)]
    assert typing and all(a > times[4] for a in typing)  # only once a message was held back
    assert times[7] - asked < 1.0  # after a pause, a reply goes out at once...
    assert not any(times[6] + 0.5 < a < times[7] for a in typing)  # ...without "typing…"
