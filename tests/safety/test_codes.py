"""Every rule-file diagnostic code fires on a small broken fixture, at the right place.

The table is the contract with the clinicians who edit the rules: one fixture per code in
`SAFETY_CODES`, where the message must point, and the text found there. A broken file
never stops the screen: what is valid keeps working.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.safety import Screen
from bot.safety.codes import SAFETY_CODES, reference_markdown

from .helpers import ROOT

COMMON = "window: 3\nprecedence:\n  - suicide_self_harm\n"
RULE = """\
    - id: wish
      subtype: wish_dead
      match: ["i want to {die}"]
      should_flag: [i want to die]
      should_not_flag: [i want to dine]
"""
EN = f"lexicon:\n  die: [die, be dead]\nrules:\n  suicide_self_harm:\n{RULE}"


def texts(en: str = EN, common: str = COMMON, **more: str) -> dict[str, str]:
    return {"common.yaml": common, "en.yaml": en, **more}


Where = tuple[str, int, int, str]  # file, line, column, the text that starts there

CASES: dict[str, tuple[dict[str, str], Where]] = {
    "S001": (texts(en="lexicon:\n  die: [die, be dead\nrules: {}\n"), ("en.yaml", 3, 6, ":")),
    "S002": (texts(en=EN.replace("lexicon:\n", "lexicon:\n  die: [die]\n")),
             ("en.yaml", 3, 3, "die: [die, be dead]")),
    "S003": (texts(en=EN.replace("      subtype:", "      windw: 4\n      subtype:")),
             ("en.yaml", 6, 7, "windw")),
    "S004": (texts(en=EN.replace('match: ["i want to {die}"]', "match: i want to {die}")),
             ("en.yaml", 7, 14, "i want to {die}")),
    "S005": (texts(en=EN.replace('      match: ["i want to {die}"]\n', "")),
             ("en.yaml", 5, 7, "id: wish")),
    "S006": (texts(en=EN.replace("  suicide_self_harm:", "  suicide:")),
             ("en.yaml", 4, 3, "suicide:")),
    "S007": (texts(en=EN.replace("{die}", "{dye}")), ("en.yaml", 7, 15, '"i want to {dye}"')),
    "S008": (texts(en=EN.replace("die: [die, be dead]", 'die: [die, "{dead}"]\n  dead: ["{die}"]')),
             ("en.yaml", 3, 10, '"{die}"')),
    "S009": (texts(en=EN.replace("die: [die, be dead]", 'die: [die, "re:(be dead"]')),
             ("en.yaml", 2, 14, '"re:(be dead"')),
    "S010": (texts(en=EN.replace("die: [die, be dead]", "die: [die]\n  dead: []")),
             ("en.yaml", 3, 9, "[]")),
    "S011": (texts(en=EN + RULE.replace("subtype: wish_dead", "subtype: wish")),
             ("en.yaml", 10, 11, "wish")),
    "S012": (texts(en=EN.replace("should_flag: [i want to die]",
                                 "should_flag: [i want to die, i wish i was gone]")),
             ("en.yaml", 8, 36, "i wish i was gone")),
    "S013": (texts(en=EN.replace("should_not_flag: [i want to dine]",
                                 "should_not_flag: [i want to dine, i want to be dead]")),
             ("en.yaml", 9, 41, "i want to be dead")),
    "S014": (texts(en=EN.replace("      should_not_flag: [i want to dine]\n", "")),
             ("en.yaml", 5, 11, "wish")),
    "S015": (texts(en=EN.replace("die: [die, be dead]", "die: [die, d*]")),
             ("en.yaml", 2, 14, "d*")),
    "S016": ({"en.yaml": EN}, ("rules/common.yaml", 1, 1, "")),
    "S017": (texts(common=COMMON.replace("window: 3", "window: -1")),
             ("common.yaml", 1, 9, "-1")),
    "S018": (texts(common=COMMON.replace("  - suicide_self_harm", "  - suicide_self_harm: [plan]")),
             ("common.yaml", 3, 25, "plan")),
    "S019": (texts(**{"notes.yaml": "hello: world\n"}), ("notes.yaml", 1, 1, "")),
    "S020": (texts(**{"en.model.json": '{"format": 1, "weights": '}), ("en.model.json", 1, 1, "")),
}


def test_table_covers_every_code() -> None:
    assert set(CASES) == set(SAFETY_CODES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_code_fires_at_the_right_place(code: str) -> None:
    files, (file, line, column, text) = CASES[code]
    diagnostics = Screen.from_texts(files).diagnostics
    assert {d.code for d in diagnostics} == {code}, [str(d) for d in diagnostics]
    first = diagnostics[0]
    assert (first.file, first.line, first.column) == (file, line, column), str(first)
    assert first.severity == SAFETY_CODES[code].severity
    assert first.hint, "every diagnostic says how to fix it"
    if text:
        source = files[file].splitlines()[line - 1]
        assert source[column - 1:].startswith(text), (source, column)


def test_the_fixture_base_is_clean() -> None:
    screen = Screen.from_texts(texts())
    assert screen.diagnostics == ()
    assert screen.check("i want to die", "en") is not None


def test_a_broken_rule_is_left_out_and_the_rest_keeps_working() -> None:
    broken = RULE.replace("id: wish", "id: broken").replace("{die}", "{nonexistent}")
    screen = Screen.from_texts(texts(en=EN + broken))
    assert [d.code for d in screen.diagnostics] == ["S007"]
    assert [r.spec.id for r in screen.languages["en"].rules] == ["wish"]
    flag = screen.check("i want to die", "en")
    assert flag is not None and flag.rule == "en:wish"


@pytest.mark.parametrize("garbage", ["\x00\x01\x02", "[[[", "- just a list\n", "", "42\n"])
def test_a_garbled_file_never_stops_the_other_languages(garbage: str) -> None:
    es = EN.replace("i want to {die}", "quiero {die}").replace("die: [die, be dead]",
                                                              "die: [morir]")
    es = es.replace("[i want to die]", "[quiero morir]").replace("[i want to dine]",
                                                                "[quiero comer]")
    screen = Screen.from_texts(texts(en=garbage, **{"es.yaml": es}))
    assert screen.diagnostics, "the garbled file is reported"
    assert screen.check("i want to die", "en") is None  # nothing usable in en.yaml
    assert screen.check("quiero morir", "es") is not None


def test_load_from_a_missing_folder_reports_and_screens_nothing(tmp_path: Path) -> None:
    screen = Screen.load(tmp_path / "nope")
    assert {d.code for d in screen.diagnostics} == {"S016"}
    assert screen.check("i want to kill myself", "en") is None


def test_relbot_validate_reports_a_rules_folder(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for name, text in texts(en=EN.replace("{die}", "{dye}")).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'en.yaml'}:7:15: error S007: no word list named 'dye'" in out
    assert "did you mean 'die'?" in out
    assert out.strip().endswith("1 error(s), 0 warning(s)")


def test_the_code_reference_in_the_rules_guide_is_current() -> None:
    guide = (ROOT / "bot/safety/rules/README.md").read_text(encoding="utf-8")
    section = guide.split("<!-- codes:begin -->\n", 1)[1].split("<!-- codes:end -->")[0]
    assert section == reference_markdown(), (
        "regenerate the table between the codes markers with: python -m bot.safety.codes")
