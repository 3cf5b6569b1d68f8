"""`relbot run`: connect to Telegram and serve every person who writes to the bot."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.cli.folders import compiled_or_exit, default_dir
from bot.config import ConfigError, Settings
from bot.logs import setup_logging
from bot.privacy.keysource import KeyConfigError, key_source

__all__ = ["add_parser", "run"]

FLAGS = {  # flag -> environment variable of the same meaning
    "token": "TELEGRAM_BOT_TOKEN", "api_url": "TELEGRAM_API_URL",
    "database_url": "DATABASE_URL", "dialogues_dir": "DIALOGUES_DIR",
    "log_level": "LOG_LEVEL", "webhook_url": "WEBHOOK_URL",
    "webhook_secret": "WEBHOOK_SECRET", "port": "PORT", "listen": "LISTEN",
    "retention_days": "RETENTION_DAYS",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the Telegram bot (long polling, or webhook)")
    for flag, env in FLAGS.items():
        p.add_argument(f"--{flag.replace('_', '-')}", dest=flag, default=None,
                       help=f"overrides ${env}")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(**{env: getattr(args, flag) for flag, env in FLAGS.items()})
    except ConfigError as exc:
        print(f"relbot: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.secrets())
    try:  # before anything starts: a missing or unreadable key is one line, not a traceback
        key_source(settings.database_url, settings.data_key)
    except KeyConfigError as exc:
        print(f"relbot: {exc}", file=sys.stderr)
        return 2
    compiled = compiled_or_exit(settings.dialogues_dir or default_dir())
    from telegram.error import InvalidToken

    from bot.tg.app import run as run_bot  # imports telegram only when actually running

    try:
        run_bot(settings, compiled)
    except InvalidToken:  # its message quotes the token: never print it
        print("relbot: Telegram rejected the token (check TELEGRAM_BOT_TOKEN)", file=sys.stderr)
        return 2
    except Exception:  # through the log, whose filter redacts secrets from the traceback
        logging.getLogger("bot").exception("relbot stopped on an unexpected error")
        return 1
    return 0
