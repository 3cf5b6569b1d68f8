"""Engine outputs -> Bot API calls, as plain (method, params) pairs for the outbox.

Pure and free of the `telegram` package: the calls are stored in the outbox inside the
step's transaction and made by the sender after commit, so what gets sent is decided
once, durably. `render` is the `bot.outbox.Renderer` the Telegram adapter gives the
conversation, which itself knows no Bot API shapes. Texts longer than Telegram's 4096
characters are split on paragraph boundaries (then lines, then words); a keyboard goes
on the last part.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.core.types import Chosen, Message, Output, encode_callback
from bot.outbox import ApiCall, PressedMessage

__all__ = ["MAX_MESSAGE", "ApiCall", "PressedMessage", "keyboard", "render", "split_text"]

MAX_MESSAGE = 4096
CHOSEN_MARK = "✓"


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Parts of at most `limit` characters, cut at the largest boundary that fits."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > 0:
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return [p for p in parts if p]


def keyboard(message: Message, step: int) -> dict[str, Any]:
    columns = max(1, message.columns)
    buttons = [{"text": b.label, "callback_data": encode_callback(step, b.id)}
               for b in message.buttons]
    rows = [buttons[i:i + columns] for i in range(0, len(buttons), columns)]
    return {"inline_keyboard": rows}


def render(outputs: Iterable[Output], chat_id: int, step: int,
           pressed: PressedMessage | None = None) -> list[ApiCall]:
    """The calls that show `outputs` in a chat; `step` is the new session's step."""
    calls: list[ApiCall] = []
    for output in outputs:
        if isinstance(output, Chosen) and pressed is not None:
            edited = f"{pressed.text}\n\n{CHOSEN_MARK} {output.label}".strip()
            if len(edited) <= MAX_MESSAGE:
                calls.append(ApiCall("editMessageText", {
                    "chat_id": chat_id, "message_id": pressed.message_id, "text": edited}))
            else:
                calls.append(ApiCall("editMessageReplyMarkup", {
                    "chat_id": chat_id, "message_id": pressed.message_id}))
        elif isinstance(output, Message):
            parts = split_text(output.text) or ["…"]
            for i, part in enumerate(parts):
                params: dict[str, Any] = {"chat_id": chat_id, "text": part}
                if output.buttons and i == len(parts) - 1:
                    params["reply_markup"] = keyboard(output, step)
                calls.append(ApiCall("sendMessage", params))
    return calls
