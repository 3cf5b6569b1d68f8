"""The plain data that crosses the core's boundary: events in, outputs out, sessions.

A step is `step(compiled, session, event) -> (session, outputs)`. Everything here is a
frozen dataclass of plain values, so the Telegram adapter, the terminal and the
transcript runner can all render the same outputs, and sessions serialize to a few
hundred bytes of JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "Button", "Chosen", "Ended", "Event", "Flagged", "Frame", "IntentInvoked", "LanguageSet",
    "Message",
    "Output",
    "Pressed", "RecordSaved", "Session", "SettingChanged", "Stale", "Started", "TimedOut",
    "Typed", "Undo", "decode_callback", "encode_callback",
]


# --- events -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Started:
    """Begin a module afresh (`None`: the configured start module)."""

    module: str | None = None


@dataclass(frozen=True, slots=True)
class Pressed:
    """A button press, identified by the step it was shown at and the choice id."""

    step: int
    choice: str


@dataclass(frozen=True, slots=True)
class Typed:
    text: str
    #: Hours since the person's previous message, from the adapter's clock (0: unknown
    #: or just now). The core never reads a clock; `_global.yaml`'s `returning` uses it.
    away_hours: float = 0.0


@dataclass(frozen=True, slots=True)
class IntentInvoked:
    name: str  # cancel, help, back, sos, menu, restart


@dataclass(frozen=True, slots=True)
class TimedOut:
    pass


@dataclass(frozen=True, slots=True)
class LanguageSet:
    """The person picked a language (e.g. /language): switch and ask the question again.

    `step`: the session step shown on the button that chose it; a press from an earlier
    step (or a second tap) is stale and changes nothing. None where there is no button.
    """

    language: str
    step: int | None = None


@dataclass(frozen=True, slots=True)
class Flagged:
    """The crisis screen found a disclosure of this category (`bot.core.crisis`) in what
    the person typed. The engine interrupts the module with the category's safety route
    (`_global.yaml`, `safety: routes:`); the text itself never reaches the engine."""

    category: str


Event = Started | Pressed | Typed | IntentInvoked | TimedOut | LanguageSet | Flagged


# --- outputs ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Button:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    buttons: tuple[Button, ...] = ()
    columns: int = 1


@dataclass(frozen=True, slots=True)
class Chosen:
    """The person chose this button: adapters show it in place of the keyboard."""

    label: str


@dataclass(frozen=True, slots=True)
class Stale:
    """A press on a button from an earlier step (or forged): nothing changed."""

    text: str


@dataclass(frozen=True, slots=True)
class RecordSaved:
    """A structured result to store, if the person consented (`store_answers`)."""

    kind: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SettingChanged:
    """The language or a consent flag changed: adapters persist it."""

    name: str
    value: Any


@dataclass(frozen=True, slots=True)
class Ended:
    """A top-level module finished."""

    module: str


Output = Message | Chosen | Stale | RecordSaved | SettingChanged | Ended


# --- session ------------------------------------------------------------------------

class Frame(NamedTuple):
    module: str
    state: str
    return_to: str | None = None  # the caller's state to continue at, for a sub-dialogue


class Undo(NamedTuple):
    """One step `back` can take: the question to return to and how to undo its answer."""

    state: str
    restore: tuple[tuple[str, list[Any]], ...]  # variable -> [old value], or [] if unset
    depth: int = 1  # how many frames deep the question was (back stays in its frame)
    choice: str = ""  # the button pressed: back subtracts its `add` amounts


@dataclass(frozen=True, slots=True)
class Session:
    """All per-person dialogue state: small plain data, never a machine or a model."""

    stack: tuple[Frame, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict)
    step: int = 0
    history: tuple[Undo, ...] = ()

    @property
    def language(self) -> str:
        return str(self.vars.get("language") or "en")

    @property
    def module(self) -> str | None:
        return self.stack[0].module if self.stack else None

    def to_json(self) -> str:
        data = {"s": [list(f) for f in self.stack], "v": dict(self.vars), "n": self.step}
        if self.history:
            data["h"] = [_encode_undo(u) for u in self.history]
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Session:
        """Decode a stored session; anything unreadable becomes a fresh session."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            session = cls(
                stack=tuple(Frame(*f) for f in data.get("s", [])),
                vars=dict(data.get("v", {})),
                step=int(data.get("n", 0)),
                history=tuple(Undo(h[0], tuple((k, old) for k, old in h[1]),
                                   int(h[2]) if len(h) > 2 else 1, h[3] if len(h) > 3 else "")
                              for h in data.get("h", [])),
            )
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):
            return cls()
        return session if session._well_formed() else cls()

    def _well_formed(self) -> bool:
        """Types a step relies on (a corrupted row must not crash every later message)."""
        def name(value: Any) -> bool:
            return isinstance(value, str)

        return (
            self.step >= 0
            and all(name(m) and name(s) and (r is None or name(r)) for m, s, r in self.stack)
            and all(name(k) for k in self.vars)
            and all(name(state) and all(name(k) and isinstance(old, list) and len(old) <= 1
                                        for k, old in undo)
                    and name(choice)
                    for state, undo, _depth, choice in self.history)
        )


def _encode_undo(undo: Undo) -> list[Any]:
    """Compact JSON: trailing defaults (depth 1, no choice) are left out."""
    out: list[Any] = [undo.state, [[k, old] for k, old in undo.restore]]
    if undo.depth != 1 or undo.choice:
        out.append(undo.depth)
    if undo.choice:
        out.append(undo.choice)
    return out


# --- callback data ------------------------------------------------------------------

def encode_callback(step: int, choice: str) -> str:
    """Telegram callback_data for a button: at most 12 + 1 + 24 bytes, well under 64."""
    return f"{step}:{choice}"


def decode_callback(data: str | None) -> Pressed | None:
    """The press a callback_data stands for, or None if it is not one of ours."""
    if not data or len(data) > 64:
        return None
    step, sep, choice = data.partition(":")
    if not sep or not (step.isascii() and step.isdigit()) or not choice or len(step) > 12:
        return None
    return Pressed(int(step), choice)
