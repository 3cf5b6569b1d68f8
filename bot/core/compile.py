"""Compile a checked bundle once into runnable form; the only importer of `transitions`.

Each dialogue becomes ONE `transitions.Machine` with no model attached: it is the
transition table (source, trigger, destination, conditions) that `step` consults and
that `graph` draws. Per-person state never becomes a model or a machine; it stays a
small `Session` (a `transitions` model costs 7-18 KiB and O(n) to add, which does not
scale to thousands of people). Texts are split into literal/variable pieces up front
and labels are normalized for typed matching, so a step does no parsing.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from transitions import Machine

from bot.core import expr
from bot.core.assemble import assemble, parse_spec
from bot.core.model import (
    Arm,
    Bundle,
    Choice,
    Dialogue,
    Gate,
    GlobalConfig,
    IntentAction,
    State,
    Text,
)
from bot.core.resources import COUNTRY_VARIABLE, Resources
from bot.core.types import Button, Frame, Message

__all__ = [
    "GATE_ASK", "GATE_CHECK", "CompiledBundle", "CompiledDialogue", "CompiledState",
    "CompiledText", "Transition", "compile_bundle", "diagram_machine", "normalize",
    "shown_messages", "transition_rows",
]

#: The two states the compiler puts in front of a module with `safety_gate: true`: a
#: branch on the gate's variable, and a call of the gate module that returns to the
#: module's own start. Authors cannot name a state with a leading `_`, so they never clash.
GATE_CHECK, GATE_ASK = "_gate", "_gate_ask"

Transition = tuple[str, str, str, str]  # (module, source, trigger, destination)


def normalize(words: str) -> str:
    """Case-, accent- and punctuation-insensitive form used to match typed text."""
    decomposed = unicodedata.normalize("NFKD", words.casefold())
    kept = "".join(ch if ch.isalnum() else " " for ch in decomposed
                   if not unicodedata.combining(ch))
    return " ".join(kept.split())


class CompiledText:
    """A text split into literal and `{variable}` pieces, per language.

    A text whose placeholders name a script part (`{dm_describe:sentence}`) is a script:
    it renders through `bot.core.assemble`, which joins what the person typed into
    sentences (the validator makes sure such a text holds nothing but parts).
    """

    __slots__ = ("_pieces",)

    def __init__(self, text: Text) -> None:
        self._pieces: dict[str, _Pieces] = {}
        for lang, words in text.variants.items():
            parsed = tuple(string.Formatter().parse(words))
            parts = tuple((lit, name) for lit, name, _, _ in parsed)
            script = tuple((name, parse_spec(spec)) for _, name, spec, _ in parsed
                           if name is not None and spec)
            if script and all(spec is not None for _, spec in script):
                self._pieces[lang] = _Script(tuple(
                    (name, spec[0], spec[1]) for name, spec in script if spec is not None))
            elif all(name is None for _, name in parts):
                self._pieces[lang] = "".join(lit for lit, _ in parts)
            else:
                self._pieces[lang] = parts
        if "en" not in self._pieces and self._pieces:
            self._pieces["en"] = next(iter(self._pieces.values()))

    @property
    def static(self) -> bool:
        """True when no language of the text shows a `{variable}`."""
        return all(isinstance(p, str) for p in self._pieces.values())

    def render(self, lang: str, variables: Mapping[str, Any]) -> str:
        pieces = self._pieces.get(lang) or self._pieces.get("en", "")
        if isinstance(pieces, str):
            return pieces
        if isinstance(pieces, _Script):
            return assemble(lang, [(role, end, variables.get(name))
                                   for name, role, end in pieces.parts])
        return "".join(lit + (_show(variables.get(name)) if name else "") for lit, name in pieces)


@dataclass(frozen=True, slots=True)
class _Script:
    parts: tuple[tuple[str, str, str], ...]  # (variable, role, end mark)


_Pieces = str | tuple[tuple[str, str | None], ...] | _Script


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True, slots=True)
class CompiledChoice:
    id: str
    label: CompiledText
    set: tuple[tuple[str, Any], ...]
    add: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class CompiledState:
    name: str
    kind: str
    source: State
    say: tuple[CompiledText, ...]
    set: tuple[tuple[str, Any], ...]
    choices: Mapping[str, CompiledChoice]
    by_label: Mapping[str, Mapping[str, str]]  # language -> normalized label/number -> id
    retry: CompiledText | None
    intents: Mapping[str, IntentAction | None]
    # language -> the messages arriving here shows, when none of them has a {variable}
    shown: Mapping[str, tuple[Message, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CompiledDialogue:
    id: str
    model: Dialogue
    machine: Machine
    states: Mapping[str, CompiledState]
    defaults: tuple[tuple[str, Any], ...]  # variables reset at start
    kept_defaults: tuple[tuple[str, Any], ...]  # kept variables: set only when absent
    transitions: tuple[Transition, ...]

    def destinations(self, source: str, trigger: str) -> list[Any]:
        """The machine's transitions for (source, trigger), in order (first match wins)."""
        event = self.machine.events.get(trigger)
        return event.transitions.get(source, []) if event else []


@dataclass(frozen=True, slots=True)
class CompiledBundle:
    config: GlobalConfig
    dialogues: Mapping[str, CompiledDialogue]
    kept: frozenset[str]
    #: Settings, never forgotten like kept text: the language, the consent flags and,
    #: with crisis numbers, the country they are shown for.
    builtins: frozenset[str]
    intent_words: Mapping[str, Mapping[str, str]]  # language -> normalized word -> intent
    yes_no: Mapping[str, Mapping[str, bool]]  # language -> normalized word -> answer
    strings: Mapping[str, CompiledText] = field(default_factory=dict)
    routes: Mapping[str, str] = field(default_factory=dict)  # crisis category -> module
    #: The routes and the sos intent's module: opening one sends its replies first, and
    #: opening another while one runs replaces it (no safety module inside another).
    safety_dialogues: frozenset[str] = frozenset()
    gate: Gate | None = None
    resources: Resources | None = None

    def string(self, key: str, lang: str, **values: Any) -> str:
        text = self.strings.get(key)
        return text.render(lang, values) if text else key

    def in_safety(self, stack: Sequence[Frame]) -> int | None:
        """Index of the lowest frame running a safety module, or None."""
        return next((i for i, f in enumerate(stack) if f.module in self.safety_dialogues), None)

    @property
    def transitions(self) -> list[Transition]:
        return [t for d in self.dialogues.values() for t in d.transitions]


def _choice_trigger(choice: Choice) -> str:
    return f"choose:{choice.id}"


def _transition_table(d: Dialogue) -> list[dict[str, Any]]:
    """Every edge of the dialogue as `transitions` definitions, in evaluation order."""
    rows: list[dict[str, Any]] = []
    for state in d.states.values():
        src = state.name
        rows += [{"trigger": _choice_trigger(c), "source": src, "dest": c.goto}
                 for c in state.choices]
        if state.ask is not None and state.goto:  # an ask state, or buttons that take text
            rows.append({"trigger": "answer", "source": src, "dest": state.goto})
        elif state.kind == "goto" and state.goto:
            rows.append({"trigger": "next", "source": src, "dest": state.goto})
        for arm in state.branch:
            row: dict[str, Any] = {"trigger": "next", "source": src, "dest": arm.goto}
            if arm.condition is not None:
                predicate = expr.compile_condition(expr.parse(arm.condition))
                predicate.__name__ = arm.condition  # what diagrams print for the condition
                row["conditions"] = [predicate]
            rows.append(row)
        if state.kind == "call" and state.return_to:
            rows.append({"trigger": "return", "source": src, "dest": state.return_to})
        if state.timeout:
            rows.append({"trigger": "timeout", "source": src, "dest": state.timeout})
    return rows


def build_machine(d: Dialogue) -> Machine:
    """One model-less machine per dialogue: the transition table `step` consults."""
    finals = [s.name for s in d.states.values() if s.kind == "end"]
    states = [{"name": n, "final": n in finals} for n in d.states]
    return Machine(model=None, states=states, transitions=_transition_table(d), initial=d.start,
                   auto_transitions=False, ignore_invalid_triggers=True)


def diagram_machine(d: Dialogue) -> Machine:
    """A drawable copy of the dialogue's machine (mermaid), for `relbot graph` only.

    Drawing needs one model; this is a one-off for the CLI, never per person.
    """
    from transitions.extensions.diagrams import GraphMachine

    class _Drawing:
        pass

    finals = [s.name for s in d.states.values() if s.kind == "end"]
    states = [{"name": n, "final": n in finals} for n in d.states]
    return GraphMachine(model=_Drawing(), states=states, transitions=_transition_table(d),
                        initial=d.start, auto_transitions=False, graph_engine="mermaid",
                        show_conditions=True, title=d.title.get("en"))


def transition_rows(d: Dialogue) -> list[dict[str, Any]]:
    """The dialogue's transition table (for dot output and text export)."""
    return _transition_table(d)


def _compiled_sets(values: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """`set:` pairs; a translated value becomes a CompiledText, rendered when set."""
    return tuple((k, CompiledText(v) if isinstance(v, Text) else v) for k, v in values.items())


def _retry(state: State) -> CompiledText | None:
    """The state's own re-prompt: `ask.retry`, else the state-level `retry`."""
    text = (state.ask.retry if state.ask else None) or state.retry
    return CompiledText(text) if text else None


def _compile_state(state: State, languages: tuple[str, ...]) -> CompiledState:
    choices = {c.id: CompiledChoice(c.id, CompiledText(c.label), _compiled_sets(c.set),
                                    tuple(c.add.items())) for c in state.choices}
    by_label: dict[str, dict[str, str]] = {}
    for lang in {*languages, "en"}:
        table: dict[str, str] = {}
        for i, c in enumerate(state.choices, start=1):
            table.setdefault(str(i), c.id)
            table.setdefault(normalize(c.label.get(lang)), c.id)
            table.setdefault(normalize(c.label.get("en")), c.id)
        table.pop("", None)
        by_label[lang] = table
    say = tuple(CompiledText(t) for t in state.say)
    return CompiledState(
        name=state.name, kind=state.kind, source=state,
        say=say, set=_compiled_sets(state.set),
        choices=choices, by_label=by_label,
        retry=_retry(state),
        intents=state.intents,
        shown=_static_shown(state, say, choices, languages),
    )


def shown_messages(state: State, say: tuple[CompiledText, ...],
                   choices: Mapping[str, CompiledChoice], lang: str,
                   variables: Mapping[str, Any]) -> tuple[Message, ...]:
    """The messages arriving at a state shows: its texts, the last one with the buttons."""
    words = [t.render(lang, variables) for t in say]
    if state.kind != "choices":
        return tuple(Message(w) for w in words)
    last = words.pop() if words else "…"
    buttons = tuple([Button(c.id, c.label.render(lang, variables)) for c in choices.values()])
    return (*(Message(w) for w in words), Message(last, buttons, state.columns))


def _static_shown(state: State, say: tuple[CompiledText, ...],
                  choices: Mapping[str, CompiledChoice],
                  languages: tuple[str, ...]) -> dict[str, tuple[Message, ...]]:
    """`shown_messages` per language, worked out once, if no text has a {variable} and
    no crisis numbers (which depend on the person's country) are shown."""
    if state.resources is not None:
        return {}
    if not all(t.static for t in (*say, *(c.label for c in choices.values()))):
        return {}
    return {lang: shown_messages(state, say, choices, lang, {}) for lang in {*languages, "en"}}


def with_gate(d: Dialogue, gate: Gate) -> Dialogue:
    """The module as it runs: its start preceded by the safety gate (see GATE_CHECK)."""
    check = State(name=GATE_CHECK, kind="branch", branch=(
        Arm(f"{gate.when} == true", GATE_ASK), Arm(None, d.start)), path=("safety_gate",))
    ask = State(name=GATE_ASK, kind="call", call=gate.dialogue, return_to=d.start,
                path=("safety_gate",))
    return replace(d, start=GATE_CHECK, states={GATE_CHECK: check, GATE_ASK: ask, **d.states})


def compile_dialogue(d: Dialogue, kept: frozenset[str], gate: Gate | None = None
                     ) -> CompiledDialogue:
    if gate is not None and d.safety_gate and d.id != gate.dialogue:
        d = with_gate(d, gate)
    machine = build_machine(d)
    table = tuple((d.id, src, trigger, t.dest)
                  for trigger, event in machine.events.items()
                  for src, ts in event.transitions.items() for t in ts)
    return CompiledDialogue(
        id=d.id, model=d, machine=machine,
        states={n: _compile_state(s, d.languages) for n, s in d.states.items()},
        defaults=tuple((k, v) for k, v in d.variables.items() if k not in kept),
        kept_defaults=tuple((k, v) for k, v in d.variables.items() if k in kept),
        transitions=table,
    )


def compile_bundle(bundle: Bundle) -> CompiledBundle:
    """Compile every dialogue of a bundle that validated without errors."""
    kept = bundle.kept_variables()
    cfg = bundle.config
    intent_words: dict[str, dict[str, str]] = {}
    yes_no: dict[str, dict[str, bool]] = {}
    for lang in {*cfg.languages, "en"}:
        words: dict[str, str] = {}
        for name, intent in cfg.intents.items():
            for w in (*intent.words.get(lang, ()), *intent.words.get("en", ())):
                words.setdefault(normalize(w), name)
        intent_words[lang] = words
        answers: dict[str, bool] = {}
        for key, value in (("yes", True), ("no", False)):
            for w in (*cfg.words.get(key, {}).get(lang, ()), *cfg.words.get(key, {}).get("en", ())):
                answers.setdefault(normalize(w), value)
        yes_no[lang] = answers
    routes = dict(cfg.safety.routes) if cfg.safety else {}
    sos = cfg.intents.get("sos")
    gate = cfg.safety.gate if cfg.safety else None
    return CompiledBundle(
        config=cfg,
        dialogues={i: compile_dialogue(d, kept, gate) for i, d in bundle.dialogues.items()},
        kept=kept, builtins=frozenset({"language", *cfg.consent,
                                       *([COUNTRY_VARIABLE] if bundle.resources else [])}),
        intent_words=intent_words, yes_no=yes_no,
        strings={k: CompiledText(t) for k, t in cfg.strings.items()},
        routes=routes,
        safety_dialogues=frozenset({*routes.values(), *([sos.call] if sos and sos.call else [])}),
        gate=gate, resources=bundle.resources,
    )
