"""The preview's chat, without a browser: outputs as Telegram shows them, and reloads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.core.types import Button, Message, Typed
from bot.preview.chat import PreviewChat, bubbles
from bot.preview.workspace import Workspace
from bot.safety import Screen

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Gate:  # an output type this code has never heard of (another branch adds such)
    name: str


def test_an_unknown_output_is_shown_not_dropped() -> None:
    (shown,) = bubbles((Gate("adult"),), step=3)  # type: ignore[arg-type]
    assert shown == {"kind": "notice", "text": "Gate(name='adult')"}


def test_a_long_message_is_split_as_telegram_would_with_buttons_on_the_last_part() -> None:
    text = ("word " * 900).strip() + "\n\n" + "more " * 10
    parts = bubbles((Message(text, (Button("ok", "OK"),), 2),), step=5)
    assert len(parts) == 2 and all(len(p["text"]) <= 4096 for p in parts)
    assert parts[0]["buttons"] == [] and parts[1]["buttons"] == [{"id": "ok", "label": "OK"}]
    assert parts[1]["step"] == 5 and parts[1]["columns"] == 2


def test_a_reload_keeps_the_chat_or_restarts_it_with_a_note(tmp_path: Path) -> None:
    copy = tmp_path / "daily_checkin.yaml"
    copy.write_text((ROOT / "dialogues/daily_checkin.yaml").read_text(encoding="utf-8"),
                    encoding="utf-8")
    workspace, screen = Workspace(copy), Screen.load()
    assert workspace.compiled is not None and workspace.focus == "daily_checkin"
    chat = PreviewChat("daily_checkin", "en")
    chat.start(workspace.compiled, screen)
    chat.turn(workspace.compiled, screen, Typed("4"))
    assert chat.state() == "boundary"
    chat.reloaded(workspace.compiled, screen)
    assert chat.log[-1] == {"kind": "note", "text": "reloaded: the chat stays where it was"}
    copy.write_text(copy.read_text(encoding="utf-8").replace("boundary", "limit"),
                    encoding="utf-8")
    assert workspace.poll() and workspace.diagnostics == ()
    chat.reloaded(workspace.compiled, screen)
    assert chat.state() == "mood"
    assert chat.log[0]["text"] == ("reloaded: the state daily_checkin.boundary is gone, so the "
                                   "module started again")
