"""The time the running bot goes by: the wall clock, or (for tests) one that can be moved.

Why: reminders are due hours or days ahead, and the end-to-end tests must see them fire at
the right local time, across a restart, without waiting.  With ``RELBOT_TEST_CLOCK_FILE``
set, the store's clock is the wall clock plus the number of seconds written in that file
(re-read whenever the file changes), so a test moves the bot's time forward by writing a
number.  Never set it in production.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["FileClock"]


class FileClock:
    """UTC now plus the offset (seconds) in ``path``; no file, or no number: no offset."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: int | None = None
        self._offset = timedelta(0)

    def __call__(self) -> datetime:
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._offset = timedelta(seconds=float(self.path.read_text().strip() or 0))
            except (OSError, ValueError):
                self._offset = timedelta(0)
        return datetime.now(UTC) + self._offset
