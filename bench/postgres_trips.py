"""Benchmark: network round trips to PostgreSQL per update, counted on the wire.

Why this exists (issue 14): on PostgreSQL every statement is a round trip, and so is
whatever the driver adds (BEGIN, COMMIT, asyncpg's reset of a pooled connection). With a
database across a network, round trips, not SQL, set the time per update. This runs the
updates of ``bench/sqlite_hops.py`` (seen, load, save, three enqueues, mark_seen, commit;
then pending and three mark_sent) through ``PostgresStore`` via a small TCP proxy that
counts request/answer turns, and times them.

    .venv/bin/python bench/postgres_trips.py            # 200 updates
    .venv/bin/python bench/postgres_trips.py --quick    # smoke run, a few seconds

The server is RELBOT_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
the tables go to a new schema (``--schema``), dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.sqlite_hops import KEYS, StoreVariant
from bot.storage import PostgresStore

URL = os.environ.get("RELBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class TurnCounter:
    """A TCP proxy to the server that counts turns: each time the client speaks after the
    server did (or first) is one round trip."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.turns = 0
        self._client_spoke_last = False

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, client: bool
                       ) -> None:
            while data := await src.read(65536):
                if client and not self._client_spoke_last:
                    self.turns += 1
                self._client_spoke_last = client
                dst.write(data)
                await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer, True), pipe(up_reader, writer, False),
                             return_exceptions=True)


async def measure(updates: int, schema: str) -> list[tuple[str, float, float]]:
    parts = urlsplit(URL)
    counter = TurnCounter(parts.hostname or "127.0.0.1", parts.port or 5432)
    server = await asyncio.start_server(counter.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    netloc = f"{parts.username or 'postgres'}@127.0.0.1:{port}"
    store = PostgresStore(urlunsplit(parts._replace(netloc=netloc)), schema=schema, keys=KEYS,
                          min_size=1, max_size=1)
    await store.open()
    variant = StoreVariant("postgres", store)
    rows = []
    try:
        for warm in range(5):  # prepared statements cached, as in a running bot
            await variant.update(1, 1 + warm)
            await variant.drain(1)
        for phase in ("transaction", "drain"):
            turns, spent = 0, 0.0
            for n in range(updates):
                if phase == "transaction":
                    before, started = counter.turns, time.perf_counter()
                    await variant.update(2, 100 + n)
                    turns += counter.turns - before
                    spent += time.perf_counter() - started
                    await variant.drain(2)
                else:
                    await variant.update(3, 100 + n)
                    before, started = counter.turns, time.perf_counter()
                    await variant.drain(3)
                    turns += counter.turns - before
                    spent += time.perf_counter() - started
            rows.append((phase, turns / updates, spent / updates * 1e3))
    finally:
        await store.close()
        server.close()
        conn = await asyncpg.connect(URL)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (seconds)")
    parser.add_argument("--updates", type=int, help="updates per phase")
    parser.add_argument("--schema", default=f"relbot_trips_{uuid.uuid4().hex[:12]}")
    args = parser.parse_args()
    updates = args.updates or (20 if args.quick else 200)
    rows = asyncio.run(measure(updates, args.schema))
    print(f"PostgreSQL, {updates} updates, via a counting proxy on loopback")
    print(f"{'phase':<50} {'round trips':>11} {'ms':>7}")
    names = {"transaction": "transaction (seen, load, save, 3 enqueues, seen)",
             "drain": "drain (pending, 3 mark_sent)"}
    for phase, turns, ms in rows:
        print(f"{names[phase]:<50} {turns:>11.1f} {ms:>7.2f}")
    print(f"{'per update':<50} {sum(r[1] for r in rows):>11.1f} {sum(r[2] for r in rows):>7.2f}")


if __name__ == "__main__":
    main()
