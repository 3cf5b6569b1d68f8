"""A Bot API server that lacks optional methods (a self-hosted server, an emulator): the
command menu answers 404, the typing action 500. The bot still starts, serves a whole
dialogue, warns once about the menu, and sets it when the server starts answering.

relbot run with long polling, the example dialogues, SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .harness import BotProcess, Person, running, wait_until

ALWAYS = 10**6
MENU_WARNING = "could not set the command menu (Not Found); serving without it and retrying"


@pytest.fixture
def own_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def test_no_menu_and_no_typing_action_still_serves_a_dialogue(
    own_fake: FakeTelegram, tmp_path: Path
) -> None:
    fake = own_fake
    fake.fail_next("setMyCommands", 404, count=ALWAYS)
    fake.fail_next("sendChatAction", 500, count=ALWAYS)
    bot = BotProcess(fake, tmp_path)
    ana = Person(fake, next_user_id())
    with running(bot):
        ana.command("start")
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
        ana.press("English")
        ana.expect("What should I call you?")
        ana.send("Ana")
        ana.expect("Thanks, Ana. From 0 to 10")
        ana.send("8")
        ana.expect("How many hours did you sleep?")
        ana.send("7.5")
        ana.expect("Do you feel rested?")
        ana.send("yes")
        ana.expect("Pick a path, or type your own.")
        ana.press("A walk")
        ana.expect("You picked a walk.", "Plenty of energy, Ana.", "That's the tour.")
        for _ in range(7):  # more than one chat's burst: "typing…" while the rest wait
            ana.command("privacy")
        ana.expect(*["What I keep"] * 7)
        ana.expect_nothing_more()
        assert fake.commands() == []  # the server never took the menu
    typing = [c.status for c in fake.calls("sendChatAction") if c.params.get("chat_id") == ana.id]
    assert typing and set(typing) == {500}  # it was tried, it failed, nobody noticed
    assert bot.stderr.count(MENU_WARNING) == 1
    assert "Traceback" not in bot.output and " ERROR " not in bot.output


def test_the_menu_is_set_once_the_server_takes_it(own_fake: FakeTelegram, tmp_path: Path) -> None:
    fake = own_fake
    fake.fail_next("setMyCommands", 500, count=1)  # a hiccup at start
    bot = BotProcess(fake, tmp_path)
    ana = Person(fake, next_user_id())
    with running(bot):
        ana.command("start")  # served at once, menu or not
        ana.expect("Hi! This tour shows", "Which language do you prefer?")
        wait_until(lambda: fake.commands("es"), what="the Spanish menu, set in the background")
        assert [name for name, _ in fake.commands()][:2] == ["start", "menu"]
    assert "could not set the command menu (Internal Server Error)" in bot.stderr
    assert "command menu set" in bot.stderr
