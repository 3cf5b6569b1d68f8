"""Updates the bot cannot apply: set aside once, acknowledged, and never a stop for anyone.

A malformed update (a message without its chat or date, a press without chat_instance, a
poll an older Bot API server sends without its fields) used to make python-telegram-bot
fail on the whole batch and re-fetch it about 90 times a second, serving nobody. Now each
is recorded as seen without its text, the person hears a kind apology when we know who
they are, one warning is logged per kind, and the next update is served. Ordinary input
that used to raise (a text of only spaces, a no-break space, a user id beyond 64 bits)
is handled too. Polling and webhook mode, the example dialogues, SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .harness import BotProcess, Person, running, wait_until

SORRY = "Sorry, something went wrong on my side"


@pytest.fixture(scope="module", params=["polling", "webhook"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FakeTelegram, BotProcess]]:
    with FakeTelegram(webhook_backoff=0.05) as fake:
        workdir = tmp_path_factory.mktemp(f"poison-{request.param}")
        bot = BotProcess(fake, workdir, webhook=request.param == "webhook")
        with running(bot):
            yield fake, bot


def user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ana", "language_code": "en"}


def chat(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": "Ana"}


POISON: dict[str, Callable[[int], dict[str, Any]]] = {
    "a message without its date": lambda uid: {
        "message": {"message_id": 9, "from": user(uid), "chat": chat(uid), "text": "Zyxwv"}
    },
    "a message without its chat": lambda uid: {
        "message": {"message_id": 9, "from": user(uid), "date": int(time.time()),
                    "text": "Zyxwv"}
    },
    "a chat that is a list": lambda uid: {
        "message": {"message_id": 9, "from": user(uid), "chat": [uid], "date": 1, "text": "x"}
    },
    "a press without chat_instance": lambda uid: {
        "callback_query": {
            "id": "77", "from": user(uid), "data": "1:en",
            "message": {"message_id": 2, "chat": chat(uid), "date": 1, "text": "?"},
        }
    },
    "a poll without its fields (an older server)": lambda uid: {"poll": {"id": "5"}},
    "a user id beyond 64 bits": lambda uid: {
        "message": {"message_id": 9, "from": user(2**70), "chat": chat(2**70), "date": 1,
                    "text": "/start"}
    },
}
APOLOGISED = {"a message without its date", "a press without chat_instance"}


@pytest.mark.parametrize("case", list(POISON))
def test_a_poison_update_is_set_aside_and_the_next_one_served(
    served: tuple[FakeTelegram, BotProcess], case: str
) -> None:
    fake, bot = served
    ana = Person(fake, next_user_id())
    ana.command("privacy")
    ana.expect("What I keep")
    polls_before = len(fake.calls("getUpdates"))
    log_before = len(bot.stderr)

    poison = fake.inject(POISON[case](ana.id), ignore_allowed=True)
    if case in APOLOGISED:
        ana.expect(SORRY)  # through the outbox: sent once, and retried if need be
    ana.command("start")  # the very next update of the same person is served
    ana.expect("Hi! This tour shows", "Which language do you prefer?")
    ana.expect_nothing_more()

    assert poison not in fake.pending_updates()  # acknowledged: Telegram forgets it
    if bot.webhook:
        statuses = [d.status for d in fake.webhook_deliveries() if d.update_id == poison]
        assert statuses == [200]
    else:  # no re-fetching of the same batch: a handful of long polls, not 90 a second
        assert len(fake.calls("getUpdates")) - polls_before < 10
    log = bot.stderr[log_before:]
    assert log.count("set aside an update") <= 1, log  # one warning per kind, then counted
    assert "Traceback" not in log and "Zyxwv" not in log


def test_many_poison_updates_of_one_kind_are_one_warning(
    served: tuple[FakeTelegram, BotProcess],
) -> None:
    fake, bot = served
    ana = Person(fake, next_user_id())
    for _ in range(30):
        fake.inject({"message": {"message_id": 1, "from": user(ana.id), "text": "no chat"}})
    ana.command("start")
    ana.expect("Hi! This tour shows", "Which language do you prefer?")
    wait_until(lambda: not fake.pending_updates(), what="every update acknowledged")
    warnings = [line for line in bot.stderr.splitlines() if "(message: no chat)" in line]
    assert len(warnings) == 1, warnings


@pytest.mark.parametrize("text", [" ", "   ", "\u00a0", "\u00a0 \t", "/", "/ ", "/\u00a0x"])
def test_texts_of_only_spaces_or_a_bare_slash_get_an_ordinary_answer(
    served: tuple[FakeTelegram, BotProcess], text: str
) -> None:
    fake, bot = served
    ana = Person(fake, next_user_id())
    ana.command("start")
    ana.expect("Hi! This tour shows", "Which language do you prefer?")
    log_before = len(bot.stderr)
    ana.send(text)
    ana.barrier()
    answers = ana.texts()[ana.read :]
    assert answers[0] == "Please tap a button or type its number.", answers
    assert not any(SORRY in answer for answer in answers)
    ana.read = len(ana.messages())
    ana.press("English")
    ana.expect("What should I call you?")
    log = bot.stderr[log_before:]
    assert "Traceback" not in log and "set aside" not in log
