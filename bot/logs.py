"""Logging that cannot leak: the token is redacted from every record, users are hashed.

python-telegram-bot's HTTP client (httpx) logs request URLs, and those contain the bot
token; `repr()` of a Bot contains it too. A filter on the root handler replaces the token
(and the webhook secret) wherever it appears, in the message or its arguments, and the
httpx logger is raised to WARNING (python-telegram-bot's own loggers to at least INFO: at
DEBUG they print every update and API call). Message text never goes to the log: code logs a
keyed hash of the user (`user_ref`), never a chat id or what was said.

`LOG_FORMAT=json` writes one JSON object a line (python-json-logger: `time`, `level`,
`logger`, `message`) for log collectors; the same filter redacts it first, so the two
formats carry the same words.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sys

__all__ = ["RedactingFilter", "setup_logging", "user_ref"]

_key = b"relbot"


class RedactingFilter(logging.Filter):
    """Replaces each secret with `[REDACTED]` in the formatted message of every record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not take the log down
            message = str(record.msg)
        clean = message
        for secret in self.secrets:
            clean = clean.replace(secret, "[REDACTED]")
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                text = text.replace(secret, "[REDACTED]")
            record.exc_text = text
            record.exc_info = None
            clean = f"{clean}\n{text}"
        record.msg, record.args = clean, None
        return True


def user_ref(user_id: int) -> str:
    """A stable, keyed, non-reversible reference to a user for logs (never the id)."""
    return hmac.new(_key, str(user_id).encode(), hashlib.sha256).hexdigest()[:10]


def _formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                             rename_fields={"asctime": "time", "levelname": "level",
                                            "name": "logger"})
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def setup_logging(level: str, secrets: list[str], log_format: str = "text") -> None:
    """Root logging to stderr with redaction; httpx quiet (its URLs carry the token)."""
    global _key
    if secrets and secrets[0]:
        _key = hashlib.sha256(b"relbot-log:" + secrets[0].encode()).digest()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_formatter(log_format))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # At DEBUG python-telegram-bot logs every update and API call in full: what people
    # wrote, their names and chat ids. Never below INFO, whatever LOG_LEVEL says.
    logging.getLogger("telegram").setLevel(max(logging.INFO, root.getEffectiveLevel()))
