"""Benchmark: what a second and a third replica buy, on one PostgreSQL database.

Why this exists: relbot scales out as several `relbot run` processes in webhook mode
behind a proxy, sharing one PostgreSQL database (each chat's outbox rows claimed with a
lease, so one replica sends a reply, in order). Whether that buys throughput, and what
it costs in latency, is measured here the way tests/e2e/test_replicas.py runs it: 1, 2
and 3 replicas behind the test balancer (tests/e2e/balancer.py: a random replica per
update, no duplicates here), the fake Telegram delivering over 40 connections, the same
people walking the programme's modules for the same time with each replica count
(bench/crowd.py: each person acts again once the whole reply is there). Printed per
replica count: answered updates per second, and latency from the update being POSTed
to the first and the last message of its reply (p50, p99).

The schema is a fresh one named bench_http_replicas_<pid>, upgraded once with
`relbot db upgrade` as in production, and dropped at the end.

    .venv/bin/python bench/replicas.py            # 1, 2, 3 replicas, 40 people; ~4 minutes
    .venv/bin/python bench/replicas.py --quick    # 1 and 2 replicas, 5 people
    RELBOT_TEST_POSTGRES_URL=postgresql://... .venv/bin/python bench/replicas.py
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from e2e.balancer import Balancer  # noqa: E402
from e2e.harness import (  # noqa: E402
    POSTGRES_URL,
    PROGRAMME,
    BotProcess,
    drop_postgres_schema,
    postgres_schema_url,
)
from e2e.test_replicas import upgrade  # noqa: E402

from bench.crowd import (  # noqa: E402
    Crowd,
    Result,
    all_running,
    new_fake,
    programme_walks,
)
from bench.figures import (  # noqa: E402
    command_line,
    limits,
    machine,
    percentile,
    seconds_text,
    table,
)


class Shape(NamedTuple):
    replicas: tuple[int, ...]
    people: int
    seconds: float  # of acting, per replica count


FULL = Shape((1, 2, 3), people=40, seconds=25.0)
QUICK = Shape((1, 2), people=5, seconds=3.0)
DRAIN = 90.0  # at most; the replies under way when acting stops


def measure(replicas: tuple[int, ...], people: int, seconds: float, problems: list[str]
            ) -> dict[int, Result]:
    schema = f"bench_http_replicas_{os.getpid()}"
    database_url = postgres_schema_url(schema)
    secret = "bench-Replicas_" + os.urandom(8).hex()
    walks = programme_walks(PROGRAMME)
    results: dict[int, Result] = {}
    try:
        with tempfile.TemporaryDirectory() as work:
            upgrade(database_url, Path(work))
            for count in replicas:
                with contextlib.ExitStack() as stack:
                    fake = stack.enter_context(new_fake())
                    balancer = stack.enter_context(Balancer(duplicates=0.0))
                    bots = [BotProcess(fake, Path(work) / f"{count}-{n}", webhook=True,
                                       database_url=database_url, dialogues=PROGRAMME,
                                       env={"WEBHOOK_URL": balancer.url,
                                            "WEBHOOK_SECRET": secret, "MIGRATE": "0",
                                            "REPLICAS": str(count)})
                            for n in range(count)]
                    targets = [f"http://127.0.0.1:{bot.webhook_port}/telegram" for bot in bots]
                    balancer.targets = targets * 2 if count == 1 else targets  # it picks two
                    stack.enter_context(all_running(bots, problems))
                    crowd = Crowd(fake, walks, webhook=True, first_chat=count * 10**7)
                    results[count] = crowd.run(people, seconds, DRAIN)
    finally:
        drop_postgres_schema(schema)
    return results


def report(results: dict[int, Result], people: int, seconds: float) -> None:
    rows = []
    base = None
    for count, result in sorted(results.items()):
        firsts = [s.first for s in result.samples]
        lasts = [s.last for s in result.samples]
        rate = len(result.samples) / result.seconds if result.seconds > 0 else float("nan")
        base = base or rate
        overall, one_chat = limits(result.sends)
        calls = sum(result.calls.values()) / result.seconds if result.seconds > 0 else 0.0
        rows.append([count, f"{len(result.samples)}/{result.actions}", f"{rate:.1f}",
                     f"{rate / base:.2f}x", f"{calls:.1f}", seconds_text(percentile(firsts, 0.5)),
                     seconds_text(percentile(firsts, 0.99)), seconds_text(percentile(lasts, 0.5)),
                     seconds_text(percentile(lasts, 0.99)), overall, one_chat])
    print(f"Webhook replicas on one PostgreSQL database: {people} people acting at once for "
          f"{seconds:.0f} s per replica count, each acting again once the reply is complete; "
          "latency in seconds from the update POSTed to the first / the last message of its "
          "reply")
    print(*table(["replicas", "answered/actions", "updates/s", "vs 1 replica",
                  "Bot API calls/s", "first p50",
                  "first p99", "last p50", "last p99", "busiest second: sendMessage",
                  "to one chat"], rows), sep="\n")
    print("\nThe bot's message budgets (REPLY_RATE, 30/s for background sends) are split "
          "evenly across REPLICAS (bot.tg.app): replicas add availability; they add updates/s "
          "only where CPU, not the budget or per-chat pacing, is what binds (here all replicas "
          "share the same 2 cores).")
    print(f"\nmachine: {machine(POSTGRES_URL)}; the programme's dialogues; "
          "balancer: tests/e2e/balancer.py")
    print(f"command: {command_line()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 and 2 replicas")
    args = parser.parse_args()
    shape = QUICK if args.quick else FULL
    problems: list[str] = []
    report(measure(*shape, problems), shape.people, shape.seconds)
    if problems:
        sys.exit("\n".join(["a replica did not run cleanly:", *problems]))


if __name__ == "__main__":
    main()
