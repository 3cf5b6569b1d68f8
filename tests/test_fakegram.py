"""Tests for the fake Telegram server, driven by the real python-telegram-bot ``Bot``.

These prove that relbot's end-to-end tests can trust the fake: PTB parses every answer
into its real objects, errors surface as PTB's real exceptions with Telegram's texts, and
update delivery (long polling, offsets, 409s, webhooks, retries) and the fault knobs
behave as documented.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fakegram import FakeTelegram
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

ANA = 42
BEN = 43


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns (PTBDeprecationWarning) whenever a time period such as
    # RetryAfter.retry_after is read as int; with filterwarnings=error that warning would
    # replace the RetryAfter exception itself. Opting in to timedeltas avoids it.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(webhook_backoff=0.05) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as b:
        yield b


def ci(text: str) -> re.Pattern[str]:
    """PTB strips "Bad Request: " and capitalises the description: match case-insensitively."""
    return re.compile(re.escape(text), re.IGNORECASE)


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


# ---- identity, routing, envelope ----------------------------------------------------------------
async def test_ptb_bot_initialises_and_gets_me(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "relbot_test_bot", True)
    assert bot.username == "relbot_test_bot"
    assert fake.calls("getMe")[0].status == 200


async def test_wrong_token_and_unknown_method(fake: FakeTelegram) -> None:
    async with httpx.AsyncClient() as client:
        wrong = await client.post(f"{fake.base_url}999:WRONG/getMe")
        unknown = await client.post(f"{fake.base_url}{fake.token}/sendTelepathy")
        file_path = await client.get(f"{fake.base_file_url}{fake.token}/documents/x.txt")
    assert (wrong.status_code, wrong.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert unknown.status_code == 404
    assert unknown.json()["description"] == "Not Found"
    assert file_path.status_code == 404
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=fake.base_url):
            pass


async def test_form_json_and_query_encodings_are_equivalent(fake: FakeTelegram) -> None:
    fake.send_text(ANA, "hi")
    api = f"{fake.base_url}{fake.token}"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with httpx.AsyncClient() as client:
        form = await client.post(
            f"{api}/sendMessage",
            data={"chat_id": "42", "text": "form", "reply_markup": json.dumps(markup)},
        )
        body = await client.post(
            f"{api}/sendMessage", json={"chat_id": 42, "text": "json", "reply_markup": markup}
        )
        query = await client.get(f"{api}/sendMessage", params={"chat_id": 42, "text": "query"})
    assert [r.status_code for r in (form, body, query)] == [200, 200, 200]
    assert [c.encoding for c in fake.calls("sendMessage")] == ["form", "json", "query"]
    assert [m.text for m in fake.messages(ANA)] == ["form", "json", "query"]
    assert fake.messages(ANA)[0].buttons == [[("A", "a")]]
    assert fake.calls("sendMessage")[0].params["reply_markup"] == markup
    assert fake.calls("sendMessage")[0].params["chat_id"] == 42


# ---- sending and editing ------------------------------------------------------------------------
async def test_send_message_is_parsed_by_ptb(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ANA, "hi", language_code="ru", first_name="Ana")
    sent = await bot.send_message(
        ANA,
        "<b>Hello</b>, Ana",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard([("Yes", "y"), ("No", "n")]),
    )
    assert sent.text == "Hello, Ana"
    assert sent.entities[0].type == "bold"
    assert sent.from_user is not None and sent.from_user.id == bot.id
    assert (sent.chat.id, sent.chat.type) == (ANA, "private")
    assert sent.message_id == 2  # the user's "hi" was message 1 in this chat
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][1].callback_data == "n"
    stored = fake.last_message(ANA)
    assert (stored.text, stored.source_text, stored.buttons) == (
        "Hello, Ana",
        "<b>Hello</b>, Ana",
        [[("Yes", "y"), ("No", "n")]],
    )
    call = fake.calls("sendMessage")[0]
    assert call.encoding == "form"
    assert isinstance(call.raw_params["reply_markup"], str)  # PTB sends it as a JSON string


async def test_edits_keep_history_and_obey_telegram_rules(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ANA, "hi")
    sent = await bot.send_message(ANA, "Question?", reply_markup=keyboard([("A", "a")]))
    mid = sent.message_id
    edited = await bot.edit_message_text(
        "Question, v2?", ANA, mid, reply_markup=keyboard([("B", "b")])
    )
    assert isinstance(edited, type(sent)) and edited.text == "Question, v2?"
    assert edited.edit_date is not None
    with pytest.raises(
        BadRequest, match=ci("message is not modified: specified new message content")
    ):
        await bot.edit_message_text("Question, v2?", ANA, mid, reply_markup=keyboard([("B", "b")]))
    with pytest.raises(BadRequest, match=ci("message to edit not found")):
        await bot.edit_message_text("x", ANA, 999)
    # Like Telegram: an edit without reply_markup removes the inline keyboard.
    await bot.edit_message_text("Question, v2?", ANA, mid)
    await bot.edit_message_reply_markup(ANA, mid, reply_markup=keyboard([("C", "c")]))
    with pytest.raises(BadRequest, match=ci("message is not modified")):
        await bot.edit_message_reply_markup(ANA, mid, reply_markup=keyboard([("C", "c")]))
    current = fake.message(ANA, mid)
    assert (current.text, current.buttons) == ("Question, v2?", [[("C", "c")]])
    assert [(s.text, s.buttons) for s in current.history] == [
        ("Question?", [[("A", "a")]]),
        ("Question, v2?", [[("B", "b")]]),
        ("Question, v2?", []),
    ]
    assert await bot.delete_message(ANA, mid) is True
    assert fake.messages(ANA) == []
    with pytest.raises(BadRequest, match=ci("message to delete not found")):
        await bot.delete_message(ANA, mid)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": "  \n "}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        (
            {"text": "<b>x</i>", "parse_mode": "HTML"},
            "Bad Request: can't parse entities: Unmatched",
        ),
        ({"text": "v1.2", "parse_mode": "MarkdownV2"}, "Character '.' is reserved"),
        ({"chat_id": 777}, "Bad Request: chat not found"),
        ({"reply_markup": keyboard([("x", "я" * 33)])}, "Bad Request: BUTTON_DATA_INVALID"),
        (
            {"reply_markup": InlineKeyboardMarkup([[InlineKeyboardButton("bare")]])},
            "Text buttons are unallowed in the inline keyboard",
        ),
        ({"reply_markup": keyboard([("", "a")])}, "Bad Request: BUTTON_TEXT_INVALID"),
        (
            {"reply_markup": keyboard(*[[(str(i), str(i))] for i in range(101)])},
            "Bad Request: reply markup is too long",
        ),
    ],
)
async def test_limits_are_bad_requests(
    fake: FakeTelegram, bot: Bot, kwargs: dict[str, Any], error: str
) -> None:
    fake.send_text(ANA, "hi")
    params: dict[str, Any] = {"chat_id": ANA, "text": "ok", **kwargs}
    with pytest.raises(BadRequest):
        await bot.send_message(**params)
    [call] = fake.calls("sendMessage")
    assert call.status == 400
    assert call.description is not None and error in call.description  # Telegram's exact text
    assert fake.messages(ANA) == []


async def test_limits_accept_the_maximum(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ANA, "hi")
    await bot.send_message(ANA, "x" * 4096, reply_markup=keyboard([("x", "я" * 32)]))
    await bot.send_message(ANA, "<b>x</b>" * 4096, parse_mode="HTML")  # counted after parsing
    many = keyboard(*[[(str(i), str(i))] for i in range(100)])
    await bot.send_message(ANA, "100 buttons", reply_markup=many)
    assert len(fake.messages(ANA)) == 3


async def test_blocked_user_and_member_status(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ANA, "hi")
    fake.block(ANA)
    with pytest.raises(Forbidden, match=ci("bot was blocked by the user")):
        await bot.send_message(ANA, "hello?")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(ANA, "typing")
    fake.unblock(ANA)
    await bot.send_message(ANA, "back")
    fake.member_status(ANA, "kicked")
    with pytest.raises(Forbidden):
        await bot.send_message(ANA, "gone?")
    fake.member_status(ANA, "member")
    await bot.send_message(ANA, "welcome back")
    updates = await bot.get_updates()
    statuses = [u.my_chat_member.new_chat_member.status for u in updates if u.my_chat_member]
    assert statuses == ["kicked", "member"]


# ---- callbacks, actions, commands, files ---------------------------------------------------------
async def test_press_and_answer_callback_query(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ANA, "hi")
    sent = await bot.send_message(ANA, "Ready?", reply_markup=keyboard([("Yes", "y"), ("No", "n")]))
    await bot.edit_message_text(
        "Ready now?", ANA, sent.message_id, reply_markup=keyboard([("Yes", "y2")])
    )
    first = fake.press(ANA, sent.message_id, button_text="Yes")
    forged = fake.press_raw(ANA, sent.message_id, "admin:delete-all")
    with pytest.raises(AssertionError, match="no button"):
        fake.press(ANA, sent.message_id, "n")  # that button is gone after the edit
    updates = await bot.get_updates()
    query = updates[-2].callback_query
    assert [u.update_id for u in updates[-2:]] == [first, forged]
    assert query is not None and query.data == "y2"
    assert query.from_user.id == ANA and query.from_user.language_code == "en"
    assert query.message is not None and query.message.text == "Ready now?"
    assert updates[-1].callback_query is not None
    assert updates[-1].callback_query.data == "admin:delete-all"
    assert await bot.answer_callback_query(query.id, text="Saved") is True
    with pytest.raises(BadRequest, match=ci("query is too old and response timeout expired")):
        await bot.answer_callback_query(query.id)  # already answered
    with pytest.raises(BadRequest, match=ci("query is too old")):
        await bot.answer_callback_query("no-such-query")
    fake.advance_clock(16)
    with pytest.raises(BadRequest, match=ci("query is too old")):
        await bot.answer_callback_query(updates[-1].callback_query.id)
    [answer] = fake.callback_answers()
    assert (answer.data, answer.text, answer.user_id) == ("y2", "Saved", ANA)


async def test_chat_actions_commands_close(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ANA, "hi")
    assert await bot.send_chat_action(ANA, "typing") is True
    with pytest.raises(BadRequest, match=ci("wrong parameter action")):
        await bot.send_chat_action(ANA, "dancing")
    assert [a.action for a in fake.chat_actions(ANA)] == ["typing"]
    await bot.set_my_commands([("start", "Begin"), ("help", "Help")])
    await bot.set_my_commands([("start", "Начать")], language_code="ru")
    assert fake.commands() == [("start", "Begin"), ("help", "Help")]
    assert fake.commands("ru") == [("start", "Начать")]
    assert [c.command for c in await bot.get_my_commands(language_code="ru")] == ["start"]
    with pytest.raises(BadRequest, match=ci("BOT_COMMAND_INVALID")):
        await bot.set_my_commands([("Bad Command", "x")])
    await bot.delete_my_commands(language_code="ru")
    assert fake.commands("ru") == []
    assert await bot.close() is True
    assert await bot.log_out() is True


async def test_documents_and_photos_are_multipart_uploads(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ANA, "hi")
    data = bytes(range(256)) * 8 + b"\r\n--tricky\r\n"
    sent = await bot.send_document(
        ANA,
        io.BytesIO(data),
        filename="report.txt",
        caption="<i>Your</i> report",
        parse_mode="HTML",
    )
    assert sent.document is not None and sent.document.file_name == "report.txt"
    assert sent.caption == "Your report"
    photo = await bot.send_photo(ANA, b"\x89PNG\r\n\x1a\nfakepng", caption="pic")
    assert photo.photo and photo.photo[-1].width == 800
    by_id = await bot.send_document(ANA, "BQACAgIAAxkDAAIBfake")
    assert by_id.document is not None
    [document, reference] = fake.documents(ANA)
    assert (document.filename, document.content) == ("report.txt", data)
    assert reference.content is None and reference.reference == "BQACAgIAAxkDAAIBfake"
    assert fake.photos(ANA)[0].content == b"\x89PNG\r\n\x1a\nfakepng"
    assert fake.calls("sendDocument")[0].encoding == "multipart"
    assert fake.calls("sendDocument")[0].params["caption"] == "<i>Your</i> report"
    with pytest.raises(BadRequest, match=ci("message caption is too long")):
        await bot.send_document(ANA, io.BytesIO(b"x"), filename="a.txt", caption="c" * 1025)


# ---- injected updates ----------------------------------------------------------------------------
async def test_injected_updates_parse_into_ptb_objects(fake: FakeTelegram, bot: Bot) -> None:
    start = fake.send_command(ANA, "/start", payload="ref42", language_code="de")
    fake.send_sticker(ANA)
    fake.send_photo(ANA, caption="look")
    fake.send_voice(ANA, duration=5)
    fake.send_document(ANA, "diary.pdf", "application/pdf")
    text = fake.send_text(ANA, "typo")
    fake.edit_text(ANA, fake.user_message_id(text), "fixed")
    fake.send_group_text(BEN, "hello group", chat_id=-100500)
    raw = fake.inject({"message": {**fake.update(text)["message"], "text": "raw"}})
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == list(range(start, raw + 1))
    command = updates[0].message
    assert command is not None and command.text == "/start ref42"
    assert command.entities[0].type == "bot_command"
    assert command.from_user is not None and command.from_user.language_code == "de"
    assert command.from_user.id == command.chat.id == ANA
    assert updates[1].message is not None and updates[1].message.sticker is not None
    assert updates[2].message is not None and updates[2].message.caption == "look"
    assert updates[3].message is not None and updates[3].message.voice is not None
    assert updates[4].message is not None and updates[4].message.document is not None
    edited = updates[6].edited_message
    assert edited is not None and edited.text == "fixed"
    assert edited.message_id == updates[5].message.message_id  # type: ignore[union-attr]
    group = updates[7].message
    assert group is not None and (group.chat.type, group.chat.id) == ("supergroup", -100500)
    assert updates[8].message is not None and updates[8].message.text == "raw"
    assert [u.message.message_id for u in updates[:6] if u.message] == [1, 2, 3, 4, 5, 6]


async def test_redeliver_and_jumping_update_ids(fake: FakeTelegram, bot: Bot) -> None:
    first = fake.send_text(ANA, "once")
    [update] = await bot.get_updates()
    assert (await bot.get_updates(offset=first + 1)) == ()
    assert fake.pending_updates() == []
    fake.redeliver(first)
    [again] = await bot.get_updates(offset=first + 1)
    assert again.update_id == first and again.message is not None
    assert again.message.text == update.message.text  # type: ignore[union-attr]
    next_id = fake.jump_update_id(by=1000)
    jumped = fake.send_text(ANA, "later")
    assert jumped == next_id == first + 1001
    [late] = await bot.get_updates(offset=first + 1)
    assert late.update_id == jumped


# ---- long polling --------------------------------------------------------------------------------
async def test_long_poll_returns_when_an_update_arrives(fake: FakeTelegram, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await fake.wait_for_async(fake.is_polling, timeout=5)
    began = time.monotonic()
    fake.send_text(ANA, "wake up")
    updates = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - began < 1
    assert [u.message.text for u in updates if u.message] == ["wake up"]


async def test_long_poll_times_out_empty(fake: FakeTelegram, bot: Bot) -> None:
    began = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 < time.monotonic() - began < 3


async def test_offset_confirms_like_telegram(fake: FakeTelegram, bot: Bot) -> None:
    ids = [fake.send_text(ANA, f"m{i}") for i in range(3)]
    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.update_id for u in await bot.get_updates()] == ids  # not confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=ids[2])] == ids[2:]
    assert fake.pending_updates() == ids[2:]  # offset N forgot everything below N
    assert [u.update_id for u in await bot.get_updates(limit=1, offset=-1)] == ids[2:]
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    assert fake.pending_updates() == []


async def test_a_second_long_poll_terminates_the_first(fake: FakeTelegram) -> None:
    async with (
        Bot(fake.token, base_url=fake.base_url) as first,
        Bot(fake.token, base_url=fake.base_url) as second,
    ):
        older = asyncio.create_task(first.get_updates(timeout=5))
        await fake.wait_for_async(fake.is_polling, timeout=5)
        newer = asyncio.create_task(second.get_updates(timeout=1))
        with pytest.raises(Conflict, match=ci("terminated by other getUpdates request; make sure")):
            await asyncio.wait_for(older, 3)
        assert await asyncio.wait_for(newer, 3) == ()
    statuses = [c.status for c in fake.calls("getUpdates")]
    assert statuses == [409, 200]


async def test_get_updates_conflicts_with_a_webhook(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ANA, "stale")
    hook = "http://127.0.0.1:9/hook"
    assert await bot.set_webhook(hook, secret_token="s3cret", drop_pending_updates=True)
    assert fake.pending_updates() == []
    info = await bot.get_webhook_info()
    assert info.url == hook
    with pytest.raises(Conflict, match=ci("can't use getUpdates method while webhook is active")):
        await bot.get_updates()
    assert await bot.delete_webhook() is True
    assert [c.response["description"] for c in fake.calls("deleteWebhook")] == [  # type: ignore[index]
        "Webhook was deleted"
    ]
    fake.send_text(ANA, "also stale")
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert await bot.get_updates() == ()


async def test_allowed_updates_filters_new_updates(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ANA, "hi")
    sent = await bot.send_message(ANA, "?", reply_markup=keyboard([("y", "y")]))
    await bot.get_updates(allowed_updates=["message"], offset=-1)
    pressed = fake.press(ANA, sent.message_id, "y")
    kept = fake.send_text(ANA, "text still comes")
    assert fake.filtered_updates() == [pressed]
    assert [u.update_id for u in await bot.get_updates(offset=kept)] == [kept]


# ---- webhook delivery ----------------------------------------------------------------------------
class Receiver:
    """A tiny webhook endpoint: checks the secret header, answers scripted statuses."""

    def __init__(self, secret: str, statuses: list[int] | None = None):
        self.secret = secret
        self.statuses = list(statuses or [])
        self.received: list[tuple[str | None, dict[str, Any], int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                header = self.headers.get("X-Telegram-Bot-Api-Secret-Token")
                status = 403 if header != receiver.secret else 200
                if status == 200 and receiver.statuses:
                    status = receiver.statuses.pop(0)
                receiver.received.append((header, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/telegram"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


async def test_webhook_delivery_secret_order_and_retries(fake: FakeTelegram, bot: Bot) -> None:
    with Receiver(secret="right-secret", statuses=[500]) as hook:
        first = fake.send_text(ANA, "one")
        second = fake.send_text(ANA, "two")
        await bot.set_webhook(hook.url, secret_token="wrong-secret")
        await fake.wait_for_async(lambda: len(fake.webhook_deliveries()) >= 2, timeout=5)
        info = await bot.get_webhook_info()
        assert info.last_error_message == "Wrong response from the webhook: 403 Forbidden"
        assert info.pending_update_count == 2
        await bot.set_webhook(hook.url, secret_token="right-secret")
        await fake.wait_for_async(lambda: fake.pending_updates() == [], timeout=5)
    attempts = fake.webhook_deliveries()
    assert {a.status for a in attempts if a.secret_token == "wrong-secret"} == {403}
    right = [(a.update_id, a.status) for a in attempts if a.secret_token == "right-secret"]
    assert right == [(first, 500), (first, 200), (second, 200)]  # retried, in order
    assert [a.attempt for a in attempts if a.update_id == second] == [1]
    delivered = [body for header, body, status in hook.received if status == 200]
    assert [Update.de_json(body, bot).message.text for body in delivered] == ["one", "two"]  # type: ignore[union-attr]
    assert all(header == "right-secret" for header, _, status in hook.received if status != 403)


def test_webhook_gives_up_after_bounded_attempts() -> None:
    with FakeTelegram(webhook_backoff=0.01, webhook_max_attempts=3) as fake, httpx.Client() as c:
        fake.send_text(ANA, "nobody listens")
        c.post(f"{fake.base_url}{fake.token}/setWebhook", data={"url": "http://127.0.0.1:9/x"})
        fake.wait_for(lambda: fake.pending_updates() == [], timeout=5)
        attempts = fake.webhook_deliveries()
        assert [(a.attempt, a.status, a.error) for a in attempts] == [
            (n, None, "Connection refused") for n in (1, 2, 3)
        ]


# ---- faults --------------------------------------------------------------------------------------
async def test_fail_next_gives_ptb_retry_after_and_friends(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ANA, "hi")
    fake.send_text(BEN, "hi")
    fake.fail_next("sendMessage", retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ANA, "x")
    assert caught.value.retry_after.total_seconds() == 3  # type: ignore[union-attr]
    assert fake.calls("sendMessage")[0].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    fake.fail_next("sendMessage", 500, count=2, chat_id=BEN)
    await bot.send_message(ANA, "other chats are fine")
    for _ in range(2):
        with pytest.raises(NetworkError, match=ci("Internal Server Error")):
            await bot.send_message(BEN, "x")
    await bot.send_message(BEN, "third time lucky")
    fake.fail_next("editMessageText", 400, description="Bad Request: custom")
    with pytest.raises(BadRequest, match=ci("custom")):
        await bot.edit_message_text("y", ANA, 1)
    assert [m.text for m in fake.messages(ANA)] == ["other chats are fine"]


async def test_drop_and_slow(fake: FakeTelegram, bot: Bot) -> None:
    fake.send_text(ANA, "hi")
    fake.drop_next("sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(ANA, "lost before")
    fake.drop_next("sendMessage", after_apply=True)
    with pytest.raises(NetworkError):
        await bot.send_message(ANA, "lost after")  # the bot can't know it went out...
    assert [m.text for m in fake.messages(ANA)] == ["lost after"]  # ...but it did
    fake.slow("sendMessage", 0.3)
    began = time.monotonic()
    await bot.send_message(ANA, "slowly")
    assert time.monotonic() - began >= 0.3


def test_stall_applies_when_the_client_waits(fake: FakeTelegram) -> None:
    fake.send_text(ANA, "hi")
    fake.stall("sendMessage", 0.3)
    with httpx.Client(timeout=5) as client:
        reply = client.post(
            f"{fake.base_url}{fake.token}/sendMessage", data={"chat_id": ANA, "text": "held"}
        )
    assert reply.json()["ok"] is True
    assert [(s.method, s.applied, s.answered) for s in fake.stalls()] == [
        ("sendMessage", True, True)
    ]
    assert [m.text for m in fake.messages(ANA)] == ["held"]


def test_a_stalled_call_takes_effect_at_once_however_late_the_answer(fake: FakeTelegram) -> None:
    fake.send_text(ANA, "hi")
    fake.stall("sendMessage", 0.6)
    with httpx.Client(timeout=5) as client:
        sending = threading.Thread(
            target=client.post,
            args=(f"{fake.base_url}{fake.token}/sendMessage",),
            kwargs={"data": {"chat_id": ANA, "text": "seen before the answer"}},
        )
        sending.start()
        fake.wait_for(lambda: fake.messages(ANA), timeout=0.4, what="the message, unanswered")
        assert fake.calls("sendMessage")[0].finished is None  # still waiting for the answer
        sending.join()
    assert fake.calls("sendMessage")[0].ok


def test_stall_applies_even_when_the_client_times_out(fake: FakeTelegram) -> None:
    """As Telegram: the call took effect; only the client does not know it."""
    fake.send_text(ANA, "hi")
    fake.stall("sendMessage", 0.4)
    with httpx.Client(timeout=0.1) as client, pytest.raises(httpx.ReadTimeout):
        client.post(f"{fake.base_url}{fake.token}/sendMessage", data={"chat_id": ANA, "text": "x"})
    fake.wait_for(fake.stalls, timeout=3)
    assert (fake.stalls()[0].applied, fake.stalls()[0].answered) == (True, False)
    assert [m.text for m in fake.messages(ANA)] == ["x"]
    assert fake.calls("sendMessage")[0].outcome == "unanswered"


def test_stall_applies_even_when_the_bot_process_is_killed(fake: FakeTelegram) -> None:
    fake.send_text(ANA, "hi")
    fake.stall("sendMessage", 0.5)
    script = textwrap.dedent(
        f"""
        import httpx
        httpx.post({fake.base_url + fake.token + "/sendMessage"!r},
                   data={{"chat_id": "{ANA}", "text": "about to crash"}}, timeout=30)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        fake.wait_for(lambda: fake.calls("sendMessage"), timeout=10, what="the held call")
        process.kill()  # SIGKILL: the kernel closes the socket, no goodbye
    finally:
        process.wait(10)
    fake.wait_for(fake.stalls, timeout=3)
    assert [(s.applied, s.answered) for s in fake.stalls()] == [(True, False)]
    assert [m.text for m in fake.messages(ANA)] == ["about to crash"]


async def test_outage_fails_every_call_of_a_method_for_a_while(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.send_text(ANA, "hi")
    fake.outage("sendMessage", 0.5, status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(ANA, "during")
    await bot.send_chat_action(ANA, "typing")  # other methods work
    await asyncio.sleep(0.6)
    await bot.send_message(ANA, "after")
    assert [m.text for m in fake.messages(ANA)] == ["after"]
    assert [c.status for c in fake.calls("sendMessage")] == [502, 200]


def test_wait_for_failure_shows_what_was_received(fake: FakeTelegram) -> None:
    fake.send_text(ANA, "hi")
    with pytest.raises(AssertionError, match=r"1 bot message\(s\) in chat 42.*pending updates"):
        fake.wait_for_messages(ANA, 1, timeout=0.1)


# ---- a whole PTB application against the fake ----------------------------------------------------
def small_app(fake: FakeTelegram) -> Application[Any, Any, Any, Any, Any, Any]:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, "Shall we?", reply_markup=keyboard([("Yes", "go")])
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("On it")
        await query.edit_message_text(f"You chose {query.data}")

    app = Application.builder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    return app


async def converse(fake: FakeTelegram) -> None:
    fake.send_command(ANA, "/start")
    [question] = await fake.wait_for_messages_async(ANA, 1)
    fake.press(ANA, question.message_id, button_text="Yes")
    await fake.wait_for_async(lambda: fake.last_message(ANA).text == "You chose go")
    assert [a.text for a in fake.callback_answers()] == ["On it"]
    assert fake.last_message(ANA).buttons == []


async def test_a_ptb_application_in_polling_mode(fake: FakeTelegram) -> None:
    app = small_app(fake)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling()
        await converse(fake)
        await app.updater.stop()  # cancels the pending long poll: the fake sees it go away
        await app.stop()
    assert fake.pending_updates() == []  # PTB's final getUpdates confirmed everything
    assert fake.calls("deleteWebhook")[0].status == 200
    assert "gone" in [c.outcome for c in fake.calls("getUpdates")]


async def test_a_ptb_application_in_webhook_mode(fake: FakeTelegram) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = small_app(fake)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_webhook(
            listen="127.0.0.1",
            port=port,
            url_path="tg",
            webhook_url=f"http://127.0.0.1:{port}/tg",
            secret_token="s3cret",
        )
        await converse(fake)
        await app.updater.stop()
        await app.stop()
    assert [(a.status, a.secret_token) for a in fake.webhook_deliveries()] == [
        (200, "s3cret"),
        (200, "s3cret"),
    ]
