"""`relbot test [PATH...]`: run transcript tests and report transition coverage.

Fails (exit 1) when a transcript fails, or when a module of the folder has less than
100% transition coverage in any of its languages; the transitions not yet taken are
named by state and button (or answer, or branch). `--record` and `--update` write
transcripts (`bot.cli.record_cmd`).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from bot.cli import record_cmd
from bot.cli.folders import compiled_or_exit, default_dir, load_yaml_file, transcript_files
from bot.core.compile import CompiledBundle
from bot.core.diagnostics import format_human
from bot.core.format import TRANSCRIPT, check_shape
from bot.core.transcript import coverage_report, run_transcript_file
from bot.core.transition_words import transition_words
from bot.safety import Screen
from bot.turn import Turner

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test", help="run transcript tests and check transition coverage")
    p.add_argument("paths", nargs="*", type=Path, help="dialogue folders (default: shipped)")
    p.add_argument("--missing", action="store_true", help="list every uncovered transition")
    p.add_argument("--record", metavar="MODULE",
                   help="play MODULE and write what happens as a transcript")
    p.add_argument("--lang", default="en", help="with --record: the language (default en)")
    p.add_argument("--name", help="with --record: the transcript's name (one of the same "
                   "name is replaced)")
    p.add_argument("--script", type=Path, help="with --record: a file of inputs, one per "
                   "line, as typed in relbot chat (default: standard input)")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                   help="with --record: start with this variable set (e.g. store_answers=true)")
    p.add_argument("--update", action="store_true",
                   help="re-record the expectations that no longer hold; shows the diff")
    p.add_argument("--yes", action="store_true", help="with --update: write without asking")
    p.add_argument("--dir", type=Path, default=None, help="dialogues folder (with --record)")
    p.set_defaults(func=run)


def run_folder(folder: Path, *, show_missing: bool) -> bool:
    compiled = compiled_or_exit(folder)
    turner = Turner(compiled, Screen.load())  # the same turn as Telegram: text is screened
    covered: set[tuple[str, str, str, str, str]] = set()
    passed = failed = 0
    for path in transcript_files(folder):
        ld = load_yaml_file(path)
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
                print(f"  to re-record it: relbot test --record {ld.data['module']} --lang "
                      f"{result.lang} --name {shlex.quote(result.name)}")
    complete = True
    print(f"\ncoverage of transitions ({folder}):")
    for cov in coverage_report(compiled, covered):
        mark = "ok " if cov.covered == cov.total else "LOW"
        complete &= cov.covered == cov.total
        print(f"  {mark} {cov.module:<20} {cov.lang}  {cov.covered:>3}/{cov.total:<3} "
              f"{cov.percent:5.1f}%")
        if cov.missing and (show_missing or len(cov.missing) <= 5):
            d = compiled.dialogues[cov.module]
            for src, trigger, dest in _uncovered(compiled, cov.module, cov.lang, covered):
                words = transition_words(d.model, src, trigger, dest, cov.lang)
                print(f"        not taken yet: {words}")
            print(f"        (record a transcript that takes them: relbot test --record "
                  f"{cov.module} --lang {cov.lang} --name NAME)")
        elif cov.missing:
            print(f"        {len(cov.missing)} not taken yet (relbot test --missing lists them)")
    print(f"transcripts: {passed} passed, {failed} failed")
    return failed == 0 and complete


def _uncovered(compiled: CompiledBundle, module: str, lang: str,
               covered: set[tuple[str, str, str, str, str]]) -> list[tuple[str, str, str]]:
    d = compiled.dialogues[module]
    return [(src, trig, dst) for _, src, trig, dst in d.transitions
            if (lang, module, src, trig, dst) not in covered]


def run(args: argparse.Namespace) -> int:
    if args.record:
        folder = args.dir or (args.paths[0] if args.paths else default_dir())
        script = args.script.open(encoding="utf-8") if args.script else sys.stdin
        with script:
            return record_cmd.record(folder, args.record, args.lang,
                                     args.name or f"recorded {args.record}",
                                     record_cmd.parse_vars(args.var), script,
                                     interactive=script.isatty())
    if args.update:
        return record_cmd.update(args.paths or [args.dir or default_dir()], yes=args.yes,
                                 interactive=sys.stdin.isatty(), answer=sys.stdin)
    ok = True
    for folder in args.paths or [default_dir()]:
        ok = run_folder(folder, show_missing=args.missing) and ok
    if not ok:
        print("relbot test: FAILED (a transcript failed or coverage is below 100%)")
    return 0 if ok else 1
