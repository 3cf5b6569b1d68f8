"""What the running bot counts, for Prometheus: never who, only how many and how fast.

Why this module exists: an operator of several replicas needs to see, per replica, whether
updates flow, how long a step takes, how Telegram answers (429 means we are too fast, 403
that people blocked the bot), whether the outbox keeps up, and how often the crisis screen
fires, without any of it identifying a person. So every label here is a kind (update type,
Bot API method, outcome, crisis category), never an id or a text, and the values are
counts and durations.

One `Metrics` per process, with its own registry (not prometheus-client's global one), so
tests can run several bots in one process. The HTTP side is in `bot.tg.metrics_http`;
the names are documented in README.md ("Metrics").
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "Metrics", "api_outcome"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METHOD = re.compile(r"[A-Za-z]{1,40}")
#: A step is the screen, the dialogue step and the commit: milliseconds to seconds.
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def api_outcome(status: int | None) -> str:
    """The outcome label of one Bot API call: ok, 400, 403, 429, 5xx, other, network."""
    if status is None:
        return "network"
    if 200 <= status < 300:
        return "ok"
    if status in (400, 403, 429):
        return str(status)
    return "5xx" if status >= 500 else "other"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter("relbot_updates", "Updates received, by type and verdict "
                               "(applied, dead: set aside, later: not acknowledged yet)",
                               ["type", "verdict"], registry=r)
        self.step_seconds = Histogram("relbot_step_seconds", "Time to apply one update: "
                                      "screen, dialogue step and commit", registry=r,
                                      buckets=STEP_BUCKETS)
        self.api_calls = Counter("relbot_bot_api_calls", "Bot API calls, by method and "
                                 "outcome (ok, 400, 403, 429, 5xx, other, network)",
                                 ["method", "outcome"], registry=r)
        self.outbox_backlog = Gauge("relbot_outbox_backlog", "Replies committed but not sent "
                                    "yet (the whole deployment's outbox)", registry=r)
        self.outbox_oldest = Gauge("relbot_outbox_oldest_pending_seconds", "How long the "
                                   "oldest unsent reply has waited", registry=r)
        self.crisis_flags = Counter("relbot_crisis_flags", "Messages the crisis screen "
                                    "flagged, by category (counts only)", ["category"],
                                    registry=r)
        self.reminders_due = Gauge("relbot_reminders_due", "Homework reminders due and not "
                                   "claimed by a sender yet", registry=r)
        self._refreshers: list[Callable[[], Awaitable[None]]] = []

    def api_call(self, method: str, status: int | None) -> None:
        name = method if _METHOD.fullmatch(method) else "other"
        self.api_calls.labels(name, api_outcome(status)).inc()

    def flagged(self, category: str) -> None:
        self.crisis_flags.labels(category).inc()

    def refresh_with(self, refresher: Callable[[], Awaitable[None]]) -> None:
        """Run `refresher` before each scrape (gauges read from the database)."""
        self._refreshers.append(refresher)

    async def render(self) -> bytes:
        for refresher in self._refreshers:
            await refresher()
        return generate_latest(self.registry)
