"""The step: (session, event) -> (new session, outputs). Pure: no I/O, no globals.

Telegram, the terminal and the transcript runner all call `step`. It never raises on
anything a person can send: unknown text, a stale or forged button, a huge or strange
string all produce a helpful re-prompt. Sessions are immutable; a step copies the
small variables mapping once and returns a new `Session`.

Transitions come from each dialogue's compiled `transitions.Machine` (the table);
states without input (`goto`, `branch`, `call`, `end`) are followed in a loop until
the dialogue waits for the person again.

Safety (`bot.core.engine_safety`), as data in `_global.yaml`: a `Flagged` event calls
that category's route like the sos intent calls its module, so returning asks only the
interrupted question again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.answers import MAX_INPUT, check_answer, clean_text
from bot.core.compile import (
    CompiledBundle,
    CompiledDialogue,
    CompiledState,
    CompiledText,
    normalize,
    shown_messages,
)
from bot.core.engine_safety import MAX_DEPTH, SafetySteps
from bot.core.model import IntentAction
from bot.core.types import (
    Button,
    Chosen,
    Ended,
    Event,
    Flagged,
    Frame,
    IntentInvoked,
    LanguageSet,
    Message,
    Output,
    Pressed,
    RecordSaved,
    Session,
    SettingChanged,
    Stale,
    Started,
    TimedOut,
    Typed,
    Undo,
)

__all__ = ["MAX_INPUT", "Trace", "clean_text", "step"]

MAX_AUTO_STEPS = 500  # a validated bundle never loops; this only bounds a broken one
MAX_HISTORY = 8  # questions `back` can go back; bounds the stored session
#: Typed text this long at a button question is answered with an acknowledgement
#: (`choose_button_after_text`) rather than only "please tap a button".
LONG_TEXT = 40
Trace = Callable[[str, str, str, str], None]


def step(compiled: CompiledBundle, session: Session, event: Event,
         trace: Trace | None = None) -> tuple[Session, tuple[Output, ...]]:
    """Apply one event. `trace(module, source, trigger, dest)` sees each transition taken."""
    run = _Run(compiled, session, trace)
    if run.handle(event) is _UNCHANGED:
        return session, _sendable(run.out)
    return run.session(), _sendable(run.out)


_UNCHANGED = object()


def _sendable(out: list[Output]) -> tuple[Output, ...]:
    """Telegram refuses blank messages (a text of only `{variables}` that are still empty,
    e.g. in a session stored before the content changed): drop them, or keep their
    buttons under "…"."""
    if all(not isinstance(o, Message) or o.text.strip() for o in out):
        return tuple(out)
    return tuple(o if not isinstance(o, Message) or o.text.strip() else
                 Message("…", o.buttons, o.columns) for o in out
                 if not isinstance(o, Message) or o.text.strip() or o.buttons)


class _Run(SafetySteps):
    """The mutable scratchpad of a single step; discarded when the step returns."""

    def __init__(self, compiled: CompiledBundle, session: Session, trace: Trace | None) -> None:
        self.c = compiled
        self.stack = list(session.stack)
        self.vars = dict(session.vars)
        self.step = session.step
        self.history = list(session.history)
        self.trace = trace
        self.out: list[Output] = []

    def session(self) -> Session:
        return Session(tuple(self.stack), self.vars, self.step, tuple(self.history[-MAX_HISTORY:]))

    @property
    def lang(self) -> str:
        return str(self.vars.get("language") or "en")

    def say(self, key: str, **values: Any) -> None:
        self.out.append(Message(self.c.string(key, self.lang, **values)))

    # --- events -----------------------------------------------------------------

    def handle(self, event: Event) -> object:
        if isinstance(event, Flagged):
            self.where()  # drops a stored place that no longer exists
            self.flagged(event.category)
            return None
        if isinstance(event, Started):
            self.start_top(event.module or self.c.config.start)
            return None
        if isinstance(event, LanguageSet):
            if event.language not in self.c.config.languages:
                return _UNCHANGED
            if event.step is not None and event.step != self.step:  # a second tap, or old
                self.out.append(Stale(self.c.string("stale_button", self.lang)))
                return _UNCHANGED
            self.assign((("language", event.language),))
            where = self.where()
            if where is not None:
                self.reask(where[1])
            else:
                self.step += 1  # the keyboard that chose it goes stale, like a question's
            return None
        where = self.where()
        if where is None:
            if isinstance(event, TimedOut):  # a late timer after the module ended
                return _UNCHANGED
            if isinstance(event, Pressed):
                self.out.append(Stale(self.c.string("stale_button", self.lang)))
                return _UNCHANGED
            if isinstance(event, IntentInvoked) and self.invoke(event.name):
                return None
            if isinstance(event, Typed):  # "sos" or "help" typed after a module ended
                typed = self.c.intent_words.get(self.lang, {}).get(normalize(event.text[:200]))
                if typed and self.invoke(typed):
                    return None
            self.say("idle")
            self.start_top(self.c.config.menu)
            return None
        dialogue, state = where
        if isinstance(event, Pressed):
            choice = state.choices.get(event.choice) if state.kind == "choices" else None
            if event.step != self.step or choice is None:
                self.out.append(Stale(self.c.string("stale_button", self.lang)))
                return _UNCHANGED
            self.choose(dialogue, state, event.choice)
        elif isinstance(event, Typed):
            if self.returned(event):
                return None
            self.typed(dialogue, state, clean_text(event.text))
        elif isinstance(event, IntentInvoked):
            if not self.invoke(event.name):
                self.reask(state)
        elif isinstance(event, TimedOut):
            target = state.source.timeout
            if target is None:
                return _UNCHANGED
            self.traced(dialogue.id, state.name, "timeout", target)
            self.enter(target)
        return None

    def returned(self, event: Typed) -> bool:
        """Back after hours or days, mid-question: greet first (the `returning` module)
        and re-ask afterwards; what they typed ("hi, I'm back") is not the answer."""
        back = self.c.config.returning
        if back is None or event.away_hours < back.after_hours or not self.stack:
            return False
        if back.dialogue not in self.c.dialogues or self.c.in_safety(self.stack) is not None:
            return False
        if any(f.module == back.dialogue for f in self.stack):
            return False
        self.call(back.dialogue, return_to=self.stack[-1].state)
        return True

    def where(self) -> tuple[CompiledDialogue, CompiledState] | None:
        """The dialogue and state the person is in, or None when idle (or unknown)."""
        if not self.stack:
            return None
        frame = self.stack[-1]
        dialogue = self.c.dialogues.get(frame.module)
        state = dialogue.states.get(frame.state) if dialogue else None
        if dialogue is None or state is None or state.kind not in ("choices", "ask"):
            self.stack.clear()  # content changed under a stored session: start clean
            return None
        return dialogue, state

    def typed(self, dialogue: CompiledDialogue, state: CompiledState, text: str) -> None:
        key = normalize(text) if len(text) <= 200 else ""
        intent = self.c.intent_words.get(self.lang, {}).get(key)
        ask = state.source.ask
        if ask is not None and ask.practice and intent != "sos":
            intent = None  # a practised line ("Stop.") is the person's words, not a command
        if intent and self.resolve(intent) is not None:
            self.invoke(intent)
            return
        if state.kind == "choices":
            choice = state.by_label.get(self.lang, {}).get(key)
            if choice is None and state.source.ask is not None:
                self.answer(dialogue, state, text, key)  # buttons that also take typed text
                return
            if choice is None:
                if len(text) >= LONG_TEXT:  # they wrote something: say so before the buttons
                    self.say("choose_button_after_text")
                elif state.retry is not None:
                    self.out.append(Message(state.retry.render(self.lang, self.vars)))
                else:
                    self.say("choose_button")
                self.reask(state, same_step=True)
            else:
                self.choose(dialogue, state, choice)
            return
        self.answer(dialogue, state, text, key)

    def answer(self, dialogue: CompiledDialogue, state: CompiledState, text: str,
               key: str) -> None:
        ask = state.source.ask
        assert ask is not None
        value, problem = check_answer(ask, text, key, self.c.yes_no.get(self.lang, {}))
        if problem is not None:
            if state.retry is not None:
                self.out.append(Message(state.retry.render(self.lang, self.vars)))
            else:
                self.say(problem[0], **problem[1])
            return
        self.remember(state.name, [ask.into] if ask.into else [])
        if ask.into:  # without `into`, the words move the dialogue on and are not kept
            self.vars[ask.into] = value
        self.traced(dialogue.id, state.name, "answer", state.source.goto)

    # --- choices, intents, history ---------------------------------------------

    def choose(self, dialogue: CompiledDialogue, state: CompiledState, choice_id: str) -> None:
        choice = state.choices[choice_id]
        self.out.append(Chosen(choice.label.render(self.lang, self.vars)))
        self.remember(state.name, [k for k, _ in choice.set], choice_id)
        self.assign(choice.set)
        for name, amount in choice.add:
            current = self.vars.get(name)
            self.vars[name] = (current if isinstance(current, (int, float)) else 0) + amount
        self.traced(dialogue.id, state.name, f"choose:{choice_id}", None)

    def remember(self, state: str, names: list[str], choice: str = "") -> None:
        """Push an undo entry so `back` can restore these variables and this question.

        Scores added by a button are not stored: `back` subtracts the button's amounts,
        which keeps the stored session small on long rating modules.
        """
        restore = tuple((n, [self.vars[n]] if n in self.vars else []) for n in names)
        self.history.append(Undo(state, restore, len(self.stack), choice))

    def resolve(self, name: str) -> IntentAction | None:
        """The intent as it applies here: state override, then module, then global."""
        where = self.stack[-1] if self.stack else None
        dialogue = self.c.dialogues.get(where.module) if where else None
        if dialogue is not None and where is not None:
            state = dialogue.states.get(where.state)
            if state is not None and name in state.intents:
                return state.intents[name]
            if name in dialogue.model.intents:
                return dialogue.model.intents[name]
        return self.c.config.intents.get(name)

    def invoke(self, name: str) -> bool:
        """Run an intent; False if it is off or unknown here (the caller re-asks)."""
        intent = self.resolve(name)
        if intent is None:
            return False
        for text in intent.say:  # rendered like any text: {name} filled, {{ }} unescaped
            words = CompiledText(text).render(self.lang, self.vars)
            if words:
                self.out.append(Message(words))
        if intent.goto:
            self.start_top(intent.goto)
        elif intent.call:
            self.call(intent.call)
        elif intent.restart and self.stack:
            self.start_top(self.stack[0].module)
        elif intent.back:
            self.back()
        elif self.stack:
            self.reask(self.c.dialogues[self.stack[-1].module].states[self.stack[-1].state])
        else:
            self.start_top(self.c.config.menu)
        return True

    def back(self) -> None:
        frame = self.stack[-1] if self.stack else None
        if not self.history or frame is None or self.history[-1].depth != len(self.stack):
            self.say("no_back")
            if frame is not None:
                self.reask(self.c.dialogues[frame.module].states[frame.state])
            return
        state_name, undo, _, choice_id = self.history.pop()
        state = self.c.dialogues[frame.module].states[state_name]
        choice = state.choices.get(choice_id) if choice_id else None
        for name, amount in choice.add if choice else ():
            current = self.vars.get(name)
            if isinstance(current, (int, float)):
                self.vars[name] = current - amount
        for name, old in undo:
            before = self.vars.get(name)
            if old:
                self.vars[name] = old[0]
            else:
                self.vars.pop(name, None)
            setting = name == "language" or name in self.c.config.consent
            if setting and self.vars.get(name) != before:  # adapters persist settings
                self.out.append(SettingChanged(name, self.vars.get(name)))
        self.stack[-1] = frame._replace(state=state_name)
        self.reask(state)

    def reask(self, state: CompiledState, *, same_step: bool = False) -> None:
        """Show the state's question again (its last message, with its buttons)."""
        if not same_step:
            self.step += 1
        text = state.say[-1].render(self.lang, self.vars) if state.say else ""
        if state.kind == "choices":
            buttons = self.buttons(state)
            if text:
                self.out.append(Message(text, buttons, state.source.columns))
            elif buttons:
                self.out.append(Message("…", buttons, state.source.columns))
        elif text:
            self.out.append(Message(text))

    def buttons(self, state: CompiledState) -> tuple[Button, ...]:
        lang, variables = self.lang, self.vars
        return tuple([Button(c.id, c.label.render(lang, variables))
                      for c in state.choices.values()])

    # --- moving between states ------------------------------------------------

    def traced(self, module: str, source: str, trigger: str, dest: str | None) -> None:
        """Take the machine's transition for (source, trigger) and enter its destination."""
        dialogue = self.c.dialogues[module]
        target = dest
        for t in dialogue.destinations(source, trigger):
            if not t.conditions or all(c.func(self.vars) == c.target for c in t.conditions):
                target = t.dest
                break
        if target is None:
            return
        if self.trace is not None:
            self.trace(module, source, trigger, target)
        self.enter(target)

    def start_top(self, module: str) -> None:
        """Leave everything and start `module` as the top-level module.

        Until the consent flags in `requires` (e.g. `adult`) are true, every top-level
        module is the start module: the menu cannot be reached around the age check.
        Sub-dialogues (`call`, so also sos -> safety) are never gated.
        """
        config = self.c.config
        if module != config.start and not all(self.vars.get(f) is True for f in config.requires):
            module = config.start
        if self.stack:
            self.out.append(Ended(self.stack[0].module))
        self.stack.clear()
        self.history.clear()
        self.vars = {k: v for k, v in self.vars.items() if k in self.c.kept}
        self.forget_text(module)
        self.push(module, None)

    def forget_text(self, next_module: str | None) -> None:
        """Without consent to store answers, text lives only as long as its module.

        A top-level module is over (ended, left, or handing off): kept text (a script
        someone typed) is dropped, unless the module it hands to declares it (the
        rehearsal quotes the script just built). Called before `next_module` starts.
        """
        if self.vars.get("store_answers") is True:
            return
        dialogue = self.c.dialogues.get(next_module or "")
        needed = dialogue.model.variables if dialogue is not None else {}
        self.vars = {k: v for k, v in self.vars.items() if not (
            isinstance(v, str) and k not in self.c.builtins and k not in needed)}

    def call(self, module: str, return_to: str | None = None) -> None:
        if self.replace_safety(module):  # one safety module at a time
            return
        if not self.stack:  # idle (sos after a module ended): run it alone, never gated
            self.push(module, None)
            return
        if len(self.stack) >= MAX_DEPTH:
            self.start_top(module)
            return
        self.push(module, return_to or self.stack[-1].state)

    def push(self, module: str, return_to: str | None,
             handed: tuple[str, ...] = ()) -> None:
        dialogue = self.c.dialogues.get(module) or self.c.dialogues[self.c.config.menu]
        for name, value in dialogue.defaults:
            if name not in handed:  # handed over by the module before: keep its value
                self.vars[name] = value
        for name, value in dialogue.kept_defaults:
            self.vars.setdefault(name, value)
        self.stack.append(Frame(dialogue.id, dialogue.model.start, return_to))
        if return_to is None:
            self.history.clear()
        self.enter(dialogue.model.start)

    def enter(self, name: str) -> None:
        for _ in range(MAX_AUTO_STEPS):
            frame = self.stack[-1]
            dialogue = self.c.dialogues[frame.module]
            state = dialogue.states[name]
            self.stack[-1] = Frame(frame.module, name, frame.return_to)
            if state.set:
                self.assign(state.set)
            source = state.source
            if source.save is not None:
                data = {f: self.vars.get(f) for f in source.save.fields}
                self.out.append(RecordSaved(source.save.kind, data))
            lang = self.lang  # after `set`, which may switch the language
            shown = state.shown.get(lang)  # worked out at compile time if nothing varies
            if shown is None:
                shown = shown_messages(source, state.say, state.choices, lang, self.vars)
            self.out.extend(shown)
            if source.resources is not None:
                self.numbers(source.resources)
            if state.kind in ("choices", "ask"):
                self.step += 1
                return
            if state.kind in ("goto", "branch"):
                nxt = self._next(dialogue, name)
                if nxt is None:
                    return
                name = nxt
            elif state.kind == "call":
                self.call(source.call or "", return_to=source.return_to)
                return
            else:
                self.finish(dialogue, source.end_next)
                return
        self.start_top(self.c.config.menu)  # unreachable for a validated bundle

    def _next(self, dialogue: CompiledDialogue, name: str) -> str | None:
        for t in dialogue.destinations(name, "next"):
            if not t.conditions or all(c.func(self.vars) == c.target for c in t.conditions):
                if self.trace is not None:
                    self.trace(dialogue.id, name, "next", t.dest)
                return str(t.dest)
        return None

    def finish(self, dialogue: CompiledDialogue, next_module: str | None) -> None:
        """The current dialogue reached an end state."""
        finished = self.stack.pop()
        handed = dialogue.model.passes.get(next_module or "", ()) if not self.stack else ()
        for name, _ in dialogue.defaults:
            if name not in handed:
                self.vars.pop(name, None)
        self.history = [h for h in self.history if h.depth <= len(self.stack)]
        if next_module and self.stack:  # a sub-dialogue leaves every module, like cancel:
            self.start_top(next_module)  # their answers go, as on the way to the menu
            return
        if next_module:
            self.out.append(Ended(finished.module))
            self.stack.clear()
            self.forget_text(next_module)
            self.push(next_module, None, handed)
        elif self.stack:
            parent = self.stack[-1]
            caller = self.c.dialogues[parent.module]
            if finished.return_to is None:
                return
            interrupted = caller.states[parent.state]
            if interrupted.kind in ("choices", "ask") and parent.state == finished.return_to:
                if self.gated_return(finished.module, caller):
                    return
                self.reask(interrupted)  # back from an intent (sos, help): just the question
                return
            if self.trace is not None and interrupted.kind == "call":
                self.trace(parent.module, parent.state, "return", finished.return_to)
            self.enter(finished.return_to)
        else:
            self.out.append(Ended(finished.module))
            self.forget_text(None)

    def assign(self, pairs: tuple[tuple[str, Any], ...]) -> None:
        for name, value in pairs:
            if isinstance(value, CompiledText):  # a translated value: in today's language
                value = value.render(self.lang, self.vars)
            if self.vars.get(name) == value and name in self.vars:
                continue
            self.vars[name] = value
            if name == "language" or name in self.c.config.consent:
                self.out.append(SettingChanged(name, value))
