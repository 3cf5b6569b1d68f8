"""The engine's safety steps: a flag opens its route, one safety module at a time, the
crisis numbers in a message, and the safety gate on the way back into an exercise.

Split out of `bot.core.engine` (a mixin of its `_Run`) so the step's general machinery
and what keeps people safe can each be read on their own. Everything here is driven by
data: the routes and the gate in `_global.yaml`, the numbers in `resources.yaml`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.core.compile import CompiledBundle, CompiledDialogue
from bot.core.resources import COUNTRY_VARIABLE
from bot.core.types import Frame, Message, Output, Undo

if TYPE_CHECKING:
    from bot.core.compile import CompiledState

__all__ = ["MAX_DEPTH", "SafetySteps"]

MAX_DEPTH = 8  # sub-dialogues within sub-dialogues


class SafetySteps:
    """Mixed into the engine's `_Run`, whose state and moves these steps use."""

    c: CompiledBundle
    stack: list[Frame]
    vars: dict[str, Any]
    out: list[Output]
    history: list[Undo]

    if TYPE_CHECKING:  # provided by `_Run`
        @property
        def lang(self) -> str: ...
        def push(self, module: str, return_to: str | None) -> None: ...
        def call(self, module: str, return_to: str | None = None) -> None: ...
        def invoke(self, name: str) -> bool: ...
        def where(self) -> tuple[CompiledDialogue, CompiledState] | None: ...
        def reask(self, state: CompiledState, *, same_step: bool = False) -> None: ...

    def flagged(self, category: str) -> None:
        """The screen flagged a disclosure: interrupt with the category's route. A folder
        without routes (`safety:` in _global.yaml) opens the sos intent instead."""
        route = self.c.routes.get(category)
        if route is not None and route in self.c.dialogues:
            self.call(route)
        elif not self.invoke("sos"):
            where = self.where()
            if where is not None:
                self.reask(where[1])

    def replace_safety(self, module: str) -> bool:
        """Opening a safety module while another runs (sos inside a route, a second
        disclosure): it takes the running one's place and its way back, instead of
        stacking one safety module on another. False if none is running."""
        base = self.c.in_safety(self.stack) if module in self.c.safety_dialogues else None
        if base is None:
            return False
        return_to = self.stack[base].return_to
        del self.stack[base:]
        self.history = [h for h in self.history if h.depth <= len(self.stack)]
        self.push(module, return_to if self.stack else None)
        return True

    def numbers(self, helplines: tuple[str, ...]) -> None:
        """The crisis numbers for the person's country, at the end of the state's last
        message (the validator keeps them off questions), or as a message of their own."""
        resources = self.c.resources
        if resources is None:
            return
        block = resources.render(helplines, self.vars.get(COUNTRY_VARIABLE), self.lang)
        last = self.out[-1] if self.out else None
        if isinstance(last, Message) and not last.buttons and last.text:
            self.out[-1] = Message(f"{last.text}\n\n{block}")
        else:
            self.out.append(Message(block))

    def gated_return(self, finished: str, caller: CompiledDialogue) -> bool:
        """Back from a safety module into one that coaches saying something to another
        person, once harm was disclosed: ask the gate before the interrupted question."""
        gate = self.c.gate
        if (gate is None or finished not in self.c.safety_dialogues
                or not caller.model.safety_gate or self.vars.get(gate.when) is not True
                or gate.dialogue not in self.c.dialogues or len(self.stack) >= MAX_DEPTH):
            return False
        self.push(gate.dialogue, self.stack[-1].state)
        return True
