"""Transcript tests: scripted conversations checked against the engine, with coverage.

A transcript file lists user actions and fragments of what the bot should say. The
runner drives the same `step` that Telegram uses and records every transition taken,
so `relbot test` can report, per module and language, which transitions no transcript
exercises. Pure: it takes loaded data and a compiled bundle, and returns results.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.core.compile import CompiledBundle, normalize
from bot.core.engine import Trace, step
from bot.core.loader import Loaded
from bot.core.types import (
    Ended,
    Event,
    IntentInvoked,
    Message,
    Output,
    Pressed,
    RecordSaved,
    Session,
    Started,
    TimedOut,
    Typed,
)

__all__ = ["Coverage", "Stepper", "TranscriptResult", "coverage_report", "run_transcript_file"]

Covered = set[tuple[str, str, str, str, str]]  # (lang, module, source, trigger, dest)
#: `engine.step`, or an adapter's turn of the same shape (`bot.turn.Turner` screens text
#: first): the runner is pure and cannot import the screen, so the CLI passes it in.
Stepper = Callable[[CompiledBundle, Session, Event, Trace | None],
                   tuple[Session, tuple[Output, ...]]]


@dataclass(slots=True)
class TranscriptResult:
    file: str
    name: str
    lang: str
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class Coverage:
    module: str
    lang: str
    covered: int
    total: int
    missing: tuple[str, ...]

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else 100.0 * self.covered / self.total


def _texts(outputs: Iterable[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Message)]


def _action(step_data: dict[str, Any], session: Session,
            compiled: CompiledBundle) -> tuple[Event | None, str | None]:
    """The event a step describes, or an error message if it cannot be built."""
    if "press" in step_data:
        wanted = str(step_data["press"])
        frame = session.stack[-1] if session.stack else None
        state = compiled.dialogues[frame.module].states.get(frame.state) if frame else None
        if state is None or not state.choices:
            return None, f"press '{wanted}': no buttons are showing"
        lang = session.language
        for choice in state.choices.values():
            label = choice.label.render(lang, session.vars)
            if wanted == choice.id or normalize(wanted) == normalize(label):
                return Pressed(session.step, choice.id), None
        labels = ", ".join(c.label.render(lang, session.vars) for c in state.choices.values())
        return None, f"press '{wanted}': no such button; buttons are: {labels}"
    if "type" in step_data:
        return Typed(str(step_data["type"]), float(step_data.get("away_hours") or 0)), None
    if "intent" in step_data:
        return IntentInvoked(step_data["intent"]), None
    if step_data.get("timeout"):
        return TimedOut(), None
    return None, None


def _check(step_data: dict[str, Any], outputs: tuple[Output, ...]) -> list[str]:
    problems: list[str] = []
    texts = _texts(outputs)
    joined = "\n".join(texts)
    expect = step_data.get("expect", [])
    position = 0
    for fragment in [expect] if isinstance(expect, str) else expect:
        found = joined.find(fragment, position)
        if found < 0:
            where = "after the previous fragment" if joined.find(fragment) >= 0 else ""
            problems.append(f"expected '{fragment}' {where}in: {texts!r}".replace("  ", " "))
        else:
            position = found + len(fragment)
    not_expect = step_data.get("not_expect", [])
    for fragment in [not_expect] if isinstance(not_expect, str) else not_expect:
        if fragment in joined:
            problems.append(f"did not expect '{fragment}' in: {texts!r}")
    if "buttons" in step_data:
        shown = [m for m in outputs if isinstance(m, Message) and m.buttons]
        labels = [b.label for b in shown[-1].buttons] if shown else []
        if labels != step_data["buttons"]:
            problems.append(f"buttons {labels!r}, expected {step_data['buttons']!r}")
    if "saved" in step_data:
        kinds = [o.kind for o in outputs if isinstance(o, RecordSaved)]
        if step_data["saved"] not in kinds:
            problems.append(f"expected a saved '{step_data['saved']}' record, saved: {kinds}")
    if "ended" in step_data:
        ended = any(isinstance(o, Ended) for o in outputs)
        if ended != step_data["ended"]:
            problems.append("expected the module to end" if step_data["ended"]
                            else "the module ended unexpectedly")
    return problems


def run_transcript_file(ld: Loaded, compiled: CompiledBundle, covered: Covered,
                        stepper: Stepper = step) -> list[TranscriptResult]:
    """Run every transcript of a shape-checked file; add the transitions taken to `covered`.

    `stepper` is what every action goes through: the CLI passes the adapters' turn, so
    transcripts see the crisis screen exactly as Telegram does."""
    data = ld.data
    module = data["module"]
    lang = data.get("lang", "en")
    results = []
    for ti, transcript in enumerate(data["transcripts"]):
        result = TranscriptResult(ld.file, transcript["name"], lang)
        results.append(result)
        start = transcript.get("start") or module
        if start not in compiled.dialogues or module not in compiled.dialogues:
            missing = start if start not in compiled.dialogues else module
            result.failures.append(f"{ld.file}: no module '{missing}'")
            continue

        def trace(mod: str, src: str, trig: str, dst: str, _lang: str = lang) -> None:
            covered.add((_lang, mod, src, trig, dst))

        # a transcript starts as someone who passed the start module's checks
        passed = dict.fromkeys(compiled.config.requires, True)
        variables = {"language": lang, **passed, **(transcript.get("vars") or {})}
        session, outputs = stepper(compiled, Session(vars=variables), Started(start), trace)
        for si, step_data in enumerate(transcript["steps"]):
            line, column = ld.at(("transcripts", ti, "steps", si))
            event, error = _action(step_data, session, compiled)
            if error:
                result.failures.append(f"{ld.file}:{line}:{column}: step {si + 1}: {error}")
                break
            if event is not None:
                session, outputs = stepper(compiled, session, event, trace)
            for problem in _check(step_data, outputs):
                result.failures.append(f"{ld.file}:{line}:{column}: step {si + 1}: {problem}")
            if result.failures:
                break
    return results


def coverage_report(compiled: CompiledBundle, covered: Covered,
                    modules: Iterable[str] | None = None) -> list[Coverage]:
    """Per module and language: how many of its transitions some transcript took."""
    out = []
    for module in sorted(modules if modules is not None else compiled.dialogues):
        d = compiled.dialogues[module]
        for lang in d.model.languages:
            taken = [t for t in d.transitions if (lang, *t) in covered]
            missing = tuple(f"{src} --{trig}--> {dst}" for _, src, trig, dst in d.transitions
                            if (lang, module, src, trig, dst) not in covered)
            out.append(Coverage(module, lang, len(taken), len(d.transitions), missing))
    return out
