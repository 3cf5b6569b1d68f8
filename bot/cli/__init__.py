"""Command line: `relbot validate | chat | test | graph | export-text | preview | keys | db |
run | safety-eval | safety-train | therapist`.

`main(argv) -> int` so that tests call it directly; `python -m bot` and the `relbot`
console script both end up here.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from bot.cli import (
    chat,
    db_cmd,
    graph_cmd,
    keys_cmd,
    safety_cmd,
    test_cmd,
    therapist_cmd,
    validate_cmd,
)

__all__ = ["main"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="relbot",
        description="relbot: practise boundaries and notice patterns, on Telegram.",
    )
    p.add_argument("--version", action="version", version=f"relbot {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for module in (validate_cmd, chat, test_cmd, graph_cmd, keys_cmd, db_cmd, safety_cmd,
                   therapist_cmd):
        module.add_parser(sub)
    safety_cmd.add_train_parser(sub)
    try:
        from bot.cli import export_cmd

        export_cmd.add_parser(sub)
    except ImportError:  # pragma: no cover - optional while being built
        pass
    from bot.cli import preview_cmd

    preview_cmd.add_parser(sub)
    try:
        from bot.cli import run_cmd

        run_cmd.add_parser(sub)
    except ImportError:  # pragma: no cover
        pass
    return p


def _version() -> str:
    """The installed distribution's version (pyproject.toml is the one source)."""
    try:
        return version("relbot")
    except PackageNotFoundError:  # `python -m bot` from a clone that was never installed
        return "(not installed)"


def _default(p: argparse.ArgumentParser) -> int:
    """Bare `relbot`: run the bot when a token is configured, else chat in the terminal."""
    import os

    if os.environ.get("TELEGRAM_BOT_TOKEN"):
        return main(["run"])
    print("relbot: no TELEGRAM_BOT_TOKEN set, so here is the bot in your terminal "
          "(see README.md to connect it to Telegram; `relbot --help` for more).",
          file=sys.stderr)
    return main(["chat"])


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not getattr(args, "func", None):
        return _default(p)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
