"""The position-aware YAML loader: author-friendly scalars, duplicate keys, positions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.core import loader
from bot.core.loader import load_yaml

from .helpers import ROOT, SHIPPED

TEXT = """\
dialogue: trust
states:
  on:
    say: {en: "Hi", es: Hola}
    choices:
      - id: yes
        label: no
        goto: off
"""


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "y", "n", "On", "OFF", "Yes", "NO"])
def test_yaml_1_1_booleans_stay_strings(word: str) -> None:
    ld = load_yaml(f"a: {word}\n{word}: 1\n", "f.yaml")
    assert ld.data == {"a": word, word: 1}
    assert not ld.diagnostics


@pytest.mark.parametrize(("word", "value"), [("true", True), ("False", False), ("TRUE", True)])
def test_true_and_false_are_booleans(word: str, value: bool) -> None:
    assert load_yaml(f"a: {word}\n", "f.yaml").data == {"a": value}


def test_numbers_and_null_keep_their_yaml_meaning() -> None:
    ld = load_yaml("a: 3\nb: 2.5\nc: ~\nd: '3'\n", "f.yaml")
    assert ld.data == {"a": 3, "b": 2.5, "c": None, "d": "3"}


def test_state_and_choice_names_like_on_and_yes_survive() -> None:
    ld = load_yaml(TEXT, "trust.yaml")
    choice = ld.data["states"]["on"]["choices"][0]
    assert choice == {"id": "yes", "label": "no", "goto": "off"}


def test_a_duplicate_key_is_reported_where_it_repeats_and_the_first_wins() -> None:
    ld = load_yaml("states:\n  intro: 1\n  other: 2\n  intro: 3\n", "d.yaml")
    (diag,) = ld.diagnostics
    assert (diag.code, diag.file, diag.line, diag.column) == ("D003", "d.yaml", 4, 3)
    assert "'intro'" in diag.message and "first at line 2" in diag.message
    assert ld.data == {"states": {"intro": 1, "other": 2}}


def test_duplicate_keys_in_flow_mappings_and_at_the_top_are_all_reported() -> None:
    ld = load_yaml("a: 1\nb: {x: 1, x: 2}\na: 2\n", "d.yaml")
    assert [(d.code, d.line, d.column) for d in ld.diagnostics] == [("D003", 2, 11), ("D003", 3, 1)]


def test_positions_of_values_and_keys_are_one_based() -> None:
    ld = load_yaml(TEXT, "trust.yaml")
    assert ld.at(()) == (1, 1)
    assert ld.at(("dialogue",)) == (1, 11)
    assert ld.key_at(("dialogue",)) == (1, 1)
    assert ld.at(("states", "on", "say")) == (4, 10)
    assert ld.at(("states", "on", "say", "en")) == (4, 15)
    assert ld.at(("states", "on", "choices", 0)) == (6, 9)
    assert ld.at(("states", "on", "choices", 0, "goto")) == (8, 15)
    assert ld.key_at(("states", "on", "choices", 0, "goto")) == (8, 9)


def test_a_missing_path_points_at_its_nearest_ancestor() -> None:
    ld = load_yaml(TEXT, "trust.yaml")
    assert ld.at(("states", "on", "nothing", 3)) == (4, 5)  # the value of `on:`
    assert ld.key_at(("states", "on", "nothing")) == (4, 5)
    assert ld.key_at(("states", "on")) == (3, 3)


def test_quoted_scalars_are_remembered() -> None:
    ld = load_yaml(TEXT, "trust.yaml")
    assert ("states", "on", "say", "en") in ld.quoted
    assert ("states", "on", "say", "es") not in ld.quoted


def test_non_string_keys_become_strings() -> None:
    assert load_yaml("1: a\n2.5: b\ntrue: c\n", "f.yaml").data == {
        "1": "a",
        "2.5": "b",
        "True": "c",
    }


def test_merge_keys_still_work() -> None:
    ld = load_yaml("base: &b {end: true}\nstate:\n  <<: *b\n  say: hi\n", "f.yaml")
    assert ld.data["state"] == {"end": True, "say": "hi"}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a: {b: 1\nc: 2\n", (2, 2)),
        ("a: 'open\n", (2, 1)),
        ("a:\n\tb: 1\n", (2, 1)),
        ("a: 1\n b: 2\n", (2, 3)),
        ("a: \x07\n", (1, 4)),
        ("ok: 1\nbad: \x00\n", (2, 6)),
    ],
)
def test_syntax_errors_are_one_d001_with_a_position(text: str, where: tuple[int, int]) -> None:
    ld = load_yaml(text, "s.yaml")
    (diag,) = ld.diagnostics
    assert (diag.code, diag.file, (diag.line, diag.column)) == ("D001", "s.yaml", where)
    assert diag.message.startswith("YAML syntax error") and ld.data is None


def test_an_empty_text_loads_as_nothing_without_a_diagnostic() -> None:
    ld = load_yaml("", "e.yaml")
    assert ld.data is None and not ld.diagnostics


@pytest.mark.parametrize("path", sorted(SHIPPED.rglob("*.yaml")), ids=lambda p: p.name)
def test_libyaml_and_pure_python_parsing_agree(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_text(encoding="utf-8")
    fast = load_yaml(text, str(path))
    monkeypatch.setattr(loader, "_FastLoader", loader._AuthorLoader)
    pure = load_yaml(text, str(path))
    assert (fast.data, fast.positions, fast.key_positions, fast.quoted) == (
        pure.data,
        pure.positions,
        pure.key_positions,
        pure.quoted,
    )
    assert [(d.code, d.line, d.column) for d in fast.diagnostics] == [
        (d.code, d.line, d.column) for d in pure.diagnostics
    ]


@pytest.mark.parametrize("text", ["'[' * 200_000", "'- ' * 200_000 + 'x'", "'? ' * 200_000"])
def test_very_deep_nesting_is_a_d001_not_a_crash(text: str) -> None:
    code = (
        "from bot.core.loader import load_yaml\n"
        f"(d,) = load_yaml({text}, 'f.yaml').diagnostics\n"
        "print(d.code, d.line, d.column, d.message)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-500:]
    # The behaviour, not PyYAML's wording (which changed in 6.0.4): one D001 with a
    # position, and no crash or hang.
    code_, line, column, message = done.stdout.strip().split(" ", 3)
    assert code_ == "D001"
    assert int(line) >= 1 and int(column) >= 1
    assert message.startswith("YAML syntax error")
