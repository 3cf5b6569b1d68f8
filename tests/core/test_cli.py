"""The `relbot` command line on the example dialogues: validate, chat, test, graph."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

from .helpers import EXAMPLES, ROOT, write_folder

Capture = pytest.CaptureFixture[str]
DIAGNOSTIC_LINE = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): "
    r"(?P<severity>error|warning) (?P<code>[DW]\d{3}): .+$",
    re.M,
)


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def chat(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture, lines: list[str], *argv: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{x}\n" for x in lines)))
    status, out, _ = run(capsys, "chat", *argv)
    return status, out


# --- validate ------------------------------------------------------------------------


def test_validate_the_examples_is_clean(capsys: Capture) -> None:
    assert run(capsys, "validate", str(EXAMPLES))[:2] == (0, "0 error(s), 0 warning(s)\n")


def test_validate_lists_each_problem_as_file_line_column(tmp_path: Path, capsys: Capture) -> None:
    folder = write_folder(
        tmp_path,
        {
            "m.yaml": (
                "dialogue: m\ntitle: M\nstart: a\nstates:\n  a:\n    say: Hi.\n    choices:\n"
                "      - {id: go, label: Go, goto: b}\n      - {id: no, label: No, goto: nowhere}\n"
                "  b:\n    end: {next: mm}\n"
            )
        },
    )
    status, out, _ = run(capsys, "validate", str(folder))
    found = [m.groupdict() for m in DIAGNOSTIC_LINE.finditer(out)]
    assert status == 1
    assert [(Path(f["file"]).name, f["line"], f["col"], f["code"]) for f in found] == [
        ("m.yaml", "9", "35", "D011"),
        ("m.yaml", "11", "17", "D012"),
    ]
    assert "did you mean 'm'?" in out and out.rstrip().endswith("2 error(s), 0 warning(s)")


def test_validate_a_single_file_reports_only_that_file(tmp_path: Path, capsys: Capture) -> None:
    folder = write_folder(
        tmp_path,
        {
            "x.yaml": "dialogue: x\ntitle: X\nstart: a\nstates:\n"
            "  a:\n    end: true\n  b:\n    end: true\n"
        },
    )
    status, out, _ = run(capsys, "validate", str(folder / "m.yaml"))
    assert (status, DIAGNOSTIC_LINE.findall(out)) == (0, [])
    status, out, _ = run(capsys, "validate", str(folder / "x.yaml"))
    assert status == 1 and ": error D013: " in out


def test_validate_a_missing_path_is_an_error(tmp_path: Path, capsys: Capture) -> None:
    status, out, _ = run(capsys, "validate", str(tmp_path / "nope"))
    assert status == 1 and "no such file or folder" in out


# --- chat --------------------------------------------------------------------------


def test_chat_plays_the_tour_to_the_end(monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    status, out = chat(
        monkeypatch,
        capsys,
        ["1", "Ana", "8", "8", "yes", "1", "2"],
        "tour",
        "--dir",
        str(EXAMPLES),
        "--verbose",
    )
    assert status == 0
    assert "bot: Which language do you prefer?\n  [1] English\n  [2] Español" in out
    assert "  (chose: English)" in out and "bot: Plenty of energy, Ana." in out
    assert "  (saved tour_result: " in out
    assert out.rstrip().endswith("bot: Bye for now, friend.\n  (module tour ended)")


def test_chat_in_spanish_with_slash_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    status, out = chat(
        monkeypatch,
        capsys,
        ["2", "/help", "Ana", "/back", "/sos", "1"],
        "tour",
        "--dir",
        str(EXAMPLES),
        "--lang",
        "es",
    )
    assert status == 0
    assert "bot: Vale cualquier nombre o apodo." in out
    # asked, re-asked after help, after back, and again when the pause returns
    assert out.count("bot: ¿Cómo quieres que te llame?") == 4
    assert "bot: Hagamos una pausa de una respiración." in out


def test_chat_screens_typed_text_exactly_as_telegram_does(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    """A disclosure typed as an answer in the terminal interrupts the module, as on
    Telegram; it is not stored as the answer."""
    status, out = chat(monkeypatch, capsys, ["1", "I want to kill myself"], "noticing",
                       "--verbose")
    assert status == 0
    after = out.split("> I want to kill myself", 1)[1]
    assert after.startswith("\nbot: It sounds like things might be really hard for you")
    assert "  [1] I'm not safe right now" in after
    assert "kill myself" not in after


def test_chat_an_unknown_module_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    status, _, err = run(capsys, "chat", "nosuch", "--dir", str(EXAMPLES))
    assert status == 2 and "no module 'nosuch'" in err and "tour" in err


def test_chat_refuses_a_folder_with_errors(tmp_path: Path, capsys: Capture) -> None:
    folder = write_folder(tmp_path, {"m.yaml": "dialogue: m\n"})
    with pytest.raises(SystemExit) as exit_:
        main(["chat", "--dir", str(folder)])
    assert exit_.value.code == 1
    assert ": error D005: " in capsys.readouterr().err


# --- test --------------------------------------------------------------------------


def test_the_example_transcripts_pass_with_full_coverage(capsys: Capture) -> None:
    status, out, _ = run(capsys, "test", str(EXAMPLES))
    assert status == 0, out
    for module in ("pause", "tour"):
        for lang in ("en", "es"):
            assert re.search(rf"ok  {module} +{lang} .*100\.0%", out), out
    assert "0 failed" in out


def _examples_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLES, tmp_path / "examples"))


def test_a_failing_transcript_fails_with_its_place(tmp_path: Path, capsys: Capture) -> None:
    folder = _examples_copy(tmp_path)
    path = folder / "tests" / "tour.en.yaml"
    path.write_text(path.read_text().replace("Plenty of energy, Ana.", "Lots of energy"))
    status, out, _ = run(capsys, "test", str(folder))
    assert status == 1
    assert f"FAIL {path} [en] high energy, a walk, help and re-prompts, finish" in out
    assert re.search(rf"{re.escape(str(path))}:\d+:\d+: step 11: expected 'Lots of energy'", out)


def test_missing_coverage_fails_and_names_the_transition(tmp_path: Path, capsys: Capture) -> None:
    folder = _examples_copy(tmp_path)
    (folder / "tests" / "tour.es.yaml").unlink()
    status, out, _ = run(capsys, "test", str(folder), "--missing")
    assert status == 1 and re.search(r"LOW tour +es +0/20", out)
    assert "not taken yet: in 'pick_path', no answer for a while (timeout) → summary" in out


# --- graph -------------------------------------------------------------------------


def test_graph_prints_mermaid_with_every_state(capsys: Capture) -> None:
    status, out, _ = run(capsys, "graph", "tour", "--dir", str(EXAMPLES))
    assert status == 0 and "stateDiagram-v2" in out and "A tour of the format" in out
    states = [
        "hello",
        "ask_name",
        "ask_energy",
        "ask_hours",
        "ask_rested",
        "pick_path",
        "take_pause",
        "after_pause",
        "decide",
        "high",
        "low",
        "middle",
        "summary",
        "restart",
        "bye",
    ]
    for state in states:
        assert f'state "{state}" as {state}' in out
    assert "decide --> high: next [energy >= 7 and rested]" in out
    assert "pick_path --> summary: timeout" in out


def test_graph_prints_dot(capsys: Capture) -> None:
    status, out, _ = run(capsys, "graph", "tour", "--dir", str(EXAMPLES), "--format", "dot")
    assert status == 0 and out.startswith('digraph "tour" {') and out.rstrip().endswith("}")
    assert '"__start" -> "hello"' in out and '"bye" [label="bye", peripheries=2];' in out
    assert '"summary" -> "restart" [label="choose:again"];' in out


def test_graph_of_an_unknown_module_exits_2(capsys: Capture) -> None:
    assert run(capsys, "graph", "nosuch", "--dir", str(EXAMPLES))[0] == 2


def test_python_dash_m_bot_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "validate", str(EXAMPLES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0 and "0 error(s)" in done.stdout
