"""`relbot chat [MODULE]`: play dialogues in the terminal, as a Telegram user would see them.

The terminal is just another adapter over the same turn as Telegram (`bot.turn`: the
crisis screen, then the step): buttons are shown as
numbered options; typing a number presses that button, `/back`, `/help`, `/cancel`,
`/menu`, `/sos`, `/restart` invoke intents, `/start` starts over, and anything else
is typed text. It reads one input per line from standard input, so scripts and CI
can drive it: `printf '1\\nAna\\n' | relbot chat tour`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from bot.cli.folders import compiled_or_exit, default_dir, is_module_file, module_or_exit
from bot.core.compile import CompiledBundle
from bot.core.format import INTENT_NAMES
from bot.core.types import (
    Chosen,
    Ended,
    Event,
    IntentInvoked,
    Message,
    Output,
    Pressed,
    RecordSaved,
    Session,
    Stale,
    Started,
    Typed,
)
from bot.safety import Screen
from bot.turn import take_turn

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="play dialogues in the terminal")
    p.add_argument("module", nargs="?",
                   help="module id, or a module's .yaml file (default: the start module)")
    p.add_argument("--lang", default="en", help="language code (default: en)")
    p.add_argument("--dir", type=Path, default=None, help="dialogues folder")
    p.add_argument("--verbose", action="store_true", help="also show saved records")
    p.set_defaults(func=run)


def render(outputs: tuple[Output, ...], out: TextIO, *, verbose: bool = False) -> int:
    """Print outputs; returns how many buttons the last keyboard had."""
    buttons = 0
    for o in outputs:
        if isinstance(o, Message):
            print(f"bot: {o.text}", file=out)
            for i, b in enumerate(o.buttons, start=1):
                print(f"  [{i}] {b.label}", file=out)
            if o.buttons:
                buttons = len(o.buttons)
        elif isinstance(o, Chosen):
            print(f"  (chose: {o.label})", file=out)
        elif isinstance(o, Stale):
            print(f"  ({o.text})", file=out)
        elif isinstance(o, RecordSaved) and verbose:
            print(f"  (saved {o.kind}: {dict(o.data)})", file=out)
        elif isinstance(o, Ended) and verbose:
            print(f"  (module {o.module} ended)", file=out)
    return buttons


def to_event(line: str, session: Session, compiled: CompiledBundle) -> Event:
    """What a typed line means: a button number, a /command, or text."""
    text = line.strip()
    if text.startswith("/"):
        command, _, rest = text[1:].partition(" ")
        if command == "start":
            return Started(rest or None)
        if command in INTENT_NAMES:
            return IntentInvoked(command)
    if text.isdigit() and session.stack:
        frame = session.stack[-1]
        state = compiled.dialogues[frame.module].states.get(frame.state)
        if state and state.kind == "choices" and 1 <= int(text) <= len(state.choices):
            return Pressed(session.step, list(state.choices)[int(text) - 1])
    return Typed(line.rstrip("\n"))


def run(args: argparse.Namespace) -> int:
    if args.module and is_module_file(Path(args.module)):  # a file: checked, then played
        compiled, args.module = module_or_exit(Path(args.module))
    else:
        compiled = compiled_or_exit(args.dir or default_dir())
    if args.module and args.module not in compiled.dialogues:
        print(f"relbot: no module '{args.module}'; modules: {', '.join(compiled.dialogues)}",
              file=sys.stderr)
        return 2
    if args.lang not in compiled.config.languages:
        print(f"relbot: no language '{args.lang}' in these dialogues; use --lang with one of: "
              f"{', '.join(compiled.config.languages)}", file=sys.stderr)
        return 2
    interactive = sys.stdin.isatty()
    variables: dict[str, object] = {"language": args.lang}
    if args.module:  # a maintainer naming a module plays it as someone past the start checks
        variables.update(dict.fromkeys(compiled.config.requires, True))
    screen = Screen.load()  # the terminal screens typed text exactly as Telegram does
    turn = take_turn(compiled, screen, Session(vars=variables), Started(args.module))
    session = turn.session
    render(turn.outputs, sys.stdout, verbose=args.verbose)
    while True:
        if interactive:
            print("> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            return 0
        if not interactive:
            print(f"> {line.rstrip()}")
        turn = take_turn(compiled, screen, session, to_event(line, session, compiled))
        session = turn.session
        render(turn.outputs, sys.stdout, verbose=args.verbose)
