"""Shared paths and small builders for the core tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from pathlib import Path

from bot.cli.folders import load_folder
from bot.core.compile import CompiledBundle, compile_bundle
from bot.core.diagnostics import Diagnostic, format_human, has_errors
from bot.core.engine import step
from bot.core.types import (
    Button,
    Event,
    IntentInvoked,
    Message,
    Output,
    Pressed,
    Session,
    Started,
    Typed,
)
from bot.core.validate import REQUIRED_STRINGS

__all__ = [
    "ENERGY",
    "EXAMPLES",
    "MIN_GLOBAL",
    "MIN_MODULE",
    "ROOT",
    "SHIPPED",
    "Chat",
    "at_energy",
    "at_path",
    "compile_folder",
    "diagnose",
    "dialogue_folders",
    "write_folder",
]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "dialogues"
EXAMPLES = SHIPPED / "examples"

_STRINGS = {  # what the engine shows; every other required string gets a stand-in
    "choose_button": "Tap a button.",
    "text_empty": "Type a few words.",
    "text_too_long": "At most {max} characters.",
    "text_number": "Say it in words.",
    "number": "A number from {min} to {max}.",
    "scale": "A whole number from {min} to {max}.",
    "yes_no": "Yes or no.",
    "no_back": "There is no earlier question.",
    "idle": "Hello again.",
    "stale_button": "That button is old.",
}
MIN_GLOBAL = "languages: [en]\nstart: m\nmenu: m\nstrings:\n" + "".join(
    f"  {key}: {json.dumps(_STRINGS.get(key, key.replace('_', ' ')))}\n"
    for key in dict.fromkeys([*_STRINGS, *REQUIRED_STRINGS])
)

MIN_MODULE = textwrap.dedent("""\
    dialogue: m
    title: M
    start: a
    states:
      a:
        say: Ready.
        choices:
          - {id: go, label: Go, goto: b}
      b:
        end: true
    """)


def write_folder(folder: Path, files: Mapping[str, str | bytes]) -> Path:
    """A dialogues folder: the minimal `_global.yaml` and `m.yaml`, overridden by `files`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in {"_global.yaml": MIN_GLOBAL, "m.yaml": MIN_MODULE, **files}.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        path.write_bytes(data)
    return folder


def diagnose(folder: Path, files: Mapping[str, str | bytes]) -> list[Diagnostic]:
    """Diagnostics of a minimal folder with `files` written over it."""
    return load_folder(write_folder(folder, files))[1]


def compile_folder(folder: Path) -> CompiledBundle:
    """Compile a dialogues folder, failing the test with every diagnostic if it has errors."""
    bundle, diagnostics = load_folder(folder)
    assert not has_errors(diagnostics), format_human(diagnostics)
    return compile_bundle(bundle)


def dialogue_folders() -> list[Path]:
    """Every shipped dialogue folder: `dialogues/` and any sub-folder with a `_global.yaml`."""
    return [SHIPPED, *sorted(p.parent for p in SHIPPED.glob("*/_global.yaml"))]


class Chat:
    """Drives `step` like a person would, keeping the session, outputs and transitions."""

    def __init__(self, compiled: CompiledBundle, language: str = "en", **variables: object) -> None:
        self.compiled = compiled
        self.session = Session(vars={"language": language, **variables})
        self.out: tuple[Output, ...] = ()
        self.taken: list[tuple[str, str, str, str]] = []

    def send(self, event: Event) -> tuple[Output, ...]:
        self.session, self.out = step(
            self.compiled, self.session, event, lambda *t: self.taken.append(t)
        )
        return self.out

    def start(self, module: str | None = None) -> tuple[Output, ...]:
        return self.send(Started(module))

    def press(self, label: str) -> tuple[Output, ...]:
        """Press the button with this label (or id) on the last keyboard shown."""
        buttons = self.buttons()
        ids = [b.id for b in buttons if label in (b.label, b.id)]
        assert ids, f"no button '{label}' in {[b.label for b in buttons]}"
        return self.send(Pressed(self.session.step, ids[0]))

    def type(self, text: str) -> tuple[Output, ...]:
        return self.send(Typed(text))

    def intent(self, name: str) -> tuple[Output, ...]:
        return self.send(IntentInvoked(name))

    def buttons(self) -> tuple[Button, ...]:
        shown = [o for o in self.out if isinstance(o, Message) and o.buttons]
        return shown[-1].buttons if shown else ()

    @property
    def texts(self) -> list[str]:
        return [o.text for o in self.out if isinstance(o, Message)]

    @property
    def where(self) -> list[tuple[str, str]]:
        return [(f.module, f.state) for f in self.session.stack]


ENERGY = "Thanks, Ana. From 0 to 10, how much energy do you have?"


def at_energy(chat: Chat) -> Chat:
    """Start the tour, keep the chat's language, and give the name Ana."""
    chat.start("tour")
    chat.press(chat.session.language)
    chat.type("Ana")
    assert chat.where == [("tour", "ask_energy")]
    return chat


def at_path(chat: Chat, *, energy: str = "5", hours: str = "8", rested: str = "no") -> Chat:
    """Answer the tour's questions up to the path buttons."""
    at_energy(chat)
    for answer in (energy, hours, rested):
        chat.type(answer)
    assert chat.where == [("tour", "pick_path")]
    return chat
