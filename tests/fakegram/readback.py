"""Read-back and waiting helpers: what did the bot do, and wait until it has done it.

Why this module exists: end-to-end tests assert on what the *user* would see (the bot's
messages in their current state, the buttons on them, the commands menu) and on how the
bot talked to Telegram (the call log, callback answers, webhook deliveries). The bot runs
in another thread or process, so tests must also wait for effects; the waits here sleep on
the server's condition variable (sync) or poll without blocking the event loop (async) and,
on timeout, fail with an AssertionError that shows what *was* received.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from typing import TypeVar

from .records import (
    ApiCall,
    BotMessage,
    CallbackAnswer,
    ChatAction,
    StallRecord,
    UploadedFile,
    WebhookAttempt,
)
from .state import State

T = TypeVar("T")


class ReadMixin:
    _state: State

    # ---- the bot's messages ------------------------------------------------------------------
    def messages(self, chat_id: int) -> list[BotMessage]:
        """The bot's messages in a chat, oldest first, in their current (edited) state."""
        with self._state.lock:
            found = self._state.messages.get(chat_id, {})
            return [m.copy() for _, m in sorted(found.items()) if not m.deleted]

    def message(self, chat_id: int, message_id: int) -> BotMessage:
        """One bot message by id (also if deleted; see ``.deleted``)."""
        with self._state.lock:
            found = self._state.messages.get(chat_id, {}).get(message_id)
            if found is None:
                raise AssertionError(f"the bot never sent message {message_id} to chat {chat_id}")
            return found.copy()

    def last_message(self, chat_id: int) -> BotMessage:
        found = self.messages(chat_id)
        if not found:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}; {self._summary()}")
        return found[-1]

    # ---- call log and side effects -------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every API call (in arrival order), optionally only one method's."""
        with self._state.lock:
            chosen = [
                c
                for c in self._state.records.calls
                if method is None or c.method.lower() == method.lower()
            ]
            return copy.deepcopy(chosen)

    def callback_answers(self) -> list[CallbackAnswer]:
        with self._state.lock:
            return copy.deepcopy(self._state.records.callback_answers)

    def commands(
        self, language_code: str | None = None, *, scope: str = "default"
    ) -> list[tuple[str, str]]:
        """The command menu set with setMyCommands for a scope type and language."""
        with self._state.lock:
            stored = self._state.commands.get((scope, language_code or ""), [])
            return [(c["command"], c["description"]) for c in stored]

    def uploads(self, chat_id: int | None = None) -> list[UploadedFile]:
        with self._state.lock:
            return copy.deepcopy(
                [u for u in self._state.records.uploads if chat_id in (None, u.chat_id)]
            )

    def documents(self, chat_id: int | None = None) -> list[UploadedFile]:
        return [u for u in self.uploads(chat_id) if u.kind == "document"]

    def photos(self, chat_id: int | None = None) -> list[UploadedFile]:
        return [u for u in self.uploads(chat_id) if u.kind == "photo"]

    def chat_actions(self, chat_id: int | None = None) -> list[ChatAction]:
        with self._state.lock:
            return copy.deepcopy(
                [a for a in self._state.records.chat_actions if chat_id in (None, a.chat_id)]
            )

    def webhook_deliveries(self) -> list[WebhookAttempt]:
        with self._state.lock:
            return copy.deepcopy(self._state.records.deliveries)

    def stalls(self) -> list[StallRecord]:
        with self._state.lock:
            return copy.deepcopy(self._state.records.stalls)

    def pending_updates(self) -> list[int]:
        """update_ids still queued: not yet confirmed by offset (polling) or delivered."""
        with self._state.lock:
            return [entry.update_id for entry in self._state.queue]

    def filtered_updates(self) -> list[int]:
        """update_ids never queued because allowed_updates excluded their type."""
        with self._state.lock:
            return list(self._state.records.filtered)

    def is_polling(self) -> bool:
        """True while a getUpdates long poll is waiting."""
        with self._state.lock:
            return self._state.poll is not None

    # ---- waiting -----------------------------------------------------------------------------
    def _summary(self) -> str:
        with self._state.lock:
            chats = {
                chat_id: [m.text for _, m in sorted(found.items()) if not m.deleted]
                for chat_id, found in self._state.messages.items()
            }
            calls = [
                f"{c.method}->{c.status}{'' if c.ok else f' {c.description!r}'}"
                for c in self._state.records.calls[-15:]
            ]
            return (
                f"bot messages by chat: {chats}; last calls: {calls}; "
                f"pending updates: {[e.update_id for e in self._state.queue]}"
            )

    def _timeout_error(self, what: str, timeout: float) -> AssertionError:
        return AssertionError(f"timed out after {timeout}s waiting for {what}; {self._summary()}")

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 10.0, *, what: str | None = None
    ) -> T:
        """Block until ``predicate()`` is truthy and return its value."""
        deadline = time.monotonic() + timeout
        with self._state.cond:
            while True:
                value = predicate()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timeout_error(what or getattr(predicate, "__name__", "?"), timeout)
                self._state.cond.wait(min(left, 0.05))

    def wait_for_messages(
        self, chat_id: int, count: int, timeout: float = 10.0
    ) -> list[BotMessage]:
        """Block until the bot has at least ``count`` messages in the chat; returns them."""

        def enough() -> list[BotMessage]:
            found = self.messages(chat_id)
            return found if len(found) >= count else []

        return self.wait_for(enough, timeout, what=f"{count} bot message(s) in chat {chat_id}")

    def wait_for_call(self, method: str, count: int = 1, timeout: float = 10.0) -> ApiCall:
        """Block until ``method`` was called ``count`` times and answered; returns the last."""

        def done() -> ApiCall | None:
            found = [c for c in self.calls(method) if c.finished is not None]
            return found[count - 1] if len(found) >= count else None

        return self.wait_for(done, timeout, what=f"{count} answered {method} call(s)")

    def wait_for_polling(self, timeout: float = 10.0) -> None:
        """Block until the bot has a getUpdates long poll waiting (i.e. it is listening)."""
        self.wait_for(self.is_polling, timeout, what="a pending getUpdates long poll")

    async def wait_for_async(
        self,
        predicate: Callable[[], T],
        timeout: float = 10.0,
        *,
        what: str | None = None,
        interval: float = 0.01,
    ) -> T:
        """Like ``wait_for`` but polls with ``asyncio.sleep`` so the event loop keeps running
        (use it when the bot under test runs in the same loop as the test)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise self._timeout_error(what or getattr(predicate, "__name__", "?"), timeout)
            await asyncio.sleep(interval)

    async def wait_for_messages_async(
        self, chat_id: int, count: int, timeout: float = 10.0
    ) -> list[BotMessage]:
        def enough() -> list[BotMessage]:
            found = self.messages(chat_id)
            return found if len(found) >= count else []

        return await self.wait_for_async(
            enough, timeout, what=f"{count} bot message(s) in chat {chat_id}"
        )

    async def wait_for_call_async(
        self, method: str, count: int = 1, timeout: float = 10.0
    ) -> ApiCall:
        def done() -> ApiCall | None:
            found = [c for c in self.calls(method) if c.finished is not None]
            return found[count - 1] if len(found) >= count else None

        return await self.wait_for_async(done, timeout, what=f"{count} answered {method} call(s)")
