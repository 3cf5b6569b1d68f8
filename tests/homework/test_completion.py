"""Completion of assigned homework: a module finished counts, a module left half-way not.

Through the Telegram-free conversation on a real store and the real programme, because
"finished" is decided from the engine's outputs and the event that caused them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, time
from pathlib import Path

import pytest

from bot.cli.folders import compiled_or_exit
from bot.conversation import Conversation, Incoming
from bot.core.compile import CompiledBundle
from bot.core.types import Event, IntentInvoked, Session, Started, Typed
from bot.homework import LinkKind, Schedule, new_link, parse_payload
from bot.safety import Screen
from bot.storage import SQLiteStore, Store, UserRecord
from bot.tg.render import render

ROOT = Path(__file__).resolve().parents[2]
CLIENT, THERAPIST = 20, 10


@pytest.fixture(scope="module")
def programme() -> CompiledBundle:
    return compiled_or_exit(ROOT / "dialogues")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with SQLiteStore(tmp_path / "c.sqlite3") as opened:
        yield opened


async def _assigned(store: Store) -> int:
    invite = new_link(LinkKind.THERAPIST, store.now())
    await store.add_therapist_invite("Dr Ana", invite)
    offer = new_link(LinkKind.ASSIGNMENT, store.now())
    async with store.transaction(THERAPIST) as tx:
        assert await tx.redeem_link(*(parse_payload(invite.payload) or ()))
        schedule = Schedule("daily", time(20), date(2026, 1, 1), "UTC", 7)
        assert await tx.create_assignment(["daily_checkin"], schedule, None, offer)
    async with store.transaction(CLIENT) as tx:
        grant = await tx.redeem_link(*(parse_payload(offer.payload) or ()))
        assert grant is not None and grant.assignment is not None
        await tx.answer_assignment(grant.assignment.id, accept=True)
        session = Session(vars={"adult": True, "language": "en"})
        await tx.save_user(UserRecord(CLIENT, CLIENT, language="en", session=session.to_json(),
                                      consent={"adult": True}))
        return grant.assignment.id


async def test_a_check_in_left_half_way_does_not_count_and_a_finished_one_does(
        store: Store, programme: CompiledBundle) -> None:
    assignment = await _assigned(store)
    conversation = Conversation(store, programme, Screen.load(), render)
    updates = iter(range(1, 100))

    async def send(event: Event) -> None:
        await conversation.handle(Incoming(next(updates), CLIENT, CLIENT, event=event))

    await send(Started("daily_checkin"))
    await send(Typed("6"))
    await send(IntentInvoked("menu"))  # left half-way
    await send(Started("daily_checkin"))
    await send(Typed("7"))
    await send(Typed("cancel"))  # words that name an intent: left too
    assert await store.done_of(assignment) == []

    await send(Started("daily_checkin"))
    await send(Typed("8"))
    before = None
    for _ in range(10):  # the first button each time, by its number, until it ends;
        async with store.transaction(CLIENT) as tx:  # words where words are asked for
            user = await tx.load_user()
        assert user is not None
        session = Session.from_json(user.session)
        if session.module != "daily_checkin":
            break
        at = session.stack[-1].state
        await send(Typed("a short walk" if at == before else "1"))
        before = at
    assert [d.module for d in await store.done_of(assignment)] == ["daily_checkin"]
