"""Project-level checks, so that `pytest` is the one command CI and people run.

The shipped dialogues validate with no warnings and reach 100% transition coverage in
every language; the generated docs (module read-throughs, the diagnostic reference, the
JSON Schema) are current; the code is ruff clean; and the benchmarks run in smoke mode.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.diagnostics import reference_markdown

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ["dialogues", "dialogues/examples"]
NEEDS_POSTGRES = pytest.mark.skipif(os.environ.get("RELBOT_SKIP_POSTGRES") == "1",
                                    reason="RELBOT_SKIP_POSTGRES=1: PostgreSQL skipped on request")


def relbot(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("folder", FOLDERS)
def test_shipped_dialogues_have_no_errors_or_warnings(folder: str) -> None:
    result = relbot("validate", folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("0 error(s), 0 warning(s)"), result.stdout


@pytest.mark.parametrize("folder", FOLDERS)
def test_shipped_transcripts_pass_with_full_coverage(folder: str) -> None:
    result = relbot("test", folder)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert "LOW" not in result.stdout
    assert re.search(r"transcripts: [1-9]\d* passed, 0 failed", result.stdout), result.stdout


def test_every_programme_module_is_tested_in_both_languages() -> None:
    modules = {p.stem for p in (ROOT / "dialogues").glob("*.yaml")
               if not p.stem.startswith("_") and p.name != "resources.yaml"}
    tested = {p.name.split(".")[0] for p in (ROOT / "dialogues/tests").glob("*.yaml")}
    assert modules <= tested
    for module in modules:
        for lang in ("en", "es"):
            assert (ROOT / "dialogues/tests" / f"{module}.{lang}.yaml").exists(), (module, lang)


def test_module_read_throughs_are_current() -> None:
    result = relbot("export-text", "--all", "--out", "docs/modules", "--check")
    assert result.returncode == 0, (
        f"{result.stdout}{result.stderr}\nregenerate with: "
        "relbot export-text --all --out docs/modules"
    )


def test_diagnostic_reference_in_the_authoring_guide_is_current() -> None:
    guide = (ROOT / "dialogues/README.md").read_text(encoding="utf-8")
    section = guide.split("<!-- diagnostics:begin -->\n", 1)[1].split("<!-- diagnostics:end -->")[0]
    assert section == reference_markdown(), (
        "regenerate the table between the diagnostics markers with: python -m bot.core.diagnostics"
    )


def test_code_is_ruff_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("bench", ["bench/engine.py", "bench/storage.py", "bench/privacy.py",
                                   "bench/safety.py", "bench/receive.py",
                                   "bench/reminders.py",
                                   "bench/assemble.py",
                                   "bench/http_latency.py",
                                   "bench/sqlite_hops.py",
                                   "bench/inprocess.py",
                                   "bench/growth.py",
                                   "bench/memory.py",
                                   pytest.param("bench/postgres_trips.py", marks=NEEDS_POSTGRES),
                                   pytest.param("bench/replicas.py", marks=NEEDS_POSTGRES)])
def test_benchmarks_run_in_smoke_mode(bench: str) -> None:
    result = subprocess.run([sys.executable, bench, "--quick"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\d", result.stdout), "a benchmark must print figures"


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_intent_command_in_the_telegram_menu_is_defined(folder: str) -> None:
    """/help, /back, /restart... are in the command menu, so each must do something."""
    import yaml

    from bot.tg.handlers import INTENT_COMMANDS

    intents = yaml.safe_load((ROOT / folder / "_global.yaml").read_text(encoding="utf-8"))
    assert set(INTENT_COMMANDS) <= set(intents["intents"]), folder


def test_the_lock_pins_every_dependency_within_pyproject_ranges() -> None:
    """requirements.lock (what the tests passed with) and pyproject.toml's ranges agree."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [Requirement(r) for extra in project["optional-dependencies"].values()
               for r in extra]
    pinned: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.lock: '{line}' is not pinned with =="
            pinned[canonicalize_name(name)] = version
    for req in wanted:
        version = pinned.get(canonicalize_name(req.name))
        assert version is not None, f"{req.name} is in pyproject.toml but not in requirements.lock"
        assert req.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {req.name}=={version}, outside pyproject's '{req}'")
