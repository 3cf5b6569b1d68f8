"""Named checks over a loaded bundle; each returns its diagnostics, all of them run.

Like python-statemachine's `_check_*` list, but collecting instead of raising on the
first problem: a maintainer fixing a file wants every mistake at once. Structure
(keys, types) was checked by `format.check_shape`; these checks judge meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.checks_flow import (
    MAX_TEXT,
    Report,
    check_flow,
    check_texts,
    check_variables,
    did_you_mean,
)
from bot.core.diagnostics import CODES, Diagnostic
from bot.core.loader import Loaded, Path
from bot.core.model import Bundle, Dialogue

__all__ = ["CHECKS", "MAX_BUTTONS", "MAX_CHOICE_ID", "MAX_LABEL", "MAX_TEXT", "validate"]

MAX_LABEL = 64  # longer labels are cut off on phones
MAX_BUTTONS = 100  # Telegram's limit for one inline keyboard
MAX_CHOICE_ID = 24  # callback data is "<step>:<id>", and must stay within 64 bytes
REQUIRED_STRINGS = (  # every string the engine and the Telegram adapter show
    "choose_button", "text_empty", "text_too_long", "number", "scale", "yes_no", "no_back",
    "idle", "stale_button", "unsupported", "group_chat", "language_prompt", "crisis_detected",
    "privacy", "delete_confirm", "delete_yes", "delete_no", "delete_done", "delete_kept",
    "error",
    # privacy (bot.privacy): /export, a stale /delete button, returning-person notices
    "export_caption_text", "export_caption_json", "export_nothing", "delete_expired",
    "notice_expired", "notice_unreadable",
    *(f"cmd_{name}" for name in ("start", "menu", "help", "back", "cancel", "restart",
                                 "language", "sos", "privacy", "export", "delete")),
)


def _reporter(ld: Loaded | None, out: list[Diagnostic]) -> Report:
    def report(code: str, path: Path, message: str, hint: str = "", *,
               key: bool = False, column_offset: int | None = None) -> None:
        if ld is None:
            line, column, file = 1, 1, "?"
        else:
            line, column = ld.key_at(path) if key else ld.at(path)
            file = ld.file
            if column_offset is not None:  # pointing inside a scalar: skip its opening quote
                column += column_offset + (path in ld.quoted)
        out.append(Diagnostic(code, CODES[code].severity, file, line, column,
                              message, hint or CODES[code].fix))
    return report


def check_states(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """Kinds, targets, references, choice ids, branch defaults, buttons."""
    if d.start not in d.states:
        report("D017", ("start",), f"start state '{d.start}' does not exist", did_you_mean(
            d.start, d.states))
    for state in d.states.values():
        p = state.path
        if not state.kind:
            report("D010", p, f"state '{state.name}' must have exactly one of choices, ask, "
                   "goto, branch, call, end (ask may go with choices)", key=True)
        if (state.call is None) != (state.return_to is None):
            report("D005", p, f"state '{state.name}': `call` and `return_to` go together",
                   key=True)
        if state.ask is not None and not state.goto:
            report("D005", p, f"state '{state.name}' asks a question but has no `goto:`",
                   key=True)
        if state.kind == "choices" and not state.say:
            report("D005", p, f"state '{state.name}' shows buttons but has no `say:` question",
                   key=True)
        for key, target in (("goto", state.goto), ("return_to", state.return_to),
                            ("timeout", state.timeout)):
            if target and target not in d.states:
                report("D011", (*p, key), f"no state '{target}'",
                       did_you_mean(target, d.states))
        for c in state.choices:
            if c.goto not in d.states:
                report("D011", (*c.path, "goto"), f"no state '{c.goto}'",
                       did_you_mean(c.goto, d.states))
        for arm in state.branch:
            if arm.goto not in d.states:
                report("D011", (*arm.path, "goto"), f"no state '{arm.goto}'",
                       did_you_mean(arm.goto, d.states))
        if state.branch and state.branch[-1].condition is not None:
            report("D019", (*p, "branch"), f"state '{state.name}': the branch has no default")
        for arm in state.branch[:-1]:
            if arm.condition is None:
                report("D019", arm.path, "only the last branch entry may lack `if`",
                       "move this entry to the end, or give it an `if`")
        for where, target in (((*p, "call"), state.call), ((*p, "end", "next"), state.end_next)):
            if target and not bundle.has(target):
                report("D012", where, f"no dialogue '{target}'",
                       did_you_mean(target, bundle.dialogues))
        seen: set[str] = set()
        for c in state.choices:
            if c.id in seen:
                report("D015", (*c.path, "id"), f"choice id '{c.id}' used twice in this state")
            seen.add(c.id)
            if len(c.id) > MAX_CHOICE_ID:
                report("D033", (*c.path, "id"), f"choice id '{c.id}' is {len(c.id)} characters; "
                       f"at most {MAX_CHOICE_ID} fit Telegram's 64-byte callback data")
            for lang, label in c.label.variants.items():
                if len(label) > MAX_LABEL:
                    report("D031", c.label.path, f"label ({lang}) is {len(label)} characters; "
                           f"keep it under {MAX_LABEL}")
        if len(state.choices) > MAX_BUTTONS:
            report("D032", (*p, "choices"), f"{len(state.choices)} buttons; Telegram allows "
                   f"{MAX_BUTTONS}")
        if state.ask and state.ask.min is not None and state.ask.max is not None \
                and state.ask.min > state.ask.max:
            report("D006", state.ask.path, "min is larger than max", "swap min and max")


def check_intents(bundle: Bundle, d: Dialogue, report: Report) -> None:
    overrides = [*d.intents.values()] + [
        i for s in d.states.values() for i in s.intents.values()]
    for intent in overrides:
        if intent is None:
            continue
        _check_intent(bundle, intent, report)


def _check_intent(bundle: Bundle, intent: Any, report: Report) -> None:
    actions = [k for k in ("goto", "call", "back", "restart") if getattr(intent, k)]
    if len(actions) > 1:
        report("D041", intent.path, f"intent '{intent.name}' does {', '.join(actions)}",
               key=True)
    for key in ("goto", "call"):
        target = getattr(intent, key)
        if target and not bundle.has(target):
            report("D012", (*intent.path, key), f"no dialogue '{target}'",
                   did_you_mean(target, bundle.dialogues))


def check_reachability(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """Unreachable states, states with no way to an end, loops that never wait."""
    if d.start not in d.states:
        return
    reach = _closure([d.start], lambda n: d.states[n].targets() if n in d.states else [])
    reach &= set(d.states)
    for name, state in d.states.items():
        if name not in reach:
            report("D013", state.path, f"state '{name}' cannot be reached from '{d.start}'",
                   key=True)
    preds: dict[str, list[str]] = {n: [] for n in d.states}
    for name, state in d.states.items():
        for t in state.targets():
            if t in preds:
                preds[t].append(name)
    ends = [n for n, s in d.states.items() if s.kind == "end"]
    can_end = _closure(ends, lambda n: preds.get(n, []))
    for name in reach:
        if name not in can_end and d.states[name].kind:
            report("D014", d.states[name].path, f"from state '{name}' the module can never end",
                   key=True)
    auto = {n: [t for t in s.targets() if t in d.states]
            for n, s in d.states.items() if s.kind in ("goto", "branch")}
    for cycle_start in _cycles(auto):
        report("D018", d.states[cycle_start].path,
               f"state '{cycle_start}' is in a loop with no question in it", key=True)


def _closure(starts: list[str], step: Callable[[str], list[str]]) -> set[str]:
    seen, todo = set(starts), list(starts)
    while todo:
        for nxt in step(todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _cycles(graph: dict[str, list[str]]) -> list[str]:
    """One representative state per cycle in a graph of auto-advancing states."""
    color: dict[str, int] = {}
    found: list[str] = []

    def visit(n: str) -> None:
        color[n] = 1
        for t in graph.get(n, []):
            if t not in graph:
                continue
            if color.get(t) == 1:
                found.append(t)
            elif t not in color:
                visit(t)
        color[n] = 2

    for n in graph:
        if n not in color:
            visit(n)
    return found


CHECKS: tuple[Callable[[Bundle, Dialogue, Report], None], ...] = (
    check_states, check_intents, check_reachability, check_variables, check_flow, check_texts,
)


def check_global(bundle: Bundle, report: Report) -> None:
    cfg = bundle.config
    for key in ("start", "menu"):
        target = getattr(cfg, key)
        if not bundle.has(target):
            report("D040", (key,), f"`{key}: {target}` names no dialogue",
                   did_you_mean(target, bundle.dialogues))
    for intent in cfg.intents.values():
        _check_intent(bundle, intent, report)
    for i, flag in enumerate(cfg.requires):
        if flag not in cfg.consent:
            report("D021", ("requires", i), f"'{flag}' is not one of the consent flags",
                   "list it under `consent:` too")
    for key in REQUIRED_STRINGS:
        if key not in cfg.strings:
            report("D040", ("strings",), f"strings: '{key}' is missing", f"add `{key}:` text")
    for t in cfg.strings.values():
        for lang in cfg.languages:
            if lang not in t.variants:
                report("W301", t.path, f"missing '{lang}' translation")


def validate(bundle: Bundle) -> list[Diagnostic]:
    """Run every check on every dialogue; return all diagnostics, sorted by place."""
    out: list[Diagnostic] = []
    check_global(bundle, _reporter(bundle.config.source, out))
    for d in bundle.dialogues.values():
        report = _reporter(d.source, out)
        for check in CHECKS:
            check(bundle, d, report)
    return out
