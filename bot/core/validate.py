"""Named checks over a loaded bundle; each returns its diagnostics, all of them run.

Like python-statemachine's `_check_*` list, but collecting instead of raising on the
first problem: a maintainer fixing a file wants every mistake at once. Structure
(keys, types) was checked by `format.check_shape`; these checks judge meaning. Each
check does one thing; the reachability checks (`checks_reach`) fold the problems that
follow from another under it, so the listing leads with the cause.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.checks_flow import MAX_TEXT, check_flow, check_texts, check_variables
from bot.core.checks_handover import check_passes
from bot.core.checks_reach import check_reachability
from bot.core.checks_safety import (
    check_gate,
    check_resources,
    check_routes,
    check_safety_states,
)
from bot.core.checks_turn import check_turn_length
from bot.core.diagnostics import CODES, Diagnostic, Key
from bot.core.loader import Loaded, Path
from bot.core.model import Bundle, Dialogue
from bot.core.suggest import suggest

__all__ = ["CHECKS", "MAX_BUTTONS", "MAX_CHOICE_ID", "MAX_LABEL", "MAX_TEXT", "Reporter",
           "validate"]

MAX_LABEL = 64  # longer labels are cut off on phones
MAX_BUTTONS = 100  # Telegram's limit for one inline keyboard
MAX_CHOICE_ID = 24  # callback data is "<step>:<id>", and must stay within 64 bytes
REQUIRED_STRINGS = (  # every string the engine and the Telegram adapter show
    "choose_button", "choose_button_after_text", "text_empty", "text_too_long", "text_number",
    "number",
    "scale", "yes_no", "no_back", "idle", "stale_button", "unsupported", "group_chat",
    "language_prompt",
    "privacy", "delete_confirm", "delete_yes", "delete_no", "delete_done", "delete_kept",
    "error",
    # privacy (bot.privacy): /export, a stale /delete button, returning-person notices
    "export_caption_text", "export_caption_json", "export_nothing", "delete_expired",
    "notice_expired", "notice_unreadable",
    *(f"cmd_{name}" for name in ("start", "menu", "help", "back", "cancel", "restart",
                                 "language", "sos", "privacy", "export", "delete")),
)


class Reporter:
    """Reports diagnostics for one file through their descriptors.

    `report(code, path, hint, key=..., cause=..., **fields)` places the diagnostic at the
    value (or key) at `path`; `column_offset`/`width` point inside a scalar (a name in a
    condition). It returns the diagnostic's identity, so a later problem can name it as
    its `cause`."""

    def __init__(self, ld: Loaded, out: list[Diagnostic]) -> None:
        self.ld, self.out = ld, out

    def key_of(self, code: str, path: Path, *, key: bool = False) -> Key:
        return self.ld.key_of(code, path, key=key)

    def __call__(self, code: str, path: Path, hint: str = "", *, key: bool = False,
                 column_offset: int | None = None, width: int = 1, cause: Key | None = None,
                 **fields: object) -> Key:
        line, column, end_line, end_column = self.ld.span(path, key=key)
        if column_offset is not None:  # pointing inside a scalar: skip its opening quote
            column += column_offset + (path in self.ld.quoted)
            end_line, end_column = line, column + max(width, 1)
        found = CODES[code].at(self.ld.file, (line, column, end_line, end_column), hint=hint,
                               cause=cause, **fields)
        self.out.append(found)
        return found.key


Report = Reporter


def check_kinds(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """Each state does one thing next, with the keys that thing needs."""
    for state in d.states.values():
        p = state.path
        if not state.kind:
            report("D010", p, key=True, state=state.name)
        if (state.call is None) != (state.return_to is None):
            report("D007", p, key=True, state=state.name)
        if state.ask is not None and not state.goto:
            report("D008", p, key=True, state=state.name)
        if state.kind == "choices" and not state.say:
            report("D009", p, key=True, state=state.name)
        if state.ask and state.ask.min is not None and state.ask.max is not None \
                and state.ask.min > state.ask.max:
            report("D006", state.ask.path, "swap min and max", value=state.ask.min,
                   expected=f"at most max ({state.ask.max:g})")


def check_targets(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """Every state and module named exists (with a did-you-mean when one is close)."""
    if d.start not in d.states:
        report("D017", ("start",), suggest(d.start, d.states, "state"), state=d.start)
    for state in d.states.values():
        p = state.path
        refs = [((*p, key), target) for key, target in (
            ("goto", state.goto), ("return_to", state.return_to), ("timeout", state.timeout))]
        refs += [((*c.path, "goto"), c.goto) for c in state.choices]
        refs += [((*arm.path, "goto"), arm.goto) for arm in state.branch]
        for where, target in refs:
            if target and target not in d.states:
                report("D011", where, suggest(target, d.states, "state"), target=target)
        for where, target in (((*p, "call"), state.call), ((*p, "end", "next"), state.end_next)):
            if target and not bundle.has(target):
                report("D012", where, _module_hint(bundle, target), target=target)


def _module_hint(bundle: Bundle, target: str) -> str:
    return suggest(target, [*bundle.dialogues, *bundle.unbuilt], "module")


def check_branches(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """A branch ends with its default, and only there."""
    for state in d.states.values():
        if state.branch and state.branch[-1].condition is not None:
            report("D019", (*state.path, "branch"), state=state.name)
        for arm in state.branch[:-1]:
            if arm.condition is None:
                report("D024", arm.path)


def check_buttons(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """Choice ids unique and short enough for Telegram; labels and counts within limits."""
    for state in d.states.values():
        seen: set[str] = set()
        for c in state.choices:
            if c.id in seen:
                report("D015", (*c.path, "id"), what="choice", id=c.id,
                       where="is used twice in this state")
            seen.add(c.id)
            if len(c.id) > MAX_CHOICE_ID:
                report("D033", (*c.path, "id"), id=c.id, length=len(c.id), limit=MAX_CHOICE_ID)
            for lang, label in c.label.variants.items():
                if len(label) > MAX_LABEL:
                    report("D031", c.label.path, lang=lang, length=len(label), limit=MAX_LABEL)
        if len(state.choices) > MAX_BUTTONS:
            report("D032", (*state.path, "choices"), count=len(state.choices), limit=MAX_BUTTONS)


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
        report("D041", intent.path, key=True, intent=intent.name, actions=", ".join(actions))
    for key in ("goto", "call"):
        target = getattr(intent, key)
        if target and not bundle.has(target):
            report("D012", (*intent.path, key), _module_hint(bundle, target), target=target)


def check_loops(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """Loops of states that move on by themselves never wait for the person (D018)."""
    auto = {n: [t for t in s.targets() if t in d.states]
            for n, s in d.states.items() if s.kind in ("goto", "branch")}
    for cycle_start in _cycles(auto):
        report("D018", d.states[cycle_start].path, key=True, state=cycle_start)


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
    check_kinds, check_targets, check_branches, check_buttons, check_intents,
    check_reachability, check_loops, check_variables, check_flow, check_texts,
    check_safety_states, check_turn_length, check_passes,
)


def check_global(bundle: Bundle, report: Report) -> None:
    cfg = bundle.config
    for key in ("start", "menu"):
        target = getattr(cfg, key)
        if not bundle.has(target):
            report("D040", (key,), _module_hint(bundle, target), setting=key, target=target)
    for intent in cfg.intents.values():
        _check_intent(bundle, intent, report)
    if cfg.returning is not None and not bundle.has(cfg.returning.dialogue):
        report("D072", ("returning", "dialogue"),
               _module_hint(bundle, cfg.returning.dialogue), target=cfg.returning.dialogue)
    for i, flag in enumerate(cfg.requires):
        if flag not in cfg.consent:
            report("D027", ("requires", i), suggest(flag, cfg.consent, "consent flag"),
                   flag=flag)
    for key in REQUIRED_STRINGS:
        if key not in cfg.strings:
            report("D048", ("strings",), f"add `{key}:` with its text in every language",
                   key=True, name=key)
    for t in cfg.strings.values():
        for lang in cfg.languages:
            if lang not in t.variants:
                report("W301", t.path, lang=lang)


def validate(bundle: Bundle) -> list[Diagnostic]:
    """Run every check on every dialogue; return all diagnostics.

    A `_global.yaml` that could not be built (missing, or with errors of its own, already
    reported) is not checked again: its stand-in would only repeat them at no place."""
    out: list[Diagnostic] = []
    if bundle.config.source is not None:
        report = Reporter(bundle.config.source, out)
        check_global(bundle, report)
        check_routes(bundle, report)
        check_gate(bundle, report)
    if bundle.resources is not None and bundle.resources.source is not None:
        check_resources(bundle, Reporter(bundle.resources.source, out))
    for d in bundle.dialogues.values():
        if d.source is None:
            continue
        report = Reporter(d.source, out)
        for check in CHECKS:
            check(bundle, d, report)
    return out

