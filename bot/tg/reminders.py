"""The reminder job: claims due reminders from the database and sends each one once.

Why it looks like this: reminders live in the database (``reminders``), not in memory, so
they survive restarts and deploys.  Every second the job claims what is due with a short
lease (several replicas never take the same row; a replica that dies leaves its rows to be
claimed again when the lease ends), and fires each one in the person's own transaction:
the message goes into the outbox and the series moves to its next time in the same
commit, so a reminder is sent once even if the process dies half-way.  Quiet hours and the
time zone were applied when the time was computed (``bot.homework.schedule``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.background import Background
from bot.storage import Store
from bot.tg.homework import HomeworkDesk
from bot.tg.sender import Sender

__all__ = ["ReminderJob"]

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
EVERY = 1.0  # seconds between looks; one indexed UPDATE each


class ReminderJob:
    def __init__(self, store: Store, sender: Sender, desk: HomeworkDesk,
                 every: float = EVERY) -> None:
        self.store = store
        self.sender = sender
        self.desk = desk
        self.every = every
        self.fired = 0
        self._task = Background("reminders")

    def start(self) -> None:
        self._task.start(self._run())

    async def close(self) -> None:
        await self._task.close()

    async def _run(self) -> None:
        failing = False
        while True:
            try:
                await self.tick()
                failing = False
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a storage fault: say so once, try again
                if not failing:
                    log.warning("reminders could not be checked (%s); retrying",
                                type(error).__name__)
                failing = True
            await asyncio.sleep(self.every)

    async def tick(self) -> int:
        """Fire what is due now; returns how many reminders were sent."""
        sent = 0
        for reminder in await self.store.claim_reminders(LEASE):
            chat_id = await self.desk.fire(reminder)
            if chat_id is not None:
                sent += 1
                self.sender.kick(chat_id, background=True)  # after the replies in hand
        self.fired += sent
        if sent:
            log.info("reminders sent: %d", sent)
        return sent
