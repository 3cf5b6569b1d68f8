"""The crash test: SIGKILL at random moments while twenty people walk the tour.

For each of polling and webhook mode, on SQLite and on PostgreSQL, the bot is killed
with SIGKILL ten times at random moments (seeded; the seed is in the report) while
twenty people walk the example tour the way people do: each waits for the bot's answer
before the next tap or message. Afterwards every person's chat and final session are
compared with a clean run of the same walks:

- no action may be lost: every reply of the clean run is there, in order, in its final
  state (a tapped question shows its ✓), and the final session is the same;
- a message may appear twice only where its send was in flight at a kill: Telegram
  applied it but the bot died before recording it (the window the README states).

The counts are printed at the end of the test run (`crash test:` lines). CI runs this
as part of `pytest` (marker `crash`; `-m "not crash"` leaves it out while developing).
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest
from fakegram import FakeTelegram

from .conftest import next_user_id
from .crash import REPORT, Clean, Walker, clean_record, compare, record_lags, walks
from .harness import (
    BotProcess,
    Database,
    Person,
    wait_until,
)

PEOPLE = 20
KILLS = 10
#: Seconds a (re)started bot may take to reach Telegram: 5-10 s on a busy 2-core machine,
#: over 20 s (WAIT, the harness's default) when other test runs load it too. Only the
#: start is waited for; nothing the test judges depends on it.
START_WAIT = 60.0
SEED = int(os.environ.get("RELBOT_CRASH_SEED", "0")) or random.randrange(1, 10**6)


def walk_all(walkers: list[Walker]) -> list[BaseException]:
    """Run every walker in its own thread; returns what went wrong, if anything."""
    errors: list[BaseException] = []

    def walk(walker: Walker) -> None:
        try:
            walker.run()
        except BaseException as error:  # reported by the test, with the person's id
            errors.append(error)

    threads = [threading.Thread(target=walk, args=(w,)) for w in walkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def restart(bot: BotProcess) -> None:
    """Start the bot and wait until it talks to Telegram (its first getUpdates, or its
    webhook set): not until a long poll waits, which a busy bot may not do for seconds
    while it works through what queued up while it was down."""
    fake = bot.fake
    polls, hooks = len(fake.calls("getUpdates")), len(fake.calls("setWebhook"))
    bot.start(wait=False)
    fake.wait_for(lambda: (len(fake.calls("setWebhook")) > hooks) if bot.webhook
                  else (len(fake.calls("getUpdates")) > polls), START_WAIT, what="the start")


def kill_while_walking(bot: BotProcess, walkers: list[Walker],
                      chance: random.Random) -> list[float]:
    """Start the bot, then SIGKILL it KILLS times at random moments while the people walk,
    restarting it each time at once; once every walk is done, return when each process
    was started (all but the last were killed).

    The moments are random points of the walks' progress (between 5% and 45% of all the
    actions done), each at least a random 0.1-0.6 s into the process's life: the bot is up
    for at most a few seconds after 45%, too little for the rest of the walks, so every
    kill lands while people are walking however fast or loaded the machine is."""
    total = sum(len(w.walk) for w in walkers)
    marks = sorted(chance.uniform(0.05, 0.45) for _ in range(KILLS))
    starts = [time.time()]
    restart(bot)
    ready = [time.time()]  # when each process reached Telegram
    errors: list[BaseException] = []
    walking = threading.Thread(target=lambda: errors.extend(walk_all(walkers)))
    walking.start()

    def timeline() -> str:
        return (f"at {time.time() - starts[0]:.1f} s; processes started at "
                f"{[round(t - starts[0], 1) for t in starts]} s, each up after "
                f"{[round(r - s, 1) for s, r in zip(starts, ready, strict=False)]} s")

    for mark in marks:
        time.sleep(chance.uniform(0.1, 0.6))  # into this process's life
        wait_until(lambda m=mark: sum(len(w.seen) for w in walkers) >= m * total
                   or not walking.is_alive(), timeout=300, what=f"{mark:.0%} of the walks")
        done = sum(len(w.seen) for w in walkers)
        assert walking.is_alive(), f"{errors[0]}; {timeline()}" if errors else (
            f"the walks ended before kill {len(starts)} (at {mark:.0%}): {done}/{total} "
            f"actions, {time.time() - starts[0]:.1f} s")
        bot.kill()
        starts.append(time.time())
        restart(bot)
        ready.append(time.time())
    walking.join(300)
    assert not errors, f"{errors[0]}; {timeline()}"
    return starts


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> list[Clean]:
    """The same walks without a crash: what every person should end up with."""
    with FakeTelegram() as fake:
        bot = BotProcess(fake, tmp_path_factory.mktemp("crash-clean"))
        restart(bot)  # its first start, waited for as long as the crash runs' restarts
        try:
            db = Database(bot.database_url)
            walkers = [Walker(fake, Person(fake, next_user_id()), walk, db)
                       for walk in walks(PEOPLE)]
            began = time.monotonic()
            errors = walk_all(walkers)
            assert not errors, errors
            REPORT.append(f"clean run: the {PEOPLE} walks took {time.monotonic() - began:.1f} s")
            records = [clean_record(walker, db) for walker in walkers]
        finally:
            code = bot.stop()
        assert code == 0, f"relbot run exited with {code}:\n{bot.output}"
        bot.assert_healthy()
        return records


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'relbot.sqlite3'}"
    return str(request.getfixturevalue("own_postgres_url"))


@pytest.mark.crash
@pytest.mark.parametrize("mode", ["polling", "webhook"])
@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_sigkill_at_random_moments_loses_no_action(
    clean_run: list[Clean], database_url: str, mode: str, tmp_path: Path
) -> None:
    seed = SEED + (mode == "webhook") + 2 * database_url.startswith("postgres")
    chance = random.Random(seed)
    backend = "postgres" if database_url.startswith("postgres") else "sqlite"
    with FakeTelegram(webhook_backoff=0.05, webhook_max_attempts=1_000_000) as fake:
        # On PostgreSQL a restarted bot leaves a killed process's claimed rows alone until
        # their lease runs out (30 s in production, README: Scale-out). Ten kills soon after
        # each restart could stack those waits past a walker's time budget, so the leases
        # are shortened here (RELBOT_TIME_SCALE=0.2: 6 s); what is checked stays the same.
        lease = {"RELBOT_TIME_SCALE": "0.2"} if backend == "postgres" else None
        bot = BotProcess(fake, tmp_path, webhook=mode == "webhook", database_url=database_url,
                         env=lease)
        db = Database(bot.database_url)
        walkers = [Walker(fake, Person(fake, next_user_id()), walk, db, counts=clean.counts)
                   for walk, clean in zip(walks(PEOPLE), clean_run, strict=True)]
        try:
            starts = kill_while_walking(bot, walkers, chance)
            ids = [w.person.id for w in walkers]
            wait_until(lambda: not db.query(
                f"SELECT 1 FROM outbox WHERE status = 'pending' AND user_id IN "
                f"({', '.join('?' * len(ids))})", *ids), what="every reply sent")
        finally:
            code = bot.stop()
        assert code == 0
        outcomes = [compare(w.person, clean, db, fake, starts)
                    for w, clean in zip(walkers, clean_run, strict=True)]
        lags = sorted(record_lags(fake, db, [w.person.id for w in walkers]))
    doubles = sum(o.doubles for o in outcomes)
    REPORT.append(
        f"{mode}/{backend}: {KILLS} SIGKILLs (seed {seed}), {PEOPLE} people, "
        f"{sum(len(w.walk) for w in walkers)} actions, "
        f"{sum(len(o.lost) for o in outcomes)} lost, {doubles} doubled (in flight at a kill: "
        f"{sum(o.doubles_in_flight for o in outcomes)}), "
        f"{sum(o.equal and not o.doubles for o in outcomes)}/{PEOPLE} chats identical to "
        f"the clean run; a send was recorded {1000 * lags[len(lags) // 2]:.0f} ms after "
        f"Telegram answered (median), p99 {1000 * lags[int(len(lags) * 0.99)]:.0f} ms, "
        f"at most {1000 * lags[-1]:.0f} ms")
    problems = [f"person {w.person.id}: lost {o.lost} {o.problems}"
                for w, o in zip(walkers, outcomes, strict=True) if not o.equal]
    warnings = [line for line in bot.stderr.splitlines() if " INFO " not in line]
    assert not problems, f"seed {seed}:\n" + "\n".join(problems + warnings)
    assert "Traceback" not in bot.output
