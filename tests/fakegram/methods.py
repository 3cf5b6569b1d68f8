"""The Bot API methods the fake implements, with Telegram's validation and error texts.

Why this module exists: this is the "what does Telegram answer" half of the fake, kept
apart from the HTTP plumbing (``wire``/``server``) and from the test-facing helpers. Each
method validates its parameters the way the real Bot API does (in roughly the same order:
formatting and markup first, then the chat, then limits, then blocked users), changes
``State`` and returns the ``result`` object. Errors are raised as ``ApiError``.

All methods except getUpdates run with ``State.lock`` held; getUpdates holds it too but
sleeps on ``State.cond`` (which releases it) while it long-polls.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from .formatting import render
from .markup import inline_only, validate_markup
from .polling import Ok, UpdateMethods
from .records import (
    ApiError,
    BotMessage,
    CallbackAnswer,
    ChatAction,
    JSONDict,
    MessageState,
    UploadedFile,
)
from .state import BLOCKED, Chat
from .wire import FileTuple, Params

MAX_TEXT = 4096
MAX_CAPTION = 1024
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}
METHOD_NAMES = [
    "getMe",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "sendChatAction",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendDocument",
    "sendPhoto",
    "close",
    "logOut",
]
CANONICAL = {name.lower(): name for name in METHOD_NAMES}


def _scope_key(scope: Any) -> str:
    if not isinstance(scope, dict):
        return "default"
    extra = [str(scope[k]) for k in ("chat_id", "user_id") if k in scope]
    return ":".join([str(scope.get("type", "default")), *extra])


class Methods(UpdateMethods):
    """Every implemented method; dispatched by lower-cased name to ``m_<name>``."""

    def call(self, method: str, p: Params, files: dict[str, FileTuple]) -> Ok:
        """Run one (non-getUpdates) method; the caller holds the state lock."""
        handler: Callable[[Params, dict[str, FileTuple]], Any] = getattr(
            self, "m_" + method.lower()
        )
        result = handler(p, files)
        return result if isinstance(result, Ok) else Ok(result)

    # ---- helpers -----------------------------------------------------------------------------
    def _reachable(self, chat: Chat) -> None:
        if chat.blocked:
            if chat.type == "private":
                raise ApiError(403, BLOCKED)
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat.type} chat")

    def _chat(self, p: Params) -> Chat:
        raw = p.get_str("chat_id")
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat = None
        if raw.startswith("@"):
            chat = next((c for c in self.s.chats.values() if c.username == raw[1:]), None)
        elif re.fullmatch(r"-?\d+", raw):
            chat = self.s.chats.get(int(raw))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _reply_to(self, p: Params, chat: Chat) -> int | None:
        reply = p.get_json("reply_parameters")
        message_id = p.get_int("reply_to_message_id")
        allow = p.get_bool("allow_sending_without_reply")
        if isinstance(reply, dict):
            message_id = reply.get("message_id", message_id)
            allow = allow or bool(reply.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        known = (chat.id, message_id) in self.s.user_messages or self.s.bot_message(
            chat.id, message_id
        )
        if not known and not allow:
            raise ApiError(400, "Bad Request: message to be replied not found")
        return message_id if known else None

    def _new_message(self, chat: Chat, **fields: Any) -> BotMessage:
        message = BotMessage(
            message_id=chat.next_message_id, chat_id=chat.id, date=self.s.today(), **fields
        )
        chat.next_message_id += 1
        self.s.messages.setdefault(chat.id, {})[message.message_id] = message
        return message

    def _edit_target(self, p: Params, chat: Chat) -> BotMessage:
        message_id = p.get_int("message_id")
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self.s.bot_message(chat.id, message_id)
        if message is None:
            if (chat.id, message_id) in self.s.user_messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    # ---- bot identity and lifecycle ------------------------------------------------------------
    def m_getme(self, p: Params, files: dict[str, FileTuple]) -> JSONDict:
        return self.s.bot_user(full=True)

    def m_close(self, p: Params, files: dict[str, FileTuple]) -> bool:
        return True

    def m_logout(self, p: Params, files: dict[str, FileTuple]) -> bool:
        return True

    # ---- messages --------------------------------------------------------------------------------
    def m_sendmessage(self, p: Params, files: dict[str, FileTuple]) -> JSONDict:
        text = p.get_str("text") or ""
        parse_mode = p.get_str("parse_mode")
        visible, entities = render(text, parse_mode, p.get_json("entities"))
        if not visible:
            raise ApiError(400, "Bad Request: message text is empty")
        markup = validate_markup(p.get_json("reply_markup"))
        chat = self._chat(p)
        if len(visible) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        reply_to = self._reply_to(p, chat)
        self._reachable(chat)
        message = self._new_message(
            chat,
            kind="text",
            text=visible,
            source_text=text,
            parse_mode=parse_mode,
            reply_markup=markup,
            entities=entities,
            reply_to_message_id=reply_to,
        )
        return self.s.message_dict(message)

    def m_editmessagetext(self, p: Params, files: dict[str, FileTuple]) -> JSONDict:
        text = p.get_str("text") or ""
        parse_mode = p.get_str("parse_mode")
        visible, entities = render(text, parse_mode, p.get_json("entities"))
        if not visible:
            raise ApiError(400, "Bad Request: message text is empty")
        markup = inline_only(validate_markup(p.get_json("reply_markup")))
        if p.has("inline_message_id"):
            raise ApiError(400, "Bad Request: message to edit not found")
        chat = self._chat(p)
        message = self._edit_target(p, chat)
        if message.kind != "text":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if len(visible) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        self._reachable(chat)
        if (visible, entities, markup) == (message.text, message.entities, message.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        message.history.append(MessageState(message.text, message.reply_markup, message.edit_date))
        message.text, message.entities, message.source_text = visible, entities, text
        message.parse_mode, message.reply_markup = parse_mode, markup
        message.edit_date = self.s.today()
        return self.s.message_dict(message)

    def m_editmessagereplymarkup(self, p: Params, files: dict[str, FileTuple]) -> JSONDict:
        markup = inline_only(validate_markup(p.get_json("reply_markup")))
        if p.has("inline_message_id"):
            raise ApiError(400, "Bad Request: message to edit not found")
        chat = self._chat(p)
        message = self._edit_target(p, chat)
        self._reachable(chat)
        if markup == message.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        message.history.append(MessageState(message.text, message.reply_markup, message.edit_date))
        message.reply_markup = markup
        return self.s.message_dict(message)

    def m_deletemessage(self, p: Params, files: dict[str, FileTuple]) -> bool:
        chat = self._chat(p)
        message_id = p.get_int("message_id")
        message = self.s.bot_message(chat.id, message_id or 0)
        if message is not None:
            message.deleted = True
            return True
        if self.s.user_messages.pop((chat.id, message_id or 0), None) is not None:
            return True
        raise ApiError(400, "Bad Request: message to delete not found")

    def _send_file(self, p: Params, files: dict[str, FileTuple], kind: str) -> JSONDict:
        chat = self._chat(p)
        seq = self.s.next_seq()
        file_id = f"{'BQACAgIAAxkD' if kind == 'document' else 'AgACAgIAAxkD'}FAKE{seq:06d}"
        raw = p.get_str(kind) or ""
        part = files.get(raw.removeprefix("attach://")) if raw.startswith("attach://") else None
        part = part or files.get(kind)
        if part is not None:
            filename, content, mime = part
            if not content:
                raise ApiError(400, "Bad Request: file must be non-empty")
            upload = UploadedFile(kind, filename, content, mime, file_id, kind=kind)
        elif raw:
            upload = UploadedFile(kind, None, None, None, raw, reference=raw, kind=kind)
        else:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        caption_src = p.get_str("caption") or ""
        parse_mode = p.get_str("parse_mode")
        caption, entities = render(caption_src, parse_mode, p.get_json("caption_entities"))
        if len(caption) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        markup = validate_markup(p.get_json("reply_markup"))
        reply_to = self._reply_to(p, chat)
        self._reachable(chat)
        message = self._new_message(
            chat,
            kind=kind,
            text=caption,
            source_text=caption_src,
            parse_mode=parse_mode,
            reply_markup=markup,
            entities=entities,
            file=upload,
            reply_to_message_id=reply_to,
        )
        upload.caption, upload.chat_id, upload.message_id = caption, chat.id, message.message_id
        self.s.records.uploads.append(upload)
        return self.s.message_dict(message)

    def m_senddocument(self, p: Params, files: dict[str, FileTuple]) -> JSONDict:
        return self._send_file(p, files, "document")

    def m_sendphoto(self, p: Params, files: dict[str, FileTuple]) -> JSONDict:
        return self._send_file(p, files, "photo")

    def m_sendchataction(self, p: Params, files: dict[str, FileTuple]) -> bool:
        chat = self._chat(p)
        action = p.get_str("action") or ""
        if action not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self._reachable(chat)
        self.s.records.chat_actions.append(ChatAction(chat.id, action, time.time()))
        return True

    # ---- callback queries ------------------------------------------------------------------------
    def m_answercallbackquery(self, p: Params, files: dict[str, FileTuple]) -> bool:
        query = self.s.callback_queries.get(p.get_str("callback_query_id") or "")
        if (
            query is None
            or query.answered
            or self.s.now() - query.created > self.s.callback_timeout
        ):
            raise ApiError(400, QUERY_TOO_OLD)
        text = p.get_str("text")
        if text is not None and len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query.answered = True
        self.s.records.callback_answers.append(
            CallbackAnswer(
                callback_query_id=query.id,
                user_id=query.user_id,
                message_id=query.message_id,
                data=query.data,
                text=text,
                show_alert=p.get_bool("show_alert"),
                url=p.get_str("url"),
                cache_time=p.get_int("cache_time"),
            )
        )
        return True

    # ---- commands --------------------------------------------------------------------------------
    def m_setmycommands(self, p: Params, files: dict[str, FileTuple]) -> bool:
        commands = p.get_json("commands")
        if not isinstance(commands, list):
            raise ApiError(400, 'Bad Request: parameter "commands" is required')
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands specified")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError(400, "Bad Request: BotCommand must be an Object")
            name = str(command.get("command", "")).removeprefix("/")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not 1 <= len(description.strip()) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = (_scope_key(p.get_json("scope")), p.get_str("language_code") or "")
        self.s.commands[key] = cleaned
        return True

    def m_getmycommands(self, p: Params, files: dict[str, FileTuple]) -> list[JSONDict]:
        key = (_scope_key(p.get_json("scope")), p.get_str("language_code") or "")
        return [dict(c) for c in self.s.commands.get(key, [])]

    def m_deletemycommands(self, p: Params, files: dict[str, FileTuple]) -> bool:
        key = (_scope_key(p.get_json("scope")), p.get_str("language_code") or "")
        self.s.commands.pop(key, None)
        return True
