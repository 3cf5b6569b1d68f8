"""Whatever a person sends, `step` never crashes and the session stays sound.

Runs over every shipped dialogue folder and whatever modules it holds today. Two parts:
a sweep that puts a session in EVERY state that waits for input and sends it a fixed
battery of events, and hypothesis random walks (from each module's start, or from any
waiting state) with right, wrong and old presses, odd unicode, 10 MB strings, numbers,
intents, crisis flags, timeouts, language switches and restarts. After every step: the session is
valid and survives JSON, the step counter never goes down, every message fits
Telegram (non-empty, at most 4096 characters) and every button's callback data fits
64 bytes. `RELBOT_FUZZ_EXAMPLES=2000` runs a longer fuzz locally.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.compile import CompiledBundle
from bot.core.crisis import CATEGORIES
from bot.core.engine import step
from bot.core.format import INTENT_NAMES
from bot.core.types import (
    Event,
    Flagged,
    Frame,
    IntentInvoked,
    LanguageSet,
    Message,
    Output,
    Pressed,
    Session,
    Stale,
    Started,
    TimedOut,
    Typed,
    encode_callback,
)

from .helpers import SHIPPED, compile_folder, dialogue_folders

FUZZ = settings(
    max_examples=int(os.environ.get("RELBOT_FUZZ_EXAMPLES", "200")),
    deadline=None,
    derandomize=bool(os.environ.get("CI")) or "RELBOT_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
HUGE = ("a" * 10_000_000, "🙂" * 2_500_000, "9" * 10_000_000, ("ab\x00\u202e " * 2_000_000))
FOLDERS = {str(p.relative_to(SHIPPED.parent)): p for p in dialogue_folders()}
WAITING = ("choices", "ask")


@functools.cache
def compiled(name: str) -> CompiledBundle:
    return compile_folder(FOLDERS[name])


# --- the invariants ----------------------------------------------------------------


def check_session(c: CompiledBundle, session: Session) -> None:
    """The top frame waits for input; frames below wait too or are calling; all exist."""
    for depth, frame in enumerate(session.stack):
        dialogue = c.dialogues.get(frame.module)
        assert dialogue is not None, f"frame names no module: {frame}"
        state = dialogue.states.get(frame.state)
        assert state is not None, f"frame names no state: {frame}"
        top = depth == len(session.stack) - 1
        assert state.kind in (WAITING if top else (*WAITING, "call")), frame
        if frame.return_to is not None:
            assert depth > 0, f"a top-level frame has return_to: {frame}"
            assert frame.return_to in c.dialogues[session.stack[depth - 1].module].states
    assert Session.from_json(session.to_json()) == session


def check_outputs(session: Session, outputs: tuple[Output, ...]) -> None:
    for o in outputs:
        if isinstance(o, (Message, Stale)):
            assert o.text.strip(), f"empty text in {o!r}"
            assert len(o.text) <= 4096, f"{len(o.text)} characters"
        if isinstance(o, Message):
            assert len(o.buttons) <= 100
            for b in o.buttons:
                assert b.label.strip()
                assert len(encode_callback(session.step, b.id).encode()) <= 64


def checked_step(c: CompiledBundle, session: Session, event: Event) -> Session:
    new, outputs = step(c, session, event)
    check_session(c, new)
    check_outputs(new, outputs)
    assert new.step >= session.step, "the step counter went down"
    return new


# --- starting points ---------------------------------------------------------------


def waiting_states(c: CompiledBundle) -> Iterator[tuple[str, str]]:
    for module, dialogue in sorted(c.dialogues.items()):
        for name, state in dialogue.states.items():
            if state.kind in WAITING:
                yield module, name


def placed(c: CompiledBundle, module: str, state: str, language: str) -> Session:
    """A session sitting at `state`, as a stored session would after earlier steps."""
    passed = dict.fromkeys(c.config.requires, True)
    defaults = dict(c.dialogues[module].defaults + c.dialogues[module].kept_defaults)
    return Session((Frame(module, state),), {"language": language, **passed, **defaults}, 7)


def battery(c: CompiledBundle, session: Session) -> list[Event]:
    """A fixed set of awkward and ordinary events for a session in some state."""
    frame = session.stack[-1]
    state = c.dialogues[frame.module].states[frame.state]
    texts = [
        "",
        " ",
        "0",
        "-1",
        "3.5",
        "1e400",
        "nan",
        "yes",
        "no",
        "sí",
        "\x00\x1b\u202e",
        "🙂" * 30,
        "{name}",
        "{",
        "%s",
        "x" * 5000,
        *HUGE[:2],
    ]
    texts += [
        choice.label.render(session.language, session.vars) for choice in state.choices.values()
    ]
    events: list[Event] = [Typed(t) for t in texts]
    events += [Pressed(session.step, cid) for cid in state.choices]
    events += [Pressed(session.step - 1, cid) for cid in state.choices]
    events += [
        Pressed(session.step, "nope"),
        Pressed(0, "x"),
        TimedOut(),
        Started(None),
        Started(frame.module),
        LanguageSet("es"),
        LanguageSet("zz"),
    ]
    events += [IntentInvoked(name) for name in (*INTENT_NAMES, "dance")]
    events += [Flagged(category) for category in (*CATEGORIES, "nope")]
    return events


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_every_waiting_state_survives_a_battery_of_events(folder: str) -> None:
    c = compiled(folder)
    count = 0
    for module, state in waiting_states(c):
        for language in c.config.languages:
            session = placed(c, module, state, language)
            for event in battery(c, session):
                checked_step(c, session, event)
                count += 1
    assert count > 0


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_an_idle_session_survives_every_kind_of_event(folder: str) -> None:
    c = compiled(folder)
    some = placed(c, *next(waiting_states(c)), c.config.languages[0])
    for event in battery(c, some):
        for flags in ({}, dict.fromkeys(c.config.consent, True)):
            idle = Session(vars={"language": "en", **flags}, step=5)
            checked_step(c, idle, event)


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_every_module_starts_in_every_language(folder: str) -> None:
    c = compiled(folder)
    for module in sorted(c.dialogues):
        for language in c.config.languages:
            passed = dict.fromkeys(c.config.requires, True)
            checked_step(c, Session(vars={"language": language, **passed}), Started(module))


# --- random walks ------------------------------------------------------------------

# built once: building strategies per event would cost more than the steps themselves
KIND = st.sampled_from(
    ["right"] * 5
    + [
        "old",
        "answer",
        "answer",
        "unicode",
        "huge",
        "number",
        "intent",
        "timeout",
        "language",
        "forged",
        "started",
        "flag",
    ]
)
INDEX = st.integers(0, 2**16)
STEP_OFFSET = st.integers(-3, 3)
UNICODE = st.text(st.characters(min_codepoint=0), max_size=60)
NUMBER = st.one_of(st.integers().map(str), st.floats().map(str))
ANSWERS = ["yes", "no", "sí", "5", "0", "10", "7,5", "A few words", "back", "help", "ayuda"]


def event_for(data: st.DataObject, c: CompiledBundle, session: Session) -> Event:
    """One event, mostly ones that move the dialogue on, sometimes nonsense."""
    frame = session.stack[-1] if session.stack else None
    state = c.dialogues[frame.module].states[frame.state] if frame else None
    choices = sorted(state.choices) if state else []

    def pick(options: list[Any]) -> Any:
        return options[data.draw(INDEX) % len(options)]

    kind = data.draw(KIND)
    if kind in ("right", "old") and choices:
        old = session.step - 1 - data.draw(INDEX) % max(session.step, 1)
        return Pressed(session.step if kind == "right" else old, pick(choices))
    if kind in ("right", "old", "answer"):
        labels = [
            ch.label.render(session.language, session.vars)
            for ch in (state.choices.values() if state else ())
        ]
        return Typed(pick([*ANSWERS, *labels]))
    if kind == "unicode":
        return Typed(data.draw(UNICODE))
    if kind == "huge":
        return Typed(pick(list(HUGE)))
    if kind == "number":
        return Typed(data.draw(NUMBER))
    if kind == "intent":
        return IntentInvoked(pick([*INTENT_NAMES, "nope"]))
    if kind == "timeout":
        return TimedOut()
    if kind == "language":
        return LanguageSet(pick([*c.config.languages, "xx"]))
    if kind == "forged":
        return Pressed(session.step + data.draw(STEP_OFFSET), pick([*choices, "", "x" * 30]))
    if kind == "flag":  # the crisis screen found a disclosure (or a category it never sends)
        return Flagged(pick([*CATEGORIES, "nope"]))
    return Started(pick([None, *sorted(c.dialogues), "nosuch"]))


@pytest.mark.parametrize("folder", sorted(FOLDERS))
@FUZZ
@given(data=st.data())
def test_random_conversations_keep_the_session_sound(folder: str, data: st.DataObject) -> None:
    c = compiled(folder)
    language = data.draw(st.sampled_from(c.config.languages), label="language")
    consent = {flag: data.draw(st.booleans(), label=flag) for flag in c.config.consent}
    start = data.draw(st.sampled_from(["idle", "start", "start", "placed", "placed"]))
    if start == "idle":  # a module ended earlier, or the person never started one
        session = Session(vars={"language": language, **consent}, step=3)
    elif start == "start":
        module = data.draw(st.sampled_from(sorted(c.dialogues)), label="module")
        session = checked_step(c, Session(vars={"language": language, **consent}), Started(module))
    else:
        where = data.draw(st.sampled_from(list(waiting_states(c))), label="state")
        session = placed(c, *where, language)
    for _ in range(data.draw(st.integers(1, 40), label="steps")):
        session = checked_step(c, session, event_for(data, c, session))


def test_the_folders_under_test_include_the_examples() -> None:
    assert "dialogues" in FOLDERS and "dialogues/examples" in FOLDERS
    assert all(Path(p, "_global.yaml").is_file() for p in FOLDERS.values())
