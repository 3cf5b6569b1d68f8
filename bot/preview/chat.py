"""The preview's chats: the same turn as Telegram, shown as Telegram would show it.

Each browser tab has a chat (a module, a language and a `Session`) that goes through
`bot.turn.take_turn`, so typed text is screened for crisis wording first, exactly as on
Telegram. Outputs become bubbles the page draws: messages split at Telegram's limit
(`bot.tg.render.split_text`), buttons on the last part, a pressed button marked on its
message (`✓ label`) as the bot edits it, a stale press answered with its notice. An output
type this module does not know is shown generically, never dropped or crashed on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from bot.core.compile import CompiledBundle
from bot.core.graph_svg import edge_id
from bot.core.types import (
    Chosen,
    Ended,
    Event,
    IntentInvoked,
    Message,
    Output,
    Pressed,
    RecordSaved,
    Session,
    SettingChanged,
    Stale,
    Started,
    Typed,
)
from bot.safety import Flag, Screen
from bot.tg.render import CHOSEN_MARK, split_text
from bot.turn import take_turn

__all__ = ["PreviewChat", "bubbles"]


def _generic(output: object) -> str:
    if dataclasses.is_dataclass(output):
        fields = ", ".join(f"{f.name}={getattr(output, f.name)!r}"
                           for f in dataclasses.fields(output))
        return f"{type(output).__name__}({fields})"
    return repr(output)


def bubbles(outputs: tuple[Output, ...], step: int,
            flag: Flag | None = None) -> list[dict[str, Any]]:
    """What the page shows for one turn's outputs (`step`: the session's step after it)."""
    out: list[dict[str, Any]] = []
    if flag is not None:
        out.append({"kind": "notice", "text": f"the crisis screen matched ({flag.category}): "
                                              "the safety module interrupts, as on Telegram"})
    for o in outputs:
        if isinstance(o, Message):
            parts = split_text(o.text) or ["…"]
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                out.append({"kind": "bot", "text": part, "step": step, "columns": o.columns,
                            "buttons": [{"id": b.id, "label": b.label}
                                        for b in o.buttons] if last else []})
        elif isinstance(o, Chosen):
            out.append({"kind": "chosen", "label": o.label})
        elif isinstance(o, Stale):
            out.append({"kind": "notice", "text": f"(a pop-up on Telegram) {o.text}"})
        elif isinstance(o, RecordSaved):
            out.append({"kind": "notice", "text": f"saved a '{o.kind}' record (kept only if "
                                                  "the person agreed to store answers)"})
        elif isinstance(o, SettingChanged):
            out.append({"kind": "notice", "text": f"{o.name} is now {o.value!r}"})
        elif isinstance(o, Ended):
            out.append({"kind": "notice", "text": f"the module {o.module} ended"})
        else:  # an output type added after this was written: show it, do not drop it
            out.append({"kind": "notice", "text": _generic(o)})
    return out


@dataclass
class PreviewChat:
    """One tab's conversation with one module, in one language."""

    module: str
    lang: str
    session: Session = field(default_factory=Session)
    log: list[dict[str, Any]] = field(default_factory=list)
    reached: set[str] = field(default_factory=set)  # arrows taken, as `edge_id`s
    visited: set[str] = field(default_factory=set)
    serial: int = 0  # bumped on every change, so the page redraws only when needed

    def start(self, compiled: CompiledBundle, screen: Screen) -> None:
        passed = dict.fromkeys(compiled.config.requires, True)  # as relbot chat MODULE does
        self.session = Session(vars={"language": self.lang, **passed})
        self.log, self.reached, self.visited = [], set(), set()
        self.turn(compiled, screen, Started(self.module))

    def note(self, text: str) -> None:
        self.log.append({"kind": "note", "text": text})
        self.serial += 1

    def turn(self, compiled: CompiledBundle, screen: Screen, event: Event) -> None:
        if isinstance(event, Typed):
            self.log.append({"kind": "person", "text": event.text})
        elif isinstance(event, IntentInvoked):
            self.log.append({"kind": "person", "text": f"/{event.name}"})

        def trace(module: str, source: str, trigger: str, dest: str) -> None:
            if module == self.module:
                self.reached.add(edge_id(source, trigger, dest))
                self.visited.update((source, dest))

        result = take_turn(compiled, screen, self.session, event, trace)
        self.session = result.session
        for bubble in bubbles(result.outputs, result.session.step, result.flag):
            if bubble["kind"] == "chosen":
                self._mark_chosen(bubble["label"])
            else:
                self.log.append(bubble)
        here = self.state()
        if here is not None:
            self.visited.add(here)
        self.serial += 1

    def _mark_chosen(self, label: str) -> None:
        """Telegram edits the pressed message: the choice appended, the keyboard gone."""
        for bubble in reversed(self.log):
            if bubble["kind"] == "bot" and bubble["buttons"]:
                bubble["text"] = f"{bubble['text']}\n\n{CHOSEN_MARK} {label}".strip()
                bubble["buttons"] = []
                return
        self.log.append({"kind": "notice", "text": f"{CHOSEN_MARK} {label}"})

    def press(self, compiled: CompiledBundle, screen: Screen, step: int, choice: str) -> None:
        self.turn(compiled, screen, Pressed(step, choice))

    def state(self) -> str | None:
        """The state of this chat's module the person is at (a sub-module's caller too)."""
        for frame in reversed(self.session.stack):
            if frame.module == self.module:
                return frame.state
        return None

    def reloaded(self, compiled: CompiledBundle, screen: Screen) -> None:
        """New dialogues: stay where we are if every state on the stack still exists,
        else start the module again, and say which happened."""
        if self.module not in compiled.dialogues:
            self.note(f"the module '{self.module}' is gone after the edit; pick another")
            return
        gone = [f"{f.module}.{f.state}" for f in self.session.stack
                if f.module not in compiled.dialogues
                or f.state not in compiled.dialogues[f.module].states]
        if gone:
            self.start(compiled, screen)
            self.log.insert(0, {"kind": "note", "text": f"reloaded: the state {gone[0]} is "
                                                        "gone, so the module started again"})
            return
        self.note("reloaded: the chat stays where it was")

    def view(self) -> dict[str, Any]:
        return {
            "module": self.module, "lang": self.lang, "log": self.log,
            "state": self.state(), "reached": sorted(self.reached),
            "visited": sorted(self.visited), "serial": self.serial,
            "variables": {k: v for k, v in sorted(self.session.vars.items())},
            "stack": [f"{f.module} › {f.state}" for f in self.session.stack],
        }
