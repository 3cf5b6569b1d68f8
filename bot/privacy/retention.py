"""Retention, run inside the bot: nothing is kept longer than its purpose needs.

Why this module exists: purge methods in the store are worthless unless something calls
them. `Upkeep` wakes every few minutes and tries to claim each job; `Store.claim_job`
lets exactly one caller (one replica, with PostgreSQL) run a job per period, so replicas
never run the same job twice or at once. The jobs:

- `purge`: inbox rows and finished outbox rows older than 30 days are deleted (Telegram
  redelivers for a day at most; sent rows already hold no text), and dead-lettered rows
  lose their text after a one-hour grace period (time to look at a failure);
- `expire`: people not heard from for `RETENTION_DAYS` lose their saved answers and their
  place in a module; they are told so, kindly, when they next write;
- `reseal`: anything sealed with an older key (or stored before encryption) is sealed
  again with the current one, which completes a key rotation.

Logs carry counts only.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.background import Background
from bot.storage import Store

__all__ = ["DEAD_GRACE", "KEEP_FINISHED", "Upkeep", "UpkeepReport", "reseal_all"]

log = logging.getLogger(__name__)

KEEP_FINISHED = timedelta(days=30)  # inbox rows and sent/dead outbox rows
DEAD_GRACE = timedelta(hours=1)  # a dead-lettered row keeps its text this long
JOB_PERIOD = timedelta(hours=1)  # each job runs at most once per period, across replicas


@dataclass(frozen=True, slots=True)
class UpkeepReport:
    inbox: int = 0
    outbox: int = 0
    scrubbed: int = 0
    expired: int = 0
    resealed: int = 0


async def reseal_all(store: Store, batch: int = 200) -> int:
    """Seal everything again with the current key, person by person under their lock, so
    the bot keeps running meanwhile. Returns how many values were sealed again."""
    total, after = 0, 0
    while True:
        people = await store.users_to_reseal(after, batch)
        if not people:
            return total
        for user_id in people:
            total += await store.reseal_user(user_id)
        after = people[-1]


class Upkeep:
    """The retention jobs of one bot process."""

    def __init__(self, store: Store, retention_days: int, *,
                 period: timedelta = JOB_PERIOD, wake_every: float = 300.0) -> None:
        self.store = store
        self.retention = timedelta(days=retention_days)
        self.period = period
        self.wake_every = wake_every
        self._task = Background("privacy-upkeep")

    async def run_once(self) -> UpkeepReport:
        """Run whichever jobs this process claims now."""
        store = self.store
        inbox = outbox = scrubbed = expired = resealed = 0
        if await store.claim_job("purge", self.period):
            inbox = await store.purge_inbox(KEEP_FINISHED)
            outbox = await store.purge_outbox(KEEP_FINISHED)
            scrubbed = await store.scrub_dead(DEAD_GRACE)
        if await store.claim_job("expire", self.period):
            while people := await store.inactive_users(self.retention):
                done = [await store.expire_user(user_id, self.retention) for user_id in people]
                expired += sum(done)
                if not any(done):
                    break
        if await store.claim_job("reseal", self.period):
            resealed = await reseal_all(store)
        report = UpkeepReport(inbox, outbox, scrubbed, expired, resealed)
        if any((inbox, outbox, scrubbed, expired, resealed)):
            log.info("retention: inbox rows purged=%d, outbox rows purged=%d, dead rows "
                     "scrubbed=%d, people expired=%d, values resealed=%d",
                     inbox, outbox, scrubbed, expired, resealed)
        return report

    def start(self) -> None:
        self._task.start(self._forever())

    async def close(self) -> None:
        await self._task.close()

    async def _forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:  # the type only: database errors can quote values
                log.error("retention job failed (%s); trying again later", type(exc).__name__)
            await asyncio.sleep(self.wake_every)
