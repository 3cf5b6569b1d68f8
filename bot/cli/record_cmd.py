"""`relbot test --record` and `relbot test --update`: write transcripts instead of typing them.

`--record MODULE --lang xx` plays the module like `relbot chat` (inputs from `--script
FILE`, from a pipe, or typed at the terminal) and writes what happened as a transcript in
`tests/MODULE.xx.yaml` (a transcript of the same `--name` is replaced). `--update` replays
every transcript after a wording change and rewrites the expectations that no longer
hold; it shows the diff first and writes only when told (`--yes`, or yes at the prompt).
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.cli.chat import render, to_event
from bot.cli.folders import compiled_or_exit, read_text, transcript_files
from bot.core.compile import CompiledBundle
from bot.core.diagnostics import format_human
from bot.core.format import TRANSCRIPT, check_shape
from bot.core.loader import load_yaml
from bot.core.transcript import _action as transcript_action
from bot.core.transcript import _check as check_step
from bot.core.transcript_edit import (
    expectations,
    header,
    start_session,
    transcript_yaml,
    update_text,
)
from bot.core.types import Event, IntentInvoked, Message, Output, Pressed, Started, Typed
from bot.safety import Screen
from bot.turn import Turner

__all__ = ["parse_vars", "record", "update"]


def parse_vars(pairs: list[str]) -> dict[str, Any]:
    """`--var store_answers=true --var mood=3` -> {"store_answers": True, "mood": 3}."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, _, raw = pair.partition("=")
        value: Any = raw
        if raw in ("true", "false"):
            value = raw == "true"
        elif raw.lstrip("-").isdigit():
            value = int(raw)
        out[name.strip()] = value
    return out


def _action(event: Event, shown: tuple[Output, ...]) -> dict[str, Any] | None:
    """The transcript action for an event (a press by its label, as people read it)."""
    if isinstance(event, Pressed):
        for o in shown:
            if isinstance(o, Message):
                for b in o.buttons:
                    if b.id == event.choice:
                        return {"press": b.label}
        return {"press": event.choice}
    if isinstance(event, Typed):
        return {"type": event.text}
    if isinstance(event, IntentInvoked):
        return {"intent": event.name}
    return None


def _typed(action: dict[str, Any]) -> str:
    """An action as the person would have typed or pressed it in `relbot chat`."""
    if "press" in action:
        return f"[{action['press']}]"
    if "intent" in action:
        return f"/{action['intent']}"
    return str(action.get("type", ""))


def _holds(step_data: dict[str, Any], outputs: tuple[Output, ...]) -> bool:
    """True when the bot shows what an old step expected (its words and buttons)."""
    return not check_step({k: v for k, v in step_data.items() if k in ("expect", "buttons")},
                          outputs)


def _old_steps(path: Path, name: str) -> tuple[list[dict[str, Any]], dict[str, Any], str | None]:
    """The steps, vars and `start` module of the transcript called `name` in `path`, if
    there is one."""
    if not path.exists():
        return [], {}, None
    ld = load_yaml(read_text(path), str(path))
    if not check_shape(ld, TRANSCRIPT):
        return [], {}, None
    for transcript in ld.data["transcripts"]:
        if transcript["name"] == name:
            return (list(transcript["steps"]), dict(transcript.get("vars") or {}),
                    transcript.get("start"))
    return [], {}, None


def record(folder: Path, module: str, lang: str, name: str, variables: dict[str, Any],
           script: TextIO, interactive: bool) -> int:
    """Play `module` and write it as the transcript `name`. When a transcript of that name
    exists, its steps are replayed wherever the bot still shows what they expected; where
    it does not (a question was added), the next input comes from the script or the
    terminal, and replaying resumes once the bot is back where the old transcript was."""
    compiled = compiled_or_exit(folder)
    if module not in compiled.dialogues:
        print(f"relbot: no module '{module}'; modules: {', '.join(compiled.dialogues)}",
              file=sys.stderr)
        return 2
    path = folder / "tests" / f"{module}.{lang}.yaml"
    old, old_vars, start = _old_steps(path, name)  # a transcript may begin in another module
    variables = {**old_vars, **variables}
    turner = Turner(compiled, Screen.load())  # the same turn as Telegram and `relbot test`
    session, outputs = turner(compiled, start_session(compiled, lang, variables),
                              Started(start or module), None)
    steps = [({}, expectations(outputs, module))]
    render(outputs, sys.stdout)
    shown = outputs
    # `where`: the old step whose place the chat should be at now (the opening, at first)
    opening = bool(old) and not any(k in old[0] for k in ("press", "type", "intent", "timeout"))
    where: dict[str, Any] | None = (old[0] if opening else {}) if old else None
    pending = old[1:] if opening else list(old)
    aligned = where is not None and _holds(where, outputs)
    if old:
        print(f"  (re-recording '{name}': its steps are replayed where they still fit)")
    while not steps[-1][1].get("ended"):
        if old and not pending and aligned:  # every old step replayed, in its place
            break
        event: Event | None = None
        if aligned and pending:
            event, error = transcript_action(pending[0], session, compiled)
            if error is None:
                where = pending.pop(0)
                if event is None:
                    continue
                print(f"> {_typed(_action(event, shown) or {})}  (replayed)")
            else:
                aligned, event = False, None
        if event is None:
            if old and pending:
                print("  (the old transcript does not fit here: answer as the person would)")
            if interactive:
                print("> ", end="", flush=True)
            line = script.readline()
            if not line:
                break
            if not interactive:
                print(f"> {line.rstrip()}")
            event = to_event(line, session, compiled)
        action = _action(event, shown)
        if action is None:
            print("  (only answers, buttons and intents are recorded; /start is skipped)")
            continue
        session, outputs = turner(compiled, session, event, None)
        render(outputs, sys.stdout)
        if any(isinstance(o, Message) and o.buttons for o in outputs):
            shown = outputs
        steps.append((action, expectations(outputs, module,
                                           running=session.module == module)))
        aligned = where is not None and _holds(where, outputs)
    if not steps[-1][1].get("ended") and not (old and not pending and aligned):
        print(f"  (the recording stopped before {module} ended)")
    return _write(path, module, lang, name, transcript_yaml(name, steps, variables, start))


def _write(path: Path, module: str, lang: str, name: str, entry: str) -> int:
    """Add the transcript to its file (replacing one of the same name), then say so."""
    text = read_text(path) if path.exists() else header(module, lang)
    ld = load_yaml(text, str(path))
    replaced = False
    if check_shape(ld, TRANSCRIPT):
        for i, transcript in enumerate(ld.data["transcripts"]):
            if transcript["name"] == name:
                line, _, end_line, end_column = ld.span(("transcripts", i))
                lines = text.splitlines(keepends=True)
                ends_early = not lines[end_line - 1][: end_column - 1].strip() \
                    if end_line <= len(lines) else True  # YAML ends it at the next token
                last = end_line - 1 if ends_early else end_line
                while last > line and not lines[last - 1].strip():
                    last -= 1  # keep the blank line between transcripts
                text = "".join(lines[: line - 1]) + entry + "".join(lines[last:])
                replaced = True
                break
    elif path.exists():
        print(format_human(ld.diagnostics), file=sys.stderr)
        print(f"relbot: {path} has problems; fix them before recording into it",
              file=sys.stderr)
        return 1
    if not replaced:
        text = text.rstrip("\n") + "\n" + ("\n" if path.exists() else "") + entry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"{'replaced' if replaced else 'recorded'} transcript '{name}' in {path}")
    return 0


def _updates(folder: Path, compiled: CompiledBundle) -> tuple[dict[Path, str], list[str]]:
    turner = Turner(compiled, Screen.load())
    changed: dict[Path, str] = {}
    notes: list[str] = []
    for path in transcript_files(folder):
        text = read_text(path)
        ld = load_yaml(text, str(path))
        if not check_shape(ld, TRANSCRIPT):
            notes.append(format_human(ld.diagnostics))
            continue
        updated = update_text(text, ld, compiled, turner)
        notes += [f"{path}: cannot replay '{stuck}'; re-record it with relbot test "
                  f"--record {ld.data['module']} --lang {ld.data.get('lang', 'en')} "
                  f"--name NAME" for stuck in updated.stuck]
        if updated.text != text:
            changed[path] = updated.text
    return changed, notes


def update(folders: list[Path], *, yes: bool, interactive: bool, answer: TextIO) -> int:
    """Show what re-recording would change; write it with `yes` or a yes at the prompt."""
    changed: dict[Path, str] = {}
    notes: list[str] = []
    for folder in folders:
        more, said = _updates(folder, compiled_or_exit(folder))
        changed.update(more)
        notes += said
    for path, text in changed.items():
        old = read_text(path)
        sys.stdout.writelines(difflib.unified_diff(
            old.splitlines(keepends=True), text.splitlines(keepends=True),
            f"{path} (now)", f"{path} (re-recorded)"))
    for note in notes:
        print(note)
    if not changed:
        print("relbot test --update: every transcript's expectations already hold")
        return 1 if notes else 0
    if not yes:
        if not interactive:
            print("relbot test --update: nothing written; run again with --yes to write "
                  f"these changes to {len(changed)} file(s)")
            return 1
        print(f"write these changes to {len(changed)} file(s)? [y/N] ", end="", flush=True)
        if answer.readline().strip().lower() not in ("y", "yes"):
            print("nothing written")
            return 1
    for path, text in changed.items():
        path.write_text(text, encoding="utf-8")
    print(f"updated {len(changed)} file(s)")
    return 1 if notes else 0
