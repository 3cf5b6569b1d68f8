"""`relbot keys new | status | rotate`: the data key ring, without downtime.

Why this module exists: a key that can never be replaced is a liability. Rotation
re-seals every stored value with a new key while the bot keeps running: values are
re-sealed person by person under each person's lock, and the old key stays in the ring
(so it still opens what it sealed) until nothing is left under it.

- Key file (SQLite without DATA_KEY): `rotate` does everything. It adds a new key to the
  file (the running bot picks it up within a second and seals with it), waits a moment,
  re-seals everything, and then removes the old key from the file.
- DATA_KEY (PostgreSQL, or by choice): put the new key in front, keep the old one after
  it (`DATA_KEY=new:...,old:...`), restart the replicas one by one, run `relbot keys
  rotate`, then drop the old entry. See README.md, "Privacy".

Nothing here prints a key, except `new`, whose whole point is to print one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from bot.config import DEFAULT_DATABASE_URL
from bot.privacy.keyring import KeyConfigError, KeyRing, new_key_entry
from bot.privacy.keysource import FileKeys, key_file_for, key_source, write_key_file
from bot.privacy.retention import reseal_all
from bot.storage import open_store

__all__ = ["add_parser"]

SETTLE_SECONDS = 3.0  # a running bot re-reads the key file at most a second later


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="the data key: new, status, rotate")
    p.add_argument("action", choices=("new", "status", "rotate"))
    p.add_argument("--database-url", default=None, help="overrides $DATABASE_URL")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "new":
        print(new_key_entry())
        return 0
    url = args.database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    data_key = (os.environ.get("DATA_KEY") or "").strip() or None
    try:
        keys = key_source(url, data_key)
    except KeyConfigError as exc:
        print(f"relbot: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "status":
            return asyncio.run(_status(url, keys))
        if isinstance(keys, FileKeys):
            return asyncio.run(_rotate_file(url, keys))
        return asyncio.run(_reseal(url, keys))
    except (OSError, ValueError) as exc:
        print(f"relbot: cannot use the database ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1


def _usage_line(usage: dict[str, int], ring: KeyRing) -> str:
    parts = []
    for kid, count in sorted(usage.items()):
        if kid == "plain":
            where = "not sealed yet"
        elif kid == ring.current:
            where = "current key"
        elif kid in ring.keys:
            where = "older key"
        else:
            where = "UNKNOWN key: cannot be read"
        parts.append(f"{kid} ({where}): {count}")
    return ", ".join(parts) or "nothing stored"


async def _status(url: str, keys: KeyRing | FileKeys) -> int:
    ring = keys.ring()
    async with open_store(url, keys=keys) as store:
        usage = await store.key_usage()
    print(f"keys in the ring: {', '.join(ring.ids)} (sealing with {ring.current})")
    print(f"stored values by key: {_usage_line(usage, ring)}")
    return 0


async def _reseal(url: str, keys: KeyRing | FileKeys) -> int:
    ring = keys.ring()
    async with open_store(url, keys=keys) as store:
        count = await reseal_all(store)
        usage = await store.key_usage()
    print(f"resealed {count} value(s) with key {ring.current}")
    print(f"stored values by key: {_usage_line(usage, ring)}")
    left = [k for k in usage if k != ring.current]
    if left:
        print("some values are not under the current key (see above); run again once every "
              "replica uses the new DATA_KEY")
        return 1
    older = [k for k in ring.ids if k != ring.current]
    if older:
        print(f"done: remove {', '.join(older)} from DATA_KEY and restart the replicas")
    return 0


async def _rotate_file(url: str, keys: FileKeys) -> int:
    path = key_file_for(url)
    assert path is not None
    old = keys.ring()
    rotated = old.with_new_current(new_key_entry())
    write_key_file(path, rotated)
    print(f"added key {rotated.current} to {path}; waiting for a running bot to pick it up")
    time.sleep(SETTLE_SECONDS)
    async with open_store(url, keys=rotated) as store:
        count = 0
        for _ in range(5):  # a value sealed meanwhile by a bot that had not reloaded yet
            count += await reseal_all(store)
            usage = await store.key_usage()
            if all(k == rotated.current for k in usage if k in old.keys):
                break
        else:
            print("relbot: some values are still under the old key; run rotate again",
                  file=sys.stderr)
            return 1
    write_key_file(path, rotated.only_current())
    print(f"resealed {count} value(s); {path} now holds only key {rotated.current}")
    unknown = [k for k in usage if k not in rotated.keys and k != "plain"]
    if unknown:
        print(f"note: values under unknown key(s) {', '.join(unknown)} cannot be read")
    return 0
