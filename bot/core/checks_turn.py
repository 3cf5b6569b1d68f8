"""How many messages one tap or answer brings: at most four (W305).

A person taps a button and the bot answers. Between that tap and the next question,
every state passed on the way says its messages: a module that ends and starts the
next one says both. Seven or eight bubbles at once scroll the question out of sight
and read as a wall; the style guide's rhythm is one to three, four at most. This check
walks from each place a turn can start (a module's start, and every state a button or
an answered question leads to) along the states that do not wait, across `end: {next}`
and `call`, to the next question, counting `say:` bubbles (and the crisis numbers of a
`resources:` state as one). The longest way is reported, with the states it passes.
"""

from __future__ import annotations

from bot.core.checks_flow import Report
from bot.core.model import Bundle, Dialogue, State

__all__ = ["MAX_MESSAGES", "check_turn_length"]

MAX_MESSAGES = 4
WAITING = ("choices", "ask")


def _burst(bundle: Bundle, module: str, state: str, home: str,
           seen: frozenset[tuple[str, str]]) -> tuple[int, list[str]]:
    """(messages, states passed) of the longest way from entering `state` to a question."""
    d = bundle.dialogues.get(module)
    s = d.states.get(state) if d is not None else None
    if s is None or (module, state) in seen:
        return 0, []
    seen = seen | {(module, state)}
    here = len(s.say) + (1 if s.resources is not None else 0)
    label = state if module == home else f"{module}.{state}"
    if s.kind in WAITING:
        return here, [label]
    options: list[tuple[int, list[str]]] = [(0, [])]
    for target in _next_states(s):
        options.append(_burst(bundle, module, target, home, seen))
    if s.kind == "call" and s.call:
        called = bundle.dialogues.get(s.call)
        if called is not None:
            options.append(_burst(bundle, s.call, called.start, home, seen))
    if s.kind == "end" and s.end_next:
        following = bundle.dialogues.get(s.end_next)
        if following is not None:
            options.append(_burst(bundle, s.end_next, following.start, home, seen))
    count, path = max(options, key=lambda option: option[0])
    return here + count, [label, *path]


def _next_states(s: State) -> list[str]:
    if s.kind == "goto" and s.goto:
        return [s.goto]
    if s.kind == "branch":
        return [a.goto for a in s.branch]
    return []


def _turn_starts(d: Dialogue) -> dict[str, tuple[object, ...]]:
    """State name -> the path of the first place that leads into it."""
    starts: dict[str, tuple[object, ...]] = {d.start: ("start",)}
    for s in d.states.values():
        if s.kind not in WAITING:
            continue
        for c in s.choices:
            starts.setdefault(c.goto, (*c.path, "goto"))
        if s.ask is not None and s.goto:
            starts.setdefault(s.goto, (*s.path, "goto"))
    return starts


def check_turn_length(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """W305: a tap or an answer that brings more than four messages."""
    for state, path in _turn_starts(d).items():
        if state not in d.states:
            continue  # an unknown state is reported elsewhere
        count, passed = _burst(bundle, d.id, state, d.id, frozenset())
        if count > MAX_MESSAGES:
            report("W305", path, count=count, most=MAX_MESSAGES, way=" → ".join(passed))
