"""Webhook mode: the secret header is checked, an update is acknowledged only once it was
applied, and Telegram's redeliveries are applied once.

relbot run with WEBHOOK_URL/WEBHOOK_SECRET/PORT, the example dialogues, SQLite; the fake
Telegram POSTs each update to the bot's own HTTP server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fakegram import FakeTelegram

from .harness import BotProcess, Database, Person, running


@pytest.fixture(scope="module")
def bot(fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    with running(BotProcess(fake, tmp_path_factory.mktemp("webhook"), webhook=True)) as process:
        yield process


def start_update(update_id: int, user_id: int) -> dict[str, Any]:
    """A well-formed /start update, as Telegram would POST it."""
    user = {"id": user_id, "is_bot": False, "first_name": "Eve", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 90_001,
            "from": user,
            "chat": {"id": user_id, "type": "private", "first_name": "Eve"},
            "date": int(time.time()),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


def set_webhook(fake: FakeTelegram, url: str, secret: str) -> None:
    """Change the webhook registration at "Telegram", as a second deployment might."""
    response = httpx.post(
        f"{fake.base_url}{fake.token}/setWebhook",
        json={"url": url, "secret_token": secret, "allowed_updates": []},
    )
    assert response.json()["ok"], response.text


def test_registered_with_secret_and_update_types(fake: FakeTelegram, bot: BotProcess) -> None:
    registration = fake.calls("setWebhook")[-1]
    assert registration.params["url"] == bot.webhook_url
    assert registration.params["secret_token"] == bot.webhook_secret
    assert set(registration.params["allowed_updates"]) == {
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    }
    health = httpx.get(f"http://127.0.0.1:{bot.webhook_port}/healthz")
    assert health.status_code == 200 and health.json()["ok"] is True


def test_wrong_secret_is_403_and_nothing_happens(
    fake: FakeTelegram, bot: BotProcess, person: Callable[..., Person], db: Database
) -> None:
    eve = person(name="Eve")
    eve.command("privacy")  # Eve exists at Telegram; nothing started yet
    eve.expect("What I keep")
    before = db.user(eve.id)
    secret = bot.webhook_secret or ""
    header = "X-Telegram-Bot-Api-Secret-Token"
    wrong: list[dict[str, str]] = [
        {},
        {header: ""},
        {header: "wrong"},
        {header: secret[:-1]},
        {header: secret + "x"},
        {header: secret.swapcase()},
        {header.lower(): secret.upper()},
    ]
    forged_id = 880_000_000 + eve.id
    for headers in wrong:
        response = httpx.post(
            bot.webhook_url, json=start_update(forged_id, eve.id), headers=headers
        )
        assert response.status_code == 403, headers

    eve.expect_nothing_more()  # no greeting: the update was not applied
    assert db.user(eve.id) == before
    assert db.query("SELECT 1 FROM inbox WHERE update_id = ?", forged_id) == []

    # The very same request with the right secret is applied: the 403 was the secret.
    response = httpx.post(
        bot.webhook_url, json=start_update(forged_id, eve.id), headers={header: secret}
    )
    assert response.status_code == 200
    eve.expect("Hi! This tour shows", "Which language do you prefer?")


def test_rejected_delivery_is_retried_and_applied_once_with_the_right_secret(
    fake: FakeTelegram, bot: BotProcess, person: Callable[..., Person]
) -> None:
    ana = person()
    ana.command("privacy")
    ana.expect("What I keep")
    set_webhook(fake, bot.webhook_url, "not-the-bots-secret")
    try:
        update = ana.command("start")
        fake.wait_for(
            lambda: len([d for d in fake.webhook_deliveries() if d.update_id == update]) >= 3,
            what="three rejected deliveries",
        )
        attempts = [d for d in fake.webhook_deliveries() if d.update_id == update]
        assert {d.status for d in attempts} == {403}
        assert len(ana.messages()) == 1  # nothing applied
    finally:
        set_webhook(fake, bot.webhook_url, bot.webhook_secret or "")
    ana.expect("Hi! This tour shows", "Which language do you prefer?")
    ana.expect_nothing_more()
    attempts = [d for d in fake.webhook_deliveries() if d.update_id == update]
    assert [d.status for d in attempts][-1] == 200
    assert [d.status for d in attempts].count(200) == 1


def test_redelivered_update_is_applied_once(
    fake: FakeTelegram, person: Callable[..., Person], db: Database
) -> None:
    ana = person()
    ana.command("start")
    ana.expect("Hi! This tour shows", "Which language")
    press = ana.press("English")
    ana.expect("What should I call you?")
    name = ana.send("Ana")
    ana.expect("Thanks, Ana. From 0 to 10")
    session = db.user(ana.id)

    fake.redeliver(name)
    fake.redeliver(press)
    ana.expect_nothing_more()
    assert db.user(ana.id) == session
    delivered = [d for d in fake.webhook_deliveries() if d.update_id in (name, press)]
    assert [d.status for d in delivered] == [200, 200, 200, 200]  # acknowledged, not applied
    assert len([a for a in fake.callback_answers() if a.user_id == ana.id]) == 1

    ana.send("8")
    ana.expect("How many hours did you sleep?")


def test_update_ids_that_jump_are_not_duplicates(
    fake: FakeTelegram, person: Callable[..., Person]
) -> None:
    ana = person()
    ana.command("start")
    ana.expect("Hi! This tour shows", "Which language")
    fake.jump_update_id(10_000)
    ana.press("English")
    ana.expect("What should I call you?")
    fake.jump_update_id(1)
    ana.send("Ana")
    ana.expect("Thanks, Ana.")
