"""Per-chat pacing: a token bucket, and one rebuilt from a chat's recorded sends.

Why its own module: with several replicas a chat's bucket must count sends another
replica made a moment ago; `ChatBucket.replayed` rebuilds it from the send times the
outbox records (`Store.recent_sends`), so pacing state needs no table of its own.
"""

from __future__ import annotations

import time
from datetime import datetime

__all__ = ["ChatBucket"]


class ChatBucket:
    """A token bucket: `burst` messages at once, then `rate` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    @classmethod
    def replayed(cls, rate: float, burst: int, sends: list[datetime],
                 now: datetime) -> ChatBucket:
        """A bucket as if it had paced `sends` (wall-clock times, oldest first) until `now`."""
        bucket = cls(rate, burst)
        previous: datetime | None = None
        for sent in sends:
            if previous is not None:
                elapsed = (sent - previous).total_seconds()
                bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
            bucket.tokens -= 1
            previous = sent
        if previous is not None:
            elapsed = max(0.0, (now - previous).total_seconds())
            bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
        return bucket

    def delay(self) -> float:
        """Seconds to wait before the next message (and take its token)."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def refund(self) -> None:
        """Give back the token of a message that did not go out (an error answer)."""
        self.tokens = min(self.burst, self.tokens + 1)

    def idle(self, now: float) -> bool:
        """Full again: the same as a new bucket, so it can be forgotten."""
        return self.tokens + (now - self.updated) * self.rate >= self.burst
