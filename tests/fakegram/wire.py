"""HTTP-level helpers: decoding Bot API requests and watching client sockets.

Why this module exists: python-telegram-bot 22 POSTs every call as
``application/x-www-form-urlencoded`` (each value a string; lists/dicts such as
reply_markup or allowed_updates JSON-encoded into that string) and switches to
``multipart/form-data`` as soon as a file is attached; other clients use JSON bodies or
query strings. The server must accept all of them identically, and must be able to tell
whether the client is still connected (long polls, stalled calls). That plumbing lives
here so the method implementations only ever see a :class:`Params`.
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .records import ApiError, JSONDict

JSON_FIELDS = {
    "reply_markup",
    "allowed_updates",
    "commands",
    "scope",
    "entities",
    "caption_entities",
    "reply_parameters",
    "link_preview_options",
    "media",
}
INT_FIELDS = {
    "chat_id",
    "message_id",
    "offset",
    "limit",
    "timeout",
    "cache_time",
    "max_connections",
    "reply_to_message_id",
    "message_thread_id",
    "user_id",
}
BOOL_FIELDS = {
    "show_alert",
    "drop_pending_updates",
    "disable_notification",
    "protect_content",
    "disable_web_page_preview",
    "allow_sending_without_reply",
    "disable_content_type_detection",
    "has_spoiler",
}

FileTuple = tuple[str | None, bytes, str | None]


@dataclass
class Decoded:
    params: dict[str, Any]
    files: dict[str, FileTuple] = field(default_factory=dict)
    encoding: str = "empty"


def _disposition(headers: str) -> tuple[str | None, str | None]:
    line = next(
        (h for h in headers.split("\r\n") if h.lower().startswith("content-disposition:")), ""
    )
    name = re.search(r'[; ]name="((?:[^"\\]|\\.)*)"', line)
    filename = re.search(r'filename="((?:[^"\\]|\\.)*)"', line)
    return (
        name.group(1) if name else None,
        filename.group(1).replace("%22", '"') if filename else None,
    )


def _multipart(content_type: str, body: bytes) -> Decoded:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ApiError(400, "Bad Request: can't parse multipart/form-data: no boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    decoded = Decoded(params={}, encoding="multipart")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        head, _, content = chunk.partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = head.decode("utf-8", "replace")
        name, filename = _disposition(headers)
        if name is None:
            continue
        ctype = re.search(r"(?im)^content-type:\s*(.+)$", headers)
        if filename is not None:
            decoded.files[name] = (filename, content, ctype.group(1).strip() if ctype else None)
        else:
            decoded.params[name] = content.decode("utf-8", "replace")
    return decoded


def decode_request(content_type: str, body: bytes, query: str) -> Decoded:
    """Parameters of one call, whatever the encoding; query-string values come first."""
    query_params = dict(parse_qsl(query, keep_blank_values=True))
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        decoded = _multipart(content_type, body)
    elif ctype == "application/json" and body.strip():
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise ApiError(400, "Bad Request: can't parse JSON object") from exc
        if not isinstance(value, dict):
            raise ApiError(400, "Bad Request: JSON object expected")
        decoded = Decoded(params=value, encoding="json")
    elif body:
        text = body.decode("utf-8", "replace")
        decoded = Decoded(params=dict(parse_qsl(text, keep_blank_values=True)), encoding="form")
    else:
        decoded = Decoded(params={}, encoding="query" if query_params else "empty")
    decoded.params = {**query_params, **decoded.params}
    return decoded


def normalise(params: dict[str, Any]) -> JSONDict:
    """Friendly view of the parameters for tests: JSON decoded, ids as int, flags as bool."""
    result: JSONDict = {}
    for key, value in params.items():
        if isinstance(value, str):
            if key in JSON_FIELDS and value[:1] in "[{":
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            elif key in INT_FIELDS and re.fullmatch(r"-?\d+", value):
                value = int(value)
            elif key in BOOL_FIELDS and value.lower() in ("true", "false"):
                value = value.lower() == "true"
        result[key] = value
    return result


class Params:
    """Typed, Telegram-error-raising access to one call's parameters."""

    def __init__(self, raw: dict[str, Any]):
        self.raw = raw

    def has(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, dict | list):
            return json.dumps(value)
        return str(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None

    def get_float(self, name: str, default: float = 0.0) -> float:
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        value = self.raw.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str) -> Any:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            if name == "reply_markup":
                raise ApiError(
                    400, "Bad Request: can't parse reply keyboard markup JSON object"
                ) from None
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None


def client_connected(sock: socket.socket) -> bool:
    """False once the peer has closed (EOF) or reset the connection.

    A readable socket whose MSG_PEEK returns b"" has reached EOF: the client went away
    (closed its connection, timed out, or its process died and the kernel closed it).
    """
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return True
        return sock.recv(1, socket.MSG_PEEK) != b""
    except (OSError, ValueError):
        return False
