"""Files stored in the outbox become uploads when the sender makes the call.

Why this module exists: outbox parameters are JSON (sealed at rest), so a document such
as an /export file is stored as `{"filename": ..., "base64": ...}`. Just before the call
the sender turns it into python-telegram-bot's `InputFile`; once Telegram has accepted
the call the stored parameters, bytes included, are dropped.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from telegram import InputFile

__all__ = ["FILE_PARAMS", "inflate_files"]

FILE_PARAMS = ("document", "photo")


def inflate_files(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Replace stored file parameters with uploads (in place; returns `kwargs`)."""
    for name in FILE_PARAMS:
        stored = kwargs.get(name)
        if isinstance(stored, Mapping) and "base64" in stored:
            try:
                content = base64.b64decode(str(stored["base64"]), validate=True)
            except (binascii.Error, ValueError):
                content = b""
            kwargs[name] = InputFile(content, filename=str(stored.get("filename") or "file"))
    return kwargs
