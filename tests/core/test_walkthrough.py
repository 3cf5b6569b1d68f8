"""The guide's "Adding a question, step by step", done as a maintainer would, on a copy.

The question is the guide's own YAML (taken from `dialogues/README.md`), the commands are
the ones `relbot test` prints, and the only input is the answer to the new question.
"""

from __future__ import annotations

import io
import re
import shlex
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from bot.cli import main

from .helpers import SHIPPED

Capture = pytest.CaptureFixture[str]


def _guide_change() -> str:
    guide = (SHIPPED / "README.md").read_text(encoding="utf-8")
    block = guide.split("<!-- example: changes daily_checkin -->", 1)[1]
    return textwrap.dedent(block.split("```yaml\n", 1)[1].split("```", 1)[0])


def test_add_a_question_re_record_and_reach_full_coverage(
        tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "dialogues"
    shutil.copytree(SHIPPED, folder)
    module = folder / "daily_checkin.yaml"
    change = _guide_change()
    new_state = change.split("\n\n", 1)[1]
    text = module.read_text(encoding="utf-8")
    added = textwrap.indent(new_state, "  ")
    text = text.replace("    goto: boundary\n\n  boundary:\n",
                        f"    goto: sleep\n\n{added}\n  boundary:\n")
    module.write_text(text, encoding="utf-8")
    assert main(["validate", str(module)]) == 0
    capsys.readouterr()

    assert main(["test", str(folder)]) == 1
    out = capsys.readouterr().out
    commands = re.findall(r"^  to re-record it: (relbot test --record .+)$", out, re.M)
    # the 10 daily check-in transcripts, and 4 safety-route transcripts that start mid check-in
    assert len(commands) == 14, out
    for i, command in enumerate(commands):
        answers = "1\n2\n" if "restart" in command else ("1\n" if i % 2 else "2\n")
        monkeypatch.setattr(sys, "stdin", io.StringIO(answers))
        argv = [*shlex.split(command)[1:], "--dir", str(folder)]
        assert main(argv) == 0
        said = capsys.readouterr().out
        assert "(replayed)" in said and "stopped before" not in said, said

    assert main(["test", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "ok  daily_checkin        en   27/27  100.0%" in out
    assert "ok  daily_checkin        es   27/27  100.0%" in out
    assert re.search(r"transcripts: \d+ passed, 0 failed", out)
