"""reply_markup validation with Telegram's real limits and error texts.

Why this module exists: inline keyboards are where bots most often break in production
(a callback_data that grew past 64 bytes after a refactor, a button built without an
action, a keyboard that grew past Telegram's size limit). The fake rejects exactly what
Telegram rejects, with the same descriptions, so those bugs surface in end-to-end tests.

Error texts are Telegram's (as produced by tdlib/telegram-bot-api), e.g.
``Bad Request: BUTTON_DATA_INVALID`` and ``Bad Request: reply markup is too long``
(the Bot API's rendering of MTProto's REPLY_MARKUP_TOO_LONG).
"""

from __future__ import annotations

from typing import Any

from .records import ApiError, JSONDict

MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100

INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

TEXT_BUTTONS_ERROR = (
    "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
    "inline keyboard"
)


def _inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an "
            "Object",
        )
    text = button.get("text")
    if not isinstance(text, str):
        raise ApiError(
            400,
            'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String',
        )
    actions = [key for key in INLINE_ACTIONS if button.get(key) not in (None, "", False)]
    if not actions:
        raise ApiError(400, TEXT_BUTTONS_ERROR)
    if not text.strip():
        raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
    data = button.get("callback_data")
    if data is not None:
        if not isinstance(data, str):
            raise ApiError(
                400,
                'Bad Request: can\'t parse inline keyboard button: Field "callback_data" must be '
                "of type String",
            )
        if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


def validate_markup(markup: Any) -> JSONDict | None:
    """Check a decoded reply_markup; returns it (or None when absent)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(
                400,
                'Bad Request: can\'t parse inline keyboard markup: Field "inline_keyboard" of the '
                "InlineKeyboardMarkup must be an Array of Arrays",
            )
        if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
            raise ApiError(400, "Bad Request: reply markup is too long")
        for row in rows:
            for button in row:
                _inline_button(button)
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(
                400,
                'Bad Request: can\'t parse keyboard markup: Field "keyboard" of the '
                "ReplyKeyboardMarkup must be an Array of Arrays",
            )
        return markup
    if "remove_keyboard" in markup or "force_reply" in markup:
        return markup
    raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")


def inline_only(markup: JSONDict | None) -> JSONDict | None:
    """What an edit can keep: only inline keyboards live on an existing message."""
    if markup is not None and "inline_keyboard" in markup:
        return markup
    return None
