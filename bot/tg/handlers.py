"""One generic handler: a Telegram update becomes an engine event (or a notice).

Not one handler per state and no ConversationHandler: every update goes through
`Router.handle`, which reduces it to an `Incoming` for `Conversation.handle` (the
single place where state changes), answers button presses at once, and wakes the
sender. Anything unexpected (stickers, photos, edits, groups, forged buttons) gets a
polite answer or is ignored. Every reply goes through the outbox, so it is retried and
sent once; only the answer to a button press (the small pop-up) is made directly.
`bot.tg.receiver` calls `handle` and, for an update that cannot be applied, `set_aside`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Bot, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot.conversation import Conversation, Incoming
from bot.core.types import IntentInvoked, LanguageSet, Started, Typed, decode_callback
from bot.privacy.desk import PrivacyDesk, parse_delete_data
from bot.tg import homework
from bot.tg.homework import HomeworkDesk
from bot.tg.render import CHOSEN_MARK, ApiCall, PressedMessage
from bot.tg.sender import Sender

__all__ = ["ALLOWED_UPDATES", "COMMANDS", "LANGUAGE_NAMES", "Router"]

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
INTENT_COMMANDS = ("help", "cancel", "back", "restart", "menu", "sos")
#: The command menu, in its order: everyone's commands, with the homework ones everybody
#: may use (/progress, /reminders, /sharing); the therapists' own are not listed (those
#: who need them are told in their welcome). bot.tg.homework routes its own.
COMMANDS = ("start", "menu", "progress", "reminders", "help", "back", "cancel", "restart",
            "language", "sos", "privacy", "sharing", "export", "delete")
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
ANSWER_TIMEOUT = 10.0  # seconds for answerCallbackQuery: the pop-up matters only at once


class Router:
    def __init__(self, conversation: Conversation, sender: Sender, *,
                 retention_days: int = 365, admin_ids: frozenset[int] = frozenset()) -> None:
        self.conversation = conversation
        self.sender = sender
        self.compiled = conversation.compiled
        self.retention_days = retention_days
        self.desk = PrivacyDesk(conversation.store, conversation.compiled,
                                conversation.language_for)
        self.homework = HomeworkDesk(conversation.store, lambda: conversation.compiled,
                                     conversation.language_for, admin_ids=admin_ids)

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

    async def set_aside(self, update_id: int, user_id: int, chat_id: int, bot: Bot, *,
                        language_code: str | None, query_id: str | None,
                        apologise: bool) -> None:
        """An update that cannot be applied: record it as seen (never its text) and, for a
        message or a press, tell the person kindly through the outbox."""
        apology = self.notice(chat_id, "error") if apologise else None
        await self.reply_outside_dialogue(update_id, user_id, chat_id, apology, language_code)
        if query_id is not None:
            await _answer(bot, query_id, None)

    async def reply_outside_dialogue(self, update_id: int, user_id: int, chat_id: int,
                                     reply: Callable[[str], ApiCall] | None,
                                     language_code: str | None) -> None:
        """Mark the update seen and queue `reply` (in the person's language) without touching
        their session: for a group chat, or an update that could not be applied."""
        async with self.conversation.store.transaction(user_id) as tx:
            if await tx.seen(update_id):
                return
            if reply is not None:
                language = self.conversation.language_for(await tx.load_user(), language_code)
                call = reply(language)
                await tx.enqueue(chat_id, call.method, call.params)
            await tx.mark_seen(update_id)
        if reply is not None:
            self.sender.kick(chat_id)

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
        if data.startswith("lang:"):
            choice = self.language_press(data)
            if choice is None:  # forged, or a keyboard from before buttons carried a step
                await _answer(bot, query.id, self.text("stale_button", fallback))
                return
            step, code = choice  # the prompt shows the choice and loses its keyboard, like
            chosen = ApiCall("editMessageText", {  # any other question whose button was pressed
                "chat_id": chat_id, "message_id": message.message_id,
                "text": f"{_text_of(message)}\n\n{CHOSEN_MARK} {LANGUAGE_NAMES.get(code, code)}"})
            handled = await self.conversation.handle(Incoming(
                **base, event=LanguageSet(code, step), extra=(chosen,),
                pressed=PressedMessage(message.message_id, _text_of(message))))
            await _answer(bot, query.id, handled.stale_text)
        elif data.startswith("privacy:"):
            await self.delete_answered(bot, query.id, data, base, message.message_id)
            return
        elif (module := self.homework.module_to_start(data)) is not None:
            if module not in self.homework.modules():  # forged, or a module since removed
                await _answer(bot, query.id, self.text("stale_button", fallback))
                return
            handled = await self.conversation.handle(Incoming(  # a reminder's "start now"
                **base, event=Started(module),
                pressed=PressedMessage(message.message_id, _text_of(message))))
            await _answer(bot, query.id, handled.stale_text)
        elif data.startswith(homework.PREFIX):
            outcome = await self.homework.pressed(data, update.update_id, user.id, chat_id,
                                                  message.message_id, user.language_code)
            await _answer(bot, query.id, outcome.popup)
            for chat in outcome.chats:
                self.sender.kick(chat)
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
        await self.after_welcome(handled.ended, user.id, chat_id)
        self.sender.kick(chat_id, urgent=handled.urgent)

    async def message(self, update: Update, bot: Bot) -> None:
        message = update.message
        assert message is not None
        user = message.from_user
        if user is None:
            return
        text = message.text
        if message.chat.type != ChatType.PRIVATE:
            if _command_name(text or "") == "start":
                await self.reply_outside_dialogue(
                    update.update_id, user.id, message.chat.id,
                    self.notice(message.chat.id, "group_chat"), user.language_code)
            return
        chat_id = message.chat.id
        base = dict(update_id=update.update_id, user_id=user.id, chat_id=chat_id,
                    language_code=user.language_code)
        command = _command_name(text or "")
        if command in ("export", "delete"):
            action = self.desk.export if command == "export" else self.desk.ask_delete
            await action(update.update_id, user.id, chat_id, user.language_code)
            self.sender.kick(chat_id)
            return
        if command in homework.COMMANDS:
            self.homework.username = self.homework.username or (bot.username or "")
            outcome = await self.homework.command(
                command, (text or "").partition(" ")[2], update.update_id, user.id, chat_id,
                user.language_code)
            for chat in outcome.chats:
                self.sender.kick(chat)
            return
        payload = (text or "").partition(" ")[2].strip()
        if command == "start" and payload[:2] in ("t_", "a_"):  # a therapist's link
            replies, new = await self.homework.open_link(user.id, payload)
            incoming = Incoming(**base, event=Started(None) if new else None,
                                extra=tuple(replies))
        elif text is None:
            incoming = Incoming(**base, extra=(self.notice(chat_id, "unsupported"),))
        elif text.startswith("/"):
            incoming = self.command(text, base, chat_id)
        else:
            incoming = Incoming(**base, event=Typed(text))
        handled = await self.conversation.handle(incoming)
        await self.after_welcome(handled.ended, user.id, chat_id)
        self.sender.kick(chat_id, urgent=handled.urgent)

    async def after_welcome(self, ended: tuple[str, ...], user_id: int, chat_id: int) -> None:
        """After modules finished: a therapist's link survives the welcome (once someone
        new has been through it, the offer they opened is shown again, right where they
        are), and therapists who asked hear that their client finished homework."""
        if self.compiled.config.start in ended:
            await self.homework.show_open_offers(user_id, chat_id)
        if ended:  # a therapist who asked is told their client finished their homework
            for chat in await self.homework.done_told(user_id, ended):
                self.sender.kick(chat)

    def language_press(self, data: str) -> tuple[int, str] | None:
        """`lang:<step>:<code>` -> (step, code), or None if forged or from an old keyboard."""
        _, _, rest = data.partition(":")
        step, _, code = rest.partition(":")
        if not (step.isascii() and step.isdigit()) or len(step) > 12:
            return None
        return (int(step), code) if code in self.compiled.config.languages else None

    def language_prompt(self, chat_id: int) -> Callable[[str, int], ApiCall]:
        """The /language keyboard; its buttons carry the session's step (a nonce)."""
        def build(language: str, step: int) -> ApiCall:
            buttons = [(f"lang:{step}:{code}", LANGUAGE_NAMES.get(code, code))
                       for code in self.compiled.config.languages]
            return self.notice(chat_id, "language_prompt", buttons, keys=False)(language)

        return build

    def command(self, text: str, base: dict[str, Any], chat_id: int) -> Incoming:
        head, _, payload = text.partition(" ")
        name = _command_name(head)
        payload = payload.strip()
        if name == "start":
            module = payload if payload in self.compiled.dialogues else None
            return Incoming(**base, event=Started(module))
        if name in INTENT_COMMANDS:
            return Incoming(**base, event=IntentInvoked(name))
        if name == "language":
            return Incoming(**base, stepped=(self.language_prompt(chat_id),))
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


def _command_name(text: str) -> str:
    """`/Start@relbot payload` -> "start"; "" for text that is not a command (including
    text that is only spaces, or a no-break space)."""
    if not text.startswith("/"):
        return ""
    head = text.split(maxsplit=1)[0] if text.split() else text
    return head[1:].split("@")[0].lower()


async def _answer(bot: Bot, query_id: str, text: str | None) -> None:
    """Answer a button press; a query that is too old is not an error."""
    try:
        await bot.answer_callback_query(query_id, text=text, read_timeout=ANSWER_TIMEOUT)
    except BadRequest as exc:
        if "query is too old" not in exc.message.lower():
            log.warning("answerCallbackQuery failed: %s", exc.message)
    except TelegramError as exc:
        log.warning("answerCallbackQuery failed: %s", type(exc).__name__)


