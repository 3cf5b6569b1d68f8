"""A module's state diagram as SVG, drawn from its compiled transition table.

`relbot graph --format svg` and the browser preview show the same picture, with no
network and no system binary (no graphviz): a layered layout, computed here. States are
put in layers by their distance from the start, ordered within each layer to keep edges
short (a few barycentre sweeps), and drawn as rounded boxes; each transition is its own
arrow, so the preview can mark the ones a chat has not taken yet. Every state and arrow
carries data attributes (`data-state`, `data-edge`) for the page's script, and a
`<title>` that names the transition in words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from bot.core.compile import CompiledDialogue
from bot.core.transition_words import transition_words

__all__ = ["diagram_svg", "edge_id"]

CHAR, PAD, HEIGHT = 7.4, 26, 34  # px per character of a state name, padding, box height
GAP_X, GAP_Y, MARGIN = 28, 64, 24
SWEEPS = 4

STYLE = """
svg.relbot-graph { font: 13px system-ui, sans-serif; background: #fff; }
.node rect { fill: #f4f6fa; stroke: #5b6475; stroke-width: 1.2; }
.node.kind-end rect { stroke-width: 2.6; }
.node.kind-choices rect, .node.kind-ask rect { fill: #eef4ff; }
.node text { fill: #1d2330; text-anchor: middle; dominant-baseline: central; }
.node.visited rect { fill: #dff0e3; }
.node.current rect { fill: #ffd84d; stroke: #8a6100; stroke-width: 3; }
.edge { fill: none; stroke: #3d4657; stroke-width: 1.3; marker-end: url(#arrow); }
.edge.unreached { stroke: #b0b7c3; stroke-dasharray: 5 4; }
.edge.taken { stroke: #1f7a3a; stroke-width: 2; }
.start { fill: #1d2330; }
"""


def edge_id(source: str, trigger: str, dest: str) -> str:
    """How an arrow is named in `data-edge` (and by the preview's reached set)."""
    return f"{source} {trigger} {dest}"


@dataclass
class _Box:
    name: str
    layer: int
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0

    @property
    def center(self) -> float:
        return self.x + self.width / 2


def _layers(d: CompiledDialogue) -> dict[str, int]:
    """Longest distance from the start along forward edges (a loop's edge back up is not
    counted), so every forward arrow points down; unreachable states go below the rest."""
    edges: dict[str, list[str]] = {n: [] for n in d.states}
    for _, src, _, dst in d.transitions:
        if src in edges and dst in edges:
            edges[src].append(dst)
    finished: list[str] = []
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the path being explored, 2: done

    def visit(root: str) -> None:
        stack = [(root, iter(edges[root]))]
        state[root] = 1
        while stack:
            name, targets = stack[-1]
            nxt = next(targets, None)
            if nxt is None:
                state[name] = 2
                finished.append(name)
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((name, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(edges[nxt])))

    layer: dict[str, int] = {}
    roots = [d.model.start] if d.model.start in d.states else []
    for root in [*roots, *d.states]:
        if root in state:
            continue
        done = len(finished)
        visit(root)
        base = max(layer.values(), default=-1) + 1
        part = finished[done:]
        inside = set(part)
        for name in reversed(part):  # topological order of this part
            layer.setdefault(name, base)
            for t in edges[name]:
                if t in inside and (name, t) not in back:
                    layer[t] = max(layer.get(t, base), layer[name] + 1)
    return layer


def _order(layers: list[list[str]], neighbours: Callable[[str], list[str]]) -> None:
    """Reorder each layer by the mean position of its neighbours in the layers above."""
    for _ in range(SWEEPS):
        position = {n: i for row in layers for i, n in enumerate(row)}
        for row in layers[1:]:
            row.sort(key=lambda n, at=position: _mean(at, neighbours(n), at[n]))
            position.update({n: i for i, n in enumerate(row)})


def _mean(position: dict[str, int], names: list[str], default: int) -> float:
    above = [position[m] for m in names if m in position]
    return sum(above) / len(above) if above else default


def _layout(d: CompiledDialogue) -> tuple[dict[str, _Box], float, float]:
    layer = _layers(d)
    rows: list[list[str]] = [[] for _ in range(max(layer.values(), default=0) + 1)]
    for name in d.states:
        rows[layer[name]].append(name)
    preds: dict[str, list[str]] = {n: [] for n in d.states}
    for _, src, _, dst in d.transitions:
        if dst in preds and layer.get(src, 0) < layer.get(dst, 0):
            preds[dst].append(src)
    _order(rows, lambda n: preds[n])
    boxes: dict[str, _Box] = {}
    widths = [sum(CHAR * len(n) + PAD for n in row) + GAP_X * (len(row) - 1) for row in rows]
    widest = max(widths, default=0.0)
    for i, row in enumerate(rows):
        x = MARGIN + (widest - widths[i]) / 2
        for name in row:
            box = _Box(name, i, x, MARGIN + 18 + i * (HEIGHT + GAP_Y), CHAR * len(name) + PAD)
            boxes[name] = box
            x += box.width + GAP_X
    width = widest + 2 * MARGIN + 90  # room on the right for arrows that go back up
    height = MARGIN * 2 + 18 + len(rows) * (HEIGHT + GAP_Y) - GAP_Y
    return boxes, width, height


def _detour(a: _Box, b: _Box, x1: float, x2: float, boxes: list[_Box]) -> float | None:
    """Where an arrow over several layers must pass to miss the boxes in between."""
    low, high = min(x1, x2) - 10, max(x1, x2) + 10
    between = [c for c in boxes if a.layer < c.layer < b.layer
               and c.x < high and c.x + c.width > low]
    if not between:
        return None
    right = max(c.x + c.width for c in between) + 18
    left = min(c.x for c in between) - 18
    return right if abs(right - x1) <= abs(x1 - left) else left


def _path(a: _Box, b: _Box, spread: float, right_edge: float, boxes: list[_Box]) -> str:
    if b.layer > a.layer:  # downwards: bottom centre to top centre
        x1, y1 = a.center + spread, a.y + HEIGHT
        x2, y2 = b.center + spread, b.y
        mid = (y1 + y2) / 2
        dx = _detour(a, b, x1, x2, boxes)
        if dx is None:
            return f"M{x1:.1f},{y1:.1f} C{x1:.1f},{mid:.1f} {x2:.1f},{mid:.1f} {x2:.1f},{y2:.1f}"
        c1, c2 = y1 + GAP_Y * 0.8, y2 - GAP_Y * 0.8
        return (f"M{x1:.1f},{y1:.1f} C{x1:.1f},{c1:.1f} {dx:.1f},{c1:.1f} {dx:.1f},{mid:.1f} "
                f"C{dx:.1f},{c2:.1f} {x2:.1f},{c2:.1f} {x2:.1f},{y2:.1f}")
    if a is b:  # a loop on itself
        x, y = a.x + a.width, a.y + HEIGHT / 2
        return (f"M{x:.1f},{y - 8:.1f} C{x + 34:.1f},{y - 26:.1f} {x + 34:.1f},{y + 26:.1f} "
                f"{x:.1f},{y + 8:.1f}")
    # back up (or across): out of the right side, round by the right margin, into the right side
    x1, y1 = a.x + a.width, a.y + HEIGHT / 2 + spread / 3
    x2, y2 = b.x + b.width, b.y + HEIGHT / 2 - spread / 3
    bend = max(x1, x2) + 30 + (right_edge - max(x1, x2)) * 0.35
    return f"M{x1:.1f},{y1:.1f} C{bend:.1f},{y1:.1f} {bend:.1f},{y2:.1f} {x2 + 2:.1f},{y2:.1f}"


def diagram_svg(d: CompiledDialogue, lang: str = "en") -> str:
    """The module's diagram as a standalone SVG document (its own styles included)."""
    boxes, width, height = _layout(d)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="relbot-graph" role="img" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'data-module="{escape(d.id)}">',
        f"<title>{escape(d.model.title.get(lang))}: states and transitions</title>",
        f"<style>{STYLE}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="context-stroke"/></marker></defs>',
    ]
    pairs: dict[tuple[str, str], int] = {}
    every = list(boxes.values())
    for _, src, trigger, dst in d.transitions:
        if src not in boxes or dst not in boxes:
            continue
        n = pairs.get((src, dst), 0)
        pairs[(src, dst)] = n + 1
        spread = (n - (n > 0) * 0.5) * 7 * (1 if n % 2 else -1)
        words = transition_words(d.model, src, trigger, dst, lang)
        out.append(f'<path class="edge" data-edge="{escape(edge_id(src, trigger, dst))}" '
                   f'd="{_path(boxes[src], boxes[dst], spread, width, every)}">'
                   f"<title>{escape(words)}</title></path>")
    start = boxes.get(d.model.start)
    if start is not None:
        out.append(f'<circle class="start" cx="{start.center:.1f}" cy="{start.y - 14:.1f}" '
                   f'r="5"/><path class="edge" d="M{start.center:.1f},{start.y - 9:.1f} '
                   f'L{start.center:.1f},{start.y - 1:.1f}"/>')
    for name, box in boxes.items():
        kind = d.states[name].kind or "none"
        out.append(
            f'<g class="node kind-{kind}" data-state="{escape(name)}">'
            f"<title>{escape(name)} ({kind})</title>"
            f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{HEIGHT}" '
            f'rx="9"/><text x="{box.center:.1f}" y="{box.y + HEIGHT / 2:.1f}">{escape(name)}'
            "</text></g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
