"""`/metrics` over HTTP, and the Bot API client that counts its calls.

`/metrics` is mounted beside `/healthz`: on the webhook server, and on HEALTH_PORT (which
polling mode needs for both). `METRICS=0` leaves it out. Before each scrape the outbox
gauges are read from the database (one short query); if the database does not answer,
the gauges keep their last values and the rest is still served.

`MeteredRequest` is python-telegram-bot's HTTPX client with one addition: each call is
counted by Bot API method (the last segment of the URL; the token before it is never
looked at) and by HTTP outcome. Counting at the HTTP layer sees every call, whichever
module made it (the sender, button answers, the long poll, setWebhook).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import tornado.web
from telegram.request import HTTPXRequest

from bot.metrics import CONTENT_TYPE, Metrics
from bot.storage import Store

__all__ = ["PATH", "MeteredRequest", "metrics_route", "watch_outbox"]

PATH = "/metrics"
QUERY_TIMEOUT = 2.0  # seconds for the outbox query before a scrape goes on without it


class MeteredRequest(HTTPXRequest):
    def __init__(self, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics

    async def do_request(self, url: str, method: str, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        api_method = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        try:
            status, payload = await super().do_request(url, method, *args, **kwargs)
        except Exception:
            self.metrics.api_call(api_method, None)
            raise
        self.metrics.api_call(api_method, status)
        return status, payload


def watch_outbox(metrics: Metrics, store: Store) -> None:
    """Read the outbox backlog, its oldest row's age and the reminders due before each
    scrape."""

    async def refresh() -> None:
        with contextlib.suppress(Exception):  # a scrape must not fail with the database
            backlog = await asyncio.wait_for(store.outbox_backlog(), QUERY_TIMEOUT)
            metrics.outbox_backlog.set(backlog.pending)
            metrics.outbox_oldest.set(round(backlog.oldest_age(store.now()), 3))
            due = await asyncio.wait_for(store.reminders_due(), QUERY_TIMEOUT)
            metrics.reminders_due.set(due)

    metrics.refresh_with(refresh)


class MetricsHandler(tornado.web.RequestHandler):
    def initialize(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def get(self) -> None:
        body = await self.metrics.render()
        self.set_header("Content-Type", CONTENT_TYPE)
        self.set_header("Cache-Control", "no-store")
        self.write(body)

    def log_exception(self, *args: object) -> None:  # tornado would log request details
        pass


def metrics_route(metrics: Metrics) -> tuple[str, type[MetricsHandler], dict[str, Any]]:
    return PATH, MetricsHandler, {"metrics": metrics}
