"""Settings from the environment: defaults, and a one-line `ConfigError` per mistake that
names the setting and never repeats a secret."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings
from bot.privacy.keyring import new_key_entry

BASE = {"TELEGRAM_BOT_TOKEN": "123456:SECRET-TOKEN"}


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def mistake(**env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        settings(**env)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults() -> None:
    s = settings()
    assert (s.port, s.health_port, s.startup_timeout) == (8080, None, 30.0)
    assert (s.health_max_backlog, s.health_max_age, s.log_level) == (1000, 300.0, "INFO")
    assert not s.webhook


def test_new_settings_are_read_and_flags_win() -> None:
    s = Settings.from_env(
        {**BASE, "HEALTH_PORT": "8081", "STARTUP_TIMEOUT": "2.5", "HEALTH_MAX_AGE": "60"},
        HEALTH_MAX_BACKLOG="50", LOG_LEVEL="debug",
    )  # fmt: skip
    assert (s.health_port, s.startup_timeout, s.health_max_age) == (8081, 2.5, 60.0)
    assert (s.health_max_backlog, s.log_level) == (50, "DEBUG")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of DEBUG, INFO"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be text or json, not 'xml'"),
        ({"METRICS": "perhaps"}, "METRICS must be 1 (yes) or 0 (no)"),
        ({"REPLICAS": "three"}, "REPLICAS must be a whole number above 0"),
        ({"REPLY_RATE": "fast"}, "REPLY_RATE must be a number of messages a second above 0"),
        ({"PORT": "eighty"}, "PORT must be a port number from 1 to 65535, not 'eighty'"),
        ({"PORT": "70000"}, "PORT must be a port number"),
        ({"HEALTH_PORT": "0"}, "HEALTH_PORT must be a port number"),
        ({"STARTUP_TIMEOUT": "soon"}, "STARTUP_TIMEOUT must be a number of seconds above 0"),
        ({"STARTUP_TIMEOUT": "-1"}, "STARTUP_TIMEOUT must be a number of seconds above 0"),
        ({"HEALTH_MAX_AGE": "nan"}, "HEALTH_MAX_AGE must be a number of seconds above 0"),
        ({"HEALTH_MAX_BACKLOG": "1.5"}, "HEALTH_MAX_BACKLOG must be a whole number above 0"),
        ({"TELEGRAM_API_URL": "api.telegram.org/bot"}, "TELEGRAM_API_URL must start with"),
        ({"WEBHOOK_URL": "https://x/y"}, "WEBHOOK_SECRET is required with WEBHOOK_URL"),
    ],
)
def test_each_mistake_is_one_line_naming_the_setting(env: dict[str, str], says: str) -> None:
    assert says in mistake(**env)


@pytest.mark.parametrize("secret", ["with space", "slash/no", "ü", "x" * 257])
def test_webhook_secret_telegram_refuses_is_never_echoed(secret: str) -> None:
    message = mistake(WEBHOOK_URL="https://x/y", WEBHOOK_SECRET=secret)
    assert "A-Z, a-z, 0-9, _ and -" in message and secret not in message


@pytest.mark.parametrize("secret", ["a", "A-z_09", "x" * 256])
def test_webhook_secrets_telegram_accepts(secret: str) -> None:
    assert settings(WEBHOOK_URL="https://x/y", WEBHOOK_SECRET=secret).webhook_secret == secret


def test_scale_out_settings() -> None:
    s = settings()
    assert (s.replicas, s.metrics, s.log_format, s.migrate) == (1, True, "text", False)
    assert s.upgrade == "apply"  # SQLite, the embedded default, upgrades on start
    assert s.reply_rate == 100.0  # new messages a second, the whole bot (bot.config says why)
    s = settings(REPLICAS="3", METRICS="0", LOG_FORMAT="JSON", DATA_KEY=new_key_entry(),
                 DATABASE_URL="postgresql://db/relbot", REPLY_RATE="60")
    assert (s.replicas, s.metrics, s.log_format, s.reply_rate) == (3, False, "json", 60.0)
    assert s.upgrade == "refuse"  # PostgreSQL: `relbot db upgrade`, or MIGRATE=1
    assert settings(MIGRATE="1", DATA_KEY=new_key_entry(),
                    DATABASE_URL="postgresql://db/relbot").upgrade == "apply"


def test_repr_shows_no_token_secret_or_password() -> None:
    key = new_key_entry()
    s = settings(WEBHOOK_URL="https://x/y", WEBHOOK_SECRET="hook-secret",
                 DATABASE_URL="postgresql://bot:pa55word@db/relbot", DATA_KEY=key)  # fmt: skip
    text = repr(s)
    for secret in ("SECRET-TOKEN", "hook-secret", "pa55word", key.rpartition(":")[2]):
        assert secret not in text
