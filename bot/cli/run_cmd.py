"""`relbot run`: connect to Telegram and serve every person who writes to the bot.

Start-up happens in three steps: settings (`bot.config`), the dialogues (every check),
then the pre-flight checks of the ports, the database and the token (`bot.tg.preflight`),
and only then python-telegram-bot's Application. A mistake in any step ends here as one
line on stderr and exit status 2; only a bug ends with a (redacted) traceback, status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.cli.folders import compiled_or_exit, default_dir
from bot.config import ConfigError, Settings
from bot.logs import setup_logging
from bot.privacy.keysource import KeyConfigError, check_keys, key_source

__all__ = ["add_parser", "run"]

log = logging.getLogger("bot.run")

FLAGS = {  # flag -> environment variable of the same meaning
    "token": "TELEGRAM_BOT_TOKEN", "api_url": "TELEGRAM_API_URL",
    "database_url": "DATABASE_URL", "dialogues_dir": "DIALOGUES_DIR",
    "log_level": "LOG_LEVEL", "webhook_url": "WEBHOOK_URL",
    "webhook_secret": "WEBHOOK_SECRET", "port": "PORT", "listen": "LISTEN",
    "health_port": "HEALTH_PORT", "startup_timeout": "STARTUP_TIMEOUT",
    "health_max_backlog": "HEALTH_MAX_BACKLOG", "health_max_age": "HEALTH_MAX_AGE",
    "retention_days": "RETENTION_DAYS",
    "send_retry_hours": "SEND_RETRY_HOURS",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the Telegram bot (long polling, or webhook)")
    for flag, env in FLAGS.items():
        p.add_argument(f"--{flag.replace('_', '-')}", dest=flag, default=None,
                       help=f"overrides ${env}")
    p.add_argument("--migrate", action="store_const", const="1", default=None,
                   help="apply missing database migrations on start (always done for SQLite; "
                        "for PostgreSQL prefer `relbot db upgrade`); overrides $MIGRATE")
    p.add_argument("--reload", action="store_true",
                   help="development only: reload the dialogues when their files change "
                        "(a reload with errors keeps the old ones running)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(**{env: getattr(args, flag) for flag, env in FLAGS.items()},
                                     MIGRATE=args.migrate)
    except ConfigError as exc:
        return _refuse(str(exc), [])
    secrets = settings.secrets()
    setup_logging(settings.log_level, secrets, settings.log_format)
    try:  # a missing or unreadable key is one line, before anything reaches out
        check_keys(settings.database_url, settings.data_key)
    except KeyConfigError as exc:
        return _refuse(str(exc), secrets)
    folder = settings.dialogues_dir or default_dir()
    compiled = compiled_or_exit(folder)
    from bot.tg import app, preflight  # imports telegram only when actually running

    reloader = None
    if args.reload:
        from bot.reload import DialogueReloader

        reloader = DialogueReloader(folder)
        logging.getLogger("bot.reload").warning(
            "--reload: dialogues reload when their files change (development only)")
    try:
        asyncio.run(preflight.check(settings))
        # Only once the database is known good: a first start writes the key file beside
        # it (and says so), which must not happen for a run that stops on a mistake.
        key_source(settings.database_url, settings.data_key)
        app.run(settings, compiled, reloader)
    except KeyConfigError as exc:  # a missing or unreadable key: one line, never the key
        return _refuse(str(exc), secrets)
    except Exception as exc:  # a known mistake is one line; the rest goes through the
        line = preflight.explain(exc, settings)  # log, whose filter redacts every secret
        if line is None:
            log.exception("relbot stopped on an unexpected error")
            return 1
        return _refuse(line, secrets)
    return 0


def _refuse(line: str, secrets: list[str]) -> int:
    """Say what to fix in one line (never a secret), and exit with status 2."""
    for secret in filter(None, secrets):
        line = line.replace(secret, "[REDACTED]")
    print(f"relbot: {line}", file=sys.stderr)
    return 2
