"""Every diagnostic code fires on a small broken fixture, at the right line and column.

The table below is the contract between the checker and authors: one fixture per code in
`CODES`, the place the message must point at, and the text found there. Adding a code
without adding a row here fails `test_table_covers_every_code`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.bundle import load_bundle
from bot.core.diagnostics import CODES, Severity

from .helpers import MIN_GLOBAL, MIN_MODULE, diagnose, write_folder

Where = tuple[str, int, int, str]  # file, line, column, the text that starts there
# (a file given as bytes is shown decoded, a byte that is not UTF-8 as U+FFFD)


def _module(states: str, head: str = "") -> str:
    """Module `m` with these states (indented by two spaces) and optional top-level keys."""
    return f"dialogue: m\ntitle: M\nstart: a\n{head}states:\n{states}"


_GO = "  a:\n    say: Ready.\n    choices:\n      - {id: go, label: Go, goto: b}\n"
_END = "  b:\n    end: true\n"
_MANY = "".join(f"      - {{id: c{i}, label: C{i}, goto: b}}\n" for i in range(101))
_TO_C = "  a:\n    say: Ready.\n    choices:\n      - {id: go, label: Go, goto: c}\n"

_CATEGORIES = ("suicide_self_harm", "domestic_violence", "child_abuse", "sexual_violence",
               "harm_to_others")  # someone_else is left out where a route must be missing
_ROUTES = "safety:\n  routes:\n" + "".join(f"    {c}: m\n" for c in _CATEGORIES)
_LINE = 'source: "https://x.example/", checked: 2026-11-29'
_WORDING = (
    'wording: {emergency: E, call: "{name} {number}", call_or_text: "{name} {number} {text}", '
    'text: "{name} {text}", web: "{name} {web}", country: "{country}", regions: "{regions}", '
    'region: "{number} {where}", directory: "{web}", more: "{web}"}\n'
)


def _resources(countries: str, old: str = "2026-11-29") -> str:
    """A small resources.yaml with these `countries:` lines (indented by two spaces)."""
    return (
        "compiled: 2026-11-29\nverified_online: false\nfallback:\n  emergency:\n"
        f'    - {{number: "112", where: EU, source: "https://x.example/", checked: {old}}}\n'
        f'  directory: {{name: Dir, web: dir.example, {_LINE}}}\n'
        f"countries:\n{countries}{_WORDING}"
    )


_COUNTRY = f'  XX:\n    name: X\n    emergency: [{{number: "1", {_LINE}}}]\n'


def _where(file: str, text: str, snippet: str, nth: int = 0) -> Where:
    """(file, line, column, snippet) of the nth place `snippet` starts in `text`."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(snippet, start + 1)
    line = text.count("\n", 0, start) + 1
    return file, line, start - (text.rfind("\n", 0, start) + 1) + 1, snippet


def _case(files: dict[str, str], file: str, snippet: str, nth: int = 0
          ) -> tuple[dict[str, str], Where]:
    return files, _where(file, files[file], snippet, nth)


_SCRIPT = _module("  a:\n    say: Say it.\n    ask: {into: x, kind: text}\n    goto: b\n"
                  '  b:\n    say: ["{x}", "TEXT"]\n    end: true\n', head='variables: {x: ""}\n')
_D050 = MIN_GLOBAL + _ROUTES
_D055 = MIN_GLOBAL + _ROUTES + "    someone_else: m\n  gate: {dialogue: m, when: harm_told}\n"
_D053 = _module(_GO.replace("goto: b}", "goto: b, set: {country: FR}}") + _END,
                head="variables: {country: ''}\nkeep: [country]\n")

CASES: dict[str, tuple[dict[str, str | bytes], Where]] = {
    "D001": (
        {"m.yaml": _module("  a:\n    say: {en: Hello, es: Hola\n    end: true\n")},
        ("m.yaml", 7, 8, ": true"),
    ),
    "D002": (
        {"m.yaml": _module("  a:\n    sya: Hello\n    end: true\n")},
        ("m.yaml", 6, 5, "sya:"),
    ),
    "D003": (
        {"m.yaml": _module("  a:\n    end: true\n  a:\n    end: true\n")},
        ("m.yaml", 7, 3, "a:"),
    ),
    "D004": (
        {"m.yaml": _module("  a:\n    say: Hi\n    choices: yes\n")},
        ("m.yaml", 7, 14, "yes"),
    ),
    "D005": (
        {"m.yaml": _module("  a:\n    say: Hi\n    choices:\n      - {id: go, label: Go}\n")},
        ("m.yaml", 8, 9, "{id: go"),
    ),
    "D006": (
        {
            "m.yaml": _module(
                "  a:\n    say: Hi\n    choices:\n      - {id: Yes Please, label: Go, goto: a}\n"
            )
        },
        ("m.yaml", 8, 14, "Yes Please"),
    ),
    "D007": ({"m.yaml": _module(_GO + "    return_to: b\n" + _END)}, ("m.yaml", 5, 3, "a:")),
    "D008": (
        {"m.yaml": _module(_GO + "    ask: {into: n, kind: text}\n" + _END,
                           head="variables: {n: ''}\nkeep: [n]\n")},
        ("m.yaml", 7, 3, "a:"),
    ),
    "D009": (
        {"m.yaml": _module("  a:\n    choices:\n      - {id: go, label: Go, goto: b}\n" + _END)},
        ("m.yaml", 5, 3, "a:"),
    ),
    "D060": (
        {"x.yaml": "dialogue: x\ntitle: Caf\xe9\n".encode("latin-1")},
        ("x.yaml", 2, 11, "\ufffd"),
    ),
    "D061": (
        {"x.yaml": "# filler\n" * 120_000},
        ("x.yaml", 1, 1, "# filler"),
    ),
    "D062": (
        {"x.yaml": "a: &a [1]\n" + "".join(f"k{i}: *a\n" for i in range(101))},
        ("x.yaml", 102, 7, "*a"),
    ),
    "D010": ({"m.yaml": _module(_GO + "    goto: b\n" + _END)}, ("m.yaml", 5, 3, "a:")),
    "D011": (
        {"m.yaml": _module(_GO + "      - {id: on, label: On, goto: outro}\n" + _END)},
        ("m.yaml", 9, 35, "outro"),
    ),
    "D012": (
        {"m.yaml": _module(_GO + "  b:\n    end: {next: manu}\n")},
        ("m.yaml", 10, 17, "manu"),
    ),
    "D013": ({"m.yaml": _module(_GO + _END + "  c:\n    end: true\n")}, ("m.yaml", 11, 3, "c:")),
    "D014": (
        {
            "m.yaml": _module(
                _GO
                + "      - {id: loop, label: Loop, goto: c}\n"
                + _END
                + "  c:\n    say: Again?\n    choices:\n"
                + "      - {id: again, label: Again, goto: c}\n"
            )
        },
        ("m.yaml", 12, 3, "c:"),
    ),
    "D015": (
        {"m.yaml": _module(_GO + "      - {id: go, label: Go too, goto: b}\n" + _END)},
        ("m.yaml", 9, 14, "go, label: Go too"),
    ),
    "D016": (
        {"x.yaml": "dialogue: y\ntitle: Y\nstart: a\nstates:\n  a:\n    end: true\n"},
        ("x.yaml", 1, 11, "y"),
    ),
    "D017": (
        {"m.yaml": "dialogue: m\ntitle: M\nstart: intro\nstates:\n" + _GO + _END},
        ("m.yaml", 3, 8, "intro"),
    ),
    "D018": (
        {
            "m.yaml": _module(
                "  a:\n    goto: c\n  c:\n    branch:\n      - if: n > 1\n        goto: b\n"
                "      - goto: a\n" + _END,
                head="variables: {n: 0}\n",
            )
        },
        ("m.yaml", 6, 3, "a:"),
    ),
    "D019": (
        {
            "m.yaml": _module(
                _TO_C + "  c:\n    branch:\n      - if: n > 1\n        goto: b\n" + _END,
                head="variables: {n: 0}\n",
            )
        },
        ("m.yaml", 12, 7, "- if"),
    ),
    "D020": (
        {
            "m.yaml": _module(
                _GO.replace("Ready.", "You felt {feeling}.") + _END,
                head="variables: {feeling: ''}\n",
            )
        },
        ("m.yaml", 7, 10, "You felt"),
    ),
    "D021": (
        {
            "m.yaml": _module(
                _TO_C + "  c:\n    branch:\n      - if: 2 > moood\n"
                "        goto: b\n      - goto: b\n" + _END
            )
        },
        ("m.yaml", 11, 17, "moood"),
    ),
    "D022": (
        {
            "m.yaml": _module(
                _TO_C + '  c:\n    branch:\n      - if: "1 >> 5"\n'
                "        goto: b\n      - goto: b\n" + _END
            )
        },
        ("m.yaml", 11, 17, "> 5"),
    ),
    "D023": (
        {
            "m.yaml": _module(
                _GO.replace("goto: b}", "goto: b, add: {feeling: 1}}") + _END,
                head="variables: {feeling: ''}\nkeep: [feeling]\n",
            )
        },
        ("m.yaml", 10, 53, "1}}"),
    ),
    "D024": (
        {
            "m.yaml": _module(
                _TO_C + "  c:\n    branch:\n      - goto: b\n      - if: n > 1\n"
                "        goto: b\n      - goto: b\n" + _END,
                head="variables: {n: 0}\n",
            )
        },
        ("m.yaml", 12, 9, "goto: b"),
    ),
    "D025": (
        {"m.yaml": _module(_GO.replace("Ready.", "Hello {name") + _END)},
        ("m.yaml", 6, 10, "Hello {name"),
    ),
    "D070": _case({"m.yaml": _SCRIPT.replace("TEXT", "{x:story}")}, "m.yaml", '"{x:story}"'),
    "D071": _case({"m.yaml": _SCRIPT.replace("TEXT", "When {x:when}")}, "m.yaml",
                  '"When {x:when}"'),
    "D072": _case({"_global.yaml": MIN_GLOBAL + "returning: {after_hours: 6, dialogue: nope}\n"},
                  "_global.yaml", "nope}"),
    "D073": _case({"m.yaml": _module(_GO.replace("Ready.", "Ready {x}.") + _END,
                                     head="variables: {x: 0}\npasses: {menu: [x]}\n")},
                  "m.yaml", "menu: [x]"),
    "D074": _case({"m.yaml": _module(_GO.replace("Ready.", "Ready {x}.")
                                     + "  b:\n    end: {next: n}\n",
                                     head="variables: {x: 0}\npasses: {n: [x]}\n"),
                   "n.yaml": "dialogue: n\ntitle: N\nstart: a\nstates:\n  a:\n    end: true\n"},
                  "m.yaml", "x]}"),
    "W305": _case({"m.yaml": _module(_GO + "  b:\n    say: [One., Two., Three.]\n    goto: c\n"
                                     "  c:\n    say: [Four., Five.]\n    end: true\n")},
                  "m.yaml", "b}"),
    "D026": (
        {
            "m.yaml": "dialogue: m\ntitle: {en: M, es: M}\nlanguages: [en, es]\nstart: a\n"
            "states:\n  a:\n    say: {es: Listo.}\n    choices:\n"
            "      - {id: go, label: {en: Go, es: Vamos}, goto: b}\n" + _END
        },
        ("m.yaml", 7, 10, "{es: Listo.}"),
    ),
    "D027": (
        {"_global.yaml": MIN_GLOBAL + "requires: [adult]\n"},
        ("_global.yaml", MIN_GLOBAL.count("\n") + 1, 12, "adult"),
    ),
    "D030": (
        {
            "m.yaml": _module(
                "  a:\n    say: What happened?\n"
                "    ask: {into: story, kind: text, max_length: 4090}\n"
                "    goto: c\n  c:\n    say: 'You wrote: {story}'\n    goto: b\n" + _END,
                head="variables: {story: ''}\n",
            )
        },
        ("m.yaml", 11, 10, "'You wrote"),
    ),
    "D031": (
        {"m.yaml": _module(_GO.replace("label: Go", "label: " + "Go " * 30) + _END)},
        ("m.yaml", 8, 25, "Go Go"),
    ),
    "D032": (
        {"m.yaml": _module("  a:\n    say: Pick one.\n    choices:\n" + _MANY + _END)},
        ("m.yaml", 8, 7, "- {id: c0"),
    ),
    "D033": (
        {"m.yaml": _module(_GO.replace("id: go", "id: a_very_long_choice_identifier") + _END)},
        ("m.yaml", 8, 14, "a_very_long"),
    ),
    "D040": (
        {"_global.yaml": MIN_GLOBAL.replace("menu: m", "menu: nosuch")},
        ("_global.yaml", 3, 7, "nosuch"),
    ),
    "D048": (
        {"_global.yaml": MIN_GLOBAL.replace('  error: "error"\n', "")},
        ("_global.yaml", 4, 1, "strings:"),
    ),
    "D041": (
        {"m.yaml": _module(_GO + _END, head="intents:\n  cancel: {goto: m, call: m}\n")},
        ("m.yaml", 5, 3, "cancel:"),
    ),
    "D050": _case({"_global.yaml": _D050}, "_global.yaml", "routes:"),
    "D051": _case({"resources.yaml": _resources("  XX:\n    name: X\n")}, "resources.yaml",
                  "XX:"),
    "D052": _case({"resources.yaml": _resources(_COUNTRY + f"    crisis: {{name: C, {_LINE}}}\n")},
                  "resources.yaml", "{name: C"),
    "D053": _case({"m.yaml": _D053, "resources.yaml": _resources(_COUNTRY)}, "m.yaml", "FR"),
    "D054": _case({"m.yaml": _module(_GO + _END, head="safety_gate: true\n")}, "m.yaml",
                  "safety_gate:"),
    "D055": _case({"_global.yaml": _D055}, "_global.yaml", "harm_told"),
    "D056": _case({"m.yaml": _module(_GO + _END + "    resources: [crisis]\n")}, "m.yaml",
                  "[crisis]"),
    "D057": _case({"m.yaml": _module(_GO.replace("    choices:", "    resources: [crisis]\n"
                                                 "    choices:") + _END),
                   "resources.yaml": _resources(_COUNTRY)}, "m.yaml", "[crisis]"),
    "W304": _case({"resources.yaml": _resources(_COUNTRY, old="2025-06-30")}, "resources.yaml",
                  "2025-06-30"),
    "W301": (
        {
            "m.yaml": "dialogue: m\ntitle: {en: M, es: M}\nlanguages: [en, es]\nstart: a\n"
            "states:\n  a:\n    say: {en: Ready.}\n    choices:\n"
            "      - {id: go, label: {en: Go, es: Vamos}, goto: b}\n" + _END
        },
        ("m.yaml", 7, 10, "{en: Ready.}"),
    ),
    "W302": (
        {"m.yaml": _module(_GO + _END, head="variables:\n  unused: 0\n")},
        ("m.yaml", 5, 3, "unused:"),
    ),
    "W303": (
        {"m.yaml": _module(_GO.replace("Ready.", "{en: Ready., fr: Prêt.}") + _END)},
        ("m.yaml", 6, 10, "{en: Ready., fr"),
    ),
}


# Codes about the folder or the command line rather than a file's content, with their tests.
ELSEWHERE = {
    "D047": "test_a_folder_without_global_yaml_says_so_once",
    "D049": "test_validate_a_missing_path_is_an_error (test_cli.py)",
}


def test_table_covers_every_code() -> None:
    missing = sorted(set(CODES) - set(CASES) - set(ELSEWHERE))
    assert not missing, f"add a fixture to CASES for: {', '.join(missing)}"
    assert not set(CASES) - set(CODES), "CASES names codes that CODES does not define"


@pytest.mark.parametrize("code", sorted(CASES))
def test_code_fires_alone_at_its_place(code: str, tmp_path: Path) -> None:
    files, (file, line, column, snippet) = CASES[code]
    content = {"_global.yaml": MIN_GLOBAL, "m.yaml": MIN_MODULE, **files}[file]
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    assert text.splitlines()[line - 1][column - 1 :].startswith(snippet), "the table is off"
    found = diagnose(tmp_path, files)
    places = [(d.code, Path(d.file).name, d.line, d.column) for d in found]
    assert (code, file, line, column) in places, "\n".join(map(str, found))
    assert {d.code for d in found} == {code}, "\n".join(map(str, found))
    assert all(d.severity is CODES[code].severity and d.hint and d.message for d in found)


def test_the_minimal_folder_is_clean(tmp_path: Path) -> None:
    assert diagnose(tmp_path, {}) == []


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    shape = _module(
        "  a:\n    sya: Hello\n    columns: many\n    choices:\n"
        "      - {id: Go, label: Go, goto: a}\n"
    )
    found = diagnose(tmp_path / "shape", {"m.yaml": shape})
    assert [(d.code, d.line) for d in found] == [("D002", 6), ("D004", 7), ("D006", 9)]
    meaning = _module(
        _TO_C + "      - {id: on, label: On, goto: outro}\n"
        "  c:\n    branch:\n      - {if: n > 1, goto: b}\n" + _END,
        head="variables: {n: 0, unused: 0}\n",
    )
    found = diagnose(tmp_path / "meaning", {"m.yaml": meaning})
    assert sorted(d.code for d in found) == ["D011", "D019", "W302"]


def _validate(folder: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    status = main(["validate", str(folder), *extra])
    return status, capsys.readouterr().out


def test_json_output_lists_every_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_folder(tmp_path, CASES["D011"][0])
    status, out = _validate(folder, capsys, "--format", "json")
    (entry,) = json.loads(out)
    assert status == 1
    assert entry["code"] == "D011" and entry["severity"] == "error"
    assert Path(entry["file"]) == folder / "m.yaml"
    assert (entry["line"], entry["column"]) == (9, 35)
    assert "outro" in entry["message"] and entry["hint"]


def test_json_output_of_a_clean_folder_is_an_empty_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _validate(write_folder(tmp_path, {}), capsys, "--format", "json") == (0, "[]\n")


@pytest.mark.parametrize(("code", "status"), [("D011", 1), ("W302", 0), ("W301", 0)])
def test_exit_status_is_1_on_errors_only(
    code: str, status: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got, out = _validate(write_folder(tmp_path, CASES[code][0]), capsys)
    assert got == status
    assert f" {CODES[code].severity} {code}: " in out


MALFORMED: dict[str, str | bytes] = {
    "empty file": "",
    "only a comment": "# nothing here yet\n",
    "a list at the top": "- dialogue: m\n- title: M\n",
    "a plain string": "hello\n",
    "binary junk": bytes(range(256)) * 4,
    "control characters": "dialogue: m\x00\x07\x1b[31m\n",
    "tab indentation": "dialogue: m\nstates:\n\ta:\n\t\tend: true\n",
    "two documents": "dialogue: m\n---\ndialogue: n\n",
    "unclosed quote": "dialogue: 'm\ntitle: M\n",
    "nested too deeply": "[" * 1500 + "]" * 1500,
    "null states": "dialogue: m\ntitle: M\nstart: a\nstates:\n",
    "numbers as names": "dialogue: 5\ntitle: 6\nstart: 7\nstates: {8: {end: true}}\n",
    "a list as a key": "? [a, b]\n: 1\n",
    "a python tag": "dialogue: !!python/object/apply:os.system ['true']\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
@pytest.mark.parametrize("file", ["m.yaml", "_global.yaml", "tests/m.en.yaml"])
def test_malformed_input_is_an_error_not_a_crash(
    name: str, file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_folder(tmp_path, {file: MALFORMED[name]})
    status, out = _validate(folder, capsys)
    broken = str(folder / file)
    assert status == 1 and f"{broken}:" in out, out
    assert all(line.split(":")[1].isdigit() for line in out.splitlines() if line[:1] == "/")


@pytest.mark.parametrize("name", sorted(k for k, v in MALFORMED.items() if isinstance(v, str)))
def test_malformed_text_never_raises_in_the_core(name: str) -> None:
    text = MALFORMED[name]
    assert isinstance(text, str)
    _, found = load_bundle({"_global.yaml": text, "m.yaml": text})
    assert any(d.severity is Severity.ERROR for d in found)
    assert all(d.line >= 1 and d.column >= 1 for d in found)


def test_a_bom_and_windows_line_ends_are_fine(tmp_path: Path) -> None:
    text = "\ufeff" + _module(_GO + _END, head="variables: {unused: 0}\n").replace("\n", "\r\n")
    (found,) = diagnose(tmp_path, {"m.yaml": text})
    assert (found.code, found.line, found.column) == ("W302", 4, 13)


def test_a_folder_without_global_yaml_says_so_once(tmp_path: Path) -> None:
    write_folder(tmp_path, {})
    (tmp_path / "_global.yaml").unlink()
    found = load_bundle({str(p): p.read_text() for p in tmp_path.glob("*.yaml")})[1]
    assert [(d.code, d.file, d.line) for d in found if d.severity is Severity.ERROR] == [
        ("D047", "_global.yaml", 1)], "\n".join(map(str, found))
