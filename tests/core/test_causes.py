"""Diagnostics lead with the cause: consequences are folded, hints name the likely fix.

Each test makes the mistake a maintainer makes (renames a state, misspells a variable,
copies a module out of `dialogues/`) and reads the listing as they would: the first
line must be the thing to fix.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.diagnostics import fold

from .helpers import MIN_GLOBAL, SHIPPED, diagnose, write_folder

Capture = pytest.CaptureFixture[str]


def _module(states: str, head: str = "") -> str:
    return f"dialogue: m\ntitle: M\nstart: a\n{head}states:\n{states}"


def _validate(capsys: Capture, *argv: str) -> tuple[int, str]:
    status = main(["validate", *argv])
    return status, capsys.readouterr().out


def _renamed_copy(tmp_path: Path, old: str = "boundary", new: str = "boundry") -> Path:
    """A copy of the shipped daily check-in, outside dialogues/, with one state renamed."""
    text = (SHIPPED / "daily_checkin.yaml").read_text(encoding="utf-8")
    assert f"\n  {old}:\n" in text
    copy = tmp_path / "daily_checkin.yaml"
    copy.write_text(text.replace(f"\n  {old}:\n", f"\n  {new}:\n"), encoding="utf-8")
    return copy


def test_renaming_a_state_shows_the_unknown_target_first(tmp_path: Path, capsys: Capture) -> None:
    copy = _renamed_copy(tmp_path)
    status, out = _validate(capsys, str(copy))
    lines = out.splitlines()
    assert status == 1
    assert lines[0] == f"{copy}:42:11: error D011: no state 'boundary'"
    assert lines[1] == "    hint: did you mean 'boundry'?"
    assert lines[2].startswith("    and 19 problems that follow from it: 18 unreachable "
                               "states (D013), 1 state with no way to the end (D014)")
    assert sum(line.startswith(str(copy)) for line in lines) == 1, out
    assert lines[-1] == "20 error(s), 0 warning(s)"


def test_all_lists_the_consequences_under_their_cause(tmp_path: Path, capsys: Capture) -> None:
    copy = _renamed_copy(tmp_path)
    _, out = _validate(capsys, str(copy), "--all")
    assert out.count("error D013") == 18 and out.count("error D014") == 1
    assert out.index("error D011") < out.index("error D014") < out.index("error D013")
    _, out = _validate(capsys, str(copy), "--format", "json")
    found = json.loads(out)
    (cause,) = [d for d in found if d["cause"] is None]
    assert cause["code"] == "D011"
    key = [cause["file"], cause["line"], cause["column"], cause["code"]]
    assert all(d["cause"] == key for d in found if d is not cause)


def test_an_orphan_state_is_the_cause_of_the_states_after_it(tmp_path: Path) -> None:
    states = (
        "  a:\n    say: Ready.\n    choices:\n      - {id: go, label: Go, goto: b}\n"
        "  b:\n    end: true\n"
        "  d:\n    say: Later.\n    goto: b\n"  # only c leads here
        "  c:\n    say: Lost.\n    goto: d\n"  # nothing leads here
    )
    found = diagnose(tmp_path, {"m.yaml": _module(states)})
    ((root, follows),) = fold(found)
    assert (root.code, root.message) == ("D013", "state 'c' cannot be reached from 'a'")
    assert [(d.code, d.message) for d in follows] == [
        ("D013", "state 'd' cannot be reached from 'a'")]


def test_a_loop_with_no_way_out_is_the_cause_of_the_states_leading_into_it(
        tmp_path: Path) -> None:
    states = (
        "  a:\n    say: Ready.\n    choices:\n      - {id: go, label: Go, goto: b}\n"
        "      - {id: stay, label: Stay, goto: c}\n"
        "  b:\n    say: Almost.\n    choices:\n      - {id: on, label: On, goto: c}\n"
        "  c:\n    say: Again?\n    choices:\n      - {id: again, label: Again, goto: c}\n"
    )
    found = diagnose(tmp_path, {"m.yaml": _module(states)})
    ((root, follows),) = fold(found)
    assert root.message == "from state 'c' the module can never end"
    assert sorted(d.message for d in follows) == [
        "from state 'a' the module can never end", "from state 'b' the module can never end"]


def test_a_misspelt_variable_suggests_the_declared_one_and_folds_its_warning(
        tmp_path: Path) -> None:
    states = (
        "  a:\n    say: Ready.\n    choices:\n      - {id: go, label: Go, goto: c}\n"
        "  c:\n    branch:\n      - if: moood > 5\n        goto: b\n      - goto: b\n"
        "  b:\n    end: true\n"
    )
    found = diagnose(tmp_path, {"m.yaml": _module(states, head="variables: {mood: 0}\n")})
    ((root, follows),) = fold(found)
    assert (root.code, root.line, root.column) == ("D021", 12, 13)
    assert (root.end_line, root.end_column) == (12, 18)  # underlines exactly "moood"
    assert root.hint.startswith("did you mean 'mood'?")
    assert [(d.code, d.message) for d in follows] == [("W302", "variable 'mood' is never used")]


def test_an_unknown_variable_with_nothing_close_says_how_to_declare_it(tmp_path: Path) -> None:
    states = "  a:\n    say: 'Hi {name}.'\n    choices:\n      - {id: go, label: Go, goto: b}\n"
    (found,) = diagnose(tmp_path, {"m.yaml": _module(states + "  b:\n    end: true\n")})
    assert found.code == "D021"
    assert "declare it under `variables:`" in found.hint and "`name: \"\"`" in found.hint


@pytest.mark.parametrize(("text", "hint"), [
    ("goto: outr", "did you mean 'outro'?"),
    ("goto: zzz", "no state is named like that; the states are: a, b, outro"),
    ("end: {next: mm}", "did you mean 'm'?"),
])
def test_unknown_names_get_a_likely_fix(text: str, hint: str, tmp_path: Path) -> None:
    states = (
        "  a:\n    say: Ready.\n    choices:\n      - {id: go, label: Go, goto: b}\n"
        f"  b:\n    say: Nearly.\n    {text}\n  outro:\n    end: true\n"
    )
    found = [d for d in diagnose(tmp_path, {"m.yaml": _module(states)}) if d.cause is None]
    assert found[0].hint == hint, "\n".join(map(str, found))


def test_diagnostics_carry_an_end_position(tmp_path: Path) -> None:
    states = "  a:\n    say: Ready.\n    choices:\n      - {id: go, label: Go, goto: outro}\n"
    (found,) = [d for d in diagnose(tmp_path, {"m.yaml": _module(states + "  b:\n    end: true\n")})
                if d.code == "D011"]
    assert (found.line, found.column, found.end_line, found.end_column) == (8, 35, 8, 40)


def test_causes_are_listed_by_file_and_line(tmp_path: Path, capsys: Capture) -> None:
    late = _module("  a:\n    say: Ready.\n    choices:\n      - {id: go, label: Go, goto: b}\n"
                   "  b:\n    end: {next: nowhere}\n")
    folder = write_folder(tmp_path, {"m.yaml": late.replace("goto: b}", "goto: bb}"),
                                     "z.yaml": late.replace("dialogue: m", "dialogue: z")})
    _, out = _validate(capsys, str(folder))
    places = [line.split(": ")[0] for line in out.splitlines() if line.startswith(str(folder))]
    assert places == [f"{folder}/m.yaml:8:35", f"{folder}/m.yaml:10:17",
                      f"{folder}/z.yaml:10:17"], out


def test_a_copied_module_outside_dialogues_is_checked_against_the_shipped_global(
        tmp_path: Path, capsys: Capture) -> None:
    copy = tmp_path / "noticing.yaml"
    copy.write_text((SHIPPED / "noticing.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    assert _validate(capsys, str(copy)) == (0, "0 error(s), 0 warning(s)\n")
    renamed = tmp_path / "my_noticing.yaml"
    renamed.write_text(copy.read_text(encoding="utf-8").replace(
        "dialogue: noticing", "dialogue: my_noticing"), encoding="utf-8")
    assert _validate(capsys, str(renamed)) == (0, "0 error(s), 0 warning(s)\n")


def test_chat_on_a_file_with_errors_prints_them_with_positions_and_stops(
        tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = _renamed_copy(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("5\n"))
    with pytest.raises(SystemExit) as stopped:
        main(["chat", str(copy)])
    out, err = capsys.readouterr()
    assert stopped.value.code == 1 and out == ""
    assert err.startswith(f"{copy}:42:11: error D011: no state 'boundary'")
    assert "?:" not in err and err.rstrip().endswith("has errors; fix them and try again")


def test_chat_plays_a_copied_module_file(tmp_path: Path, capsys: Capture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    copy = _renamed_copy(tmp_path, "boundary", "boundary")
    monkeypatch.setattr(sys, "stdin", io.StringIO("7\n"))
    assert main(["chat", str(copy)]) == 0
    assert "bot: Was there a moment today when a boundary mattered?" in capsys.readouterr().out


def test_a_broken_global_file_is_reported_where_it_is_broken(tmp_path: Path) -> None:
    found = diagnose(tmp_path, {"_global.yaml": MIN_GLOBAL.replace("menu: m", "menu: [m")})
    assert found and all(d.file.endswith("_global.yaml") for d in found), found
    assert {d.code for d in found} == {"D001"}
