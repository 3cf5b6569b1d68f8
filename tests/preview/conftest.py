"""Fixtures for the browser tests: a real `relbot preview` process and Debian's Chromium.

Playwright drives `/usr/bin/chromium` (never a browser of its own: there is no internet),
headless, with a fresh profile per test module. Playwright's sync API runs its own event
loop while open, so the browser is closed at the end of each module, before any
asyncio test elsewhere runs. Screenshots go to a temporary folder
whose path is printed; the README's come from there (`docs/images/`).
"""

from __future__ import annotations

import selectors
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")  # closed before other modules' asyncio tests run
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    assert CHROMIUM.exists(), "install Debian's chromium (apt-get install -y chromium)"
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS,
            viewport={"width": 1440, "height": 900})
        yield context
        context.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\npreview screenshots: {folder}")
    return folder


@dataclass
class Server:
    url: str
    path: Path
    process: subprocess.Popen[str]


def start_server(path: Path) -> Server:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "preview", str(path), "--port", "0"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=30)
    line = process.stdout.readline() if ready else ""
    if "http://" not in line:
        process.kill()
        process.communicate()
        raise AssertionError(f"relbot preview did not start: {line!r}")
    url = line.split("http://", 1)[1].split("/", 1)[0]
    return Server(f"http://{url}/", path, process)


@pytest.fixture
def module_file(tmp_path: Path) -> Path:
    """A copy of the shipped daily check-in, outside dialogues/, as an author edits it."""
    copy = tmp_path / "daily_checkin.yaml"
    shutil.copy(ROOT / "dialogues" / "daily_checkin.yaml", copy)
    return copy


@pytest.fixture
def server(module_file: Path) -> Iterator[Server]:
    started = start_server(module_file)
    yield started
    started.process.terminate()
    try:
        started.process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        started.process.kill()
        started.process.communicate()


@pytest.fixture
def page(browser: BrowserContext, server: Server) -> Iterator[Page]:
    opened = browser.new_page()
    outside: list[str] = []
    opened.on("request", lambda r: None if r.url.startswith(server.url) else outside.append(r.url))
    opened.goto(server.url)
    yield opened
    opened.close()
    assert outside == [], f"the page reached outside the preview server: {outside}"
