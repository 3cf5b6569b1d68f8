"""A walk through one programme module that types a distinctive word at every free-text
question, planned with the pure core and then played through Telegram.

Why: the privacy test must type words through the whole programme as a person would,
and checking every reply by hand for ten modules would be brittle. The core is pure, so
the same compiled dialogues predict each reply; ``Person.expect`` then checks that the
bot, over real HTTP, sent exactly those messages in that order.

Policy: press the first button at a question, the last untried one when the walk comes
back to it (so loops end), prefer
typing where a question takes free text, answer numbers with their minimum and yes/no
questions with "yes". A typed answer is ``<word><n>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.compile import CompiledBundle
from bot.core.types import Event, Message, Pressed, Session, Started, Typed
from bot.safety import Screen
from bot.tg.render import render
from bot.turn import take_turn

from .harness import Person

WELCOME_NO_STORAGE = ("English", "Okay, go on", "Yes, I'm 18+", "No, don't store them")


@dataclass
class Move:
    """One thing the person does, and the start of each new message they should get."""

    kind: str  # "start" | "press" | "type"
    value: str
    expect: list[str]


@dataclass
class Walk:
    moves: list[Move] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)


def _new_messages(outputs: tuple[object, ...], step: int) -> list[str]:
    calls = render(outputs, 1, step)  # type: ignore[arg-type]
    return [str(c.params["text"])[:30] for c in calls if c.method == "sendMessage"]


def plan(compiled: CompiledBundle, module_label: str, word: str,
         max_moves: int = 120) -> Walk:
    """/start, the welcome without storage, the module's menu button, then the module."""
    screen = Screen.load()
    session = Session(vars={"language": "en"})
    walk = Walk()
    taken: dict[tuple[str, str], set[str]] = {}
    last: Message | None = None

    def act(kind: str, value: str, event: Event) -> None:
        nonlocal session, last
        turn = take_turn(compiled, screen, session, event)
        session = turn.session
        walk.moves.append(Move(kind, value, _new_messages(turn.outputs, session.step)))
        shown = [o for o in turn.outputs if isinstance(o, Message)]
        last = shown[-1] if shown else last

    act("start", "start", Started(None))
    for label in (*WELCOME_NO_STORAGE, module_label):
        assert last is not None and label in [b.label for b in last.buttons], (label, last)
        choice = next(b.id for b in last.buttons if b.label == label)
        act("press", label, Pressed(session.step, choice))
    menu = compiled.config.menu
    for _ in range(max_moves):
        if not session.stack or session.stack[0].module == menu:
            return walk
        frame = session.stack[-1]
        state = compiled.dialogues[frame.module].states[frame.state]
        ask = state.source.ask
        if ask is not None and ask.kind == "text":
            text = f"{word}{len(walk.typed) + 1}"
            walk.typed.append(text)
            act("type", text, Typed(text))
        elif ask is not None and state.kind == "ask":
            answer = "yes" if ask.kind == "yes_no" else str(int(ask.min or 0))
            act("type", answer, Typed(answer))
        else:
            assert last is not None and last.buttons, (frame, last)
            done = taken.setdefault((frame.module, frame.state), set())
            fresh = [b for b in last.buttons if b.id not in done]
            # The first button on a first visit; back again (a loop): the last untried.
            button = (fresh[0] if not done else fresh[-1]) if fresh else last.buttons[0]
            done.add(button.id)
            act("press", button.label, Pressed(session.step, button.id))
    raise AssertionError(f"the walk through {module_label} did not get back to the menu")


def play(person: Person, walk: Walk) -> None:
    """Do each move through Telegram and check the replies against the plan."""
    for move in walk.moves:
        if move.kind == "start":
            person.command("start")
        elif move.kind == "press":
            person.press(move.value)
        else:
            person.send(move.value)
        person.expect(*move.expect)
