"""The dialogue model: frozen, typed objects built from shape-checked YAML.

Everything after loading (validation, compilation, diagrams, text export) works on
these objects, never on raw dicts. Each object keeps the `path` it came from so that
a later check can still point at file:line:column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.core.loader import Loaded, Path

if TYPE_CHECKING:
    from bot.core.resources import Resources

__all__ = [
    "Arm", "Ask", "Bundle", "Choice", "Dialogue", "Gate", "GlobalConfig", "IntentAction",
    "SafetyConfig", "Save", "State", "Text", "Value",
]

Value = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Text:
    """Localized text: language code -> words. English is always present once valid."""

    variants: Mapping[str, str]
    path: Path = ()

    def get(self, lang: str) -> str:
        return self.variants.get(lang) or self.variants.get("en") or next(
            iter(self.variants.values()), ""
        )


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    label: Text
    goto: str
    set: Mapping[str, Value] = field(default_factory=dict)
    add: Mapping[str, float] = field(default_factory=dict)
    path: Path = ()


@dataclass(frozen=True, slots=True)
class Ask:
    into: str | None  # None: the answer moves on and is not kept
    kind: str
    max_length: int = 500
    min: float | None = None
    max: float | None = None
    retry: Text | None = None
    path: Path = ()
    #: Typed words here are the person's own (a line they practise): "stop" or "menu"
    #: is an answer, not a command. Commands (/cancel) and the word sos still work.
    practice: bool = False


@dataclass(frozen=True, slots=True)
class Arm:
    condition: str | None
    goto: str
    path: Path = ()


@dataclass(frozen=True, slots=True)
class Save:
    kind: str
    fields: tuple[str, ...]
    path: Path = ()


@dataclass(frozen=True, slots=True)
class IntentAction:
    name: str
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    say: tuple[Text, ...] = ()
    goto: str | None = None
    call: str | None = None
    back: bool = False
    restart: bool = False
    path: Path = ()


@dataclass(frozen=True, slots=True)
class State:
    name: str
    kind: str  # one of format.NEXT_KEYS
    say: tuple[Text, ...] = ()
    set: Mapping[str, Value] = field(default_factory=dict)
    save: Save | None = None
    columns: int = 1
    choices: tuple[Choice, ...] = ()
    ask: Ask | None = None
    goto: str | None = None
    branch: tuple[Arm, ...] = ()
    call: str | None = None
    return_to: str | None = None
    end_next: str | None = None
    intents: Mapping[str, IntentAction | None] = field(default_factory=dict)
    timeout: str | None = None
    retry: Text | None = None
    resources: tuple[str, ...] | None = None  # helplines to show; None: no numbers here
    path: Path = ()

    def targets(self) -> list[str]:
        """States of this dialogue that this state can lead to."""
        out = [c.goto for c in self.choices] + [a.goto for a in self.branch]
        out += [t for t in (self.goto, self.return_to, self.timeout) if t]
        return out


@dataclass(frozen=True, slots=True)
class Dialogue:
    id: str
    title: Text
    description: Text | None
    languages: tuple[str, ...]
    start: str
    variables: Mapping[str, Value]
    keep: tuple[str, ...]
    intents: Mapping[str, IntentAction | None]
    states: Mapping[str, State]
    source: Loaded | None = None
    safety_gate: bool = False  # coaches saying something to someone: the gate asks first
    #: The hand-over: module this one starts next (`end: {next}`) -> the variables it
    #: passes on, which that module declares and so does not ask for again.
    passes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.source.file if self.source else self.id


@dataclass(frozen=True, slots=True)
class Gate:
    """Before a module with `safety_gate: true` starts, once the kept true/false variable
    `when` is true (a safety route sets it), the `dialogue` asks whether it would be safe."""

    dialogue: str
    when: str
    path: Path = ()


@dataclass(frozen=True, slots=True)
class SafetyConfig:
    """What a flag from the crisis screen does: category -> the route module it calls."""

    routes: Mapping[str, str]
    gate: Gate | None = None
    path: Path = ()


@dataclass(frozen=True, slots=True)
class Returning:
    """A typed message after `after_hours` away, while a question is open, first runs
    `dialogue` (which ends to carry on, or goes to the menu) instead of answering."""

    after_hours: float
    dialogue: str
    path: Path = ()


@dataclass(frozen=True, slots=True)
class GlobalConfig:
    languages: tuple[str, ...]
    start: str
    menu: str
    consent: tuple[str, ...]
    intents: Mapping[str, IntentAction]
    words: Mapping[str, Mapping[str, tuple[str, ...]]]
    strings: Mapping[str, Text]
    source: Loaded | None = None
    requires: tuple[str, ...] = ()  # consent flags needed for modules other than `start`
    safety: SafetyConfig | None = None  # None: a flag opens the `sos` intent instead
    returning: Returning | None = None  # None: a late message answers the open question

    def string(self, key: str, lang: str, **values: Any) -> str:
        """A bot string in `lang`, with `{min}`-style values filled in."""
        text = self.strings.get(key)
        if text is None:
            return key
        words = text.get(lang)
        return words.format(**values) if values else words


@dataclass(frozen=True, slots=True)
class Bundle:
    """Everything loaded from one dialogues folder."""

    config: GlobalConfig
    dialogues: Mapping[str, Dialogue]
    unbuilt: frozenset[str] = frozenset()  # ids of files too broken to build
    resources: Resources | None = None  # resources.yaml, if the folder has one
    resources_broken: bool = False  # resources.yaml is there but too broken to build

    def has(self, dialogue_id: str) -> bool:
        """True if the id names a module (even one whose file has errors of its own)."""
        return dialogue_id in self.dialogues or dialogue_id in self.unbuilt

    def kept_variables(self) -> frozenset[str]:
        """Variables that outlive a module: every `keep:` plus the built-ins."""
        kept = {"language", *self.config.consent}
        for d in self.dialogues.values():
            kept.update(d.keep)
        return frozenset(kept)
