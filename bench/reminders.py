"""How fast due reminders go out: scheduling, claiming and firing, on SQLite.

Not a test: a script that prints figures against the target the reminder job is built
for: when 1,000 people's reminders fall due at the same minute (20:00 is popular), all of
them are in the outbox within 30 seconds (so > 34 reminders/s through one process), and
computing a reminder's next time takes well under a millisecond.

    .venv/bin/python bench/reminders.py            # 2,000 people (about 30 s)
    .venv/bin/python bench/reminders.py --quick    # a smoke run for CI (a few seconds)

Each reminder is claimed with a lease and fired in its person's own transaction (the
reminder message queued and the series moved to tomorrow in one commit), exactly as
`bot.tg.reminders.ReminderJob` does, minus Telegram.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.homework import QuietHours, Schedule, next_due  # noqa: E402
from bot.privacy.keyring import KeyRing, new_key_entry  # noqa: E402
from bot.storage import SQLiteStore, UserRecord  # noqa: E402

TARGET_RATE = 1000 / 30  # reminders per second


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def run(people: int) -> dict[str, float]:
    clock = Clock()
    quiet = QuietHours(clock_time(22), clock_time(8))
    schedule = Schedule("daily", clock_time(20), date(2026, 3, 2), "Europe/Madrid", None)
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "bench.sqlite3", clock=clock,
                            keys=KeyRing.parse(new_key_entry("bench")))
        async with store:
            started = time.perf_counter()
            for user_id in range(1, people + 1):
                async with store.transaction(user_id) as tx:
                    await tx.save_user(UserRecord(user_id, user_id, language="es"))
                    await tx.add_reminder(schedule, quiet)
            scheduling = time.perf_counter() - started
            clock.now = datetime(2026, 3, 2, 19, 0, 5, tzinfo=UTC)  # 20:00:05 in Madrid
            started = time.perf_counter()
            sent = 0
            while True:
                claimed = await store.claim_reminders(timedelta(minutes=2), limit=100)
                if not claimed:
                    break
                for reminder in claimed:
                    async with store.transaction(reminder.user_id) as tx:
                        if await tx.fire_reminder(reminder.id) is not None:
                            await tx.enqueue(reminder.user_id, "sendMessage", {
                                "chat_id": reminder.user_id, "text": "Es hora de tu registro"})
                            sent += 1
            firing = time.perf_counter() - started
            backlog = await store.outbox_backlog()
    assert sent == people == backlog.pending, (sent, people, backlog.pending)
    after = datetime(2026, 3, 2, 19, 0, 5, tzinfo=UTC)
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(200):
            next_due(schedule, after, quiet)
        samples.append((time.perf_counter() - t0) / 200)
    return {"people": people, "schedule_s": scheduling, "fire_s": firing,
            "rate": people / firing, "next_due_us": statistics.median(samples) * 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (200 people)")
    args = parser.parse_args()
    figures = asyncio.run(run(200 if args.quick else 2000))
    print(f"python {platform.python_version()} on {platform.machine()}, SQLite file, sealed")
    print(f"scheduling {figures['people']:.0f} daily reminders: {figures['schedule_s']:.2f} s")
    print(f"all due at 20:00: claimed, fired and queued in {figures['fire_s']:.2f} s = "
          f"{figures['rate']:.0f} reminders/s (target > {TARGET_RATE:.0f}/s: "
          f"{'met' if figures['rate'] > TARGET_RATE else 'NOT met'})")
    print(f"next reminder time (time zone, quiet hours): {figures['next_due_us']:.0f} µs median")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
