"""The SVG diagram: every state and transition drawn, standalone, from the compiled table."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.compile import CompiledBundle
from bot.core.graph_svg import diagram_svg, edge_id

from .helpers import EXAMPLES, SHIPPED, compile_folder

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def shipped() -> CompiledBundle:
    return compile_folder(SHIPPED)


@pytest.mark.parametrize("module", ["daily_checkin", "balance_checkin", "rehearsal", "menu"])
def test_every_state_and_transition_is_drawn(shipped: CompiledBundle, module: str) -> None:
    d = shipped.dialogues[module]
    root = ET.fromstring(diagram_svg(d))
    states = [g.get("data-state") for g in root.iter(f"{SVG}g")]
    edges = [p.get("data-edge") for p in root.iter(f"{SVG}path") if p.get("data-edge")]
    assert sorted(states) == sorted(d.states)
    assert sorted(edges) == sorted(edge_id(s, t, e) for _, s, t, e in d.transitions)


def test_boxes_do_not_overlap_and_arrows_point_down_unless_they_loop(
        shipped: CompiledBundle) -> None:
    root = ET.fromstring(diagram_svg(shipped.dialogues["balance_checkin"]))
    boxes = [(float(r.get("x", 0)), float(r.get("y", 0)), float(r.get("width", 0)))
             for r in root.iter(f"{SVG}rect")]
    for i, (x, y, w) in enumerate(boxes):
        for x2, y2, w2 in boxes[i + 1:]:
            assert y != y2 or x + w <= x2 or x2 + w2 <= x, "two states drawn on each other"


def test_the_picture_needs_nothing_from_outside(shipped: CompiledBundle) -> None:
    text = diagram_svg(shipped.dialogues["trust"], "es")
    assert "http" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<title>Confianza y dependencia sana: states and transitions</title>" in text


def test_relbot_graph_writes_the_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tour.svg"
    assert main(["graph", "tour", "--dir", str(EXAMPLES), "--format", "svg", "--out",
                 str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    tour = compile_folder(EXAMPLES).dialogues["tour"]
    assert out.read_text(encoding="utf-8") == diagram_svg(tour)
