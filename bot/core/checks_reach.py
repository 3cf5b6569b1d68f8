"""Reachability checks that lead with the cause, not with its consequences.

A renamed state is one mistake, but it leaves every state after it unreachable (D013) and
the states before it unable to end (D014). These checks work out which of those problems
would vanish if the mistake were fixed, and report them as *following from* it (their
`cause`), so the listing shows the one line to fix and counts the rest:

- a reference to a missing state (D011) whose likely fix (the did-you-mean) would make a
  state reachable, or give a stuck state its way to the end, is the cause of those;
- among the remaining unreachable states, the first one nothing reachable points into is
  the cause of the states only it leads to;
- among states that can never end, the trap (the loop with no way out) is the cause of
  the states that can only fall into it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.core.diagnostics import Key
from bot.core.loader import Path
from bot.core.model import Bundle, Dialogue, State
from bot.core.suggest import closest

__all__ = ["check_reachability", "closure", "references"]


def references(state: State) -> list[tuple[str, Path]]:
    """The states this state can lead to, each with the path of the word naming it
    (the same targets, in the same order, as `State.targets`)."""
    p = state.path
    out = [(c.goto, (*c.path, "goto")) for c in state.choices]
    out += [(a.goto, (*a.path, "goto")) for a in state.branch]
    out += [(t, (*p, k)) for k, t in (("goto", state.goto), ("return_to", state.return_to),
                                      ("timeout", state.timeout)) if t]
    return out


def closure(starts: Iterable[str], step: Callable[[str], Iterable[str]]) -> set[str]:
    seen, todo = set(starts), list(starts)
    while todo:
        for nxt in step(todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@dataclass
class _Graph:
    """The dialogue's edges as written, and as they would be with the likely fixes."""

    edges: dict[str, list[str]] = field(default_factory=dict)
    repaired: dict[str, list[str]] = field(default_factory=dict)
    dangling: dict[str, list[tuple[str | None, Key]]] = field(default_factory=dict)


def _back(edges: dict[str, list[str]]) -> dict[str, list[str]]:
    """The same graph with every edge turned round."""
    preds: dict[str, list[str]] = {n: [] for n in edges}
    for name, targets in edges.items():
        for t in targets:
            preds[t].append(name)
    return preds


def _graph(d: Dialogue, key_of: Callable[[str, Path], Key]) -> _Graph:
    g = _Graph()
    for name, state in d.states.items():
        g.edges[name], g.repaired[name] = [], []
        for target, path in references(state):
            if target in d.states:
                g.edges[name].append(target)
                g.repaired[name].append(target)
                continue
            fix = closest(target, d.states)
            g.dangling.setdefault(name, []).append((fix, key_of("D011", path)))
            if fix is not None:
                g.repaired[name].append(fix)
    return g


def _causes_within(nodes: list[str], edges: dict[str, list[str]]) -> dict[str, str]:
    """node -> the node it follows from, within `nodes` (in file order); roots are absent.

    A node follows from another that leads to it when it does not lead back; of nodes
    that lead to each other (a loop), the first in the file is the root."""
    inside = set(nodes)
    ahead = {u: closure([u], lambda x: (t for t in edges[x] if t in inside)) for u in nodes}
    is_root = {u: not any(u in ahead[v] and v not in ahead[u] for v in nodes if v != u)
               for u in nodes}
    cause: dict[str, str] = {}
    for r in nodes:
        if is_root[r] and r not in cause:
            for w in ahead[r]:
                if w != r:
                    cause.setdefault(w, r)
    return cause


def check_reachability(bundle: Bundle, d: Dialogue, report: Callable[..., Key]) -> None:
    """Unreachable states (D013) and states with no way to an end (D014), each folded
    under the mistake it follows from."""
    if d.start not in d.states:
        return
    key_of: Callable[..., Key] = report.key_of  # type: ignore[attr-defined]
    g = _graph(d, key_of)
    order = list(d.states)
    reach = closure([d.start], lambda n: g.edges[n])

    unreachable = [n for n in order if n not in reach]
    fixed_by: dict[str, Key] = {}
    for source in (n for n in order if n in reach):
        for fix, key in g.dangling.get(source, []):
            if fix is not None:
                for n in closure([fix], lambda x: g.repaired[x]):
                    fixed_by.setdefault(n, key)
    rest = [n for n in unreachable if n not in fixed_by]
    follows = _causes_within(rest, g.edges)
    for name in unreachable:
        state = d.states[name]
        cause = fixed_by.get(name)
        if cause is None and name in follows:
            cause = key_of("D013", d.states[follows[name]].path, key=True)
        report("D013", state.path, key=True, cause=cause, state=name, start=d.start)

    ends = [n for n in order if d.states[n].kind == "end"]
    preds, repaired_preds = _back(g.edges), _back(g.repaired)
    can_end = closure(ends, lambda n: preds[n])
    unknown_exit = [n for n, refs in g.dangling.items() if any(f is None for f, _ in refs)]
    could_end = closure([*ends, *unknown_exit], lambda n: repaired_preds[n])
    stuck = [n for n in order if n in reach and n not in can_end and d.states[n].kind]
    trapped = [n for n in stuck if n not in could_end]
    inside = set(trapped)
    back_edges = _back({n: [t for t in g.edges[n] if t in inside] for n in trapped})
    falls_into = _causes_within(trapped, back_edges)
    for name in stuck:
        cause = None
        if name in could_end:
            cause = _first_dangling(name, g)
        elif name in falls_into:
            cause = key_of("D014", d.states[falls_into[name]].path, key=True)
        report("D014", d.states[name].path, key=True, cause=cause, state=name)


def _first_dangling(start: str, g: _Graph) -> Key | None:
    """The first missing-state reference met going forward from `start`."""
    seen, queue = {start}, [start]
    while queue:
        name = queue.pop(0)
        if g.dangling.get(name):
            return g.dangling[name][0][1]
        for t in g.edges[name]:
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return None
