"""One background task a component owns: started once, cancelled and awaited on close.

The reminder job, the privacy upkeep and the command menu's retry each run a loop beside
the bot; this is the start/stop bookkeeping they share, so shutdown is the same for all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

__all__ = ["Background"]


class Background:
    """A named asyncio task, or nothing yet."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task[None] | None = None

    def start(self, work: Coroutine[Any, Any, None]) -> None:
        self._task = asyncio.create_task(work, name=self.name)

    async def close(self) -> None:
        """Cancel the task (if any) and wait until it has stopped."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
