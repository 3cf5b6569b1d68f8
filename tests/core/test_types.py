"""Sessions (stored as JSON) and Telegram callback data: round trips and junk."""

from __future__ import annotations

import pytest

from bot.core.compile import CompiledBundle
from bot.core.types import (
    Pressed,
    Session,
    decode_callback,
    encode_callback,
)

from .helpers import Chat, at_path

# --- sessions and callback data ----------------------------------------------------


def test_a_session_survives_a_json_round_trip_at_every_step(chat: Chat) -> None:
    at_path(chat)
    for action in (
        lambda: chat.press("A pause first"),
        lambda: chat.intent("help"),
        lambda: chat.press("Done"),
        lambda: chat.intent("back"),
    ):
        action()
        text = chat.session.to_json()
        assert Session.from_json(text) == chat.session
        assert len(text.encode()) < 1024


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "{",
        "null",
        "[1, 2]",
        '"x"',
        "5",
        '{"n": 1e400}',
        '{"n": -3}',
        '{"s": [[1, 2, 3]]}',
        '{"s": [["tour"]]}',
        '{"s": "ab"}',
        '{"v": "abc"}',
        '{"v": null}',
        '{"h": [["a", [["k", 5]], 1]]}',
        '{"h": [[1, [], 1]]}',
        '{"s": [["tour", ["x"], null]]}',
    ],
)
def test_unreadable_json_becomes_a_fresh_session(text: str | None) -> None:
    assert Session.from_json(text) == Session()


def test_a_session_in_a_state_that_no_longer_exists_starts_clean(chat: Chat) -> None:
    chat.session = Session.from_json('{"s":[["tour","gone",null]],"v":{"language":"en"},"n":4}')
    chat.type("hi")
    assert chat.texts[0] == "Let's start the tour." and chat.where == [("tour", "hello")]


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "x",
        ":",
        "1:",
        ":a",
        "a:b",
        "-1:a",
        "1.5:a",
        "²:a",
        "٣:a",
        " 1:a",
        "1" * 13 + ":a",
        "1:" + "a" * 63,
        "1:a\x00",
    ],
)
def test_decode_callback_rejects_junk(data: str | None) -> None:
    result = decode_callback(data)
    assert result is None or (isinstance(result.step, int) and result.choice)
    if data in (None, "", "x", ":", "1:", ":a", "a:b", "-1:a", "²:a", "٣:a", "1" * 13 + ":a"):
        assert result is None


def test_callback_data_round_trips_within_64_bytes(examples: CompiledBundle) -> None:
    assert decode_callback(encode_callback(42, "walk")) == Pressed(42, "walk")
    biggest = 10**12 - 1  # the largest step decode_callback accepts
    for dialogue in examples.dialogues.values():
        for state in dialogue.states.values():
            for choice_id in state.choices:
                data = encode_callback(biggest, choice_id)
                assert len(data.encode()) <= 64
                assert decode_callback(data) == Pressed(biggest, choice_id)
