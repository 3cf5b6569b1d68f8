"""Checks on what flows through a dialogue: variables, conditions, and texts.

Part of the named checks (`bot.core.validate` runs them all): every variable is
declared and used with its type, conditions parse, a script text (`{name:part}`
placeholders, joined by `bot.core.assemble`) names known parts and nothing else, a
`{variable}` is shown only after something can have set it, every text has English
and its translations, and no text can outgrow Telegram's 4096 characters once its
variables are filled in.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from typing import Any

from bot.core import expr
from bot.core.assemble import ROLES, parse_spec
from bot.core.diagnostics import Key
from bot.core.loader import Path
from bot.core.model import Bundle, Dialogue, State, Text
from bot.core.suggest import closest, did_you_mean

__all__ = [
    "MAX_TEXT", "Report", "UnknownPart", "check_flow", "check_texts", "check_variables",
    "did_you_mean", "placeholders", "script_mixed",
]

MAX_TEXT = 4096  # Telegram's limit for one message
NUMBER_WIDTH, BOOL_WIDTH, UNKNOWN_WIDTH = 16, 5, 500

Report = Callable[..., Key]


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


class UnknownPart(ValueError):
    """A `{name:role}` placeholder whose role is not a script part."""


def placeholders(words: str) -> list[str]:
    """Names in `{name}` and `{name:part}` placeholders; raises ValueError on malformed
    braces (UnknownPart for a `:role` that is no script part)."""
    out = []
    for _, name, spec, conv in string.Formatter().parse(words):
        if name is None:
            continue
        if not name.isidentifier() or conv:
            raise ValueError(f"'{{{name}}}' is not a plain {{variable}}")
        if spec and parse_spec(spec) is None:
            raise UnknownPart(spec)
        out.append(name)
    return out


def script_mixed(words: str) -> bool:
    """True when a text with script parts also holds other words or plain placeholders
    (a script text is only parts: `assemble` writes the words between them)."""
    parsed = list(string.Formatter().parse(words))
    parts = [spec for _, name, spec, _ in parsed if name is not None]
    if not any(parts):
        return False
    return not all(parts) or any(lit.strip() for lit, _, _, _ in parsed)


def check_variables(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """Unknown variables, type mismatches, conditions, unused variables."""
    types = _types(bundle, d)
    read: set[str] = set()
    unknown: dict[str, Key] = {}  # a declared name -> the first misspelling of it

    def need(name: str, path: Path, what: str) -> bool:
        if name not in types:
            fix = closest(name, types)
            found = report("D021", path, _unknown_hint(name, fix), name=name, what=what)
            if fix is not None:
                unknown.setdefault(fix, found)
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
                           problem=f"'{name}' is {types[name]}, only numbers can be added to")
        if state.ask and state.ask.into and need(state.ask.into, (*state.ask.path, "into"),
                                                 "ask"):
            want = {"text": "text", "number": "number", "scale": "number", "yes_no": "bool"}
            have = types[state.ask.into]
            if have and have != want[state.ask.kind]:
                report("D023", (*state.ask.path, "into"), problem=f"'{state.ask.into}' is "
                       f"{have}, but a {state.ask.kind} answer is {want[state.ask.kind]}")
        if state.save:
            for i, name in enumerate(state.save.fields):
                if need(name, (*state.save.path, "fields", i), "save"):
                    read.add(name)
        for arm in state.branch:
            if arm.condition is not None:
                read.update(_check_condition(arm.condition, (*arm.path, "if"), types, report,
                                             unknown))
    for _state, t in _all_texts(d):
        for words in t.variants.values():
            try:
                used = placeholders(words)
            except UnknownPart as exc:
                report("D070", t.path, part=str(exc), parts=", ".join(ROLES))
                continue
            except ValueError as exc:
                report("D025", t.path, problem=str(exc))
                continue
            if script_mixed(words):
                report("D071", t.path)
            for name in used:
                if need(name, t.path, "text"):
                    read.add(name)
    for name in d.variables:
        if name not in read and name not in d.keep:
            report("W302", ("variables", name), key=True, cause=unknown.get(name), name=name)


def _same_type(declared: str | None, value: Any, path: Path, name: str, report: Report) -> None:
    have = _type_of(value)
    if declared and have and declared != have:
        report("D023", path, problem=f"'{name}' is {declared}, but this sets {have}")


def _unknown_hint(name: str, fix: str | None) -> str:
    if fix is not None:
        return f"did you mean '{fix}'? Otherwise declare it under `variables:`"
    return (f"declare it under `variables:` with its starting value, e.g. `{name}: \"\"` "
            f"for text or `{name}: 0` for a number")


def _check_condition(source: str, path: Path, types: dict[str, str | None],
                     report: Report, unknown: dict[str, Key]) -> set[str]:
    try:
        node = expr.parse(source)
    except expr.ConditionError as exc:
        report("D022", path, column_offset=exc.column, problem=str(exc))
        return set()
    read = set()
    for name, column in expr.names(node):
        if name not in types:
            fix = closest(name, types)
            found = report("D021", path, _unknown_hint(name, fix), column_offset=column,
                           width=len(name), name=name, what="condition")
            if fix is not None:
                unknown.setdefault(fix, found)
        read.add(name)
    for problem, column in expr.infer_type(node, types)[1]:
        report("D023", path, column_offset=column, problem=f"condition {problem}")
    return read


def check_flow(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """A `{variable}` shown in a state must be set on some path before it (D020)."""
    if d.start not in d.states:
        return
    types = _types(bundle, d)
    always = {n for n, t in types.items() if t != "text"} | set(bundle.kept_variables())
    always |= {n for x in bundle.dialogues.values() for n in x.passes.get(d.id, ())}  # handed
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
            edges.append((state.goto, {state.ask.into} if state.ask and state.ask.into
                           else set()))
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
                    report("D020", t.path, _shown_early_hint(var, state.name), variable=var)


def _shown_early_hint(variable: str, state: str) -> str:
    return (f"on some way to '{state}' nothing sets {variable} first: set it on the way "
            f"(an `ask` with `into: {variable}`, or `set:`), or show it later")


def check_texts(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """English present, translations complete, declared languages, Telegram's length."""
    widths = _widths(bundle)
    for _state, t in _all_texts(d):
        if "en" not in t.variants:
            report("D026", t.path)
        for lang in d.languages:
            if lang not in t.variants and lang != "en":  # no English is D026 already
                report("W301", t.path, lang=lang)
        for lang, words in t.variants.items():
            if lang not in d.languages:
                report("W303", t.path, lang=lang)
            try:
                used = placeholders(words)
            except ValueError:
                continue
            longest = len(words) + sum(widths.get(v, UNKNOWN_WIDTH) - len(v) - 2 for v in used)
            if longest > MAX_TEXT:
                report("D030", t.path, lang=lang, length=longest)


def _widths(bundle: Bundle) -> dict[str, int]:
    """The most characters each variable can hold, from asks, sets and defaults."""
    widths: dict[str, int] = {"language": 2}
    for d in bundle.dialogues.values():
        values = list(d.variables.items())
        for s in d.states.values():
            values += list(s.set.items())
            values += [kv for c in s.choices for kv in c.set.items()]
            if s.ask and s.ask.into:
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
