"""One generic handler: a Telegram update becomes an engine event (or a notice).

Not one handler per state and no ConversationHandler: every update goes through
`Router.handle`, which reduces it to an `Incoming` for `Conversation.handle` (the
single place where state changes), answers button presses at once, and wakes the
sender. Anything unexpected (stickers, photos, edits, groups, forged buttons) gets a
polite answer or is ignored, and never raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Bot, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.conversation import Conversation, Incoming
from bot.core.types import IntentInvoked, LanguageSet, Started, Typed, decode_callback
from bot.privacy.desk import PrivacyDesk, parse_delete_data
from bot.tg.render import CHOSEN_MARK, ApiCall, PressedMessage
from bot.tg.sender import Sender

__all__ = ["ALLOWED_UPDATES", "COMMANDS", "LANGUAGE_NAMES", "Router"]

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
INTENT_COMMANDS = ("help", "cancel", "back", "restart", "menu", "sos")
COMMANDS = ("start", "menu", "help", "back", "cancel", "restart", "language", "sos",
            "privacy", "export", "delete")
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


class Router:
    def __init__(self, conversation: Conversation, sender: Sender, *,
                 retention_days: int = 365) -> None:
        self.conversation = conversation
        self.sender = sender
        self.compiled = conversation.compiled
        self.retention_days = retention_days
        self.desk = PrivacyDesk(conversation.store, conversation.compiled,
                                conversation.language_for)

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """python-telegram-bot's entry point (a TypeHandler for every Update)."""
        await self.handle(update, context.bot)

    def text(self, key: str, language: str) -> str:
        return self.compiled.string(key, language)

    def notice(self, chat_id: int, key: str, buttons: list[tuple[str, str]] | None = None,
               *, keys: bool = True, **values: Any) -> Callable[[str], ApiCall]:
        """A reply in the person's language, built once the conversation knows it (their
        stored choice). Buttons are (callback_data, label string key, or label if not keys)."""

        def build(language: str) -> ApiCall:
            text = self.compiled.string(key, language, **values)
            params: dict[str, Any] = {"chat_id": chat_id, "text": text}
            if buttons:
                params["reply_markup"] = {"inline_keyboard": [
                    [{"text": self.text(label, language) if keys else label,
                      "callback_data": data}] for data, label in buttons]}
            return ApiCall("sendMessage", params)

        return build

    async def handle_or_apologise(self, update: Update, bot: Bot) -> None:
        """Polling mode: an update that cannot be applied gets a kind reply, not silence.

        (Telegram does not redeliver in polling mode; the person can simply try again.
        Webhook mode calls `handle` and answers 500 instead, so Telegram retries.)
        """
        try:
            await self.handle(update, bot)
        except Exception:
            log.exception("update could not be applied")
            chat, user = update.effective_chat, update.effective_user
            if chat is not None and chat.type == ChatType.PRIVATE:
                language = self.conversation.language_for(
                    None, user.language_code if user else None)
                await _send(bot, chat.id, self.text("error", language))
            if update.callback_query is not None:
                await _answer(bot, update.callback_query.id, None)

    async def handle(self, update: Update, bot: Bot) -> None:
        if update.my_chat_member is not None:
            await self.member_changed(update)
        elif update.callback_query is not None:
            await self.pressed(update, bot)
        elif update.message is not None:
            await self.message(update, bot)
        # edited messages and anything else: deliberately ignored

    async def member_changed(self, update: Update) -> None:
        member = update.my_chat_member
        if member is None or member.chat.type != ChatType.PRIVATE:
            return
        blocked = member.new_chat_member.status in ("kicked", "left")
        await self.conversation.store.set_unreachable(member.chat.id, blocked)
        if not blocked:
            self.sender.kick(member.chat.id)

    async def pressed(self, update: Update, bot: Bot) -> None:
        query = update.callback_query
        assert query is not None
        message = query.message
        user = query.from_user
        if message is None or message.chat.type != ChatType.PRIVATE:
            await _answer(bot, query.id, None)
            return
        chat_id = message.chat.id
        data = query.data or ""
        fallback = self.conversation.language_for(None, user.language_code)
        base = dict(update_id=update.update_id, user_id=user.id, chat_id=chat_id,
                    language_code=user.language_code)
        if data.startswith("lang:") and data[5:] not in self.compiled.config.languages:
            await _answer(bot, query.id, self.text("stale_button", fallback))  # forged
            return
        if data.startswith("lang:"):
            code = data[5:]  # the prompt shows the choice and loses its keyboard, like any
            chosen = ApiCall("editMessageText", {  # other question whose button was pressed
                "chat_id": chat_id, "message_id": message.message_id,
                "text": f"{_text_of(message)}\n\n{CHOSEN_MARK} {LANGUAGE_NAMES.get(code, code)}"})
            handled = await self.conversation.handle(Incoming(
                **base, event=LanguageSet(code), extra=(chosen,),
                pressed=PressedMessage(message.message_id, _text_of(message))))
            await _answer(bot, query.id, None)
        elif data.startswith("privacy:"):
            await self.delete_answered(bot, query.id, data, base, message.message_id)
            return
        else:
            press = decode_callback(data)
            if press is None:  # forged or foreign data: nothing changes
                await _answer(bot, query.id, self.text("stale_button", fallback))
                return
            handled = await self.conversation.handle(Incoming(
                **base, event=press,
                pressed=PressedMessage(message.message_id, _text_of(message))))
            await _answer(bot, query.id, handled.stale_text)
        self.sender.kick(chat_id, urgent=handled.urgent)

    async def message(self, update: Update, bot: Bot) -> None:
        message = update.message
        assert message is not None
        user = message.from_user
        if user is None:
            return
        language = self.conversation.language_for(None, user.language_code)
        if message.chat.type != ChatType.PRIVATE:
            if (message.text or "").startswith("/start"):
                await _send(bot, message.chat.id, self.text("group_chat", language))
            return
        chat_id = message.chat.id
        base = dict(update_id=update.update_id, user_id=user.id, chat_id=chat_id,
                    language_code=user.language_code)
        text = message.text
        command = text.split()[0].split("@")[0].lower() if text and text[0] == "/" else ""
        if command in ("/export", "/delete"):
            action = self.desk.export if command == "/export" else self.desk.ask_delete
            await action(update.update_id, user.id, chat_id, user.language_code)
            self.sender.kick(chat_id)
            return
        if text is None:
            incoming = Incoming(**base, extra=(self.notice(chat_id, "unsupported"),))
        elif text.startswith("/"):
            incoming = self.command(text, base, chat_id)
        else:
            incoming = Incoming(**base, event=Typed(text))
        handled = await self.conversation.handle(incoming)
        self.sender.kick(chat_id, urgent=handled.urgent)

    def command(self, text: str, base: dict[str, Any], chat_id: int) -> Incoming:
        head, _, payload = text.partition(" ")
        name = head[1:].split("@")[0].lower()
        payload = payload.strip()
        if name == "start":
            module = payload if payload in self.compiled.dialogues else None
            return Incoming(**base, event=Started(module))
        if name in INTENT_COMMANDS:
            return Incoming(**base, event=IntentInvoked(name))
        if name == "language":
            buttons = [(f"lang:{code}", LANGUAGE_NAMES.get(code, code))
                       for code in self.compiled.config.languages]
            return Incoming(**base, extra=(
                self.notice(chat_id, "language_prompt", buttons, keys=False),))
        if name == "privacy":
            return Incoming(**base, extra=(
                self.notice(chat_id, "privacy", days=self.retention_days),))
        return Incoming(**base, event=Typed(text))

    async def delete_answered(self, bot: Bot, query_id: str, data: str,
                              base: dict[str, Any], message_id: int) -> None:
        """A press on a /delete confirmation: only the newest, unexpired one acts."""
        parsed = parse_delete_data(data)
        if parsed is None:  # forged, or a button from before confirmations had tokens
            fallback = self.conversation.language_for(None, base["language_code"])
            await _answer(bot, query_id, self.text("stale_button", fallback))
            return
        answer, token = parsed
        notice = await self.desk.answer_delete(
            base["update_id"], base["user_id"], base["chat_id"], base["language_code"],
            message_id, answer, token)
        await _answer(bot, query_id, notice)
        self.sender.kick(base["chat_id"])


def _text_of(message: Any) -> str:
    return getattr(message, "text", None) or ""


async def _answer(bot: Bot, query_id: str, text: str | None) -> None:
    """Answer a button press; a query that is too old is not an error."""
    try:
        await bot.answer_callback_query(query_id, text=text)
    except BadRequest as exc:
        if "query is too old" not in exc.message.lower():
            log.warning("answerCallbackQuery failed: %s", exc.message)
    except TelegramError as exc:
        log.warning("answerCallbackQuery failed: %s", type(exc).__name__)


async def _send(bot: Bot, chat_id: int, text: str) -> None:
    try:
        await bot.send_message(chat_id, text)
    except TelegramError as exc:
        log.warning("send failed: %s", type(exc).__name__)
