"""ADMIN_USER_IDS: who may invite therapists from Telegram; a mistake is one line."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings


def test_admin_ids_are_read_once() -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "ADMIN_USER_IDS": "12, 34,56"})
    assert settings.admin_ids == frozenset({12, 34, 56})
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": "1:x"}).admin_ids == frozenset()


def test_a_wrong_admin_list_says_what_to_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"TELEGRAM_BOT_TOKEN": "1:x", "ADMIN_USER_IDS": "@ana"})
    assert "ADMIN_USER_IDS must be Telegram user ids" in str(caught.value)
    assert "\n" not in str(caught.value)
