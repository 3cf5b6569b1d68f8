"""One turn for every adapter: screen the person's free text, then step the dialogue.

Telegram (`bot.conversation`), the terminal (`relbot chat`), the transcript runner
(`relbot test`) and any later adapter (the browser preview) call `take_turn`, never
`engine.step` directly, so what one adapter shows, all show, and no adapter can skip
the crisis screen. Pure and free of Telegram and storage: sessions and events in,
sessions and outputs out.

A flag becomes the engine event `Flagged(category)`: the engine interrupts the module
with that category's safety route (data, in `_global.yaml`), like the sos intent. One
exception: text typed into the very route the flag would open, at a question that takes
typed words, is that question's answer ("no, he is still here" at "Are you safe right
now?"), so it goes to the route as typed text instead of opening the route again.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.compile import CompiledBundle
from bot.core.engine import Trace, step
from bot.core.types import Event, Flagged, Output, Session, Typed
from bot.safety import Flag, Screen

__all__ = ["Turn", "Turner", "take_turn"]


@dataclass(frozen=True, slots=True)
class Turn:
    """What one event did: the new session, what to show, and what the screen found.

    `urgent`: the turn was flagged, or it leaves the person in a safety module (a route,
    sos, the menu's safety entry, and what they call). Adapters send its replies before
    anything still queued for the person, and never hold them back or drop them for a
    later reply: a route's numbers must not be superseded by the next disclosure.
    """

    session: Session
    outputs: tuple[Output, ...]
    flag: Flag | None = None
    urgent: bool = False


def take_turn(compiled: CompiledBundle, screen: Screen, session: Session, event: Event,
              trace: Trace | None = None) -> Turn:
    """Screen typed text first; a flag interrupts whatever module is running."""
    flag = screen.check(event.text, session.language) if isinstance(event, Typed) else None
    if flag is not None and not _answers_its_route(compiled, session, flag.category):
        event = Flagged(flag.category)
    session, outputs = step(compiled, session, event, trace)
    on_route = compiled.in_safety(session.stack) is not None
    return Turn(session, outputs, flag, urgent=flag is not None or on_route)


def _answers_its_route(compiled: CompiledBundle, session: Session, category: str) -> bool:
    """True when the person is at a question of this category's route that takes text."""
    if not session.stack or session.stack[-1].module != compiled.routes.get(category):
        return False
    frame = session.stack[-1]
    state = compiled.dialogues[frame.module].states.get(frame.state)
    return state is not None and state.source.ask is not None


@dataclass(frozen=True, slots=True)
class Turner:
    """`take_turn` bound to one compiled bundle and screen, shaped like `engine.step`
    (for the transcript runner, which lives in the core and cannot import the screen)."""

    compiled: CompiledBundle
    screen: Screen

    def __call__(self, compiled: CompiledBundle, session: Session, event: Event,
                 trace: Trace | None = None) -> tuple[Session, tuple[Output, ...]]:
        turn = take_turn(compiled, self.screen, session, event, trace)
        return turn.session, turn.outputs
