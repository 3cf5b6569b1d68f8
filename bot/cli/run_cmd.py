"""`relbot run`: connect to Telegram and serve every person who writes to the bot."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.cli.folders import compiled_or_exit, default_dir
from bot.config import ConfigError, Settings
from bot.logs import setup_logging

__all__ = ["add_parser", "run"]

FLAGS = {  # flag -> environment variable of the same meaning
    "token": "TELEGRAM_BOT_TOKEN", "api_url": "TELEGRAM_API_URL",
    "database_url": "DATABASE_URL", "dialogues_dir": "DIALOGUES_DIR",
    "log_level": "LOG_LEVEL", "webhook_url": "WEBHOOK_URL",
    "webhook_secret": "WEBHOOK_SECRET", "port": "PORT", "listen": "LISTEN",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the Telegram bot (long polling, or webhook)")
    for flag, env in FLAGS.items():
        p.add_argument(f"--{flag.replace('_', '-')}", dest=flag, default=None,
                       help=f"overrides ${env}")
    p.add_argument("--reload", action="store_true",
                   help="development only: reload the dialogues when their files change "
                        "(a reload with errors keeps the old ones running)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(**{env: getattr(args, flag) for flag, env in FLAGS.items()})
    except ConfigError as exc:
        print(f"relbot: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, [settings.token, settings.webhook_secret or ""])
    folder = settings.dialogues_dir or default_dir()
    compiled = compiled_or_exit(folder)
    from bot.tg.app import run as run_bot  # imports telegram only when actually running

    reloader = None
    if args.reload:
        from bot.reload import DialogueReloader

        reloader = DialogueReloader(folder)
        logging.getLogger("bot.reload").warning(
            "--reload: dialogues reload when their files change (development only)")
    run_bot(settings, compiled, reloader)
    return 0
