"""Settings, read once from the environment (and the same names as `relbot run` flags).

One place that knows every knob, like Starlette's `Config`: the rest of the bot receives
a frozen `Settings` and never reads `os.environ` itself. Every mistake found here is a
`ConfigError` whose message is one line that says what to set, and never shows a secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.privacy.keyring import KeyConfigError, KeyRing

__all__ = ["DEFAULT_API_URL", "DEFAULT_DATABASE_URL", "DEFAULT_REPLY_RATE", "LOG_FORMATS",
           "LOG_LEVELS", "ConfigError", "Settings"]

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite:///data/relbot.sqlite3"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
#: REPLY_RATE: new messages a second the whole bot sends (every replica together). Why 100:
#: Telegram's "about 30 a second" is its figure for bulk notifications to many users, and
#: background sends keep to it (`bot.tg.pacing.BULK_RATE`); replies to people who just
#: wrote are not bulk, and Telegram publishes no figure for them. 100 lets 200 people who
#: act in the same second all see their first message within 2 s, at about three times the
#: bulk figure; if Telegram disagrees it answers 429 with retry_after, and the sender then
#: pauses every new message for that long. Lower it if 429s show up in /metrics.
DEFAULT_REPLY_RATE = 100.0
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token


class ConfigError(ValueError):
    """A setting is missing or wrong; the message is one line a person can act on."""


@dataclass(frozen=True, slots=True)
class Settings:
    token: str
    api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    dialogues_dir: Path | None = None
    log_level: str = "INFO"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    port: int = 8080
    listen: str = "0.0.0.0"
    health_port: int | None = None  # /healthz on its own port (any mode); webhook: also on port
    startup_timeout: float = 30.0  # seconds to keep trying the database and Telegram at start
    health_max_backlog: int = 1000  # unsent replies before /healthz says the sender lags
    health_max_age: float = 300.0  # seconds the oldest unsent reply may wait
    data_key: str | None = None  # DATA_KEY: the key ring that seals free text at rest
    retention_days: int = 365  # RETENTION_DAYS: inactive people's answers are deleted after
    send_retry_hours: float = 6.0  # a reply Telegram keeps refusing is retried this long
    time_scale: float = 1.0  # for tests: multiplies every retry wait and limit
    replicas: int = 1  # REPLICAS: processes sharing the bot; Telegram's global limit is split
    reply_rate: float = DEFAULT_REPLY_RATE  # REPLY_RATE: new messages a second, whole bot
    migrate: bool = False  # MIGRATE / --migrate: apply missing migrations on start (PostgreSQL)
    metrics: bool = True  # METRICS=0: no /metrics (on the webhook server and HEALTH_PORT)
    log_format: str = "text"  # LOG_FORMAT: text (for people) or json (for log collectors)
    clock_file: Path | None = None  # for tests: RELBOT_TEST_CLOCK_FILE moves time (bot.clock)
    admin_ids: frozenset[int] = frozenset()  # ADMIN_USER_IDS: may invite therapists (/invite)

    def secrets(self) -> list[str]:
        """Everything the log must never show; the token first (it keys `user_ref`)."""
        found = [self.token, self.webhook_secret or ""]
        if self.data_key:
            found.append(self.data_key)
            for entry in self.data_key.replace("\n", ",").split(","):
                found.append(entry.strip().rpartition(":")[2])
        return [self.token, *(secret for secret in found[1:] if secret)]

    @property
    def upgrade(self) -> Literal["apply", "refuse"]:
        """What start-up does with missing migrations: SQLite (one process, the embedded
        default) applies them; PostgreSQL only with MIGRATE=1 or `--migrate`, because
        replicas sharing one schema are upgraded once, by `relbot db upgrade`."""
        embedded = self.database_url.startswith("sqlite:")
        return "apply" if embedded or self.migrate else "refuse"

    @property
    def webhook(self) -> bool:
        return bool(self.webhook_url)

    def __repr__(self) -> str:  # never show the token or the secret
        return (f"Settings(api_url={self.api_url!r}, database_url={_safe_url(self.database_url)!r}"
                f", webhook={self.webhook}, port={self.port}, health_port={self.health_port})")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: str | None) -> Settings:
        """Build from environment variables; `overrides` (from flags) win when not None."""
        source = dict(os.environ if env is None else env)
        source.update({k: v for k, v in overrides.items() if v is not None})
        token = source.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and "
                              "export TELEGRAM_BOT_TOKEN=<its token> (or try `relbot chat`)")
        webhook_url = source.get("WEBHOOK_URL") or None
        secret = source.get("WEBHOOK_SECRET") or None
        if webhook_url and not secret:
            raise ConfigError("WEBHOOK_SECRET is required with WEBHOOK_URL: set it to a random "
                              "string of 1-256 characters A-Z, a-z, 0-9, _ and -")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise ConfigError("WEBHOOK_SECRET may only hold 1-256 characters A-Z, a-z, 0-9, _ "
                              "and - (Telegram refuses others): generate one with python3 -c "
                              "'import secrets; print(secrets.token_urlsafe(32))'")
        api_url = source.get("TELEGRAM_API_URL") or DEFAULT_API_URL
        if not api_url.startswith(("https://", "http://")):
            raise ConfigError("TELEGRAM_API_URL must start with https:// (or http://), like "
                              f"{DEFAULT_API_URL}")
        log_level = (source.get("LOG_LEVEL") or "INFO").strip().upper()
        if log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
                              f"not {source.get('LOG_LEVEL')!r}")
        log_format = (source.get("LOG_FORMAT") or "text").strip().lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be text or json, not {source.get('LOG_FORMAT')!r}")
        health_port = source.get("HEALTH_PORT") or None
        dialogues = source.get("DIALOGUES_DIR")
        database_url = source.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        data_key = (source.get("DATA_KEY") or "").strip() or None
        if data_key:
            try:
                KeyRing.parse(data_key)
            except KeyConfigError as exc:
                raise ConfigError(str(exc)) from None
        elif database_url.startswith(("postgresql:", "postgres:")):
            raise ConfigError("DATA_KEY is required with PostgreSQL: set it to the output of "
                              "`relbot keys new` (the same value on every replica)")
        try:
            retention = int(source.get("RETENTION_DAYS") or "365")
        except ValueError:
            retention = 0
        if retention < 1:
            raise ConfigError(f"RETENTION_DAYS must be a whole number of days, at least 1, not "
                              f"{source.get('RETENTION_DAYS')!r}")
        admins = (source.get("ADMIN_USER_IDS") or "").replace(",", " ").split()
        if not all(a.isascii() and a.isdigit() for a in admins):
            raise ConfigError("ADMIN_USER_IDS must be Telegram user ids (numbers) separated by "
                              f"commas, like 12345,67890, not {source.get('ADMIN_USER_IDS')!r}")
        return cls(
            admin_ids=frozenset(int(a) for a in admins),
            token=token,
            api_url=api_url,
            database_url=database_url,
            dialogues_dir=Path(dialogues) if dialogues else None,
            log_level=log_level,
            webhook_url=webhook_url,
            webhook_secret=secret,
            port=_port(source, "PORT", "8080"),
            listen=source.get("LISTEN") or "0.0.0.0",
            health_port=_port(source, "HEALTH_PORT", health_port) if health_port else None,
            startup_timeout=_number(source, "STARTUP_TIMEOUT", 30.0),
            health_max_backlog=int(_number(source, "HEALTH_MAX_BACKLOG", 1000, whole=True)),
            health_max_age=_number(source, "HEALTH_MAX_AGE", 300.0),
            data_key=data_key,
            retention_days=retention,
            send_retry_hours=_number(source, "SEND_RETRY_HOURS", 6.0, kind="a number of hours"),
            time_scale=_number(source, "RELBOT_TIME_SCALE", 1.0, kind="a number"),
            replicas=int(_number(source, "REPLICAS", 1, whole=True)),
            reply_rate=_number(source, "REPLY_RATE", DEFAULT_REPLY_RATE,
                               kind="a number of messages a second"),
            migrate=_flag(source, "MIGRATE"),
            metrics=_flag(source, "METRICS", default=True),
            log_format=log_format,
            clock_file=Path(source["RELBOT_TEST_CLOCK_FILE"])
            if source.get("RELBOT_TEST_CLOCK_FILE") else None,
        )


def _flag(source: Mapping[str, str], name: str, *, default: bool = False) -> bool:
    text = (source.get(name) or "").strip().lower()
    if not text:
        return default
    if text in ("0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name} must be 1 (yes) or 0 (no), not {source.get(name)!r}")


def _port(source: Mapping[str, str], name: str, default: str) -> int:
    text = source.get(name) or default
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise ConfigError(f"{name} must be a port number from 1 to 65535, not {text!r}")
    return int(text)


def _number(source: Mapping[str, str], name: str, default: float, *, whole: bool = False,
            kind: str = "a number of seconds") -> float:
    """A positive number setting, or a one-line ConfigError."""
    text = (source.get(name) or "").strip()
    if not text:
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = -1
    if not value > 0 or value == float("inf"):
        kind = "a whole number" if whole else kind
        raise ConfigError(f"{name} must be {kind} above 0, not {text!r}")
    return value


def _safe_url(url: str) -> str:
    """A database URL without its password."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
