"""Someone who comes back after hours or days is greeted first, on a real store with a clock.

The conversation passes the hours since the person last wrote (the store's `updated_at`,
the conversation's clock) to the core with what they type; `_global.yaml`'s `returning`
turns a late message at an open question into a greeting that asks whether to carry on,
so "hi, I'm back" is never stored as the answer to that question.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.folders import compiled_or_exit
from bot.conversation import Conversation, Incoming
from bot.core.compile import CompiledBundle
from bot.core.types import Event, Session, Started, Typed
from bot.privacy.keyring import KeyRing, new_key_entry
from bot.safety import Screen
from bot.storage import SQLiteStore, Store, UserRecord
from bot.tg.render import render

ROOT = Path(__file__).resolve().parents[1]
KEYS = KeyRing.parse(new_key_entry("t"))
MOOD = "From 0 to 10, how is your mood today?"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def programme() -> CompiledBundle:
    return compiled_or_exit(ROOT / "dialogues")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Store]:
    async with SQLiteStore(tmp_path / "r.sqlite3", clock=clock, keys=KEYS) as opened:
        yield opened


class Person:
    def __init__(self, store: Store, programme: CompiledBundle, clock: FakeClock) -> None:
        self.store, self.id, self.update = store, 7, 0
        self.conversation = Conversation(store, programme, Screen.load(), render, clock=clock)

    async def adult(self) -> None:
        session = Session(vars={"language": "en", "adult": True, "store_answers": False})
        async with self.store.transaction(self.id) as tx:
            await tx.save_user(UserRecord(self.id, self.id, language="en",
                                          session=session.to_json(), consent={"adult": True}))

    async def send(self, event: Event) -> list[str]:
        self.update += 1
        await self.conversation.handle(Incoming(self.update, self.id, self.id, event=event))
        items = await self.store.pending(self.id)
        for item in items:
            await self.store.mark_sent(item.id, 1000 + item.id)
        return [str(item.params.get("text", "")) for item in items]

    async def session(self) -> Session:
        async with self.store.transaction(self.id) as tx:
            user = await tx.load_user()
        assert user is not None
        return Session.from_json(user.session)


async def test_back_after_a_day_mid_question_is_greeted_and_the_hello_is_not_the_answer(
        store: Store, programme: CompiledBundle, clock: FakeClock) -> None:
    ana = Person(store, programme, clock)
    await ana.adult()
    assert any(MOOD in t for t in await ana.send(Started("daily_checkin")))
    clock.now += timedelta(hours=26)
    replies = await ana.send(Typed("hi, I'm back"))
    assert any(t.startswith("Welcome back") for t in replies), replies
    assert not any("whole number" in t for t in replies)  # not treated as a wrong answer
    session = await ana.session()
    assert session.stack[-1].module == "welcome_back"
    assert "mood" not in session.vars or session.vars["mood"] in (None, "", 0)


async def test_a_reply_an_hour_later_is_just_an_answer(
        store: Store, programme: CompiledBundle, clock: FakeClock) -> None:
    ana = Person(store, programme, clock)
    await ana.adult()
    await ana.send(Started("daily_checkin"))
    clock.now += timedelta(hours=1)
    replies = await ana.send(Typed("7"))
    assert not any(t.startswith("Welcome back") for t in replies)
    assert any("boundary" in t for t in replies), replies
