"""getUpdates and webhook management: how updates leave the fake Telegram.

Why this module exists: update delivery is where Telegram's semantics are subtle and where
bots break on restarts and deployments, so it gets its own module: an update stays queued
until a later getUpdates confirms it with a higher ``offset`` (or the webhook answers 2xx);
a long poll that is waiting is *terminated with 409* when another one starts waiting (the
newer poll wins, as in tdlib/telegram-bot-api's ``abort_long_poll``) or when setWebhook is
called; getUpdates is refused with 409 while a webhook is set; allowed_updates persists
between calls and filters updates created after it was set.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .records import ApiError, JSONDict
from .state import DEFAULT_ALLOWED, Entry, Poll, State, Webhook
from .wire import FileTuple, Params

MAX_POLL_TIMEOUT = 50
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)


@dataclass
class Ok:
    """A result plus the optional ``description`` Telegram adds (e.g. "Webhook was set")."""

    result: Any
    description: str | None = None


class Gone(Exception):
    """The long-polling client disconnected; nothing must be written back."""


class UpdateMethods:
    def __init__(self, state: State):
        self.s = state

    # ---- updates ---------------------------------------------------------------------------------
    def get_updates(self, p: Params, alive: Callable[[], bool]) -> list[JSONDict]:
        """getUpdates with long polling; the caller holds ``State.cond``."""
        s = self.s
        if s.webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        limit = min(max(p.get_int("limit", 100) or 100, 1), 100)
        timeout = min(max(p.get_float("timeout", 0.0), 0.0), MAX_POLL_TIMEOUT)
        s.set_allowed(p.get_json("allowed_updates"))
        offset = s.confirm(p.get_int("offset", 0) or 0)
        batch = s.select(offset, limit)
        if batch or timeout <= 0:
            return self._serve(batch)
        if s.poll is not None:
            s.poll.terminated = POLL_CONFLICT
        poll = s.poll = Poll()
        s.cond.notify_all()
        deadline = time.monotonic() + timeout
        try:
            while True:
                if poll.terminated is not None:
                    raise ApiError(409, poll.terminated)
                batch = s.select(offset, limit)
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0 or s.stopping:
                    return self._serve(batch)
                s.cond.wait(min(remaining, 0.05))
                if not alive():
                    raise Gone
        finally:
            if s.poll is poll:
                s.poll = None

    def _serve(self, batch: list[Entry]) -> list[JSONDict]:
        for entry in batch:
            entry.served = True
        return [entry.payload for entry in batch]

    def m_setwebhook(self, p: Params, files: dict[str, FileTuple]) -> Ok:
        s = self.s
        url = p.get_str("url") or ""
        if not url:
            return self.m_deletewebhook(p, files)
        if not re.match(r"https?://[^/]+", url):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = p.get_str("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = min(max(p.get_int("max_connections", 40) or 40, 1), 100)
        s.set_allowed(p.get_json("allowed_updates"))
        drop = p.get_bool("drop_pending_updates")
        if drop:
            s.queue.clear()
        old = s.webhook
        if (
            old is not None
            and (old.url, old.secret_token, old.max_connections) == (url, secret, max_connections)
            and not drop
        ):
            return Ok(True, "Webhook is already set")
        if s.poll is not None:
            s.poll.terminated = "Conflict: terminated by setWebhook request"
        s.webhook_generation += 1
        s.webhook = Webhook(url, secret, max_connections, s.webhook_generation)
        s.cond.notify_all()
        return Ok(True, "Webhook was set")

    def m_deletewebhook(self, p: Params, files: dict[str, FileTuple]) -> Ok:
        s = self.s
        if p.get_bool("drop_pending_updates"):
            s.queue.clear()
        if s.webhook is None:
            return Ok(True, "Webhook is already deleted")
        s.webhook = None
        s.webhook_generation += 1
        s.cond.notify_all()
        return Ok(True, "Webhook was deleted")

    def m_getwebhookinfo(self, p: Params, files: dict[str, FileTuple]) -> JSONDict:
        s = self.s
        info: JSONDict = {
            "url": s.webhook.url if s.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(s.queue),
        }
        if s.webhook is not None:
            info["max_connections"] = s.webhook.max_connections
            info["ip_address"] = "127.0.0.1"
            if s.webhook.last_error_date is not None:
                info["last_error_date"] = s.webhook.last_error_date
                info["last_error_message"] = s.webhook.last_error_message
        if s.allowed != DEFAULT_ALLOWED:
            info["allowed_updates"] = sorted(s.allowed)
        return info
