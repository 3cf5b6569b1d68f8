"""Recording and re-recording transcripts, as text edits a maintainer can read in a diff.

`relbot test --record` turns a played conversation into transcript steps (what the
person did, and fragments of what the bot said); `relbot test --update` replays existing
transcripts after a wording change and rewrites, in place, only the expectations that no
longer hold (the words and buttons shown), keeping the file's comments and layout. A
change in what a module *does* (it ends, saves or shows text it must not) is never
re-recorded: it is reported, for a person to check and re-record. Pure: texts and a
compiled bundle in, texts out; the CLI reads, shows the diff and writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.compile import CompiledBundle
from bot.core.loader import Loaded, Path
from bot.core.transcript import Stepper, _action, _check
from bot.core.types import Ended, Message, Output, RecordSaved, Session, Started

__all__ = [
    "Updated", "expectations", "fragment", "header", "start_session", "transcript_yaml",
    "update_text",
]

FRAGMENT = 70  # longest fragment of a message kept as an expectation


def fragment(text: str) -> str:
    """The start of a message, enough to recognise it (cut at a word, at most FRAGMENT).

    Always a piece of the message as sent (its first line), so the runner finds it: a
    message of several lines (a list of crisis numbers) is never joined into one."""
    first = text.strip().split("\n", 1)[0].strip()
    if len(first) <= FRAGMENT:
        return first
    cut = first[:FRAGMENT].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") or first[:FRAGMENT]


def expectations(outputs: Iterable[Output], module: str, *,
                 running: bool = False) -> dict[str, Any]:
    """What a transcript step should expect, from what the bot did (up to the end of
    `module`: what the next module says belongs to its own transcripts). `running`: the
    module is still going after the turn (e.g. restarted), so it has not ended."""
    outputs = tuple(outputs)
    ended = [] if running else [
        i for i, o in enumerate(outputs) if isinstance(o, Ended) and o.module == module]
    if ended:
        outputs = outputs[: ended[0] + 1]
    expected: dict[str, Any] = {}
    texts = [fragment(o.text) for o in outputs if isinstance(o, Message) and o.text.strip()]
    if texts:
        expected["expect"] = texts
    keyboards = [o for o in outputs if isinstance(o, Message) and o.buttons]
    if keyboards:
        expected["buttons"] = [b.label for b in keyboards[-1].buttons]
    saved = [o.kind for o in outputs if isinstance(o, RecordSaved)]
    if saved:
        expected["saved"] = saved[0]
    if ended:
        expected["ended"] = True
    return expected


def _value(value: Any) -> str:
    """A YAML value on one line: JSON strings are valid YAML double-quoted scalars."""
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _step_yaml(action: Mapping[str, Any], expected: Mapping[str, Any]) -> str:
    pairs = [*action.items(), *expected.items()] or [("expect", [])]
    lines = [f"{'- ' if i == 0 else '  '}{key}: {_value(value)}"
             for i, (key, value) in enumerate(pairs)]
    return "".join(f"      {line}\n" for line in lines)


def header(module: str, lang: str) -> str:
    """The start of a new transcript file in `dialogues/tests/`."""
    return (f"# yaml-language-server: $schema=../../bot/core/schema.json\nmodule: {module}\n"
            f"lang: {lang}\ntranscripts:\n")


def transcript_yaml(name: str, steps: list[tuple[dict[str, Any], dict[str, Any]]],
                    variables: Mapping[str, Any] | None = None,
                    start: str | None = None) -> str:
    """One transcript entry (action, expectations per step), ready to go under
    `transcripts:`; `start` when it begins in another module (a route met mid-exercise)."""
    text = f"  - name: {_value(name)}\n"
    if start:
        text += f"    start: {start}\n"
    if variables:
        inner = ", ".join(f"{k}: {_value(v)}" for k, v in variables.items())
        text += f"    vars: {{{inner}}}\n"
    text += "    steps:\n" + "".join(_step_yaml(a, e) for a, e in steps)
    return text


def start_session(compiled: CompiledBundle, lang: str,
                  variables: Mapping[str, Any] | None = None) -> Session:
    """The session a transcript starts from (someone past the start module's checks)."""
    passed = dict.fromkeys(compiled.config.requires, True)
    return Session(vars={"language": lang, **passed, **(variables or {})})


@dataclass
class Updated:
    """The file's new text, and what happened to each transcript in it."""

    text: str
    changed: list[str] = field(default_factory=list)  # transcripts with new expectations
    stuck: list[str] = field(default_factory=list)  # ones replay cannot take: re-record


def _offsets(text: str) -> list[int]:
    starts, at = [0], 0
    for line in text.splitlines(keepends=True):
        at += len(line)
        starts.append(at)
    return starts


def update_text(text: str, ld: Loaded, compiled: CompiledBundle, stepper: Stepper) -> Updated:
    """Replay every transcript of a shape-checked file; where a step's expectations no
    longer hold, replace just those values with what the bot says now."""
    data = ld.data
    module, lang = data["module"], data.get("lang", "en")
    starts = _offsets(text)
    edits: list[tuple[int, int, str]] = []
    out = Updated(text)

    def offset(line: int, column: int) -> int:
        return starts[min(line - 1, len(starts) - 1)] + column - 1

    def replace(path: Path, value: Any) -> None:
        line, column, end_line, end_column = ld.span(path)
        start, end = offset(line, column), offset(end_line, end_column)
        if end_line > line:  # a block list: YAML ends it at the next token, lines below
            end = start + len(text[start:end].rstrip())
            if text[start:start + 1] == "-":  # a block list may sit at its key's indent,
                colon = text.rfind(":", 0, start)  # where a flow list may not: put the
                edits.append((colon + 1, end, " " + _value(value)))  # new one after `key:`
                return
        edits.append((start, end, _value(value)))

    for ti, transcript in enumerate(data["transcripts"]):
        name = transcript["name"]
        if module not in compiled.dialogues:
            out.stuck.append(f"{name}: no module '{module}'")
            continue
        session, outputs = stepper(compiled, start_session(compiled, lang, transcript.get("vars")),
                                   Started(transcript.get("start") or module), None)
        before = len(edits)
        for si, step_data in enumerate(transcript["steps"]):
            event, error = _action(step_data, session, compiled)
            if error:
                out.stuck.append(f"{name}: step {si + 1}: {error}")
                break
            if event is not None:
                session, outputs = stepper(compiled, session, event, None)
            if not _check(step_data, outputs):
                continue
            now = expectations(outputs, module)
            path = ("transcripts", ti, "steps", si)
            for key in ("expect", "buttons"):  # wording: re-recorded
                if key in step_data and key in now and _check({key: step_data[key]}, outputs):
                    replace((*path, key), now[key])
            behaviour = [problem for key in ("not_expect", "saved", "ended") if key in step_data
                         for problem in _check({key: step_data[key]}, outputs)]
            if behaviour:  # not wording: what the module does changed, so a person decides
                out.stuck.append(f"{name}: step {si + 1}: {behaviour[0]}")
                break
        if len(edits) > before:
            out.changed.append(name)
    for start, end, words in sorted(edits, reverse=True):
        out.text = out.text[:start] + words + out.text[end:]
    return out
