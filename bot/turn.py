"""One turn for every adapter: screen the person's free text, then step the dialogue.

Telegram (`bot.conversation`), the terminal (`relbot chat`), the transcript runner
(`relbot test`) and any later adapter (the browser preview) call `take_turn`, never
`engine.step` directly, so what one adapter shows, all show, and no adapter can skip
the crisis screen. Pure and free of Telegram and storage: sessions and events in,
sessions and outputs out.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.compile import CompiledBundle
from bot.core.engine import Trace, step
from bot.core.types import Event, IntentInvoked, Message, Output, Session, Typed
from bot.safety import Flag, Screen

__all__ = ["Turn", "Turner", "take_turn"]


@dataclass(frozen=True, slots=True)
class Turn:
    """What one event did: the new session, what to show, and what the screen found."""

    session: Session
    outputs: tuple[Output, ...]
    flag: Flag | None = None


def take_turn(compiled: CompiledBundle, screen: Screen, session: Session, event: Event,
              trace: Trace | None = None) -> Turn:
    """Screen typed text first; a flag interrupts whatever module is running."""
    flag = screen.check(event.text, session.language) if isinstance(event, Typed) else None
    if flag is None:
        session, outputs = step(compiled, session, event, trace)
        return Turn(session, outputs)
    session, outputs = step(compiled, session, IntentInvoked("sos"), trace)
    notice = Message(compiled.string("crisis_detected", session.language))
    return Turn(session, (notice, *outputs), flag)


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
