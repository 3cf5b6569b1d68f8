"""The retry settings: read once, positive numbers, and a mistake is one line to act on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.config import ConfigError, Settings

BASE = {"TELEGRAM_BOT_TOKEN": "1:x"}


def test_defaults_are_hours_and_real_time() -> None:
    settings = Settings.from_env(BASE)
    assert (settings.send_retry_hours, settings.time_scale) == (6.0, 1.0)


def test_values_are_read() -> None:
    settings = Settings.from_env({**BASE, "SEND_RETRY_HOURS": "0.5", "RELBOT_TIME_SCALE": "0.05"})
    assert (settings.send_retry_hours, settings.time_scale) == (0.5, 0.05)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "inf", "nan"])
@pytest.mark.parametrize("name", ["SEND_RETRY_HOURS", "RELBOT_TIME_SCALE"])
def test_a_wrong_value_is_one_line(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name} must be a number( of hours)? above 0, "
                                          f"not '{value}'$"):
        Settings.from_env({**BASE, name: value})


def test_relbot_run_says_it_in_one_line_and_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], capture_output=True, text=True, timeout=60,
        env={"TELEGRAM_BOT_TOKEN": "1:x", "SEND_RETRY_HOURS": "soon", "PATH": ""},
    )
    assert result.returncode == 2
    assert result.stderr == ("relbot: SEND_RETRY_HOURS must be a number of hours above 0, "
                             "not 'soon'\n")
