"""Test-side "a user does something" helpers that inject realistic updates.

Why this module exists: end-to-end tests should read like a conversation ("Ana sends
/start, presses 'Yes'"), not like hand-written JSON. These helpers build the exact update
objects Telegram would send: ``from.id == chat.id == user_id`` in private chats,
``language_code`` on the user, real dates, per-chat increasing message ids shared with
the bot's own messages, a ``bot_command`` entity on commands, and callback queries that
carry the bot's message in its current state. They are mixed into ``FakeTelegram``.

Every helper returns the update_id it queued.
"""

from __future__ import annotations

import copy
from typing import Any

from .records import JSONDict
from .state import CallbackQuery, Chat, State

DEFAULT_FIRST_NAME = "Ana"
DEFAULT_LANGUAGE = "en"


class InjectMixin:
    _state: State

    # ---- plumbing --------------------------------------------------------------------------
    def _user(self, user_id: int, first_name: str | None, language_code: str | None) -> JSONDict:
        s = self._state
        known = s.users.get(user_id, {})
        user = s.user_dict(
            user_id,
            first_name or known.get("first_name") or DEFAULT_FIRST_NAME,
            language_code or known.get("language_code") or DEFAULT_LANGUAGE,
        )
        s.users[user_id] = user
        return user

    def _chat_for(
        self, user: JSONDict, chat_id: int | None, chat_type: str, title: str | None
    ) -> Chat:
        s = self._state
        if chat_type == "private":
            if chat_id not in (None, user["id"]):
                raise ValueError("in a private chat, chat_id is the user's id")
            return s.private_chat(
                user["id"], user["first_name"], user.get("language_code"), user.get("username")
            )
        if chat_id is None:
            raise ValueError("a non-private chat needs an explicit chat_id")
        return s.group_chat(chat_id, title or "Test group", chat_type)

    def _message(
        self,
        user_id: int,
        content: JSONDict,
        *,
        first_name: str | None = None,
        language_code: str | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        title: str | None = None,
    ) -> int:
        s = self._state
        with s.lock:
            user = self._user(user_id, first_name, language_code)
            chat = self._chat_for(user, chat_id, chat_type, title)
            message: JSONDict = {
                "message_id": chat.next_message_id,
                "from": user,
                "chat": s.chat_dict(chat),
                "date": s.today(),
                **content,
            }
            chat.next_message_id += 1
            s.user_messages[(chat.id, message["message_id"])] = message
            return s.enqueue({"message": message})

    def _file(self, prefix: str) -> JSONDict:
        seq = self._state.next_seq()
        return {"file_id": f"{prefix}FAKEUSER{seq:06d}", "file_unique_id": f"AgAD{seq:06d}"}

    # ---- messages --------------------------------------------------------------------------
    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str | None = None,
        first_name: str | None = None,
        chat_type: str = "private",
        chat_id: int | None = None,
        entities: list[JSONDict] | None = None,
    ) -> int:
        """The user sends a text message (language/first name default to the user's last)."""
        content: JSONDict = {"text": text}
        if entities:
            content["entities"] = entities
        return self._message(
            user_id,
            content,
            first_name=first_name,
            language_code=language_code,
            chat_id=chat_id,
            chat_type=chat_type,
        )

    def send_command(
        self,
        user_id: int,
        command: str,
        payload: str | None = None,
        *,
        language_code: str | None = None,
        first_name: str | None = None,
        chat_type: str = "private",
        chat_id: int | None = None,
    ) -> int:
        """``/start`` (or ``/start payload``) with the bot_command entity Telegram adds."""
        command = command if command.startswith("/") else f"/{command}"
        text = command if payload is None else f"{command} {payload}"
        entity = {"type": "bot_command", "offset": 0, "length": len(command)}
        return self.send_text(
            user_id,
            text,
            language_code=language_code,
            first_name=first_name,
            chat_type=chat_type,
            chat_id=chat_id,
            entities=[entity],
        )

    def send_group_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int = -1001234567890,
        title: str = "Test group",
        chat_type: str = "supergroup",
        language_code: str | None = None,
        first_name: str | None = None,
    ) -> int:
        """The user writes in a group chat the bot is in."""
        return self._message(
            user_id,
            {"text": text},
            first_name=first_name,
            language_code=language_code,
            chat_id=chat_id,
            chat_type=chat_type,
            title=title,
        )

    def send_sticker(self, user_id: int, emoji: str = "🙂", *, chat_id: int | None = None) -> int:
        sticker = {
            **self._file("CAACAgIAAxkB"),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._message(user_id, {"sticker": sticker}, chat_id=chat_id)

    def send_photo(
        self, user_id: int, caption: str | None = None, *, chat_id: int | None = None
    ) -> int:
        base = self._file("AgACAgIAAxkB")
        sizes = [
            {**base, "file_id": f"{base['file_id']}{side}", "width": side, "height": side}
            for side in (90, 320, 800)
        ]
        content: JSONDict = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._message(user_id, content, chat_id=chat_id)

    def send_voice(self, user_id: int, duration: int = 3, *, chat_id: int | None = None) -> int:
        voice = {
            **self._file("AwACAgIAAxkB"),
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 4000 * duration,
        }
        return self._message(user_id, {"voice": voice}, chat_id=chat_id)

    def send_document(
        self,
        user_id: int,
        file_name: str = "notes.txt",
        mime_type: str = "text/plain",
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> int:
        document = {
            **self._file("BQACAgIAAxkB"),
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": 1234,
        }
        content: JSONDict = {"document": document}
        if caption:
            content["caption"] = caption
        return self._message(user_id, content, chat_id=chat_id)

    def edit_text(
        self, user_id: int, message_id: int, new_text: str, *, chat_id: int | None = None
    ) -> int:
        """The user edits one of their earlier messages: an ``edited_message`` update."""
        s = self._state
        with s.lock:
            key = (user_id if chat_id is None else chat_id, message_id)
            original = s.user_messages.get(key)
            if original is None:
                raise AssertionError(f"user message {key} was never sent; cannot edit it")
            edited = {**original, "text": new_text, "edit_date": s.today()}
            edited.pop("entities", None)
            s.user_messages[key] = edited
            return s.enqueue({"edited_message": copy.deepcopy(edited)})

    # ---- buttons ---------------------------------------------------------------------------
    def press(
        self,
        user_id: int,
        message_id: int,
        callback_data: str | None = None,
        *,
        button_text: str | None = None,
        chat_id: int | None = None,
    ) -> int:
        """Press a button (by callback_data or by visible text) on a message the bot sent."""
        s = self._state
        with s.lock:
            chat = user_id if chat_id is None else chat_id
            message = s.bot_message(chat, message_id)
            if message is None:
                raise AssertionError(f"the bot has no message {message_id} in chat {chat}")
            buttons = [b for row in message.buttons for b in row]
            match = [
                data
                for text, data in buttons
                if (callback_data is None or data == callback_data)
                and (button_text is None or text == button_text)
                and data is not None
            ]
            if (callback_data is None and button_text is None) or not match:
                raise AssertionError(
                    f"no button text={button_text!r} data={callback_data!r} on message "
                    f"{message_id} ({message.text!r}); it has {buttons}"
                )
            return self.press_raw(user_id, message_id, match[0], chat_id=chat_id)

    def press_raw(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> int:
        """A callback query with arbitrary (possibly forged or stale) data."""
        s = self._state
        with s.lock:
            chat = user_id if chat_id is None else chat_id
            message = s.bot_message(chat, message_id)
            if message is None:
                raise AssertionError(f"the bot has no message {message_id} in chat {chat}")
            user = self._user(user_id, None, None)
            query_id = str(4_400_000_000_000_000_000 + s.bot_id % 1000 * 10**9 + s.next_seq())
            s.callback_queries[query_id] = CallbackQuery(
                query_id, user_id, chat, message_id, data, s.now()
            )
            query: JSONDict = {
                "id": query_id,
                "from": user,
                "message": s.message_dict(message),
                "chat_instance": str(-(6_000_000_000_000_000_000 + abs(chat))),
                "data": data,
            }
            return s.enqueue({"callback_query": query})

    # ---- membership and raw updates ----------------------------------------------------------
    def member_status(self, user_id: int, status: str, *, chat_id: int | None = None) -> int:
        """A my_chat_member update; in private chats "kicked" = the user blocked the bot."""
        if status not in ("member", "kicked", "left"):
            raise ValueError("status must be 'member', 'kicked' or 'left'")
        s = self._state
        with s.lock:
            user = self._user(user_id, None, None)
            kind = "private" if chat_id in (None, user_id) else "group"
            chat = self._chat_for(user, chat_id, kind, None)
            old, chat.member_status = chat.member_status, status
            # A private chat "kicked" = blocked by the user; a group one = the bot was removed.
            chat.blocked = status == "kicked" if chat.type == "private" else status != "member"

            def member(state: str) -> JSONDict:
                data: JSONDict = {"user": s.bot_user(), "status": state}
                if state == "kicked":
                    data["until_date"] = 0
                return data

            update = {
                "chat": s.chat_dict(chat),
                "from": user,
                "date": s.today(),
                "old_chat_member": member(old),
                "new_chat_member": member(status),
            }
            return s.enqueue({"my_chat_member": update})

    def inject(self, update: JSONDict, *, ignore_allowed: bool = False) -> int:
        """Queue any update dict as is (its update_id is kept if present, else assigned).
        ``ignore_allowed``: deliver it even if allowed_updates excludes its kind, as an older
        or non-conforming Bot API server might (for poison-update tests)."""
        body = {k: v for k, v in update.items() if k != "update_id"}
        if not body:
            raise ValueError("an update needs a payload besides update_id")
        with self._state.lock:
            return self._state.enqueue(
                copy.deepcopy(body), update_id=update.get("update_id"), force=ignore_allowed
            )

    def redeliver(self, update_id: int) -> int:
        """Deliver an already injected update again, with the same update_id."""
        with self._state.lock:
            self._state.requeue(update_id)
        return update_id

    def jump_update_id(self, by: int = 1000) -> int:
        """Skip update ids (Telegram's ids are not contiguous); returns the next id."""
        with self._state.lock:
            self._state.next_update_id += by
            return self._state.next_update_id

    def update(self, update_id: int) -> JSONDict:
        """A copy of an injected update (e.g. to learn the message_id a user message got)."""
        with self._state.lock:
            return copy.deepcopy(self._state.history[update_id].payload)

    def user_message_id(self, update_id: int) -> int:
        payload: Any = self.update(update_id)
        message = payload.get("message") or payload.get("edited_message")
        if message is None:
            raise AssertionError(f"update {update_id} carries no message: {payload}")
        return int(message["message_id"])
