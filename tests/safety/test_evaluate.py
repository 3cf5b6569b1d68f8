"""The screen meets its targets on the labelled corpus, and `relbot safety-eval` says so.

Targets: recall >= 0.95 (the right category) in every language and category, and at most
5% of ordinary messages flagged. This test keeps CI honest about them. The held-out set is
only run for its figures: no test asserts them and nothing is tuned to them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.core.crisis import CATEGORIES
from bot.safety.evaluate import NONE, Labelled, Report, evaluate, read_corpus

from .helpers import CORPUS, HOLDOUT, ROOT, shipped


def corpus(folder: Path) -> dict[str, list[Labelled]]:
    out = {}
    for language in ("en", "es"):
        items, problems = read_corpus((folder / f"{language}.yaml").read_text(encoding="utf-8"),
                                      language, language)
        assert problems == []
        out[language] = items
    return out


def test_the_corpus_has_what_the_targets_need() -> None:
    for language, items in corpus(CORPUS).items():
        for label in CATEGORIES:
            assert sum(i.label == label for i in items) >= 55, (language, label)
        assert sum(i.label == NONE for i in items) >= 180, language


def test_the_screen_meets_its_targets_on_the_corpus() -> None:
    report = evaluate(shipped(), corpus(CORPUS))
    below = [(r.language, r.category, round(r.recall, 3), round(r.recall_any, 3))
             for r in report.rows if r.missed_target]
    assert report.met, f"below target: {below}; see relbot safety-eval --verbose"
    assert len(report.rows) == 2 * (len(CATEGORIES) + 1)


@pytest.mark.parametrize("folder", [HOLDOUT, HOLDOUT.with_name("holdout2")])
def test_the_held_out_sets_run(folder: Path) -> None:
    """Figures only (relbot safety-eval --set holdout / holdout2); never tuned to."""
    report = evaluate(shipped(), corpus(folder))
    assert {(r.language, r.category) for r in report.rows} == {
        (language, c) for language in ("en", "es") for c in (*CATEGORIES, NONE)}


def test_a_miss_and_a_false_positive_are_counted() -> None:
    items = [Labelled("I want to kill myself", "en", "suicide_self_harm"),
             Labelled("what a lovely day", "en", "suicide_self_harm"),
             Labelled("he hits me", "en", "sexual_violence", also=("domestic_violence",)),
             Labelled("my phone died", "en", NONE),
             Labelled("I want to kill myself", "en", NONE)]
    report: Report = evaluate(shipped(), {"en": items})
    rows = {r.category: r for r in report.rows}
    assert (rows["suicide_self_harm"].right, rows["suicide_self_harm"].n) == (1, 2)
    assert rows["sexual_violence"].recall == 1.0  # `also` is accepted
    assert rows[NONE].recall_any == 0.5 and rows[NONE].missed_target
    assert not report.met
    assert [o.item.text for o in report.wrong()] == ["what a lovely day",
                                                     "I want to kill myself"]


def safety_eval(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "safety-eval", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_relbot_safety_eval_is_quick_and_ends_with_a_summary() -> None:
    """A before-stop hook runs it with a 25-second timeout and shows its last 3 lines."""
    started = time.monotonic()
    result = safety_eval()
    assert time.monotonic() - started < 25
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-3:]
    assert last[0].startswith("en: recall ") and last[1].startswith("es: recall ")
    assert last[2].startswith("safety-eval corpus: all targets met")


def test_relbot_safety_eval_never_lists_the_held_out_set() -> None:
    result = safety_eval("--set", "holdout", "--verbose")
    assert result.returncode == 2
    assert "never listed" in result.stderr and result.stdout == ""


def test_relbot_safety_eval_lists_what_it_got_wrong_and_fails(tmp_path: Path) -> None:
    (tmp_path / "en.yaml").write_text(
        "language: en\nmessages:\n"
        "  - text: 'what a lovely day'\n    label: suicide_self_harm\n"
        "  - text: 'i want to kill myself'\n    label: suicide_self_harm\n"
        "  - text: 'my phone died'\n    label: none\n", encoding="utf-8")
    result = safety_eval("--dir", str(tmp_path), "--verbose")
    assert result.returncode == 1
    assert "[en] 'what a lovely day' | suicide_self_harm | - | -" in result.stdout
    assert "i want to kill myself" not in result.stdout.split("got wrong")[1]
    assert result.stdout.strip().endswith(
        "TARGET MISSED (recall >= 0.95 per language and category, false positives <= 0.05)")


@pytest.mark.parametrize("contents", [None, "messages: 12\n", "language: en\nmessages:\n  - 5\n"])
def test_relbot_safety_eval_reports_a_bad_corpus_in_one_line(tmp_path: Path,
                                                              contents: str | None) -> None:
    if contents is not None:
        (tmp_path / "en.yaml").write_text(contents, encoding="utf-8")
    result = safety_eval("--dir", str(tmp_path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    if contents is None:
        assert result.stderr.count("\n") == 1 and "no corpus files" in result.stderr
    else:
        assert "corpus problem:" in result.stdout
