"""The sender in-process: real python-telegram-bot `Bot`, the fake Telegram, real SQLite.

What the end-to-end tests cannot see from outside the process: the per-chat pacing
buckets of chats that have gone quiet are forgotten, so the sender's memory follows the
chats being served now, not every chat ever served.
"""

from __future__ import annotations

from pathlib import Path

from fakegram import FakeTelegram
from telegram import Bot

from bot.storage import SQLiteStore
from bot.tg.sender import Sender

CHATS = 300


async def test_buckets_of_idle_chats_are_forgotten(tmp_path: Path) -> None:
    async with (
        FakeTelegram() as fake,
        SQLiteStore(tmp_path / "relbot.sqlite3") as store,
        Bot(fake.token, base_url=fake.base_url) as bot,
    ):
        # A bucket refills in burst / rate = 0.3 s here (1 message a second in production).
        sender = Sender(bot, store, rate=10.0, burst=3, sweep_every=0.1)
        await sender.start()
        try:
            for chat in range(1, CHATS + 1):
                fake.send_text(chat, "hi")  # the chat exists at "Telegram"
                async with store.transaction(chat) as tx:
                    await tx.enqueue(chat, "sendMessage", {"chat_id": chat, "text": "hello"})
                sender.kick(chat)
            await fake.wait_for_async(
                lambda: all(fake.messages(c) for c in range(1, CHATS + 1)), 30)
            assert sender.tracked_chats > 0
            await fake.wait_for_async(lambda: sender.tracked_chats == 0, 5,
                                      what="the idle chats forgotten")
            assert sender.stats.sent == CHATS
        finally:
            await sender.close()
