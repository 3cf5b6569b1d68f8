"""The shipped JSON Schema is current, valid, and accepts every shipped file.

Editors underline mistakes using `bot/core/schema.json`; it is generated from the format
in `bot.core.format`, so the checker and the editor agree on what a file may contain.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bot.core.format import DIALOGUE, check_shape, json_schema
from bot.core.loader import load_yaml

from .helpers import ROOT, SHIPPED

SCHEMA_FILE = ROOT / "bot" / "core" / "schema.json"
SCHEMA_LINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)$")
DIALOGUE_FILES = sorted(p for p in SHIPPED.rglob("*.yaml") if p.parent.name != "tests")
TRANSCRIPT_FILES = sorted(SHIPPED.rglob("tests/*.yaml"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@cache
def validator(definition: str) -> jsonschema.Draft202012Validator:
    """A validator for one kind of file: `dialogue`, `global` or `transcript_file`."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    )


def _kind(path: Path) -> str:
    if path.parent.name == "tests":
        return "transcript_file"
    return {"_global.yaml": "global", "resources.yaml": "resources"}.get(path.name, "dialogue")


def _errors(path: Path, data: Any) -> list[str]:
    return [
        f"{_name(path)}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(_kind(path)).iter_errors(data)
    ]


def test_the_shipped_schema_is_the_generated_one() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == json_schema(), (
        "bot/core/schema.json is out of date with bot/core/format.py; "
        "regenerate it with: .venv/bin/python -m bot.core.format"
    )


def test_the_schema_is_valid_draft_2020_12() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert {"dialogue", "global", "resources", "transcript_file"} <= set(schema["$defs"])


def test_there_are_files_to_check() -> None:
    names = {p.name for p in DIALOGUE_FILES}
    assert {"_global.yaml", "tour.yaml", "pause.yaml"} <= names
    assert len(TRANSCRIPT_FILES) >= 2


@pytest.mark.parametrize("path", DIALOGUE_FILES + TRANSCRIPT_FILES, ids=_name)
def test_every_shipped_file_validates_against_the_schema(path: Path) -> None:
    ld = load_yaml(path.read_text(encoding="utf-8"), str(path))
    assert not ld.diagnostics, ld.diagnostics
    assert _errors(path, ld.data) == []
    assert jsonschema.Draft202012Validator(
        json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    ).is_valid(ld.data)


@pytest.mark.parametrize("path", DIALOGUE_FILES + TRANSCRIPT_FILES, ids=_name)
def test_every_file_starts_with_the_schema_line(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = SCHEMA_LINE.match(first)
    assert match, f"{_name(path)} must start with '# yaml-language-server: $schema=...'"
    assert (path.parent / match.group(1)).resolve() == SCHEMA_FILE.resolve(), (
        f"{_name(path)}: $schema={match.group(1)} does not lead to bot/core/schema.json"
    )


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("dialogue: m\ntitle: M\nstart: a\nstates: {a: {sya: Hi, end: true}}\n", "states/a"),
        (
            "dialogue: m\ntitle: M\nstart: a\nstates: {a: {say: Hi, choices: yes}}\n",
            "states/a/choices",
        ),
        (
            "dialogue: m\ntitle: M\nstart: a\nstates: {a: {choices: [{id: go, label: Go}]}}\n",
            "states/a/choices/0",
        ),
        (
            "dialogue: m\ntitle: M\nstart: a\n"
            "states: {a: {choices: [{id: Go Go, label: G, goto: a}]}}\n",
            "states/a/choices/0/id",
        ),
        ("dialogue: m\nstart: a\nstates: {a: {end: true}}\n", ""),
        (
            "dialogue: m\ntitle: M\nstart: a\n"
            "states: {a: {ask: {into: x, kind: essay}, goto: a}}\n",
            "states/a/ask/kind",
        ),
    ],
)
def test_the_schema_rejects_what_the_checker_rejects(text: str, where: str) -> None:
    ld = load_yaml(text, "m.yaml")
    assert not check_shape(ld, DIALOGUE)
    errors = list(validator("dialogue").iter_errors(ld.data))
    assert errors and "/".join(map(str, errors[0].absolute_path)) == where
