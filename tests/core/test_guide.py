"""Every YAML example in the authoring guide (`dialogues/README.md`) is checked.

Maintainers copy the guide's examples; an example that fails `relbot validate` teaches the
mistake. Each ```yaml block is extracted and checked as what it is: a whole module (with
any block marked `<!-- example: continues the module above -->` appended to it), a
transcript (run against that module), a text, the global intents or the safety section
(checked in place).
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from bot.cli.folders import load_file
from bot.core.compile import compile_bundle
from bot.core.diagnostics import format_human
from bot.core.format import GLOBAL, TRANSCRIPT, check_shape
from bot.core.loader import load_yaml
from bot.core.transcript import run_transcript_file
from bot.safety import Screen
from bot.turn import Turner

from .helpers import SHIPPED

GUIDE = SHIPPED / "README.md"
BLOCK = re.compile(r"(?:<!-- example: (?P<mark>[^>]*?) -->\n *)?```yaml\n(?P<body>.*?) *```\n",
                   re.S)
CONTINUES = "continues the module above"
CHANGES = "changes "  # + a shipped module: the block's states are merged into it


def _examples() -> list[tuple[int, str, str]]:
    """(line in the guide, kind, YAML) for every example; continuations joined on."""
    guide = GUIDE.read_text(encoding="utf-8")
    out: list[tuple[int, str, str]] = []
    for m in BLOCK.finditer(guide):
        line = guide.count("\n", 0, m.start("body")) + 1
        body = m.group("body")
        if m.group("mark") == CONTINUES:
            modules = [i for i, (_, kind, _) in enumerate(out) if kind == "module"]
            assert modules, f"line {line}: no module above to continue"
            first, _, text = out[modules[-1]]
            out[modules[-1]] = (first, "module", text + body)
            continue
        if (m.group("mark") or "").startswith(CHANGES):
            out.append((line, m.group("mark"), textwrap.dedent(body)))
            continue
        assert m.group("mark") is None, f"line {line}: unknown marker {m.group('mark')!r}"
        data = load_yaml(body, "example").data
        keys = set(data) if isinstance(data, dict) else set()
        kind = ("comment" if data is None else "module" if "dialogue" in keys
                else "transcript" if "module" in keys else "text" if keys == {"say"}
                else "intents" if keys == {"intents"} else "safety" if keys == {"safety"}
                else "unknown")
        out.append((line, kind, body))
    return out


EXAMPLES = _examples()


def _module_file(tmp_path: Path) -> Path:
    ((_, _, module),) = [e for e in EXAMPLES if e[1] == "module"]
    name = re.search(r"^dialogue: (\w+)", module, re.M)
    assert name
    path = tmp_path / f"{name.group(1)}.yaml"
    path.write_text(module, encoding="utf-8")
    return path


def test_the_guide_has_one_example_of_each_kind() -> None:
    kinds = [kind for _, kind, _ in EXAMPLES]
    assert "unknown" not in kinds, EXAMPLES
    assert sorted({k for k in kinds if not k.startswith(CHANGES)}) == [
        "comment", "intents", "module", "safety", "text", "transcript"]


@pytest.mark.parametrize("line", [line for line, kind, _ in EXAMPLES if kind.startswith(CHANGES)])
def test_changes_to_a_shipped_module_validate(line: int, tmp_path: Path) -> None:
    """A step-by-step example: its states merged into the shipped module it names."""
    ((kind, body),) = [(k, b) for ln, k, b in EXAMPLES if ln == line]
    module = kind.removeprefix(CHANGES)
    data = load_yaml((SHIPPED / f"{module}.yaml").read_text(encoding="utf-8"), module).data
    for name, keys in load_yaml(body, "example").data.items():  # on/off/yes/no stay words
        data["states"].setdefault(name, {}).update(keys)
    path = tmp_path / f"{module}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _, found = load_file(path)
    assert found == [], format_human(found)


def test_the_module_example_validates_with_no_problem(tmp_path: Path) -> None:
    _, found = load_file(_module_file(tmp_path))
    assert found == [], format_human(found)


@pytest.mark.parametrize("line", [line for line, kind, _ in EXAMPLES if kind == "transcript"])
def test_the_transcript_example_passes_on_the_module_example(line: int, tmp_path: Path) -> None:
    bundle, _ = load_file(_module_file(tmp_path))
    compiled = compile_bundle(bundle)
    (body,) = [b for ln, _, b in EXAMPLES if ln == line]
    ld = load_yaml(body, f"README.md:{line}")
    assert check_shape(ld, TRANSCRIPT), format_human(ld.diagnostics)
    covered: set[tuple[str, str, str, str, str]] = set()
    results = run_transcript_file(ld, compiled, covered, Turner(compiled, Screen.load()))
    assert [r.failures for r in results] == [[]] * len(results)


@pytest.mark.parametrize("line", [line for line, kind, _ in EXAMPLES if kind == "text"])
def test_text_examples_validate_inside_a_state(line: int, tmp_path: Path) -> None:
    (body,) = [b for ln, _, b in EXAMPLES if ln == line]
    module = ("dialogue: text_example\ntitle: {en: Example, es: Ejemplo}\nstart: a\n"
              "states:\n  a:\n" + textwrap.indent(body, "    ") + "    end: true\n")
    path = tmp_path / "text_example.yaml"
    path.write_text(module, encoding="utf-8")
    _, found = load_file(path)
    assert found == [], format_human(found)


@pytest.mark.parametrize("line", [line for line, kind, _ in EXAMPLES if kind == "intents"])
def test_intent_examples_have_the_global_shape_and_name_shipped_modules(line: int) -> None:
    (body,) = [b for ln, _, b in EXAMPLES if ln == line]
    ld = load_yaml(body, f"README.md:{line}")
    intents = GLOBAL.fields["intents"].resolve()
    assert intents.check(ld.data["intents"], ("intents",), ld), format_human(ld.diagnostics)
    for intent in ld.data["intents"].values():
        for key in ("goto", "call"):
            if key in intent:
                assert (SHIPPED / f"{intent[key]}.yaml").is_file(), intent[key]


def test_comment_examples_are_only_comments() -> None:
    for line, kind, body in EXAMPLES:
        if kind == "comment":
            assert load_yaml(body, "example").diagnostics == [], line


@pytest.mark.parametrize("line", [line for line, kind, _ in EXAMPLES if kind == "safety"])
def test_the_safety_example_is_the_shipped_section(line: int) -> None:
    """The guide shows `_global.yaml`'s safety section as shipped: same shape, same routes."""
    (body,) = [b for ln, _, b in EXAMPLES if ln == line]
    ld = load_yaml(body, f"README.md:{line}")
    section = GLOBAL.fields["safety"].resolve()
    assert section.check(ld.data["safety"], ("safety",), ld), format_human(ld.diagnostics)
    shipped = load_yaml((SHIPPED / "_global.yaml").read_text(encoding="utf-8"), "_global").data
    assert ld.data["safety"] == shipped["safety"]
