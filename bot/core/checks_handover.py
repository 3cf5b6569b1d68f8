"""The hand-over between modules (`passes:`): what one module gives the next.

A module that starts another (`end: {next: dear_man}`) may pass on what the person
already said (`passes: {dear_man: [situation]}`), so the next module starts from it
instead of asking "What happened?" again. The hand-over is declared, not implied, so
these checks can hold both ends to it: the module passed to is one this module really
starts next (D073), the sender has the variable (D021), and the receiver declares it,
which is how it reads it and how the engine knows to keep it (D074).
"""

from __future__ import annotations

from bot.core.checks_flow import Report
from bot.core.model import Bundle, Dialogue
from bot.core.suggest import suggest

__all__ = ["check_passes"]


def check_passes(bundle: Bundle, d: Dialogue, report: Report) -> None:
    """D073, D021 and D074 for each `passes:` entry."""
    starts_next = sorted({s.end_next for s in d.states.values() if s.end_next})
    for target, names in d.passes.items():
        if target not in starts_next:
            report("D073", ("passes", target), suggest(target, starts_next, "module"),
                   key=True, target=target)
            continue
        receiver = bundle.dialogues.get(target)
        for i, name in enumerate(names):
            if name not in d.variables and name not in d.keep:
                report("D021", ("passes", target, i), suggest(name, list(d.variables),
                                                               "variable"),
                       name=name, what="passes")
            elif receiver is not None and name not in receiver.variables:
                report("D074", ("passes", target, i), name=name, target=target)
