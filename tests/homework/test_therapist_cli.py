"""`relbot therapist invite | list | revoke` against a real SQLite database."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.homework import parse_payload
from bot.storage import open_store


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("DATA_KEY", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME", raising=False)
    return f"sqlite:///{tmp_path}/relbot.sqlite3"


def _redeem(url: str, payload: str, user_id: int) -> bool:
    async def go() -> bool:
        parsed = parse_payload(payload)
        assert parsed is not None
        async with open_store(url) as store, store.transaction(user_id) as tx:
            return await tx.redeem_link(*parsed) is not None

    return asyncio.run(go())


def test_invite_list_revoke(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["therapist", "invite", "--name", "Dr Ana Ruiz", "--bot", "@relbot",
                 "--database-url", url]) == 0
    out = capsys.readouterr().out
    [link] = re.findall(r"https://t\.me/relbot\?start=([A-Za-z0-9_-]+)", out)
    assert f"/start {link}" in out and "Dr Ana Ruiz" in out
    assert _redeem(url, link, 4242) is True
    assert _redeem(url, link, 4343) is False  # single use

    assert main(["therapist", "list", "--database-url", url]) == 0
    listing = capsys.readouterr().out
    assert "4242\tDr Ana Ruiz" in listing and "active" in listing and "4343" not in listing

    assert main(["therapist", "revoke", "4242", "--database-url", url]) == 0
    assert "revoked therapist 4242" in capsys.readouterr().out
    assert main(["therapist", "list", "--database-url", url]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["therapist", "revoke", "4242", "--database-url", url]) == 1
    assert "no active therapist with id 4242" in capsys.readouterr().err


def test_without_a_username_the_start_form_is_enough(
        url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["therapist", "invite", "--name", "Ana", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert "t.me" not in out.replace("t.me link", "") and "--bot @yourbot" in out
    [payload] = re.findall(r"/start (\S+)", out)
    assert _redeem(url, payload, 7) is True


@pytest.mark.parametrize(("argv", "says"), [
    (["invite"], "give the therapist's name"),
    (["invite", "--name", "  "], "give the therapist's name"),
    (["invite", "--name", "Ana", "--bot", "not a bot!"], "--bot must be the bot's username"),
    (["invite", "--name", "Ana", "--days", "0"], "--days must be between 1 and 90"),
    (["revoke"], "give the therapist's Telegram id"),
])
def test_mistakes_get_one_line(url: str, capsys: pytest.CaptureFixture[str],
                               argv: list[str], says: str) -> None:
    assert main(["therapist", *argv, "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err
