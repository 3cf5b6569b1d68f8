"""Dialogue folders that would make a naive loader hang, crash or eat the memory.

Maintainers' files are trusted, but `relbot validate`, `relbot test` and `relbot run`
must always finish, with a diagnostic that names the file, never a traceback: a YAML
alias bomb, a FIFO or a folder named like a module, dangling and looping links, an
unreadable or oversized file, and bytes that are not UTF-8 (which used to reach people
as U+FFFD characters). Each runs `relbot` as a real process with a time limit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cli.validate_cmd import collect

from .helpers import EXAMPLES, ROOT

BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.fixture
def folder() -> Iterator[Path]:
    """A copy of the example dialogues in a folder any user may read (see
    `as_ordinary_user`)."""
    base = Path(tempfile.mkdtemp(prefix="relbot-hostile-"))
    base.chmod(0o755)
    target = base / "dialogues"
    shutil.copytree(EXAMPLES, target)
    try:
        yield target
    finally:
        shutil.rmtree(base, ignore_errors=True)


def relbot(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ...` in its own process; reports its peak memory on stderr's last line."""
    code = (
        "import resource, runpy, sys\n"
        "sys.argv = ['relbot', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('bot', run_name='__main__')\n"
        "finally:\n"
        "    print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
        " file=sys.stderr)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, **(env or {})},
    )


def peak_mb(result: subprocess.CompletedProcess[str]) -> float:
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("maxrss_kb "), result.stderr
    return int(line.split()[1]) / 1024


def one_diagnostic(result: subprocess.CompletedProcess[str], path: Path) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(path))]
    assert len(lines) == 1, result.stdout
    return lines[0]


def test_an_alias_bomb_is_a_d062_in_bounded_time_and_memory(folder: Path) -> None:
    bomb = folder / "bomb.yaml"
    bomb.write_text(BOMB)
    result = relbot("validate", str(folder), timeout=30)
    line = one_diagnostic(result, bomb)
    assert " error D062: too complex to load: more than 200,000 values once aliases are" \
        " expanded" in line
    assert peak_mb(result) < 400  # it used to take over 2 GB


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_named_like_a_module_does_not_block(folder: Path) -> None:
    fifo = folder / "x.yaml"
    os.mkfifo(fifo)
    result = relbot("validate", str(folder), timeout=30)
    assert "D061: cannot read this file: it is a pipe (FIFO)" in one_diagnostic(result, fifo)
    started = relbot("run", env={"TELEGRAM_BOT_TOKEN": "1:x", "DIALOGUES_DIR": str(folder),
                                 "TELEGRAM_API_URL": "http://127.0.0.1:9/bot"}, timeout=30)
    assert started.returncode == 1 and "it is a pipe (FIFO)" in started.stderr
    assert "Traceback" not in started.stderr


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.mkdir(), "it is a folder"),
        (lambda p: p.symlink_to(p.parent / "gone.yaml"), "it is a symbolic link to something "
                                                         "that does not exist"),
        (lambda p: p.symlink_to(p), "it is a symbolic link that loops back on itself"),
        (lambda p: p.write_text("# x\n" * 300_000), "it is larger than 1 MB"),
    ],
    ids=["folder", "dangling-link", "link-loop", "oversized"],
)
def test_what_is_not_a_readable_file_is_a_d008(folder: Path, make: object, reason: str) -> None:
    path = folder / "x.yaml"
    make(path)  # type: ignore[operator]
    for command in ("validate", "test"):
        result = relbot(command, str(folder), timeout=30)
        output = result.stdout + result.stderr
        assert result.returncode == 1 and "Traceback" not in output, output
        assert f"{path}:1:1: error D061: cannot read this file: {reason}" in output


def as_ordinary_user(work: Callable[[], str]) -> str:
    """`work()` in a forked child that is not root when the tests run as root (root reads
    every file), as a maintainer's account would be; its result comes back through a pipe."""
    if os.geteuid() != 0:
        return work()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            os.write(write, work().encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        out = pipe.read().decode()
    os.waitpid(child, 0)
    return out


def test_an_unreadable_file_is_a_d008(folder: Path) -> None:
    path = folder / "x.yaml"
    path.write_text("dialogue: x\n")
    path.chmod(0o000)

    def validate() -> str:
        return "\n".join(str(d) for d in collect([folder]))

    found = as_ordinary_user(validate)
    assert f"{path}:1:1: error D061: cannot read this file: permission denied" in found, found


def test_bytes_that_are_not_utf8_are_a_d007_with_their_position(folder: Path) -> None:
    tour = folder / "tour.yaml"
    lines = tour.read_bytes().split(b"\n")
    number = next(i for i, line in enumerate(lines) if b"Plenty of energy" in line)
    column = lines[number].index(b"Plenty")
    lines[number] = lines[number].replace(b"Plenty", b"Pl\xe9nty")  # Latin-1, not UTF-8
    tour.write_bytes(b"\n".join(lines))
    result = relbot("validate", str(folder))
    line = one_diagnostic(result, tour)
    assert line == (f"{tour}:{number + 1}:{column + 3}: error D060: this file is not UTF-8 text:"
                    " byte 0xe9 cannot be read as a character")
    started = relbot("run", env={"TELEGRAM_BOT_TOKEN": "1:x", "DIALOGUES_DIR": str(folder),
                                 "TELEGRAM_API_URL": "http://127.0.0.1:9/bot"}, timeout=30)
    assert started.returncode == 1 and "D060" in started.stderr  # never shown as "Pl�nty"


def test_a_transcript_that_cannot_be_read_is_a_diagnostic_too(folder: Path) -> None:
    broken = folder / "tests" / "x.en.yaml"
    broken.mkdir()
    result = relbot("validate", str(folder))
    assert "D061: cannot read this file: it is a folder" in one_diagnostic(result, broken)
