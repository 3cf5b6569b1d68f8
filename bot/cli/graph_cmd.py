"""`relbot graph DIALOGUE`: the dialogue as a diagram (mermaid via `transitions`, dot, or an
SVG picture drawn by relbot itself, the same one the browser preview shows)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.folders import compiled_or_exit, default_dir
from bot.core.compile import diagram_machine, transition_rows
from bot.core.graph_svg import diagram_svg
from bot.core.model import Dialogue

__all__ = ["add_parser", "dot", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("graph", help="print a dialogue as a diagram")
    p.add_argument("dialogue", help="module id")
    p.add_argument("--format", choices=("mermaid", "dot", "svg"), default="mermaid")
    p.add_argument("--out", type=Path, default=None, help="write to this file")
    p.add_argument("--dir", type=Path, default=None, help="dialogues folder")
    p.set_defaults(func=run)


def dot(d: Dialogue) -> str:
    """Graphviz source drawn from the same transition table as the machine."""
    lines = [f'digraph "{d.id}" {{', "  rankdir=LR;", '  node [shape=box, style=rounded];',
             f'  "__start" [shape=point]; "__start" -> "{d.start}";']
    for state in d.states.values():
        shape = ", peripheries=2" if state.kind == "end" else ""
        lines.append(f'  "{state.name}" [label="{state.name}"{shape}];')
    for row in transition_rows(d):
        label = row["trigger"]
        for cond in row.get("conditions", []):
            label += f" [{cond.__name__}]"
        label = label.replace('"', '\\"')
        lines.append(f'  "{row["source"]}" -> "{row["dest"]}" [label="{label}"];')
    lines.append("}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    compiled = compiled_or_exit(args.dir or default_dir())
    if args.dialogue not in compiled.dialogues:
        print(f"relbot: no module '{args.dialogue}'", file=sys.stderr)
        return 2
    d = compiled.dialogues[args.dialogue].model
    if args.format == "svg":
        text = diagram_svg(compiled.dialogues[args.dialogue])
    elif args.format == "dot":
        text = dot(d) + "\n"
    else:
        text = str(diagram_machine(d).get_graph().draw(None)) + "\n"
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0
