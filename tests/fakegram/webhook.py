"""Webhook delivery: POST queued updates to the bot's webhook URL, like Telegram does.

Why this module exists: in webhook mode nobody polls; Telegram pushes each update as a
JSON POST (with ``X-Telegram-Bot-Api-Secret-Token`` when a secret was set), strictly in
order and one at a time per bot in this fake, and keeps retrying an update until the
webhook answers 2xx. Bots get this wrong in characteristic ways (rejecting the real
secret, answering 500 on a handler error, being slow), so the delivery thread records
every attempt and its status for the tests, and exposes the last error through
getWebhookInfo exactly like Telegram ("Wrong response from the webhook: 403 Forbidden").

With ``workers`` > 1 (Telegram's ``max_connections``), that many threads deliver at once,
each the oldest update nobody is posting yet: updates then arrive concurrently and not
necessarily in order, as they do at a deployment of several replicas.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from urllib.parse import urlsplit

from .records import WebhookAttempt
from .state import Entry, State


def _post(url: str, secret: str | None, body: bytes, timeout: float) -> tuple[int | None, str]:
    """(status or None, Telegram-style error text or "")."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if 200 <= response.status < 300:
            return response.status, ""
        return response.status, (
            f"Wrong response from the webhook: {response.status} {response.reason}"
        )
    except ConnectionRefusedError:
        return None, "Connection refused"
    except TimeoutError:
        return None, "Read timeout expired"
    except (OSError, http.client.HTTPException) as exc:
        return None, f"Connection error: {exc.__class__.__name__}"
    finally:
        connection.close()


def _next(s: State) -> list[Entry]:
    """The oldest update no worker is posting (a one-item list), or []."""
    return next(([entry] for entry in s.queue if not entry.delivering), [])


class WebhookDeliverer:
    """One background thread per fake bot delivering its queue to the webhook."""

    def __init__(self, state: State, *, backoff: float, max_attempts: int, timeout: float,
                 workers: int = 1):
        self.state = state
        self.backoff = backoff
        self.max_attempts = max_attempts
        self.timeout = timeout
        self._threads = [threading.Thread(target=self._run, name="fakegram-webhook",
                                          daemon=True) for _ in range(workers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def _run(self) -> None:
        s = self.state
        while True:
            with s.cond:
                while not s.stopping and (s.webhook is None or not _next(s)):
                    s.cond.wait(0.5)
                if s.stopping:
                    return
                hook = s.webhook
                assert hook is not None
                entry = _next(s)[0]
                entry.delivering = True
                entry.attempts += 1
                attempt = entry.attempts
                url, secret = hook.url, hook.secret_token
            body = json.dumps(entry.payload).encode()
            status, error = _post(url, secret, body, self.timeout)
            ok = status is not None and 200 <= status < 300
            with s.cond:
                s.records.deliveries.append(
                    WebhookAttempt(
                        entry.update_id, attempt, url, secret, status, error or None, time.time()
                    )
                )
                if not ok and s.webhook is hook:
                    hook.last_error_date = s.today()
                    hook.last_error_message = error
                entry.delivering = False
                if ok or attempt >= self.max_attempts:
                    s.queue = [queued for queued in s.queue if queued is not entry]
                s.cond.notify_all()
                if not ok:
                    deadline = time.monotonic() + self.backoff
                    while not s.stopping and (left := deadline - time.monotonic()) > 0:
                        s.cond.wait(left)
