"""`relbot validate [PATH...]`: every problem in the dialogues and the crisis screen's
rules, as a compiler would list it.

The listing leads with causes: problems that follow from another are folded under it
(`--all` lists them). A single module file outside a dialogues folder is checked in the
context of the shipped `_global.yaml` and modules, and only its own problems are shown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.folders import default_dir, load_file, load_folder, load_yaml_file, transcript_files
from bot.core.diagnostics import CODES, Diagnostic, format_human, format_json, has_errors
from bot.core.format import TRANSCRIPT, check_shape
from bot.safety.screen import RULES_DIR, Screen

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check dialogue and crisis-rule files, print every problem")
    p.add_argument("paths", nargs="*", type=Path,
                   help="dialogue folders or files, or a crisis-rules folder (default: the "
                        "shipped dialogues and crisis rules)")
    p.add_argument("--format", choices=("human", "json"), default="human")
    p.add_argument("--all", action="store_true",
                   help="also list the problems that follow from another (folded by default)")
    p.set_defaults(func=run)


def collect(paths: list[Path]) -> list[Diagnostic]:
    """Diagnostics for folders (everything in them) or single files (theirs only)."""
    out: list[Diagnostic] = []
    for path in paths or [default_dir(), RULES_DIR]:
        if path.is_dir() and (path / "common.yaml").is_file():  # the crisis screen's rules
            out += Screen.load(path, examples=True).diagnostics
        elif path.is_dir():
            _, diagnostics = load_folder(path)
            out += diagnostics
            for f in transcript_files(path):
                ld = load_yaml_file(f)
                check_shape(ld, TRANSCRIPT)
                out += ld.diagnostics
        elif path.is_file():
            folder = path.parent
            if folder.name == "tests":
                ld = load_yaml_file(path)
                check_shape(ld, TRANSCRIPT)
                out += ld.diagnostics
                continue
            out += load_file(path)[1]
        else:
            out.append(CODES["D049"].at(str(path), (1, 1, 1, 2)))
    return out


def run(args: argparse.Namespace) -> int:
    diagnostics = collect(args.paths)
    print(format_json(diagnostics) if args.format == "json"
          else format_human(diagnostics, everything=args.all))
    return 1 if has_errors(diagnostics) else 0
