"""The fake Telegram's world: chats, messages, the update queue, and their JSON shapes.

Why this module exists: the HTTP side (bot calls), the test side (injected user actions,
read-back, waits) and the webhook delivery thread all read and change the same data from
different threads. ``State`` owns that data, one re-entrant lock and one condition
variable (notified on every change, which is what long polls and ``wait_for`` sleep on),
and it is the single place that knows how Telegram shapes users, chats, messages and
update objects so that python-telegram-bot parses them into its real classes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .records import (
    ApiCall,
    ApiError,
    BotMessage,
    CallbackAnswer,
    ChatAction,
    JSONDict,
    StallRecord,
    UploadedFile,
    WebhookAttempt,
)

# Telegram's default when allowed_updates was never set (or set to an empty list).
DEFAULT_ALLOWED = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

BLOCKED = "Forbidden: bot was blocked by the user"


@dataclass
class Chat:
    id: int
    type: str
    first_name: str | None = None
    title: str | None = None
    username: str | None = None
    language_code: str | None = None
    next_message_id: int = 1
    blocked: bool = False
    member_status: str = "member"


@dataclass(eq=False)
class Entry:
    """One update waiting in the queue until confirmed (polling) or delivered (webhook)."""

    update_id: int
    payload: JSONDict
    kind: str
    forced: bool = False
    """Redelivered on purpose: survives one offset confirmation below its id."""
    served: bool = False
    attempts: int = 0
    """Webhook delivery attempts made so far."""
    delivering: bool = False
    """A webhook worker is posting it right now (others take the next one)."""


@dataclass
class CallbackQuery:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    created: float
    answered: bool = False


@dataclass
class Poll:
    """A pending long poll; ``terminated`` is set to a 409 description to end it."""

    terminated: str | None = None


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    generation: int
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class Records:
    """Everything the tests can read back."""

    calls: list[ApiCall] = field(default_factory=list)
    callback_answers: list[CallbackAnswer] = field(default_factory=list)
    chat_actions: list[ChatAction] = field(default_factory=list)
    uploads: list[UploadedFile] = field(default_factory=list)
    deliveries: list[WebhookAttempt] = field(default_factory=list)
    stalls: list[StallRecord] = field(default_factory=list)
    filtered: list[int] = field(default_factory=list)


class State:
    def __init__(
        self,
        token: str,
        bot_username: str,
        bot_first_name: str,
        *,
        callback_timeout: float,
        first_update_id: int,
    ):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 1
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.callback_timeout = callback_timeout
        self.chats: dict[int, Chat] = {}
        self.users: dict[int, JSONDict] = {}
        self.messages: dict[int, dict[int, BotMessage]] = {}
        self.user_messages: dict[tuple[int, int], JSONDict] = {}
        self.queue: list[Entry] = []
        self.history: dict[int, Entry] = {}
        self.next_update_id = first_update_id
        self.allowed: frozenset[str] = DEFAULT_ALLOWED
        self.webhook: Webhook | None = None
        self.webhook_generation = 0
        self.poll: Poll | None = None
        self.callback_queries: dict[str, CallbackQuery] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.records = Records()
        self.clock_offset = 0.0
        self.stopping = False
        self._seq = 0

    # ---- time and ids ----------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def today(self) -> int:
        return int(self.now())

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def changed(self) -> None:
        """Wake every waiter (long polls, delivery thread, wait_for)."""
        with self.cond:
            self.cond.notify_all()

    # ---- JSON shapes -----------------------------------------------------------------------
    def bot_user(self, *, full: bool = False) -> JSONDict:
        user: JSONDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }
        if full:
            user.update(
                can_join_groups=True,
                can_read_all_group_messages=False,
                supports_inline_queries=False,
                can_connect_to_business=False,
                has_main_web_app=False,
            )
        return user

    def user_dict(self, user_id: int, first_name: str, language_code: str | None) -> JSONDict:
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        return user

    def chat_dict(self, chat: Chat) -> JSONDict:
        data: JSONDict = {"id": chat.id, "type": chat.type}
        if chat.type == "private":
            data["first_name"] = chat.first_name or ""
            if chat.username:
                data["username"] = chat.username
        else:
            data["title"] = chat.title or ""
        return data

    def message_dict(self, message: BotMessage) -> JSONDict:
        chat = self.chats[message.chat_id]
        data: JSONDict = {
            "message_id": message.message_id,
            "from": self.bot_user(),
            "chat": self.chat_dict(chat),
            "date": message.date,
        }
        reply = self.user_messages.get((message.chat_id, message.reply_to_message_id or 0))
        if reply is not None:
            data["reply_to_message"] = reply
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        text_key, entities_key = "text", "entities"
        if message.kind != "text":
            text_key, entities_key = "caption", "caption_entities"
            upload = message.file
            assert upload is not None
            file_obj: JSONDict = {
                "file_id": upload.file_id,
                "file_unique_id": upload.file_id[-16:],
                "file_size": upload.size or 1024,
            }
            if message.kind == "photo":
                data["photo"] = [
                    {
                        **file_obj,
                        "file_id": f"{upload.file_id}{side}",
                        "width": side,
                        "height": side,
                    }
                    for side in (90, 320, 800)
                ]
            else:
                if upload.filename:
                    file_obj["file_name"] = upload.filename
                file_obj["mime_type"] = upload.mime_type or "application/octet-stream"
                data["document"] = file_obj
        if message.text is not None and (message.kind == "text" or message.text):
            data[text_key] = message.text
            if message.entities:
                data[entities_key] = message.entities
        if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    # ---- chats -----------------------------------------------------------------------------
    def private_chat(
        self, user_id: int, first_name: str, language_code: str | None, username: str | None
    ) -> Chat:
        chat = self.chats.get(user_id)
        if chat is None:
            chat = self.chats[user_id] = Chat(id=user_id, type="private")
        chat.first_name = first_name
        chat.language_code = language_code
        if username:
            chat.username = username
        return chat

    def group_chat(self, chat_id: int, title: str, chat_type: str) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat(id=chat_id, type=chat_type, title=title)
        return chat

    def bot_message(self, chat_id: int, message_id: int) -> BotMessage | None:
        message = self.messages.get(chat_id, {}).get(message_id)
        return None if message is None or message.deleted else message

    # ---- update queue ----------------------------------------------------------------------
    def enqueue(
        self, payload: JSONDict, *, update_id: int | None = None, force: bool = False
    ) -> int:
        kind = next(key for key in payload if key != "update_id")
        if update_id is None:
            update_id = self.next_update_id
        self.next_update_id = max(self.next_update_id, update_id + 1)
        entry = Entry(update_id=update_id, payload={"update_id": update_id, **payload}, kind=kind)
        self.history[update_id] = entry
        if kind in self.allowed or force:
            self.queue.append(entry)
        else:
            self.records.filtered.append(update_id)
        self.cond.notify_all()
        return update_id

    def requeue(self, update_id: int) -> None:
        entry = self.history.get(update_id)
        if entry is None:
            raise KeyError(f"no update {update_id} was ever injected")
        again = Entry(update_id, entry.payload, entry.kind, forced=True)
        self.queue.append(again)
        self.cond.notify_all()

    def confirm(self, offset: int) -> int:
        """Forget updates below ``offset`` as getUpdates does; returns the effective offset."""
        if offset < 0:
            if not self.queue:
                return 0
            offset = max(entry.update_id for entry in self.queue) + 1 + offset
        if offset <= 0:
            return 0
        self.queue = [
            entry
            for entry in self.queue
            if entry.update_id >= offset or (entry.forced and not entry.served)
        ]
        return offset

    def select(self, offset: int, limit: int) -> list[Entry]:
        chosen = [
            entry
            for entry in self.queue
            if entry.update_id >= offset or (entry.forced and not entry.served)
        ]
        return chosen[:limit]

    def set_allowed(self, allowed: Any) -> None:
        if allowed is None:
            return
        if not isinstance(allowed, list):
            raise ApiError(400, "Bad Request: can't parse allowed_updates JSON object")
        self.allowed = frozenset(str(x) for x in allowed) if allowed else DEFAULT_ALLOWED
