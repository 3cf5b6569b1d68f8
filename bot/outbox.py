"""The calls an adapter makes for a turn, as plain data: (method, params) pairs.

Replies are decided inside the turn's transaction and stored in the outbox; an adapter
makes them after commit. These types are neutral on purpose: the conversation (`bot.
conversation`) builds and stores them without knowing whose API they are for, and the
Telegram adapter (`bot.tg.render`) is the one that knows Bot API shapes and injects its
`Renderer`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.core.types import Output

__all__ = ["ApiCall", "PressedMessage", "Renderer"]


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One call to make after commit, e.g. ("sendMessage", {"chat_id": 1, "text": "Hi"})."""

    method: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PressedMessage:
    """The message whose button was pressed: edited to show the choice, keyboard removed."""

    message_id: int
    text: str


#: outputs, chat id, the new session's step, the pressed message -> the calls that show them
Renderer = Callable[[Iterable[Output], int, int, PressedMessage | None], list[ApiCall]]
