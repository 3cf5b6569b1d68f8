"""Plain records the fake Telegram server keeps and hands back to tests.

Why this module exists: the server, the method implementations and the tests all talk
about the same few things (an API call, a message the bot sent, an uploaded file, a
webhook delivery attempt...). Keeping them as small dataclasses in one place gives the
tests a stable, typed vocabulary that does not depend on the server's internals. Every
read-back method of ``FakeTelegram`` returns *copies* of these, so a test can never
mutate the server's state by accident.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

Button = tuple[str, str | None]
"""One inline button as (visible text, callback_data); callback_data is None for URL buttons."""

ButtonRows = list[list[Button]]

JSONDict = dict[str, Any]


class ApiError(Exception):
    """A Bot API error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None):
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def buttons_of(markup: JSONDict | None) -> ButtonRows:
    """The inline keyboard of a reply_markup as rows of (text, callback_data)."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        [(str(button.get("text", "")), button.get("callback_data")) for button in row]
        for row in markup["inline_keyboard"]
    ]


@dataclass
class UploadedFile:
    """A file the bot uploaded (multipart) or referenced by file_id/URL."""

    field: str
    filename: str | None
    content: bytes | None
    mime_type: str | None
    file_id: str
    reference: str | None = None
    """The file_id or URL string when the bot did not upload bytes."""
    caption: str | None = None
    chat_id: int | None = None
    message_id: int | None = None
    kind: str = "document"

    @property
    def size(self) -> int:
        return len(self.content or b"")


@dataclass
class MessageState:
    """One earlier state of a bot message, kept in its edit history."""

    text: str | None
    reply_markup: JSONDict | None
    edit_date: int | None

    @property
    def buttons(self) -> ButtonRows:
        return buttons_of(self.reply_markup)


@dataclass
class BotMessage:
    """A message the bot sent, in its CURRENT state (after all edits)."""

    message_id: int
    chat_id: int
    date: int
    kind: str
    """"text", "document" or "photo"."""
    text: str | None
    """What the user sees: the text (or the caption), formatting tags removed."""
    source_text: str | None
    """The text exactly as the bot sent it (before parse_mode processing)."""
    parse_mode: str | None
    reply_markup: JSONDict | None
    entities: list[JSONDict] = field(default_factory=list)
    edit_date: int | None = None
    history: list[MessageState] = field(default_factory=list)
    """Earlier states, oldest first; empty if the message was never edited."""
    file: UploadedFile | None = None
    deleted: bool = False
    reply_to_message_id: int | None = None

    @property
    def buttons(self) -> ButtonRows:
        return buttons_of(self.reply_markup)

    @property
    def button_texts(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]

    @property
    def callback_data(self) -> list[str]:
        return [data for row in self.buttons for _, data in row if data is not None]

    def copy(self) -> BotMessage:
        return copy.deepcopy(self)


@dataclass
class ApiCall:
    """One HTTP request to the Bot API as the fake server saw it."""

    method: str
    params: JSONDict
    """Parameters, normalised: JSON fields decoded, numeric ids as int, flags as bool."""
    raw_params: dict[str, Any]
    """Parameters exactly as received (strings for form/multipart encodings)."""
    files: dict[str, UploadedFile]
    encoding: str
    """"form", "multipart", "json", "query" or "empty"."""
    status: int | None = None
    """HTTP status answered; None if no answer was written (stalled+discarded, dropped)."""
    response: JSONDict | None = None
    started: float = 0.0
    finished: float | None = None
    outcome: str = "answered"
    """"answered", "unanswered" (applied, but the client left before a stalled answer),
    "dropped" (connection cut) or "gone" (a long poll whose client left)."""

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def description(self) -> str | None:
        return None if self.response is None else self.response.get("description")


@dataclass
class CallbackAnswer:
    """A successful answerCallbackQuery."""

    callback_query_id: str
    user_id: int
    message_id: int | None
    data: str | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass
class ChatAction:
    chat_id: int
    action: str
    at: float


@dataclass
class WebhookAttempt:
    """One POST of an update to the webhook URL."""

    update_id: int
    attempt: int
    url: str
    secret_token: str | None
    status: int | None
    """HTTP status the webhook answered, None on a connection error."""
    error: str | None
    at: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class StallRecord:
    """What happened to a request held by ``FakeTelegram.stall``."""

    method: str
    params: JSONDict
    applied: bool
    """Always True: Telegram applies a call when it receives it, however late it answers."""
    at: float
    answered: bool = True
    """False: the client gave up or died before the answer, so it cannot know the call
    took effect."""
