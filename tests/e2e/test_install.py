"""relbot installed from its wheel, as a newcomer would: `pip install relbot-*.whl` in a
fresh virtual environment, then every command run from a folder that is not a checkout,
with no DIALOGUES_DIR: the shipped dialogues come inside the package.

Building the wheel and installing it takes about 10 s; .ci/run does it once before the
tests and points RELBOT_INSTALL_DIR at the result (``dist/`` and ``venv/``), which is
used instead when set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .harness import REPO, BotProcess, Person, free_port, running

SOURCES = ["pyproject.toml", "README.md", "LICENSE", "requirements.lock", "bot", "dialogues"]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "version"
]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def build_and_install(into: Path) -> None:
    """Build from a copy of the sources (nothing left in the checkout), install in a venv."""
    src = into / "src"
    src.mkdir()
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(source, src / name, ignore=ignore)
        else:
            shutil.copy2(source, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(into / "dist"), str(src)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    subprocess.run([sys.executable, "-m", "venv", str(into / "venv")], check=True, timeout=120)
    (wheel,) = (into / "dist").glob("relbot-*.whl")
    subprocess.run([str(into / "venv/bin/pip"), "--disable-pip-version-check", "-q", "install",
                    "-c", str(REPO / "requirements.lock"), str(wheel)],
                   check=True, capture_output=True, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    given = os.environ.get("RELBOT_INSTALL_DIR")
    into = Path(given) if given else tmp_path_factory.mktemp("install")
    if not given:
        build_and_install(into)
    (wheel,) = (into / "dist").glob("relbot-*.whl")
    return Installed(wheel, into / "venv")


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A folder that is not a checkout; the command runs there."""
    folder = tmp_path / "somewhere-else"
    folder.mkdir()
    return folder


def outside_env(**extra: str) -> dict[str, str]:
    """The environment without anything that points into the checkout."""
    drop = {"PYTHONPATH", "DIALOGUES_DIR", "TELEGRAM_BOT_TOKEN", "VIRTUAL_ENV"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def command(installed: Installed, cwd: Path, *args: str,
            stdin: str = "") -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run([installed.bin("relbot"), *args], cwd=cwd, env=outside_env(),
                          input=stdin, capture_output=True, text=True, timeout=120)  # fmt: skip


def test_the_wheel_holds_every_package_every_dialogue_and_the_license(
    installed: Installed,
) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    code = {str(p.relative_to(REPO)) for p in (REPO / "bot").rglob("*.py")}
    data = {str(p.relative_to(REPO)) for p in (REPO / "bot").rglob("*") if p.suffix in (
        ".json", ".yaml")}  # fmt: skip
    dialogues = {
        "bot/" + str(p.relative_to(REPO))
        for p in (REPO / "dialogues").rglob("*")
        if p.suffix in (".yaml", ".md")
    }
    assert code - names == set(), "add the missing packages to pyproject's packages list"
    assert data - names == set()
    assert len(dialogues) > 40 and dialogues - names == set()
    license_files = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert len(license_files) == 1
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: MIT" in zipfile.ZipFile(installed.wheel).read(metadata).decode()


def test_installed_commands_work_from_any_folder(installed: Installed, elsewhere: Path) -> None:
    where = subprocess.run([installed.bin("python"), "-c", "import bot; print(bot.__file__)"],
                           cwd=elsewhere, env=outside_env(), capture_output=True, text=True)
    assert where.stdout.startswith(str(installed.venv)), where  # the installed copy, not ours

    version = command(installed, elsewhere, "--version")
    assert (version.returncode, version.stdout) == (0, f"relbot {VERSION}\n")

    validate = command(installed, elsewhere, "validate")
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout.rstrip().endswith("0 error(s), 0 warning(s)")

    transcripts = command(installed, elsewhere, "test")
    assert transcripts.returncode == 0, transcripts.stdout[-2000:]
    assert "passed, 0 failed" in transcripts.stdout

    bare = command(installed, elsewhere, stdin="1\n")  # no token: the bot in the terminal
    assert bare.returncode == 0, bare.stderr
    assert "I'm an automated bot for practising skills" in bare.stdout

    spanish = command(installed, elsewhere, "chat", "--lang", "es", stdin="2\n")
    assert "Soy un bot automático" in spanish.stdout, spanish.stdout

    no_token = command(installed, elsewhere, "run")
    assert no_token.returncode == 2
    assert no_token.stderr.startswith("relbot: TELEGRAM_BOT_TOKEN is not set")
    assert len(no_token.stderr.splitlines()) == 1


@pytest.fixture
def own_fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server


def test_installed_bot_serves_from_any_folder(
    installed: Installed, own_fake: FakeTelegram, elsewhere: Path
) -> None:
    health_port = free_port()
    bot = BotProcess(own_fake, elsewhere, command=[installed.bin("relbot"), "run"],
                     env={"HEALTH_PORT": str(health_port)})  # fmt: skip
    for name in ("PYTHONPATH", "DIALOGUES_DIR", "VIRTUAL_ENV"):
        bot.env.pop(name, None)  # nothing points into the checkout: the shipped dialogues
    ana = Person(own_fake, next_user_id())
    with running(bot):
        ana.command("start")
        (question,) = ana.expect("Hi, I'm relbot. Which language would you like?")
        assert question.button_texts == ["English", "Español"]
        ana.press("English")
        ana.expect("I'm an automated bot for practising skills", "I'm not therapy")
        health = httpx.get(f"http://127.0.0.1:{health_port}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["ok"] is True
    assert [name for name, _ in own_fake.commands("es")][:2] == ["start", "menu"]
