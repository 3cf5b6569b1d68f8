"""Named checks over a loaded bundle; each returns its diagnostics, all of them run.

Like python-statemachine's `_check_*` list, but collecting instead of raising on the
first problem: a maintainer fixing a file wants every mistake at once. Structure
(keys, types) was checked by `format.check_shape`; these checks judge meaning.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from typing import Any

from bot.core import expr
from bot.core.diagnostics import CODES, Diagnostic
from bot.core.loader import Loaded, Path
from bot.core.model import Bundle, Dialogue, State, Text

__all__ = ["CHECKS", "MAX_BUTTONS", "MAX_CHOICE_ID", "MAX_LABEL", "MAX_TEXT", "validate"]

MAX_TEXT = 4096  # Telegram's limit for one message
MAX_LABEL = 64  # longer labels are cut off on phones
MAX_BUTTONS = 100  # Telegram's limit for one inline keyboard
MAX_CHOICE_ID = 24  # callback data is "<step>:<id>", and must stay within 64 bytes
NUMBER_WIDTH, BOOL_WIDTH, UNKNOWN_WIDTH = 16, 5, 500
REQUIRED_STRINGS = (  # every string the engine and the Telegram adapter show
    "choose_button", "text_empty", "text_too_long", "number", "scale", "yes_no", "no_back",
    "idle", "stale_button", "unsupported", "group_chat", "language_prompt", "crisis_detected",
    "privacy", "export_caption", "delete_confirm", "delete_yes", "delete_no", "delete_done",
    "delete_kept", "error",
    *(f"cmd_{name}" for name in ("start", "menu", "help", "back", "cancel", "restart",
                                 "language", "sos", "privacy", "export", "delete")),
)

Report = Callable[..., None]


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


def _types(bundle: Bundle, d: Dialogue) -> dict[str, str | None]:
    types: dict[str, str | None] = {"language": "text"}
    types.update({flag: "bool" for flag in bundle.config.consent})
    for other in bundle.dialogues.values():  # kept variables are shared between modules
        for name in other.keep:
            types.setdefault(name, _type_of(other.variables.get(name)))
    for name in d.keep:
        types[name] = _type_of(d.variables.get(name))
    for name, value in d.variables.items():
        types[name] = _type_of(value)
    return types


def _type_of(value: Any) -> str | None:
    if isinstance(value, Text):  # a translated value is text in every language
        return "text"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "text" if isinstance(value, str) else None


def _all_texts(d: Dialogue) -> Iterator[tuple[State | None, Text]]:
    yield None, d.title
    if d.description:
        yield None, d.description
    for state in d.states.values():
        for t in state.say:
            yield state, t
        for c in state.choices:
            yield state, c.label
        if state.ask and state.ask.retry:
            yield state, state.ask.retry
        if state.retry:
            yield state, state.retry
        for value in [*state.set.values(), *(v for c in state.choices for v in c.set.values())]:
            if isinstance(value, Text):
                yield state, value
        for intent in state.intents.values():
            for t in intent.say if intent else ():
                yield state, t
    for intent in d.intents.values():
        for t in intent.say if intent else ():
            yield None, t


def placeholders(words: str) -> list[str]:
    """Names in `{name}` placeholders; raises ValueError on malformed braces."""
    out = []
    for _, name, spec, conv in string.Formatter().parse(words):
        if name is None:
            continue
        if not name.isidentifier() or spec or conv:
            raise ValueError(f"'{{{name}}}' is not a plain {{variable}}")
        out.append(name)
    return out


def check_states(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """Kinds, targets, references, choice ids, branch defaults, buttons."""
    if d.start not in d.states:
        report("D017", ("start",), f"start state '{d.start}' does not exist", _did_you_mean(
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
                       _did_you_mean(target, d.states))
        for c in state.choices:
            if c.goto not in d.states:
                report("D011", (*c.path, "goto"), f"no state '{c.goto}'",
                       _did_you_mean(c.goto, d.states))
        for arm in state.branch:
            if arm.goto not in d.states:
                report("D011", (*arm.path, "goto"), f"no state '{arm.goto}'",
                       _did_you_mean(arm.goto, d.states))
        if state.branch and state.branch[-1].condition is not None:
            report("D019", (*p, "branch"), f"state '{state.name}': the branch has no default")
        for arm in state.branch[:-1]:
            if arm.condition is None:
                report("D019", arm.path, "only the last branch entry may lack `if`",
                       "move this entry to the end, or give it an `if`")
        for where, target in (((*p, "call"), state.call), ((*p, "end", "next"), state.end_next)):
            if target and not bundle.has(target):
                report("D012", where, f"no dialogue '{target}'",
                       _did_you_mean(target, bundle.dialogues))
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
                   _did_you_mean(target, bundle.dialogues))


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


def check_variables(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """Unknown variables, type mismatches, conditions, unused variables."""
    types = _types(bundle, d)
    read: set[str] = set()

    def need(name: str, path: Path, what: str) -> bool:
        if name not in types:
            report("D021", path, f"unknown variable '{name}' in {what}",
                   f"declare it under `variables:`{_did_you_mean(name, types, prefix='; ')}")
            return False
        return True

    for state in d.states.values():
        for name, value in state.set.items():
            if need(name, (*state.path, "set", name), "set"):
                _same_type(types[name], value, (*state.path, "set", name), name, report)
        for c in state.choices:
            for name, value in c.set.items():
                if need(name, (*c.path, "set", name), "set"):
                    _same_type(types[name], value, (*c.path, "set", name), name, report)
            for name in c.add:
                if need(name, (*c.path, "add", name), "add") and types[name] not in (
                        "number", None):
                    report("D023", (*c.path, "add", name),
                           f"'{name}' is {types[name]}, only numbers can be added to")
        if state.ask and need(state.ask.into, (*state.ask.path, "into"), "ask"):
            want = {"text": "text", "number": "number", "scale": "number", "yes_no": "bool"}
            have = types[state.ask.into]
            if have and have != want[state.ask.kind]:
                report("D023", (*state.ask.path, "into"), f"'{state.ask.into}' is {have}, but "
                       f"a {state.ask.kind} answer is {want[state.ask.kind]}")
        if state.save:
            for i, name in enumerate(state.save.fields):
                if need(name, (*state.save.path, "fields", i), "save"):
                    read.add(name)
        for arm in state.branch:
            if arm.condition is not None:
                read.update(_check_condition(arm.condition, (*arm.path, "if"), types, report))
    for _state, t in _all_texts(d):
        for words in t.variants.values():
            try:
                used = placeholders(words)
            except ValueError as exc:
                report("D025", t.path, f"placeholder problem: {exc}")
                continue
            for name in used:
                if need(name, t.path, "text"):
                    read.add(name)
    for name in d.variables:
        if name not in read and name not in d.keep:
            report("W302", ("variables", name), f"variable '{name}' is never used", key=True)


def _same_type(declared: str | None, value: Any, path: Path, name: str, report: Report) -> None:
    have = _type_of(value)
    if declared and have and declared != have:
        report("D023", path, f"'{name}' is {declared}, but this sets {have}")


def _check_condition(source: str, path: Path, types: dict[str, str | None],
                     report: Report) -> set[str]:
    try:
        node = expr.parse(source)
    except expr.ConditionError as exc:
        report("D022", path, f"condition: {exc}", column_offset=exc.column)
        return set()
    read = set()
    for name, column in expr.names(node):
        if name not in types:
            report("D021", path, f"unknown variable '{name}' in condition",
                   f"declare it under `variables:`{_did_you_mean(name, types, prefix='; ')}",
                   column_offset=column)
        read.add(name)
    for problem, column in expr.infer_type(node, types)[1]:
        report("D023", path, f"condition {problem}", column_offset=column)
    return read



def _did_you_mean(name: str, options: Any, prefix: str = "") -> str:
    import difflib

    close = difflib.get_close_matches(name, list(options), n=1)
    return f"{prefix}did you mean '{close[0]}'?" if close else ""


def check_flow(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """A `{variable}` shown in a state must be set on some path before it (D020)."""
    if d.start not in d.states:
        return
    types = _types(bundle, d)
    always = {n for n, t in types.items() if t != "text"} | set(bundle.kept_variables())
    kept_by = {x.id: set(x.keep) for x in bundle.dialogues.values()}
    inflow: dict[str, set[str]] = {d.start: set(always)}
    todo = [d.start]
    while todo:
        name = todo.pop()
        state = d.states.get(name)
        if state is None:
            continue
        here = inflow[name] | set(state.set)
        edges: list[tuple[str, set[str]]] = [(c.goto, set(c.set) | set(c.add))
                                            for c in state.choices]
        if state.goto:
            edges.append((state.goto, {state.ask.into} if state.ask else set()))
        edges += [(a.goto, set()) for a in state.branch]
        if state.return_to:
            edges.append((state.return_to, kept_by.get(state.call or "", set())))
        if state.timeout:
            edges.append((state.timeout, set()))
        for target, assigned in edges:
            new = here | assigned
            if target in d.states and not new <= inflow.get(target, set()):
                inflow[target] = inflow.get(target, set()) | new
                todo.append(target)
    for state in d.states.values():
        if state.name not in inflow:
            continue
        known = inflow[state.name] | set(state.set)
        texts = list(state.say) + [c.label for c in state.choices]
        for t in texts:
            used: set[str] = set()
            for words in t.variants.values():
                try:
                    used.update(placeholders(words))
                except ValueError:
                    continue
            for var in sorted(used):
                if var in types and var not in known:
                    report("D020", t.path, f"'{{{var}}}' is shown before anything sets it")


def check_texts(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """English present, translations complete, declared languages, Telegram's length."""
    widths = _widths(bundle)
    for _state, t in _all_texts(d):
        if "en" not in t.variants:
            report("D005", t.path, "text needs English (`en:`)")
        for lang in d.languages:
            if lang not in t.variants:
                report("W301", t.path, f"missing '{lang}' translation")
        for lang, words in t.variants.items():
            if lang not in d.languages:
                report("W303", t.path, f"'{lang}' is not in this module's languages")
            try:
                used = placeholders(words)
            except ValueError:
                continue
            longest = len(words) + sum(widths.get(v, UNKNOWN_WIDTH) - len(v) - 2 for v in used)
            if longest > MAX_TEXT:
                report("D030", t.path, f"the {lang} text can reach {longest} characters")


def _widths(bundle: Bundle) -> dict[str, int]:
    """The most characters each variable can hold, from asks, sets and defaults."""
    widths: dict[str, int] = {"language": 2}
    for d in bundle.dialogues.values():
        values = list(d.variables.items())
        for s in d.states.values():
            values += list(s.set.items())
            values += [kv for c in s.choices for kv in c.set.items()]
            if s.ask:
                width = s.ask.max_length if s.ask.kind == "text" else NUMBER_WIDTH
                widths[s.ask.into] = max(widths.get(s.ask.into, 0), width)
        for name, value in values:
            if isinstance(value, Text):
                width = max(len(words) for words in value.variants.values())
            elif isinstance(value, bool):
                width = BOOL_WIDTH
            elif isinstance(value, (int, float)):
                width = NUMBER_WIDTH
            else:
                width = len(str(value))
            widths[name] = max(widths.get(name, 0), width)
    return widths


CHECKS: tuple[Callable[[Bundle, Dialogue, Report], None], ...] = (
    check_states, check_intents, check_reachability, check_variables, check_flow, check_texts,
)


def check_global(bundle: Bundle, report: Report) -> None:
    cfg = bundle.config
    for key in ("start", "menu"):
        target = getattr(cfg, key)
        if not bundle.has(target):
            report("D040", (key,), f"`{key}: {target}` names no dialogue",
                   _did_you_mean(target, bundle.dialogues))
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
