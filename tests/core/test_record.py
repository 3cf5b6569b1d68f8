"""`relbot test --record` and `--update`: transcripts written for the maintainer.

Each test edits a copy of the example dialogues as a maintainer would (rewords a
message, renames a button, plays a new path) and then runs `relbot test` on the result.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main

from .helpers import EXAMPLES

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "examples"
    shutil.copytree(EXAMPLES, copy)
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def _test(capsys: Capture, folder: Path) -> tuple[int, str]:
    status = main(["test", str(folder)])
    return status, capsys.readouterr().out


def test_update_shows_the_diff_and_writes_only_with_yes(folder: Path, capsys: Capture) -> None:
    _edit(folder / "pause.yaml", "Let's pause for one breath.", "Let's take one slow breath.")
    before = (folder / "tests/pause.en.yaml").read_text(encoding="utf-8")
    assert _test(capsys, folder)[0] == 1
    status = main(["test", "--update", str(folder)])  # pytest's stdin is not a terminal
    out = capsys.readouterr().out
    assert status == 1
    assert '-      - expect: ["Let\'s pause for one breath.", "Breathe in' in out
    assert '+      - expect: ["Let\'s take one slow breath.", "Breathe in slowly, and out ' \
           'slowly."]' in out
    assert "run again with --yes" in out
    assert (folder / "tests/pause.en.yaml").read_text(encoding="utf-8") == before
    assert main(["test", "--update", "--yes", str(folder)]) == 0
    after = (folder / "tests/pause.en.yaml").read_text(encoding="utf-8")
    assert after.splitlines()[:5] == before.splitlines()[:5]  # comments and layout kept
    assert capsys.readouterr().out.rstrip().endswith("updated 3 file(s)")  # tour calls pause
    status, out = _test(capsys, folder)
    assert status == 0, out


def test_update_with_nothing_to_change_says_so(folder: Path, capsys: Capture) -> None:
    assert main(["test", "--update", str(folder)]) == 0
    assert "already hold" in capsys.readouterr().out


def test_update_names_a_transcript_it_cannot_replay(folder: Path, capsys: Capture) -> None:
    _edit(folder / "pause.yaml", "label: {en: Done, es: Hecho}", "label: {en: Finished, es: Hecho}")
    main(["test", "--update", "--yes", str(folder)])
    out = capsys.readouterr().out
    assert "cannot replay" in out and "re-record it with relbot test --record tour" in out
    assert "press 'Done': no such button; buttons are: Finished" in out
    assert "'one breath, then done: step 3: expected the module to end'; re-record it with " \
           "relbot test --record pause --lang en" in out


def test_record_plays_a_script_and_writes_a_passing_transcript(
        folder: Path, tmp_path: Path, capsys: Capture) -> None:
    script = tmp_path / "inputs.txt"
    script.write_text("back\n1\n", encoding="utf-8")
    status = main(["test", "--record", "pause", "--lang", "es", "--name", "de nuevo",
                   "--script", str(script), str(folder)])
    out = capsys.readouterr().out
    assert status == 0 and "bot: Hagamos una pausa de una respiración." in out
    written = (folder / "tests/pause.es.yaml").read_text(encoding="utf-8")
    assert written.count("- name:") == 2 and written.endswith(
        '  - name: "de nuevo"\n    steps:\n'
        '      - expect: ["Hagamos una pausa de una respiración.", "Inspira despacio y suelta '
        'el aire despacio."]\n        buttons: ["Hecho"]\n'
        '      - type: "back"\n        expect: ["Toca un botón o escribe su número.", '
        '"Inspira despacio y suelta el aire despacio."]\n        buttons: ["Hecho"]\n'
        '      - press: "Hecho"\n        ended: true\n')
    assert _test(capsys, folder)[0] == 0
    main(["test", "--record", "pause", "--lang", "es", "--name", "de nuevo",
          "--script", str(script), str(folder)])
    assert "replaced transcript 'de nuevo'" in capsys.readouterr().out
    rewritten = (folder / "tests/pause.es.yaml").read_text(encoding="utf-8")
    assert rewritten == written


def test_record_into_a_new_file(folder: Path, tmp_path: Path, capsys: Capture) -> None:
    (folder / "tests/pause.en.yaml").unlink()
    script = tmp_path / "inputs.txt"
    script.write_text("/help\n1\n", encoding="utf-8")
    assert main(["test", "--record", "pause", "--name", "help, then done", "--script",
                 str(script), "--dir", str(folder)]) == 0
    text = (folder / "tests/pause.en.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../bot/core/schema.json\n"
                           "module: pause\nlang: en\ntranscripts:\n  - name: \"help, then")
    assert '      - intent: "help"\n' in text


def test_coverage_names_what_is_not_taken_in_words(folder: Path, capsys: Capture) -> None:
    (folder / "tests/pause.es.yaml").unlink()
    (folder / "tests/tour.es.yaml").unlink()  # the tour calls the pause too
    status, out = _test(capsys, folder)
    assert status == 1
    assert "LOW pause                es    0/1" in out
    assert "not taken yet: in 'breathe', the button “Hecho” (done) → finish" in out
    assert "relbot test --record pause --lang es --name NAME" in out


def test_re_recording_after_a_new_question_replays_the_old_steps_around_it(
        folder: Path, tmp_path: Path, capsys: Capture) -> None:
    _edit(folder / "pause.yaml", "start: breathe\nstates:\n",
          "start: ready\nstates:\n  ready:\n    say: {en: Ready?, es: ¿Lista la pausa?}\n"
          "    choices:\n      - {id: yes, label: {en: Ready, es: Sí}, goto: breathe}\n")
    assert "FAIL" in _test(capsys, folder)[1]
    script = tmp_path / "answers.txt"
    script.write_text("1\n", encoding="utf-8")  # only the new question's answer
    assert main(["test", "--record", "pause", "--name", "one breath, then done", "--script",
                 str(script), str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.count("(the old transcript does not fit here: answer as the person would)") == 1
    assert out.count("(replayed)") == 2
    text = (folder / "tests/pause.en.yaml").read_text(encoding="utf-8")
    assert text.count("- name:") == 1 and '      - press: "Ready"\n' in text
    assert '      - type: "back"\n' in text and '      - type: "done"\n' in text
    out = _test(capsys, folder)[1]  # the tour calls the pause: its transcripts still fail
    assert not [line for line in out.splitlines() if line.startswith("FAIL") and "pause.en" in line]
