"""One outage, one warning: how the bot waits out failures without flooding its log.

Why this module exists: Telegram or the database can fail for minutes. Retrying is
right, but a traceback per attempt buried the one line an operator needs (104 of them in
a 30 s getUpdates outage). Every retry loop in `bot.tg` (the fetch loop, the receiver's
storage waits, the sender) uses the two pieces here:

- `Outage`: the first failure of a kind logs one warning, later ones are only counted
  (with a reminder every ten minutes while it lasts), and the recovery logs one line
  with the count and the duration.
- `backoff`: capped exponential waits with a little jitter, multiplied by the
  configured time scale (tests run the same code with waits 20 times shorter).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta

__all__ = ["Outage", "backoff", "seconds"]

REMIND_EVERY = 600.0  # seconds between "still failing" lines during one long outage


def backoff(attempt: int, *, base: float, cap: float, scale: float = 1.0) -> float:
    """Seconds to wait before retry number `attempt` (0-based): base, 2 base, 4 base...
    up to `cap`, then ±10% jitter so that many waiting chats do not retry in step."""
    delay = min(cap, base * 2 ** min(attempt, 30))
    return delay * scale * random.uniform(0.9, 1.1)


def seconds(value: timedelta | float) -> float:
    """A `retry_after` as seconds (python-telegram-bot gives a timedelta with PTB_TIMEDELTA)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Outage:
    """Counts consecutive failures of one kind and logs the start and the end, once each."""

    def __init__(self, log: logging.Logger, what: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log, self.what, self.clock = log, what, clock
        self.failures = 0
        self.started = 0.0
        self._reminded = 0.0

    @property
    def ongoing(self) -> bool:
        return self.failures > 0

    def duration(self) -> float:
        return self.clock() - self.started if self.failures else 0.0

    def failed(self, reason: str) -> None:
        """One more failure; `reason` is a category (an exception's name), never user data."""
        now = self.clock()
        self.failures += 1
        if self.failures == 1:
            self.started = self._reminded = now
            self.log.warning("%s failed (%s); retrying quietly until it works again",
                             self.what, reason)
        elif now - self._reminded >= REMIND_EVERY:
            self._reminded = now
            self.log.warning("%s still failing (%s): %d failures in %.0f s",
                             self.what, reason, self.failures, now - self.started)

    def recovered(self) -> None:
        if self.failures:
            self.log.warning("%s works again after %d failure(s) in %.1f s",
                             self.what, self.failures, self.clock() - self.started)
        self.failures = 0
