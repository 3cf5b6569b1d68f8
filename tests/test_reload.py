"""`relbot run --reload`: edits reach a running conversation; sessions carry over.

A real `Conversation` over a real SQLite store, as the bot runs it; the dialogue files
of a copied folder are edited on disk while it runs.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli.folders import compiled_or_exit
from bot.conversation import Conversation, Incoming
from bot.core.types import Started, Typed
from bot.reload import DialogueReloader
from bot.safety import Screen
from bot.storage import Store, open_store
from bot.tg.render import render

EXAMPLES = Path(__file__).resolve().parents[1] / "dialogues" / "examples"
CHAT = 42


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "dialogues"
    shutil.copytree(EXAMPLES, copy)
    return copy


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'relbot.sqlite3'}")
    await opened.open()
    yield opened
    await opened.close()


class _Person:
    """Sends updates through the conversation and reads what the bot would send."""

    def __init__(self, conversation: Conversation, store: Store) -> None:
        self.conversation, self.store, self.update = conversation, store, 0

    async def send(self, event: object) -> list[str]:
        self.update += 1
        await self.conversation.handle(Incoming(self.update, CHAT, CHAT, event))  # type: ignore[arg-type]
        items = await self.store.pending(CHAT)
        for item in items:
            await self.store.mark_sent(item.id, None)
        return [str(item.params.get("text")) for item in items]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


async def test_a_good_edit_is_swapped_in_and_the_person_stays_where_they_were(
        folder: Path, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    conversation = Conversation(store, compiled_or_exit(folder), Screen.load(), render)
    reloader = DialogueReloader(folder, lambda c: setattr(conversation, "compiled", c))
    person = _Person(conversation, store)
    assert (await person.send(Started("pause")))[-1] == "Breathe in slowly, and out slowly."
    assert reloader.check() is False  # nothing changed yet

    _edit(folder / "pause.yaml", "Breathe in slowly, and out slowly.", "Breathe in, then out.")
    assert reloader.check() is True
    assert await person.send(Typed("hmm")) == ["Please tap a button or type its number.",
                                               "Breathe in, then out."]

    caplog.set_level(logging.INFO, logger="bot.reload")
    _edit(folder / "pause.yaml", "goto: finish", "goto: finnish")
    assert reloader.check() is False
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("pause.yaml:15:" in e and "D011 no state 'finnish'" in e for e in errors), errors
    assert errors[-1].endswith("the previous dialogues keep running")
    assert await person.send(Typed("hmm")) == ["Please tap a button or type its number.",
                                               "Breathe in, then out."]


async def test_attach_swaps_the_running_conversation(folder: Path, store: Store) -> None:
    first = compiled_or_exit(folder)
    conversation = Conversation(store, first, Screen.load(), render)
    reloader = DialogueReloader(folder)
    reloader.attach(conversation)
    try:
        _edit(folder / "pause.yaml", "Let's pause for one breath.", "One breath together.")
        for _ in range(40):
            await asyncio.sleep(0.1)
            if conversation.compiled is not first:
                break
        assert conversation.compiled is not first
        person = _Person(conversation, store)
        assert (await person.send(Started("pause")))[0] == "One breath together."
    finally:
        reloader.stop()
