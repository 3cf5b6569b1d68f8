"""parse_mode handling: turn what the bot sent into what the user would see.

Why this module exists: Telegram measures the 4096-character limit, decides whether a
message is "empty" and answers "message is not modified" on the *parsed* text (tags and
markup removed, surrounding whitespace trimmed), and it rejects malformed HTML/Markdown
with ``400 Bad Request: can't parse entities: ...``. A fake that skipped this would let a
bot with a broken template pass its end-to-end tests and fail in production, so the
server runs every text and caption through :func:`render` first.

The parsers are deliberately small: they accept what Telegram accepts for the common
tags/markers and reproduce Telegram's error wording, without aiming at full fidelity.
"""

from __future__ import annotations

import html
import re
from typing import Any

from .records import ApiError

PREFIX = "Bad Request: can't parse entities: "

HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

MD2_RESERVED = set("_*[]()~`>#+-=|{}.!")
MD2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
}
MD2_TYPES = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _Out:
    """Accumulates visible text and the entities that cover it (UTF-16 offsets)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.entities: list[dict[str, Any]] = []

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.length += utf16_len(chunk)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.length > start:
            self.entities.append({"type": kind, "offset": start, "length": self.length - start})
            self.entities[-1].update(extra)

    def text(self) -> str:
        return "".join(self.parts)


def _parse_html(text: str) -> _Out:
    out = _Out()
    stack: list[tuple[str, int, dict[str, str]]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = re.match(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);", text[i:])
            known = match is not None and (
                match.group(1) in ("amp", "lt", "gt", "quot") or match.group(1).startswith("#")
            )
            if match is not None and known:
                out.add(html.unescape(match.group(0)))
                i += len(match.group(0))
                continue
            out.add("&")
            i += 1
            continue
        if char != "<":
            out.add(char)
            i += 1
            continue
        close = text.find(">", i)
        at = _byte_offset(text, i)
        if text.startswith("</", i):
            if close < 0:
                raise ApiError(400, f"{PREFIX}Unclosed end tag at byte offset {at}")
            name = text[i + 2 : close].strip().lower()
            if not stack:
                raise ApiError(400, f"{PREFIX}Unexpected end tag at byte offset {at}")
            tag, start, attrs = stack.pop()
            if name != tag:
                raise ApiError(
                    400,
                    f'{PREFIX}Unmatched end tag at byte offset {at}, expected "</{tag}>", '
                    f'found "</{name}>"',
                )
            kind = HTML_TAGS[tag]
            if kind == "text_link":
                out.entity(kind, start, url=attrs.get("href", ""))
            elif kind == "pre":
                out.entity(kind, start)
            elif kind == "custom_emoji":
                out.entity(kind, start, custom_emoji_id=attrs.get("emoji-id", ""))
            else:
                out.entity(kind, start)
            i = close + 1
            continue
        name_match = re.match(r"<([a-zA-Z][a-zA-Z0-9-]*)", text[i:])
        name = name_match.group(1).lower() if name_match else ""
        if name not in HTML_TAGS:
            raise ApiError(400, f'{PREFIX}Unsupported start tag "{name}" at byte offset {at}')
        if close < 0:
            raise ApiError(400, f"{PREFIX}Unclosed start tag at byte offset {at}")
        attrs = dict(re.findall(r'([a-zA-Z-]+)\s*=\s*"([^"]*)"', text[i:close]))
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise ApiError(
                400, f'{PREFIX}Tag "span" must have class "tg-spoiler" at byte offset {at}'
            )
        stack.append((name, out.length, {k: html.unescape(v) for k, v in attrs.items()}))
        i = close + 1
    if stack:
        raise ApiError(
            400, f'{PREFIX}Can\'t find end tag corresponding to start tag "{stack[-1][0]}"'
        )
    return out


def _parse_markdown_v2(text: str) -> _Out:
    out = _Out()
    stack: list[tuple[str, int, int]] = []  # (marker, utf16 start, byte offset)
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and ord(text[i + 1]) < 127:
            out.add(text[i + 1])
            i += 2
            continue
        if char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = text.find(fence, i + len(fence))
            if end < 0:
                raise ApiError(
                    400,
                    f"{PREFIX}Can't find end of {'Pre' if fence == '```' else 'Code'} entity "
                    f"at byte offset {_byte_offset(text, i)}",
                )
            body = text[i + len(fence) : end]
            if fence == "```" and "\n" in body:
                body = body.split("\n", 1)[1]
            start = out.length
            out.add(re.sub(r"\\([`\\])", r"\1", body))
            out.entity("pre" if fence == "```" else "code", start)
            i = end + len(fence)
            continue
        marker = None
        if text.startswith("__", i):
            marker = "__"
        elif text.startswith("||", i):
            marker = "||"
        elif char in "*_~":
            marker = char
        if marker is not None:
            if stack and stack[-1][0] == marker:
                _, start, _ = stack.pop()
                out.entity(MD2_TYPES[marker], start)
            else:
                stack.append((marker, out.length, _byte_offset(text, i)))
            i += len(marker)
            continue
        if char == "[":
            stack.append(("[", out.length, _byte_offset(text, i)))
            i += 1
            continue
        if char == "]" and stack and stack[-1][0] == "[":
            _, start, at = stack.pop()
            url_match = re.match(r"\]\(((?:\\.|[^)\\])*)\)", text[i:])
            if not url_match:
                raise ApiError(400, f"{PREFIX}Can't find end of a url at byte offset {at}")
            out.entity("text_link", start, url=re.sub(r"\\(.)", r"\1", url_match.group(1)))
            i += len(url_match.group(0))
            continue
        if char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1
            continue
        if char in MD2_RESERVED:
            raise ApiError(
                400,
                f"{PREFIX}Character '{char}' is reserved and must be escaped with the "
                "preceding '\\'",
            )
        out.add(char)
        i += 1
    if stack:
        marker, _, at = stack[-1]
        raise ApiError(
            400, f"{PREFIX}Can't find end of {MD2_NAMES[marker]} entity at byte offset {at}"
        )
    return out


def _parse_markdown(text: str) -> _Out:
    out = _Out()
    i, n = 0, len(text)
    kinds = {"*": "bold", "_": "italic", "`": "code"}
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "*_`[":
            out.add(text[i + 1])
            i += 2
            continue
        if text.startswith("```", i) or char in kinds:
            fence = "```" if text.startswith("```", i) else char
            end = text.find(fence, i + len(fence))
            if end < 0:
                raise ApiError(
                    400,
                    f"{PREFIX}Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(text, i)}",
                )
            start = out.length
            out.add(text[i + len(fence) : end])
            out.entity("pre" if fence == "```" else kinds[fence], start)
            i = end + len(fence)
            continue
        link = re.match(r"\[([^\]]*)\]\(([^)]*)\)", text[i:]) if char == "[" else None
        if link:
            start = out.length
            out.add(link.group(1))
            out.entity("text_link", start, url=link.group(2))
            i += len(link.group(0))
            continue
        out.add(char)
        i += 1
    return out


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips leading/trailing whitespace; entities are shifted and clipped."""
    stripped = text.strip()
    if not stripped:
        return "", []
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    fixed = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    return stripped, fixed


def render(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """(visible text, entities) for a text/caption as Telegram would store it."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        out = _parse_html(text)
    elif mode == "markdownv2":
        out = _parse_markdown_v2(text)
    elif mode == "markdown":
        out = _parse_markdown(text)
    elif mode:
        raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
    else:
        out = _Out()
        out.add(text)
        out.entities = [dict(e) for e in entities or []]
    return _trim(out.text(), out.entities)
