"""The bots the in-process benchmarks compare, each behind one small interface.

Why this exists: `bench/inprocess.py`, `bench/growth.py` and `bench/memory.py` drive the
same people through different bots; each bot here takes a raw update (`feed`) and
returns once the update is handled and every reply to it has reached the in-memory Bot
API, so a person's next move sees the whole reply.

- `EchoBot`: python-telegram-bot's Application, one handler, one call per update: the floor.
- `PtbConversation`: a ConversationHandler + PicklePersistence bot that runs relbot's
  pure core as relbot does (`bot.turn.take_turn`, `bot.tg.render.render`, the Session
  JSON in `context.user_data`) and makes the same calls directly from the handler
  (answer the press, edit the pressed message, send the messages). `flush_every_update`:
  `application.update_persistence()` after each update (as durable as relbot).
- `Relbot`: the real parts wired as `bot.tg.app._serve_with_store` wires them, with the
  in-memory API: a SQLite store (with its data key, as `relbot run` opens it), ExtBot,
  Conversation, Router, Receiver, Sender; raw updates go to `Receiver.receive` (as the
  webhook hands them over). Telegram's limits are switched off (an unlimited budget and
  per-chat pacing): they are Telegram's cost, not ours. `build_sender` is the one place
  that knows the Sender's constructor.
"""

from __future__ import annotations

import asyncio
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from inmemory_api import TOKEN, InMemoryBotApi
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    ConversationHandler,
    ExtBot,
    MessageHandler,
    PicklePersistence,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.conversation import Conversation
from bot.core.compile import CompiledBundle
from bot.core.types import Event, IntentInvoked, Session, Started, Typed, decode_callback
from bot.outbox import PressedMessage
from bot.privacy.keyring import KeyRing, new_key_entry
from bot.safety import Screen
from bot.storage import Store, open_store
from bot.tg.handlers import INTENT_COMMANDS, Router
from bot.tg.pacing import SendBudget
from bot.tg.receiver import Receiver, Verdict
from bot.tg.render import render
from bot.tg.sender import Sender
from bot.turn import take_turn

__all__ = ["EchoBot", "PtbConversation", "Relbot", "Variant", "bench_keys", "build_sender"]

UNLIMITED = 1e9  # per-chat pacing off: Telegram's limits are not our cost
_KEY = new_key_entry("bench")  # one data key per process: any store can reopen any file


def bench_keys() -> KeyRing:
    """The data key every bench store uses (relbot run has one from its key file)."""
    return KeyRing.parse(_KEY)


class Variant(Protocol):
    name: str
    api: InMemoryBotApi

    async def start(self) -> None: ...
    async def feed(self, raw: dict[str, Any]) -> None: ...
    async def stop(self) -> None: ...


# --- python-telegram-bot's Application --------------------------------------------------


class _Application:
    """Shared by the two python-telegram-bot variants: build, start, feed, stop."""

    name = ""
    app: Application[Any, Any, Any, Any, Any, Any]

    def __init__(self) -> None:
        self.api = InMemoryBotApi()

    def _builder(self) -> Any:
        return Application.builder().token(TOKEN).request(self.api).updater(None)

    async def start(self) -> None:
        await self.app.initialize()
        await self.app.start()

    async def feed(self, raw: dict[str, Any]) -> None:
        """What the Application's update fetcher does with an update from its queue."""
        update = Update.de_json(raw, self.app.bot)
        await self.app.update_processor.process_update(update, self._process(update))

    async def _process(self, update: Update) -> None:
        await self.app.process_update(update)

    async def stop(self) -> None:
        await self.app.stop()
        await self.app.shutdown()


class EchoBot(_Application):
    """One handler, one call per update: a message is echoed, a press is answered."""

    name = "(a) PTB echo bot"

    def __init__(self) -> None:
        super().__init__()
        self.app = self._builder().build()
        self.app.add_handler(TypeHandler(Update, self._echo))

    @staticmethod
    async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            await update.callback_query.answer()
        elif update.effective_message is not None and update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id,
                                           update.effective_message.text or "?")


TALKING = 0


class PtbConversation(_Application):
    """relbot's core inside a ConversationHandler, its session in PicklePersistence."""

    def __init__(self, compiled: CompiledBundle, screen: Screen, pickle: Path, *,
                 flush_every_update: bool) -> None:
        super().__init__()
        self.compiled, self.screen = compiled, screen
        self.flush_every_update = flush_every_update
        self.name = ("(c) PTB conversation, flushed every update" if flush_every_update
                     else "(b) PTB conversation + PicklePersistence (60 s)")
        persistence = PicklePersistence(pickle, update_interval=60)
        self.app = self._builder().persistence(persistence).build()
        with warnings.catch_warnings():  # per_message=False with a CallbackQueryHandler
            warnings.simplefilter("ignore", PTBUserWarning)
            handler = ConversationHandler(
                entry_points=[MessageHandler(filters.COMMAND, self._turn)],
                states={TALKING: [MessageHandler(filters.TEXT, self._turn),
                                  CallbackQueryHandler(self._turn)]},
                fallbacks=[], name="dialogue", persistent=True)
        self.app.add_handler(handler)

    async def _process(self, update: Update) -> None:
        await self.app.process_update(update)
        if self.flush_every_update:
            await self.app.update_persistence()

    def _event(self, update: Update) -> tuple[Event | None, PressedMessage | None]:
        query = update.callback_query
        if query is not None:
            message = query.message
            pressed = PressedMessage(message.message_id, getattr(message, "text", "") or "")
            return decode_callback(query.data or ""), pressed
        text = update.effective_message.text if update.effective_message else None
        if text is None:
            return None, None
        if text.startswith("/"):
            name = text[1:].split()[0].split("@")[0].lower()
            if name == "start":
                return Started(None), None
            if name in INTENT_COMMANDS:
                return IntentInvoked(name), None
        return Typed(text), None

    async def _turn(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """Conversation.handle without the store: session in, take_turn, render, calls out."""
        assert update.effective_chat is not None and context.user_data is not None
        chat_id = update.effective_chat.id
        event, pressed = self._event(update)
        session = Session.from_json(context.user_data.get("session"))
        if "language" not in session.vars:
            session = replace(session, vars={**session.vars, "language": "en"})
        calls = []
        if event is not None:
            turn = take_turn(self.compiled, self.screen, session, event)
            session = turn.session
            calls = render(turn.outputs, chat_id, session.step, pressed)
        context.user_data["session"] = session.to_json()
        if update.callback_query is not None:
            await update.callback_query.answer()
        for call in calls:
            await _typed_call(context.bot, call.method, call.params)
        return TALKING


async def _typed_call(bot: Any, method: str, params: dict[str, Any]) -> None:
    """A stored call made as relbot's Sender makes it (the Bot's typed method)."""
    kwargs = dict(params)
    if isinstance(kwargs.get("reply_markup"), dict):
        kwargs["reply_markup"] = InlineKeyboardMarkup.de_json(kwargs["reply_markup"], bot)
    await getattr(bot, method)(**kwargs)


# --- relbot -----------------------------------------------------------------------------


def build_sender(bot: ExtBot[None], store: Store) -> Sender:
    """The Sender as `bot.tg.app` builds it, with Telegram's per-chat pacing switched off.
    (The one place to adapt when Sender's constructor changes.)"""
    return Sender(bot, store, rate=UNLIMITED, burst=int(UNLIMITED),
                  budget=SendBudget(UNLIMITED, UNLIMITED))


class Relbot:
    """relbot's own parts, wired by hand (see the module docstring)."""

    name = "(d) relbot, SQLite, durable per step"

    def __init__(self, compiled: CompiledBundle, screen: Screen, database: Path, *,
                 keep_chats: bool = True,
                 clock: Any = None) -> None:
        self.api = InMemoryBotApi(keep_chats=keep_chats)
        # A data key, as `relbot run` has (there from a key file): sessions are sealed.
        self.store = open_store(f"sqlite:///{database}", clock=clock,
                                keys=bench_keys())
        self.bot: ExtBot[None] = ExtBot(TOKEN, request=self.api, get_updates_request=self.api)
        self.sender = build_sender(self.bot, self.store)
        self.conversation = Conversation(self.store, compiled, screen, render)
        self.router = Router(self.conversation, self.sender)
        self.receiver = Receiver(self.router, self.bot)
        self.verdicts: dict[Verdict, int] = dict.fromkeys(Verdict, 0)

    async def start(self) -> None:
        await self.store.open()
        await self.bot.initialize()
        await self.sender.start()

    async def feed(self, raw: dict[str, Any]) -> None:
        """Received (as the webhook hands it over), then every reply to it sent."""
        verdict = await self.receiver.receive(raw)
        self.verdicts[verdict] += 1
        body = raw.get("message") or raw.get("callback_query") or {}
        await self.settled(int(body["from"]["id"]))

    async def settled(self, chat_id: int) -> None:
        """Until the chat's outbox drain has finished (a drain kicked again is awaited too)."""
        while (task := self.sender._tasks.get(chat_id)) is not None:
            await asyncio.shield(task)

    async def stop(self) -> None:
        await self.sender.close()
        await self.bot.shutdown()
        await self.store.close()
