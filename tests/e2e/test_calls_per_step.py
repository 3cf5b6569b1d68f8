"""What one step costs in Bot API calls, and how fast its messages come, with the real
programme (the welcome module), over HTTP against the fake Telegram.

- A press: the answer to the press, the "✓" edit of the question, and the reply's
  messages; nothing else (no "typing…": the reply goes out at once).
- A typed answer: the reply's messages, nothing else.
- A four-message reply arrives at once (no per-chat pacing between its messages); a
  flood of twelve messages to one chat is paced: a burst, then about one a second, with
  "typing…" while it waits.

relbot run with long polling, SQLite.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .harness import PRIVACY, PROGRAMME, BotProcess, Person, running

CONSENT = (
    "Last thing, about what happens to your answers.",
    "If you say yes, I keep what each exercise ends with",
    "If you say no, you can still use everything",
    "So, may I store your answers?",
)
SETTLE = 1.0  # seconds after a reply in which no further call may come
#: Seconds a person takes to read before answering: the chat's pacing (five at once, one a
#: second) has its burst back after the welcome's four messages. People who answer faster
#: than one message a second, all the time, are a flood and are paced.
READ = 4.5


@pytest.fixture(scope="module")
def programme_bot(fake: FakeTelegram,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    with running(BotProcess(fake, tmp_path_factory.mktemp("calls"),
                            dialogues=PROGRAMME)) as process:
        yield process


def at_age_question(fake: FakeTelegram) -> Person:
    ana = Person(fake, next_user_id())
    ana.command("start")
    ana.expect("Hi, I'm relbot. Which language would you like?")
    ana.press("English")
    ana.expect("I'm an automated bot for practising skills", "I'm not therapy")
    ana.press("Okay, go on")
    ana.expect("Are you 18 or older?")
    time.sleep(READ)
    return ana


def calls_in_chat(fake: FakeTelegram, person: Person, since: float) -> list[str]:
    return [c.method for c in fake.calls()
            if c.started >= since and c.params.get("chat_id") in (person.id, str(person.id))]


def test_a_press_costs_its_answer_one_edit_and_the_reply_which_comes_at_once(
    fake: FakeTelegram, programme_bot: BotProcess
) -> None:
    ana = at_age_question(fake)
    began = time.time()
    pressed = ana.press("Yes, I'm 18+")
    ana.expect(*CONSENT)
    time.sleep(SETTLE)

    query_id = fake.update(pressed)["callback_query"]["id"]
    answers = [c for c in fake.calls("answerCallbackQuery")
               if c.params.get("callback_query_id") == query_id]
    in_chat = Counter(calls_in_chat(fake, ana, began))
    assert len(answers) == 1
    assert in_chat == {"editMessageText": 1, "sendMessage": 4}, in_chat  # no sendChatAction

    sends = [c.started for c in fake.calls("sendMessage")
             if c.started >= began and c.params.get("chat_id") == ana.id]
    print(f"\npress -> first message {1000 * (sends[0] - began):.0f} ms, "
          f"first -> fourth {1000 * (sends[-1] - sends[0]):.0f} ms")
    assert sends[-1] - sends[0] < 0.5  # one reply, one burst: no second between messages


def test_a_typed_answer_costs_only_the_reply(
    fake: FakeTelegram, programme_bot: BotProcess
) -> None:
    bea = at_age_question(fake)
    began = time.time()
    bea.send("yes, I'm 18+")
    bea.expect(*CONSENT)
    time.sleep(SETTLE)
    assert Counter(calls_in_chat(fake, bea, began)) == {"sendMessage": 4}


def test_a_flood_to_one_chat_is_paced_with_typing_while_it_waits(
    fake: FakeTelegram, programme_bot: BotProcess
) -> None:
    cy = Person(fake, next_user_id())
    began = time.time()
    for _ in range(12):
        cy.command("privacy")
    cy.expect(*[PRIVACY[0]] * 12)
    sends = [c.started for c in fake.calls("sendMessage")
             if c.started >= began and c.params.get("chat_id") == cy.id]
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    print(f"\nflood of 12: {', '.join(f'{g:.2f}' for g in gaps)} s apart")
    assert sends[4] - sends[0] < 1.0  # a burst of five...
    assert all(0.8 < gap < 1.6 for gap in gaps[5:]), gaps  # ...then about one a second
    assert sends[-1] - sends[0] > 6.0
    typing = [a.at for a in fake.chat_actions(cy.id)]
    assert typing and all(a > sends[4] for a in typing)  # only once messages were held back
