"""Simulated people for the in-process benchmarks: raw updates in, moves read from the chat.

Why this exists: a benchmark of a conversational bot is only fair if every bot variant
gets the same stream of updates, and only realistic if that stream walks the real
dialogues. A `Person` acts closed-loop on what the bot really sent (the in-memory Bot
API's `ChatLog`), with a deterministic policy, so two bots that answer alike get
identical streams; `Person.moves` records the stream (ids left out) for comparing runs.

The policy (after tests/e2e/walk.py): /start; at a message with a keyboard, press the
first button this person has not pressed at that question (the same text and buttons)
yet (when all were pressed, the last one, which ends loops); at the main menu, start
that scan at a place that depends on the person, so people spread over the modules; at
a message without a
keyboard (a question that takes words), type "fine", and if the bot asks again, "5",
then "yes" (a text, a number and a yes/no question all get an answer they accept).

Updates are the JSON Telegram sends (private chats, `from.id == chat.id`, a
`bot_command` entity on commands, a callback query carrying the pressed message), see
tests/fakegram/updates.py.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from inmemory_api import BOT_USER, DATE, InMemoryBotApi, Shown

__all__ = ["MENU_LABEL", "Person", "UpdateIds"]

TYPED_ANSWERS = ("fine", "5", "yes")
MENU_LABEL = "Balance check-in"  # a button only the main menu has
MENU_SPREAD = 9  # the menu's modules (its last buttons, "About" and safety, are left out)
FIRST_PERSON = 700_000_000


class UpdateIds:
    """Increasing update ids, shared by everyone in one run (Telegram's are global)."""

    def __init__(self, first: int = 1) -> None:
        self._ids = itertools.count(first)

    def take(self) -> int:
        return next(self._ids)


def _user(person_id: int) -> dict[str, Any]:
    return {"id": person_id, "is_bot": False, "first_name": f"P{person_id % 1000}",
            "language_code": "en"}


def _chat(person_id: int) -> dict[str, Any]:
    return {"id": person_id, "type": "private", "first_name": f"P{person_id % 1000}"}


@dataclass
class Person:
    """One person; `index` picks where their menu scan starts (and their id)."""

    index: int
    api: InMemoryBotApi
    ids: UpdateIds
    moves: list[str] = field(default_factory=list)  # ("/start", "press:Label", "type:fine")
    menus_seen: int = 0
    _pressed: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    _typed_in_a_row: int = 0
    _queries: itertools.count = field(default_factory=itertools.count)

    @property
    def id(self) -> int:
        return FIRST_PERSON + self.index

    # --- raw updates ----------------------------------------------------------------------

    def message(self, text: str) -> dict[str, Any]:
        body: dict[str, Any] = {"message_id": self.api.take_message_id(self.id),
                                "from": _user(self.id), "chat": _chat(self.id), "date": DATE,
                                "text": text}
        if text.startswith("/"):
            body["entities"] = [{"type": "bot_command", "offset": 0,
                                 "length": len(text.split()[0])}]
        return {"update_id": self.ids.take(), "message": body}

    def press(self, shown: Shown, data: str) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": shown.message_id, "from": BOT_USER,
                                   "chat": _chat(self.id), "date": DATE, "text": shown.text}
        if shown.keyboard:
            message["reply_markup"] = {"inline_keyboard": shown.keyboard}
        query = {"id": f"{self.id}-{next(self._queries)}", "from": _user(self.id),
                 "chat_instance": str(self.id), "data": data, "message": message}
        return {"update_id": self.ids.take(), "callback_query": query}

    # --- the policy -----------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        self.moves.append("/start")
        return self.message("/start")

    def next_update(self) -> dict[str, Any]:
        """What this person does next, given what the bot has shown them."""
        shown = self.api.chat(self.id).last_shown()
        if shown is None:
            return self.start()
        if not shown.keyboard:
            answer = TYPED_ANSWERS[self._typed_in_a_row % len(TYPED_ANSWERS)]
            self._typed_in_a_row += 1
            self.moves.append(f"type:{answer}")
            return self.message(answer)
        self._typed_in_a_row = 0
        buttons = [b for row in shown.keyboard for b in row]
        labels = tuple(b["text"] for b in buttons)
        at_menu = MENU_LABEL in labels
        if at_menu:
            self.menus_seen += 1
        pressed = self._pressed.setdefault((shown.text, *labels), set())
        order = buttons
        if at_menu:
            offset = self.index % min(MENU_SPREAD, len(buttons))
            order = buttons[offset:MENU_SPREAD] + buttons[:offset]
        fresh = [b for b in order if b["text"] not in pressed]
        button = fresh[0] if fresh else order[-1]
        pressed.add(button["text"])
        self.moves.append(f"press:{button['text']}")
        return self.press(shown, str(button["callback_data"]))

    def at_menu(self) -> bool:
        """The bot's newest message is the main menu (a module has ended, or none began)."""
        shown = self.api.chat(self.id).last_shown()
        return bool(shown and shown.keyboard and
                    MENU_LABEL in (b["text"] for row in shown.keyboard for b in row))
