"""Several senders on one PostgreSQL outbox: real `Bot`s, the fake Telegram, real PostgreSQL.

Each sender has its own store (its own connection pool), as replicas do. What a person
would notice: every reply exactly once, in order; a replica that died holding a chat's
rows delays them by the lease, never loses them; and a chat's pacing counts the messages
another replica sent it a moment ago.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from fakegram import FakeTelegram
from telegram import Bot

from bot.privacy.keyring import KeyRing, new_key_entry
from bot.storage import PostgresStore, UserRecord
from bot.tg.sender import Sender

POSTGRES_URL = os.environ.get(
    "RELBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
KEYS = KeyRing.parse(new_key_entry("replicas"))
CHATS = 40
REPLIES = 4
LEASE = 2.0  # seconds (two minutes in production)


@pytest.fixture
async def schema() -> AsyncIterator[str]:
    if os.environ.get("RELBOT_SKIP_POSTGRES") == "1":
        pytest.skip("RELBOT_SKIP_POSTGRES=1: PostgreSQL tests skipped on request")
    name = f"relbot_senders_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
        yield name
        await conn.execute(f'DROP SCHEMA "{name}" CASCADE')
    finally:
        await conn.close()


def replica(schema: str) -> PostgresStore:
    return PostgresStore(POSTGRES_URL, schema=schema, keys=KEYS)


async def queue(store: PostgresStore, chat: int, texts: list[str]) -> None:
    async with store.transaction(chat) as tx:
        if await tx.load_user() is None:
            await tx.save_user(UserRecord(chat, chat))
        for text in texts:
            await tx.enqueue(chat, "sendMessage", {"chat_id": chat, "text": text})


def received(fake: FakeTelegram, chat: int) -> list[str]:
    return [m.text or "" for m in fake.messages(chat)]


async def test_three_senders_send_each_reply_once_in_order(schema: str) -> None:
    chance = random.Random(13)
    async with (
        FakeTelegram() as fake,
        replica(schema) as one, replica(schema) as two, replica(schema) as three,
        Bot(fake.token, base_url=fake.base_url) as bot_one,
        Bot(fake.token, base_url=fake.base_url) as bot_two,
        Bot(fake.token, base_url=fake.base_url) as bot_three,
    ):
        stores = [one, two, three]
        senders = [Sender(bot, store, rate=50.0, burst=3, sweep_every=0.2, lease=LEASE)
                   for bot, store in zip([bot_one, bot_two, bot_three], stores, strict=True)]
        for sender in senders:
            await sender.start()
        try:
            chats = list(range(1, CHATS + 1))
            for chat in chats:
                fake.send_text(chat, "hi")
            for n in range(REPLIES):  # each reply committed by a random replica and kicked
                for chat in chats:  # there, sometimes on a second replica too
                    store = chance.choice(stores)
                    await queue(store, chat, [f"{chat}:{n}"])
                    senders[stores.index(store)].kick(chat)
                    if chance.random() < 0.3:
                        chance.choice(senders).kick(chat)
            await fake.wait_for_async(
                lambda: all(len(received(fake, c)) >= REPLIES for c in chats), 30,
                what="every reply")
            await asyncio.sleep(0.5)  # time for a double to show up, if there were one
            for chat in chats:
                assert received(fake, chat) == [f"{chat}:{n}" for n in range(REPLIES)]
            assert sum(s.stats.sent for s in senders) == CHATS * REPLIES
            assert sum(1 for s in senders if s.stats.sent) >= 2  # the work was shared
        finally:
            for sender in senders:
                await sender.close()


async def test_a_dead_replicas_claims_are_sent_after_the_lease(schema: str) -> None:
    async with (
        FakeTelegram() as fake,
        replica(schema) as dead, replica(schema) as alive,
        Bot(fake.token, base_url=fake.base_url) as bot,
    ):
        fake.send_text(7, "hi")
        await queue(dead, 7, ["first", "second"])
        claimed = await dead.pending(7, claim_for=timedelta(seconds=LEASE))
        assert len(claimed) == 2  # ... and the replica dies before sending them
        sender = Sender(bot, alive, rate=50.0, sweep_every=0.2, lease=LEASE)
        await sender.start()
        try:
            started = asyncio.get_running_loop().time()
            await queue(alive, 7, ["third"])
            sender.kick(7)
            await fake.wait_for_async(lambda: len(received(fake, 7)) == 3, 10 * LEASE)
            waited = asyncio.get_running_loop().time() - started
            assert received(fake, 7) == ["first", "second", "third"]  # in order, after all
            assert waited > LEASE * 0.7, waited  # not before the dead replica's lease ended
        finally:
            await sender.close()


async def test_pacing_counts_what_another_replica_just_sent(schema: str) -> None:
    async with (
        FakeTelegram() as fake,
        replica(schema) as one, replica(schema) as two,
        Bot(fake.token, base_url=fake.base_url) as bot_one,
        Bot(fake.token, base_url=fake.base_url) as bot_two,
    ):
        fake.send_text(9, "hi")
        # Two messages a second, a burst of three: the first three go at once.
        first = Sender(bot_one, one, rate=2.0, burst=3, lease=LEASE)
        second = Sender(bot_two, two, rate=2.0, burst=3, lease=LEASE)
        await queue(one, 9, ["a", "b", "c"])
        first.kick(9)
        await fake.wait_for_async(lambda: len(received(fake, 9)) == 3, 10)
        await queue(two, 9, ["d"])  # the next reply is handled by the other replica
        second.kick(9)
        await fake.wait_for_async(lambda: len(received(fake, 9)) == 4, 10)
        calls = [c.started for c in fake.calls("sendMessage")
                 if c.params.get("chat_id") == 9]
        assert calls[3] - calls[2] > 0.3, calls  # held back ~0.5 s: the bucket was empty
        await first.close()
        await second.close()


async def test_a_safety_reply_on_another_replica_stops_what_this_one_holds_back(
        schema: str) -> None:
    """A flood is paced on one replica; meanwhile the person's safety turn is handled by
    another (its transaction supersedes the queued rows, claimed ones included). The
    held-back rows must not go out after the safety reply: re-checked before the call."""
    async with (
        FakeTelegram() as fake,
        replica(schema) as one, replica(schema) as two,
        Bot(fake.token, base_url=fake.base_url) as bot_one,
        Bot(fake.token, base_url=fake.base_url) as bot_two,
    ):
        fake.send_text(11, "hi")
        flood = [f"line {n}" for n in range(8)]
        pacing = Sender(bot_one, one, rate=1.0, burst=2, lease=30.0)  # a long lease
        other = Sender(bot_two, two, rate=1.0, burst=2, lease=30.0)
        await queue(one, 11, flood)
        pacing.kick(11)
        await fake.wait_for_async(lambda: len(received(fake, 11)) == 2, 10)  # the burst
        async with two.transaction(11) as tx:  # the safety turn, on the other replica
            assert await tx.supersede_queued(11) >= 5
            await tx.enqueue_urgent(11, "sendMessage", {"chat_id": 11, "text": "SAFETY"})
        other.kick(11, urgent=True)
        await fake.wait_for_async(lambda: "SAFETY" in received(fake, 11), 40)
        await asyncio.sleep(2.5)  # the paced rows' turns come and go
        got = received(fake, 11)
        assert got[-1] == "SAFETY", got  # nothing older after it
        assert len(got) <= 4, got  # at most the one in flight when it was superseded
        await pacing.close()
        await other.close()
