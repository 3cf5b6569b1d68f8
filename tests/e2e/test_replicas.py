"""Three replicas, one PostgreSQL database: what 100 people see equals a serial run.

Three `relbot run` processes in webhook mode, on their own ports, behind a reverse proxy
(`balancer.Balancer`) that sends each update to a random replica and a fifth of them to
two replicas at the same moment. The fake Telegram delivers over eight connections at
once, so people's updates arrive interleaved and concurrently. 100 people each walk the
start of the example tour like a person (waiting for the answer before the next action), and
one replica is killed with SIGKILL while they walk. The schema is upgraded first with
`relbot db upgrade`, as in production; the replicas start without --migrate.

Afterwards every person's chat is compared with a serial run of the same walks (one bot,
SQLite): every message there, in order, in its final state, and the same final session.
A message may appear twice only where the killed replica had its send in flight (Telegram
applied it, the replica died before recording it): the window README.md states.

Time: about a minute on a loaded 2-core machine (`RELBOT_TIME_SCALE=0.05` makes the lease
of a dead replica's claims 6 s instead of 120 s).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fakegram import FakeTelegram

from .balancer import Balancer
from .conftest import next_user_id
from .crash import REPORT, Clean, Walker, clean_record, compare, walks
from .harness import REPO, BotProcess, Database, Person, running, wait_until
from .test_crash import walk_all

PEOPLE = 100
ACTIONS = 6  # per person: /start, a language tap, four typed answers
SEED = int(os.environ.get("RELBOT_REPLICAS_SEED", "0")) or random.randrange(1, 10**6)


def first_laps(count: int) -> list[list[tuple[str, str]]]:
    """The crash test's walks, their first ACTIONS actions (any prefix is a walk)."""
    return [walk[:ACTIONS] for walk in walks(count)]


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory: pytest.TempPathFactory) -> list[Clean]:
    """The same walks on one bot (SQLite, polling): what every person should end up with."""
    with FakeTelegram() as fake:
        bot = BotProcess(fake, tmp_path_factory.mktemp("replicas-serial"))
        with running(bot):
            db = Database(bot.database_url)
            walkers = [Walker(fake, Person(fake, next_user_id()), walk, db)
                       for walk in first_laps(PEOPLE)]
            began = time.monotonic()
            errors = walk_all(walkers)
            assert not errors, errors
            REPORT.append(f"replicas: the serial run of {PEOPLE} walks took "
                          f"{time.monotonic() - began:.1f} s")
            return [clean_record(walker, db) for walker in walkers]


def upgrade(database_url: str, workdir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env, cwd=workdir,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_three_replicas_with_a_sigkill_match_a_serial_run(
    serial_run: list[Clean], own_postgres_url: str, tmp_path: Path
) -> None:
    chance = random.Random(SEED)
    upgrade(own_postgres_url, tmp_path)
    secret = "e2e-Replicas_" + os.urandom(8).hex()
    with (
        FakeTelegram(webhook_backoff=0.05, webhook_max_attempts=1_000_000,
                     webhook_workers=8) as fake,
        Balancer(duplicates=0.2, seed=SEED) as balancer,
    ):
        bots = [BotProcess(fake, tmp_path / f"replica{n}", webhook=True,
                           database_url=own_postgres_url,
                           env={"WEBHOOK_URL": balancer.url, "WEBHOOK_SECRET": secret,
                                "MIGRATE": "0", "REPLICAS": "3", "RELBOT_TIME_SCALE": "0.05"})
                for n in range(3)]
        balancer.targets = [f"http://127.0.0.1:{bot.webhook_port}/telegram" for bot in bots]
        db = Database(own_postgres_url)
        walkers = [Walker(fake, Person(fake, next_user_id()), walk, db, counts=clean.counts)
                   for walk, clean in zip(first_laps(PEOPLE), serial_run, strict=True)]
        total = sum(len(w.walk) for w in walkers)
        victim = chance.randrange(3)
        mark = chance.uniform(0.2, 0.5)
        try:
            for bot in bots:
                bot.start()
            began = time.time()
            errors: list[BaseException] = []
            walking = threading.Thread(target=lambda: errors.extend(walk_all(walkers)))
            walking.start()
            wait_until(lambda: sum(len(w.seen) for w in walkers) >= mark * total
                       or not walking.is_alive(), timeout=120, what=f"{mark:.0%} of the walks")
            assert walking.is_alive(), errors[0] if errors else "the walks ended before the kill"
            killed_at = time.time()
            bots[victim].kill()
            walking.join(180)
            assert not walking.is_alive(), "the walks did not finish"
            assert not errors, errors[0]
            ids = [w.person.id for w in walkers]
            wait_until(lambda: not db.query(
                f"SELECT 1 FROM outbox WHERE status = 'pending' AND user_id IN "
                f"({', '.join('?' * len(ids))})", *ids), what="every reply sent")
            took = time.time() - began
        finally:
            codes = [bot.stop() for n, bot in enumerate(bots) if n != victim and bot.alive()]
        assert codes == [0, 0]
        outcomes = [compare(w.person, clean, db, fake, [began, killed_at])
                    for w, clean in zip(walkers, serial_run, strict=True)]
    lost = sum(len(o.lost) for o in outcomes)
    doubles = sum(o.doubles for o in outcomes)
    REPORT.append(
        f"replicas: 3 webhook replicas on PostgreSQL, replica {victim} SIGKILLed at "
        f"{mark:.0%} (seed {SEED}), {PEOPLE} people, {total} actions, "
        f"{balancer.forwarded} deliveries ({balancer.doubled} to two replicas at once, "
        f"{balancer.refused} refused by the dead one), {lost} lost, {doubles} doubled "
        f"(in flight at the kill: {sum(o.doubles_in_flight for o in outcomes)}), "
        f"{sum(o.equal and not o.doubles for o in outcomes)}/{PEOPLE} chats identical to "
        f"the serial run; {took:.1f} s")
    problems = [f"person {w.person.id}: lost {o.lost} {o.problems}"
                for w, o in zip(walkers, outcomes, strict=True) if not o.equal]
    assert not problems, f"seed {SEED}:\n" + "\n".join(problems[:10])
    assert balancer.doubled > 0  # duplicates were really delivered
    for n, bot in enumerate(bots):
        assert "Traceback" not in bot.output, f"replica {n}:\n{bot.output[-3000:]}"
