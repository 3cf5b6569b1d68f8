"""Texts longer than Telegram's 4096 characters are split (a unit test: `relbot validate`
rejects dialogue texts that could exceed the limit, so no shipped dialogue can show it)."""

from __future__ import annotations

from bot.core.types import Button, Chosen, Message
from bot.tg.render import MAX_MESSAGE, PressedMessage, render, split_text


def paragraphs(count: int, words: int) -> str:
    return "\n\n".join(" ".join(f"p{p}w{w}" for w in range(words)) for p in range(count))


def test_short_text_is_one_part() -> None:
    assert split_text("Hello") == ["Hello"]
    assert split_text("x" * MAX_MESSAGE) == ["x" * MAX_MESSAGE]


def test_long_text_is_cut_at_paragraphs_and_loses_nothing() -> None:
    text = paragraphs(16, 90)  # ~ 9,000 characters, paragraphs of ~ 560
    parts = split_text(text)
    assert len(parts) == 3
    assert all(len(part) <= MAX_MESSAGE for part in parts)
    assert all(part.startswith("p") and part.endswith("w89") for part in parts)  # whole ones
    assert "\n\n".join(parts) == text


def test_one_huge_paragraph_is_cut_at_lines_then_words_then_anywhere() -> None:
    lines = "\n".join("word " * 50 for _ in range(40))  # no blank lines
    parts = split_text(lines)
    assert all(len(p) <= MAX_MESSAGE for p in parts) and len(parts) == 3
    assert [w for p in parts for w in p.split()] == lines.split()

    words = "word " * 2000  # one line
    parts = split_text(words)
    assert all(len(p) <= MAX_MESSAGE for p in parts)
    assert [w for p in parts for w in p.split()] == words.split()

    blob = "x" * 10_000  # not a single space: hard cuts
    assert split_text(blob) == ["x" * 4096, "x" * 4096, "x" * 1808]


def test_a_long_message_becomes_several_sends_with_the_keyboard_on_the_last() -> None:
    message = Message(paragraphs(16, 90), (Button("a", "Yes"), Button("b", "No")), 2)
    calls = render([message], chat_id=42, step=7)
    assert [c.method for c in calls] == ["sendMessage"] * 3
    assert all(len(c.params["text"]) <= MAX_MESSAGE for c in calls)
    assert all("reply_markup" not in c.params for c in calls[:-1])
    assert calls[-1].params["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Yes", "callback_data": "7:a"},
                {"text": "No", "callback_data": "7:b"},
            ]
        ]
    }


def test_a_choice_on_a_very_long_question_only_removes_the_keyboard() -> None:
    pressed = PressedMessage(5, "q" * 4090)
    (call,) = render([Chosen("Yes")], chat_id=42, step=3, pressed=pressed)
    assert (call.method, call.params) == (
        "editMessageReplyMarkup",
        {"chat_id": 42, "message_id": 5},
    )
    (call,) = render([Chosen("Yes")], chat_id=42, step=3, pressed=PressedMessage(5, "Sure?"))
    assert call.params["text"] == "Sure?\n\n✓ Yes"
