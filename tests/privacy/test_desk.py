"""/delete's expiry and the notices for returning people, on a real store with a clock.

Through the Telegram-free conversation and the privacy desk (what the Telegram handlers
call), because waiting ten minutes or a year is not something an end-to-end test can do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.folders import compiled_or_exit
from bot.conversation import Conversation, Incoming
from bot.core.compile import CompiledBundle
from bot.core.types import Started
from bot.privacy.desk import PrivacyDesk, parse_delete_data
from bot.privacy.keyring import KeyRing, new_key_entry
from bot.privacy.retention import Upkeep
from bot.safety import Screen
from bot.storage import SQLiteStore, Store
from bot.tg.render import render


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


ROOT = Path(__file__).resolve().parents[2]
KEYS = KeyRing.parse(new_key_entry("t"))


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
    """One person, their updates numbered; replies read from the outbox as the sender
    would send them (then marked sent)."""

    def __init__(self, store: Store, programme: CompiledBundle, user_id: int = 42) -> None:
        self.store, self.id, self.update = store, user_id, 0
        self.conversation = Conversation(store, programme, Screen.load(), render)
        self.desk = PrivacyDesk(store, programme, self.conversation.language_for)

    def next_update(self) -> int:
        self.update += 1
        return self.update

    async def start(self) -> None:
        await self.conversation.handle(Incoming(self.next_update(), self.id, self.id,
                                                event=Started(None)))

    async def replies(self) -> list[dict[str, object]]:
        items = await self.store.pending(self.id)
        for item in items:
            await self.store.mark_sent(item.id, 1000 + item.id)
        return [dict(item.params) for item in items]

    async def ask_delete(self) -> str:
        await self.desk.ask_delete(self.next_update(), self.id, self.id, "en")
        *_, reply = await self.replies()
        buttons = reply["reply_markup"]["inline_keyboard"]  # type: ignore[index]
        parsed = parse_delete_data(buttons[0][0]["callback_data"])
        assert parsed is not None and parsed[0] == "delete"
        return parsed[1]

    async def press(self, answer: str, token: str) -> str | None:
        return await self.desk.answer_delete(self.next_update(), self.id, self.id, "en", 7,
                                             answer, token)  # type: ignore[arg-type]


async def test_a_confirmation_expires_after_ten_minutes(
    store: Store, programme: CompiledBundle, clock: FakeClock
) -> None:
    ana = Person(store, programme)
    await ana.start()
    await ana.replies()
    token = await ana.ask_delete()
    clock.advance(minutes=10, seconds=1)
    notice = await ana.press("delete", token)
    assert notice is not None and notice.startswith("That confirmation is no longer valid")
    assert await ana.replies() == []  # said on the button; the message is left alone
    async with store.transaction(ana.id) as tx:
        assert await tx.load_user() is not None  # nothing was deleted

    token = await ana.ask_delete()
    clock.advance(minutes=9)
    assert await ana.press("delete", token) is None
    async with store.transaction(ana.id) as tx:
        assert await tx.load_user() is None


async def test_a_forged_token_does_nothing(store: Store, programme: CompiledBundle) -> None:
    ana = Person(store, programme)
    await ana.start()
    token = await ana.ask_delete()
    assert await ana.press("delete", token[:-1] + ("x" if token[-1] != "x" else "y"))
    async with store.transaction(ana.id) as tx:
        user = await tx.load_user()
    assert user is not None and user.delete_token == token  # the real one still works


async def test_a_returning_person_hears_that_their_answers_expired(
    store: Store, programme: CompiledBundle, clock: FakeClock
) -> None:
    ana = Person(store, programme)
    await ana.start()
    await ana.replies()
    clock.advance(days=366)
    assert (await Upkeep(store, 365).run_once()).expired == 1
    await ana.start()
    texts = [str(r["text"]) for r in await ana.replies()]
    assert texts[0].startswith("Welcome back. It has been a while, so, as promised, I deleted")
    assert texts[1].startswith("Hi, I'm relbot.")  # a fresh start
    await ana.start()
    assert not any("It has been a while" in str(r["text"]) for r in await ana.replies())


async def test_a_lost_key_is_a_kind_fresh_start(
    tmp_path: Path, programme: CompiledBundle, clock: FakeClock
) -> None:
    path = tmp_path / "r.sqlite3"
    async with SQLiteStore(path, clock=clock, keys=KEYS) as store:
        ana = Person(store, programme)
        await ana.start()
        await ana.replies()
    async with SQLiteStore(path, clock=clock,
                           keys=KeyRing.parse(new_key_entry("other"))) as store:
        ana = Person(store, programme)
        ana.update = 10
        await ana.start()
        texts = [str(r["text"]) for r in await ana.replies()]
    assert texts[0].startswith("Sorry, I can no longer read what I had saved for you")
    assert texts[1].startswith("Hi, I'm relbot.")


def test_retention_days_are_what_privacy_promises(programme: CompiledBundle) -> None:
    text = programme.string("privacy", "en", days=90)
    assert "If you don't write to me for 90 days" in text
    assert "encrypted" in text and "Delete chat" in text
    assert programme.string("privacy", "es", days=90).count("90 días") == 1
