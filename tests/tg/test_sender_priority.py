"""The sender under load: real python-telegram-bot `Bot`, the fake Telegram over HTTP,
real SQLite. What a person would notice:

- a reminder queued while 20 people are waiting for replies reaches its person after
  every one of them has had the first message of their reply;
- a 429 is waited out: the chat it was about gets nothing before `retry_after`, and when
  that chat had been quiet (the limit hit was the bot's), nobody gets a new message
  before then either; a 429 in the middle of one chat's flood holds back only that chat.

The budget here is small (40 messages a second) so that it, not the machine, is what
makes people wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakegram import FakeTelegram
from telegram import Bot

from bot.storage import SQLiteStore
from bot.tg.pacing import SendBudget
from bot.tg.sender import Sender

PEOPLE = 20
REPLY = ["first", "second", "third"]


@dataclass
class Rig:
    fake: FakeTelegram
    store: SQLiteStore
    sender: Sender

    async def queue(self, chat: int, texts: list[str]) -> None:
        self.fake.send_text(chat, "hi")  # the chat exists at "Telegram"
        async with self.store.transaction(chat) as tx:
            for text in texts:
                await tx.enqueue(chat, "sendMessage", {"chat_id": chat, "text": text})

    def sent_at(self, chat: int, text: str) -> float:
        """When the fake received the (successful) message."""
        return next(c.started for c in self.fake.calls("sendMessage")
                    if c.params.get("chat_id") == chat and c.params.get("text") == text
                    and c.status == 200)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with (
        FakeTelegram() as fake,
        SQLiteStore(tmp_path / "relbot.sqlite3") as store,
        Bot(fake.token, base_url=fake.base_url) as bot,
    ):
        sender = Sender(bot, store, sweep_every=60.0,
                        budget=SendBudget(40.0, 10.0, window=0.05))
        await sender.start()
        try:
            yield Rig(fake, store, sender)
        finally:
            await sender.close()


async def test_a_reminder_goes_after_the_first_message_of_every_waiting_reply(rig: Rig) -> None:
    people = range(1, PEOPLE + 1)
    reminded = 999
    for chat in people:
        await rig.queue(chat, REPLY)
    await rig.queue(reminded, ["Time for your homework"])
    for chat in people[:10]:
        rig.sender.kick(chat)  # each of them just wrote
    await rig.fake.wait_for_async(lambda: rig.fake.messages(1), 5)  # the budget is in use
    rig.sender.kick(reminded, background=True)  # what bot.tg.reminders does
    for chat in people[10:]:
        rig.sender.kick(chat)  # more people write just after the reminder fell due

    await rig.fake.wait_for_async(
        lambda: all(len(rig.fake.messages(c)) == 3 for c in [*people, reminded][:-1])
        and rig.fake.messages(reminded), 10, what="every message")
    reminder = rig.sent_at(reminded, "Time for your homework")
    firsts = [rig.sent_at(chat, "first") for chat in people]
    thirds = [rig.sent_at(chat, "third") for chat in people]
    assert max(firsts) < reminder
    assert max(firsts) < min(thirds)  # everyone's first message before anyone's third
    assert [m.text for m in rig.fake.messages(7)] == REPLY  # in order within a chat


async def test_a_429_in_a_quiet_chat_holds_back_every_new_message(rig: Rig) -> None:
    rig.fake.fail_next("sendMessage", 429, retry_after=1, chat_id=1)
    await rig.queue(1, ["hello"])
    rig.sender.kick(1)
    await rig.fake.wait_for_async(lambda: rig.fake.calls("sendMessage"), 5)
    refused = rig.fake.calls("sendMessage")[0].started
    await asyncio.sleep(0.1)  # the 429 has been read
    await rig.queue(2, ["someone else"])
    rig.sender.kick(2)
    await rig.fake.wait_for_async(
        lambda: rig.fake.messages(1) and rig.fake.messages(2), 5, what="both messages")
    assert rig.sent_at(1, "hello") - refused >= 1.0
    assert rig.sent_at(2, "someone else") - refused >= 0.95  # the bot's limit: all wait


async def test_a_429_during_a_flood_holds_back_only_that_chat(rig: Rig) -> None:
    await rig.queue(1, [f"flood {i}" for i in range(12)])
    rig.sender.kick(1)
    await rig.fake.wait_for_async(lambda: len(rig.fake.messages(1)) >= 5, 5)  # one burst
    rig.fake.fail_next("sendMessage", 429, retry_after=2, chat_id=1)
    await rig.fake.wait_for_async(
        lambda: [c for c in rig.fake.calls("sendMessage") if c.status == 429], 5)
    refused = time.time()
    await rig.queue(2, ["someone else"])
    rig.sender.kick(2)
    await rig.fake.wait_for_async(lambda: rig.fake.messages(2), 5)
    assert rig.sent_at(2, "someone else") - refused < 0.5  # not held back by ana's flood
    await rig.fake.wait_for_async(lambda: len(rig.fake.messages(1)) == 12, 20)
    times = [rig.sent_at(1, f"flood {i}") for i in range(12)]
    assert times[5] - refused >= 1.9  # that chat waited out retry_after
