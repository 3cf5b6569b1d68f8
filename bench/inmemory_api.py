"""An in-memory Bot API for benchmarks: python-telegram-bot talks to it, nothing crosses a socket.

Why this exists: to measure what one update costs *us* (and python-telegram-bot), the
network and the real Telegram must be out of the picture, yet every call must still go
through python-telegram-bot's whole client path (parameters encoded, the answer parsed
from JSON bytes into objects), as it does in production. `InMemoryBotApi` is a
`telegram.request.BaseRequest` that answers each call in process with valid Bot API JSON
for the methods the bots use, and keeps what a person would see, per chat: the messages,
their current text and keyboard. The simulated people (`bench/people.py`) read that to
press the buttons the bot really sent.

    api = InMemoryBotApi()
    bot = ExtBot(TOKEN, request=api, get_updates_request=api)
    api.calls["sendMessage"]          # calls per method
    api.chats[chat_id].last_shown()   # the newest message, with its keyboard

What the client side does is what `HTTPXRequest` does before it sends (`json_parameters`,
or `multipart_data` for an upload); the "server" side's own time is summed in
`server_seconds`, so a report can say how much of a run was the fake itself.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

__all__ = ["BOT_USER", "TOKEN", "ChatLog", "InMemoryBotApi", "Shown"]

TOKEN = "123456789:bench-token-not-real"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "relbot",
            "username": "relbot_bench_bot", "can_join_groups": False,
            "can_read_all_group_messages": False, "supports_inline_queries": False}
DATE = 1_767_225_600  # a fixed date: every run answers byte for byte the same


@dataclass(slots=True)
class Shown:
    """A message the bot sent, as the person sees it now (after any edits)."""

    message_id: int
    text: str
    keyboard: list[list[dict[str, Any]]] | None = None


@dataclass(slots=True)
class ChatLog:
    """One private chat: message ids (shared by both sides, as Telegram's are) and what the
    bot showed in it."""

    chat_id: int
    next_message_id: int = 1
    shown: dict[int, Shown] = field(default_factory=dict)
    newest: int | None = None  # the message_id of the bot's newest message

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def last_shown(self) -> Shown | None:
        return self.shown.get(self.newest) if self.newest is not None else None


def _keyboard(params: dict[str, Any]) -> list[list[dict[str, Any]]] | None:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup["inline_keyboard"]
    return None


class InMemoryBotApi(BaseRequest):
    """A `BaseRequest` that is the Bot API; see the module docstring.

    `keep_chats=False` records nothing per chat (for runs with very many people that only
    count calls); message ids still increase per chat."""

    def __init__(self, *, keep_chats: bool = True) -> None:
        self.calls: Counter[str] = Counter()
        self.chats: dict[int, ChatLog] = {}
        self.keep_chats = keep_chats
        self.server_seconds = 0.0
        self._next_id: dict[int, int] = {}

    # --- BaseRequest --------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: ODVInput[float] = DEFAULT_NONE,
                         write_timeout: ODVInput[float] = DEFAULT_NONE,
                         connect_timeout: ODVInput[float] = DEFAULT_NONE,
                         pool_timeout: ODVInput[float] = DEFAULT_NONE) -> tuple[int, bytes]:
        if request_data is not None:  # what HTTPXRequest encodes before it sends
            _ = request_data.multipart_data if request_data.contains_files else \
                request_data.json_parameters
        started = time.perf_counter()
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        self.calls[name] += 1
        handler = getattr(self, "_" + name, None)
        if handler is None:
            body: dict[str, Any] = {"ok": True, "result": True}
        else:
            body = {"ok": True, "result": handler(params)}
        payload = json.dumps(body).encode()
        self.server_seconds += time.perf_counter() - started
        return 200, payload

    # --- what a person sees ---------------------------------------------------------------

    def chat(self, chat_id: int) -> ChatLog:
        log = self.chats.get(chat_id)
        if log is None:
            log = self.chats[chat_id] = ChatLog(chat_id)
        return log

    def take_message_id(self, chat_id: int) -> int:
        """The next message id in a chat (a person's own message takes one too)."""
        if self.keep_chats:
            return self.chat(chat_id).take_message_id()
        message_id = self._next_id.get(chat_id, 1)
        self._next_id[chat_id] = message_id + 1
        return message_id

    def reset(self) -> None:
        self.calls.clear()
        self.chats.clear()
        self._next_id.clear()
        self.server_seconds = 0.0

    # --- the methods ------------------------------------------------------------------

    @staticmethod
    def _message(chat_id: int, message_id: int, text: str,
                 keyboard: list[list[dict[str, Any]]] | None, **extra: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id, "from": BOT_USER, "date": DATE,
            "chat": {"id": chat_id, "type": "private", "first_name": "Person"}, **extra}
        if text:
            message["text"] = text
        if keyboard:
            message["reply_markup"] = {"inline_keyboard": keyboard}
        return message

    def _sent(self, params: dict[str, Any], text: str, **extra: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        keyboard = _keyboard(params)
        message_id = self.take_message_id(chat_id)
        if self.keep_chats:
            log = self.chat(chat_id)
            log.shown[message_id] = Shown(message_id, text, keyboard)
            log.newest = message_id
        return self._message(chat_id, message_id, text, keyboard, **extra)

    def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._sent(params, str(params.get("text", "")))

    def _sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = {"file_id": "BQAD-bench", "file_unique_id": "bench", "file_name": "export"}
        return self._sent(params, "", document=document, caption=params.get("caption", ""))

    def _edited(self, params: dict[str, Any], text: str | None) -> dict[str, Any]:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        keyboard = _keyboard(params)  # an edit without reply_markup removes the keyboard
        shown = self.chat(chat_id).shown.get(message_id) if self.keep_chats else None
        if shown is not None:
            shown.keyboard = keyboard
            if text is not None:
                shown.text = text
        current = text if text is not None else (shown.text if shown else "")
        return self._message(chat_id, message_id, current, keyboard, edit_date=DATE)

    def _editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._edited(params, str(params.get("text", "")))

    def _editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._edited(params, None)

    def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    def _getMyCommands(self, params: dict[str, Any]) -> list[Any]:
        return []

    def _deleteMessage(self, params: dict[str, Any]) -> bool:
        if self.keep_chats:
            self.chat(int(params["chat_id"])).shown.pop(int(params["message_id"]), None)
        return True

    # answerCallbackQuery, sendChatAction, setMyCommands, deleteWebhook...: `True`
