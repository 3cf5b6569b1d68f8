"""The command menu is optional: a Bot API server that fails setMyCommands (404, 500, a
stall) costs one warning and a background retry, never the start of the bot."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fakegram import FakeTelegram
from telegram import Bot, BotCommand

from bot.cli.folders import compiled_or_exit
from bot.tg.menu import CommandMenu, Menus, register_commands

MENUS: Menus = [
    (None, [BotCommand("start", "Begin"), BotCommand("sos", "Help now")]),
    ("es", [BotCommand("start", "Empezar"), BotCommand("sos", "Ayuda ya")]),
]


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url) as b:
        yield b


async def eventually(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("status", [404, 500])
async def test_a_failing_menu_is_one_warning_then_set_in_the_background(
    fake: FakeTelegram, bot: Bot, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    fake.fail_next("setMyCommands", status, count=3)  # the first try and two retries
    menu = CommandMenu(bot, MENUS, backoff=0.05)
    with caplog.at_level(logging.DEBUG, logger="bot.tg.menu"):
        await menu.register()  # returns at once: the bot serves meanwhile
        assert fake.commands() == []
        await eventually(lambda: fake.commands("es") == [("start", "Empezar"), ("sos", "Ayuda ya")])
        # the fake has the last menu a moment before the retry task logs it: wait for both
        await eventually(lambda: "command menu set" in caplog.text)
        await menu.close()
    assert fake.commands() == [("start", "Begin"), ("sos", "Help now")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    reason = "Not Found" if status == 404 else "Internal Server Error"
    assert warnings == [f"could not set the command menu ({reason}); serving without it and "
                        "retrying in the background"]  # fmt: skip
    assert "command menu set" in caplog.text


async def test_a_stalled_menu_call_does_not_hold_up_the_start(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.slow("setMyCommands", 2.0)
    menu = CommandMenu(bot, MENUS, first_try=0.2, backoff=30)
    started = time.monotonic()
    await menu.register()
    assert time.monotonic() - started < 1.5
    await menu.close()  # the pending retry is cancelled, nothing left running
    fake.slow("setMyCommands", 0)


async def test_a_menu_that_works_is_set_at_once(fake: FakeTelegram, bot: Bot) -> None:
    menu = CommandMenu(bot, MENUS)
    await menu.register()
    assert fake.commands("es") == [("start", "Empezar"), ("sos", "Ayuda ya")]
    await menu.close()


async def test_the_shipped_menu_lists_what_everyone_may_use_in_both_languages(
    fake: FakeTelegram, bot: Bot
) -> None:
    compiled = compiled_or_exit(Path(__file__).resolve().parents[2] / "dialogues")
    menu = await register_commands(bot, compiled)
    await menu.close()
    english = dict(fake.commands())
    assert english["progress"] == "What you've saved, and how it changed"
    assert english["sharing"] == "What a therapist can see, and stop it"
    assert "reminders" in english and "sos" in english and "delete" in english
    assert not {"assign", "clients", "report", "invite", "notify"} & set(english)
    spanish = dict(fake.commands("es"))
    assert spanish.keys() == english.keys()
    assert spanish["progress"] == "Lo que has guardado y cómo ha cambiado"
