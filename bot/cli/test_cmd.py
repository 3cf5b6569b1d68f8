"""`relbot test [PATH...]`: run transcript tests and report transition coverage.

Fails (exit 1) when a transcript fails, or when a module of the folder has less than
100% transition coverage in any of its languages.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.folders import compiled_or_exit, default_dir, read_text, transcript_files
from bot.core.diagnostics import format_human
from bot.core.format import TRANSCRIPT, check_shape
from bot.core.loader import load_yaml
from bot.core.transcript import coverage_report, run_transcript_file
from bot.safety import Screen
from bot.turn import Turner

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test", help="run transcript tests and check transition coverage")
    p.add_argument("paths", nargs="*", type=Path, help="dialogue folders (default: shipped)")
    p.add_argument("--missing", action="store_true", help="list every uncovered transition")
    p.set_defaults(func=run)


def run_folder(folder: Path, *, show_missing: bool) -> bool:
    compiled = compiled_or_exit(folder)
    turner = Turner(compiled, Screen.load())  # the same turn as Telegram: text is screened
    covered: set[tuple[str, str, str, str, str]] = set()
    passed = failed = 0
    for path in transcript_files(folder):
        ld = load_yaml(read_text(path), str(path))
        if not check_shape(ld, TRANSCRIPT):
            print(format_human(ld.diagnostics))
            failed += 1
            continue
        for result in run_transcript_file(ld, compiled, covered, turner):
            if result.ok:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {result.file} [{result.lang}] {result.name}")
                for failure in result.failures:
                    print(f"  {failure}")
    complete = True
    print(f"\ncoverage of transitions ({folder}):")
    for cov in coverage_report(compiled, covered):
        mark = "ok " if cov.covered == cov.total else "LOW"
        complete &= cov.covered == cov.total
        print(f"  {mark} {cov.module:<20} {cov.lang}  {cov.covered:>3}/{cov.total:<3} "
              f"{cov.percent:5.1f}%")
        if cov.missing and (show_missing or len(cov.missing) <= 5):
            for m in cov.missing:
                print(f"        missing: {m}")
    print(f"transcripts: {passed} passed, {failed} failed")
    return failed == 0 and complete


def run(args: argparse.Namespace) -> int:
    ok = True
    for folder in args.paths or [default_dir()]:
        ok = run_folder(folder, show_missing=args.missing) and ok
    if not ok:
        print("relbot test: FAILED (a transcript failed or coverage is below 100%)")
    return 0 if ok else 1
