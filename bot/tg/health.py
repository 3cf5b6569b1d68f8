"""`/healthz`: one answer a container runtime or a load balancer can act on.

It answers 200 only when the database answers a query and the sender is alive and keeping
up: fewer unsent replies than `HEALTH_MAX_BACKLOG`, and none waiting longer than
`HEALTH_MAX_AGE` seconds. Anything else is 503 with the reason. The body is a few counts
as JSON, never an id or a message, because anyone who can reach the port can read it.

The same handler is mounted on the webhook server and, with `HEALTH_PORT`, on a small
server of its own (so that polling mode has one too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

import tornado.httpserver
import tornado.web

from bot.config import Settings
from bot.storage import Store

__all__ = ["PATH", "HealthSource", "check", "health_route", "serve_health"]

PATH = "/healthz"
QUERY_TIMEOUT = 5.0  # seconds for the database to answer before /healthz says it did not

Report = tuple[int, dict[str, Any]]


class _Sender(Protocol):
    @property
    def alive(self) -> bool: ...


class HealthSource(Protocol):
    """What the running bot holds (`bot.tg.app.Runtime`); store and sender appear at start."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store | None: ...

    @property
    def sender(self) -> _Sender | None: ...


async def check(source: HealthSource) -> Report:
    """(HTTP status, JSON body) for the bot's health right now."""
    store, sender, settings = source.store, source.sender, source.settings
    if store is None or sender is None:
        return 503, {"ok": False, "reason": "starting"}
    try:
        backlog = await asyncio.wait_for(store.outbox_backlog(), QUERY_TIMEOUT)
    except TimeoutError:
        return 503, {"ok": False, "reason": f"the database did not answer in {QUERY_TIMEOUT:g} s"}
    except Exception as exc:  # what failed, by kind only: its text may quote the query
        return 503, {"ok": False, "reason": "the database did not answer a query",
                     "error": type(exc).__name__}
    age = backlog.oldest_age(store.now())
    body: dict[str, Any] = {"pending": backlog.pending, "oldest_pending_seconds": round(age, 1)}
    if not sender.alive:
        reason = "the sender is not running"
    elif backlog.pending > settings.health_max_backlog:
        reason = f"{backlog.pending} replies unsent (HEALTH_MAX_BACKLOG is " \
                 f"{settings.health_max_backlog})"
    elif age > settings.health_max_age:
        reason = f"the oldest unsent reply has waited {age:.0f} s (HEALTH_MAX_AGE is " \
                 f"{settings.health_max_age:g} s)"
    else:
        return 200, {"ok": True, **body}
    return 503, {"ok": False, "reason": reason, **body}


class HealthHandler(tornado.web.RequestHandler):
    def initialize(self, source: HealthSource) -> None:
        self.source = source

    async def get(self) -> None:
        status, body = await check(self.source)
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.write(body)

    def log_exception(self, *args: object) -> None:  # tornado would log request details
        pass


def health_route(source: HealthSource) -> tuple[str, type[HealthHandler], dict[str, Any]]:
    """The rule to add to a tornado Application (the webhook server's, say)."""
    return PATH, HealthHandler, {"source": source}


def serve_health(source: HealthSource, extra_routes: Sequence[Any] = ()
                 ) -> tornado.httpserver.HTTPServer | None:
    """Listen on HEALTH_PORT (unless unset, or the webhook server's own port) until stopped;
    `extra_routes` (`/metrics`) are served there too."""
    settings = source.settings
    port = settings.health_port
    if port is None or (settings.webhook and port == settings.port):
        return None
    web = tornado.web.Application([health_route(source), *extra_routes],
                                  log_function=lambda handler: None)
    server = tornado.httpserver.HTTPServer(web)
    server.listen(port, address=settings.listen)
    return server
