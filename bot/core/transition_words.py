"""A transition in words: which button, answer or branch takes a person from a state.

Coverage reports (`relbot test`) and the preview's diagram name transitions for
maintainers, who know the buttons and questions, not the triggers the engine uses
(`choose:held`, `next`, `return`).
"""

from __future__ import annotations

from bot.core.model import Dialogue

__all__ = ["transition_words"]


def transition_words(d: Dialogue, source: str, trigger: str, dest: str, lang: str = "en") -> str:
    """e.g. `in 'boundary', the button “Yes, and I held it” → ack_held`."""
    state = d.states.get(source)
    how = trigger
    if state is not None:
        if trigger.startswith("choose:"):
            choice_id = trigger.partition(":")[2]
            label = next((c.label.get(lang) for c in state.choices if c.id == choice_id), "")
            how = f"the button “{label}” ({choice_id})" if label else f"the button {choice_id}"
        elif trigger == "answer":
            how = "an accepted answer to the question"
        elif trigger == "next" and state.branch:
            conditions = [a.condition for a in state.branch if a.goto == dest]
            how = (f"the branch when {conditions[0]}" if conditions and conditions[0]
                   else "the branch's default (no condition true)")
        elif trigger == "next":
            how = "moving straight on"
        elif trigger == "return":
            how = f"coming back from {state.call}"
        elif trigger == "timeout":
            how = "no answer for a while (timeout)"
    return f"in '{source}', {how} → {dest}"
