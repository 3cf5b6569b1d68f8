"""`relbot validate [PATH...]`: every problem in the dialogues and the crisis screen's
rules, as a compiler would list it."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.folders import default_dir, load_folder, read_text, transcript_files
from bot.core.diagnostics import Diagnostic, format_human, format_json, has_errors
from bot.core.format import TRANSCRIPT, check_shape
from bot.core.loader import load_yaml
from bot.safety.screen import RULES_DIR, Screen

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check dialogue and crisis-rule files, print every problem")
    p.add_argument("paths", nargs="*", type=Path,
                   help="dialogue folders or files, or a crisis-rules folder (default: the "
                        "shipped dialogues and crisis rules)")
    p.add_argument("--format", choices=("human", "json"), default="human")
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
                ld = load_yaml(read_text(f), str(f))
                check_shape(ld, TRANSCRIPT)
                out += ld.diagnostics
        elif path.is_file():
            folder = path.parent
            if folder.name == "tests":
                ld = load_yaml(read_text(path), str(path))
                check_shape(ld, TRANSCRIPT)
                out += ld.diagnostics
                continue
            _, diagnostics = load_folder(folder)
            out += [d for d in diagnostics if Path(d.file) == path]
        else:
            from bot.core.diagnostics import CODES

            spec = CODES["D040"]
            out.append(Diagnostic("D040", spec.severity, str(path), 1, 1,
                                  "no such file or folder", "check the path"))
    return out


def run(args: argparse.Namespace) -> int:
    diagnostics = collect(args.paths)
    print(format_json(diagnostics) if args.format == "json" else format_human(diagnostics))
    return 1 if has_errors(diagnostics) else 0
