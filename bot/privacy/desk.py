"""/export and /delete as durable, one-transaction actions (no Telegram in here).

Why this module exists: what a person does with their data must never half-happen. Each
action runs in one transaction under the person's lock, like a dialogue step: it reads
what is stored, changes it, and puts its replies in the outbox, all or nothing. The
sender then makes the calls; a document's bytes are sealed in the outbox until sent and
dropped once Telegram has them.

- `export`: two documents (readable text, and JSON) or "nothing stored".
- `ask_delete`: a confirmation whose buttons carry a fresh token; only the newest token
  works, and only for `CONFIRM_FOR` (10 minutes).
- `answer_delete`: "yes" with the live token erases every row about the person in the
  same transaction that consumes the token (so a redelivered press finds no token and
  does nothing); "no" keeps everything; an old, expired or forged button changes nothing
  and says so on the button (it does not edit the message: it may not be a confirmation).
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, Literal

from bot.core.compile import CompiledBundle
from bot.logs import user_ref
from bot.privacy.export import build_export
from bot.storage import Store, Transaction, UserRecord

__all__ = ["CONFIRM_FOR", "DELETE_PREFIX", "KEEP_PREFIX", "PrivacyDesk", "parse_delete_data"]

log = logging.getLogger(__name__)

CONFIRM_FOR = timedelta(minutes=10)
DELETE_PREFIX = "privacy:delete:"
KEEP_PREFIX = "privacy:keep:"

LanguageFor = Callable[[UserRecord | None, str | None], str]


def parse_delete_data(data: str) -> tuple[Literal["delete", "keep"], str] | None:
    """("delete" | "keep", token) for our confirmation buttons, else None."""
    for prefix, answer in ((DELETE_PREFIX, "delete"), (KEEP_PREFIX, "keep")):
        if data.startswith(prefix) and 0 < len(data) - len(prefix) <= 32:
            return answer, data[len(prefix):]  # type: ignore[return-value]
    return None


class PrivacyDesk:
    """The person's own data actions; safe to call concurrently."""

    def __init__(self, store: Store, compiled: CompiledBundle, language_for: LanguageFor,
                 *, confirm_for: timedelta = CONFIRM_FOR) -> None:
        self.store = store
        self.compiled = compiled
        self.language_for = language_for
        self.confirm_for = confirm_for

    def _text(self, key: str, language: str) -> str:
        return self.compiled.string(key, language)

    async def _say(self, tx: Transaction, chat_id: int, key: str, language: str,
                   **extra: Any) -> None:
        await tx.enqueue(chat_id, "sendMessage",
                         {"chat_id": chat_id, "text": self._text(key, language), **extra})

    # --- /export ---------------------------------------------------------------------
    async def export(self, update_id: int, user_id: int, chat_id: int,
                     language_code: str | None) -> bool:
        """Queue the two documents (or "nothing stored"); False for a redelivered update."""
        async with self.store.transaction(user_id) as tx:
            if await tx.seen(update_id):
                return False
            snapshot = await tx.snapshot()
            language = self.language_for(snapshot.user, language_code)
            if snapshot.user is None:  # nobody we know: answer, and keep no trace of them
                await self._say(tx, chat_id, "export_nothing", language)
                return True
            files = build_export(snapshot, self.compiled, language, self.store.now(),
                                 await tx.homework_snapshot())
            for key, name, body in (("export_caption_text", files.text_name, files.text),
                                    ("export_caption_json", files.json_name, files.json)):
                await tx.enqueue(chat_id, "sendDocument", {
                    "chat_id": chat_id,
                    "document": {"filename": name,
                                 "base64": base64.b64encode(body).decode("ascii")},
                    "caption": self._text(key, language),
                })
            await tx.mark_seen(update_id)
        log.info("export queued user=%s records=%d", user_ref(user_id), len(snapshot.records))
        return True

    # --- /delete ---------------------------------------------------------------------
    async def ask_delete(self, update_id: int, user_id: int, chat_id: int,
                         language_code: str | None) -> bool:
        """Queue the confirmation; a new one makes every earlier one stale."""
        async with self.store.transaction(user_id) as tx:
            if await tx.seen(update_id):
                return False
            user = await tx.load_user()
            language = self.language_for(user, language_code)
            if user is None:
                await self._say(tx, chat_id, "export_nothing", language)
                return True
            token = secrets.token_urlsafe(9)
            await tx.save_user(replace(user, delete_token=token,
                                       delete_expires=self.store.now() + self.confirm_for))
            buttons = [[{"text": self._text("delete_yes", language),
                         "callback_data": DELETE_PREFIX + token}],
                       [{"text": self._text("delete_no", language),
                         "callback_data": KEEP_PREFIX + token}]]
            await self._say(tx, chat_id, "delete_confirm", language,
                            reply_markup={"inline_keyboard": buttons})
            await tx.mark_seen(update_id)
        return True

    async def answer_delete(self, update_id: int, user_id: int, chat_id: int,
                            language_code: str | None, message_id: int,
                            answer: Literal["delete", "keep"], token: str) -> str | None:
        """Apply a press on a confirmation button. Returns the short notice to show on the
        button (None if nothing needs saying)."""
        async with self.store.transaction(user_id) as tx:
            if await tx.seen(update_id):
                return None
            user = await tx.load_user()
            language = self.language_for(user, language_code)
            live = (user is not None and user.delete_token is not None
                    and secrets.compare_digest(user.delete_token, token)
                    and user.delete_expires is not None
                    and user.delete_expires > self.store.now())
            if user is None:  # already erased: remember nothing about this press either
                return self._text("delete_expired", language)
            if not live:  # said on the button only: the message may not be ours to edit
                await tx.mark_seen(update_id)
                return self._text("delete_expired", language)
            if answer == "keep":
                await tx.save_user(replace(user, delete_token=None, delete_expires=None))
                await self._edit(tx, chat_id, message_id, "delete_kept", language)
                await tx.mark_seen(update_id)
                return None
            removed = await tx.delete_rows()  # the token goes with the person's row
            await self._edit(tx, chat_id, message_id, "delete_done", language)
        log.info("user data deleted user=%s rows=%d", user_ref(user_id), removed)
        return None

    async def _edit(self, tx: Transaction, chat_id: int, message_id: int, key: str,
                    language: str) -> None:
        await tx.enqueue(chat_id, "editMessageText", {
            "chat_id": chat_id, "message_id": message_id, "text": self._text(key, language)})
