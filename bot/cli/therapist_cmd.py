"""`relbot therapist invite | list | revoke`: the operator manages therapist accounts.

Why on the command line: a therapist account lets someone offer homework to clients, so
it is granted by whoever runs the bot, not by asking the bot.  `invite` prints a one-time
link (kept only as its hash, valid for 14 days by default); whoever opens it in Telegram
becomes a therapist with that name.  `revoke` ends an account at once: its reports and
new offers stop working (see `bot.storage.homework`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from datetime import timedelta

from bot.config import DEFAULT_DATABASE_URL
from bot.homework import LinkKind, new_link
from bot.privacy.keyring import KeyConfigError
from bot.privacy.keysource import key_source
from bot.storage import StorageRefused, open_store

__all__ = ["add_parser"]

_USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("therapist", help="therapist accounts: invite, list, revoke")
    p.add_argument("action", choices=("invite", "list", "revoke"))
    p.add_argument("user_id", nargs="?", type=int, help="revoke: the therapist's Telegram id")
    p.add_argument("--name", help="invite: the name clients will see, e.g. \"Dr Ana Ruiz\"")
    p.add_argument("--bot", default=None,
                   help="invite: the bot's @username, for a t.me link ($TELEGRAM_BOT_USERNAME)")
    p.add_argument("--days", type=int, default=14, help="invite: days the link stays valid")
    p.add_argument("--database-url", default=None, help="overrides $DATABASE_URL")
    p.set_defaults(func=run)


def _fail(message: str, code: int = 2) -> int:
    print(f"relbot: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    if args.action == "invite":
        if not (args.name or "").strip():
            return _fail('give the therapist\'s name: relbot therapist invite --name "Dr Ana"')
        if not 1 <= args.days <= 90:
            return _fail("--days must be between 1 and 90")
        bot = args.bot or os.environ.get("TELEGRAM_BOT_USERNAME") or ""
        if bot and not _USERNAME.fullmatch(bot):
            return _fail(f"--bot must be the bot's username, like @relbot (got {bot!r})")
    if args.action == "revoke" and args.user_id is None:
        return _fail("give the therapist's Telegram id: relbot therapist revoke 12345 "
                     "(see relbot therapist list)")
    url = args.database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    try:
        keys = key_source(url, (os.environ.get("DATA_KEY") or "").strip() or None)
        return asyncio.run(_act(args, url, keys))
    except KeyConfigError as exc:
        return _fail(str(exc))
    except StorageRefused as exc:
        return _fail(str(exc), 1)
    except (OSError, ValueError) as exc:
        return _fail(f"cannot use the database ({type(exc).__name__}: {exc})", 1)


async def _act(args: argparse.Namespace, url: str, keys: object) -> int:
    async with open_store(url, keys=keys) as store:  # type: ignore[arg-type]
        if args.action == "invite":
            link = new_link(LinkKind.THERAPIST, store.now(), timedelta(days=args.days))
            await store.add_therapist_invite(args.name, link)
            bot = _USERNAME.fullmatch(args.bot or os.environ.get("TELEGRAM_BOT_USERNAME") or "")
            print(f"One-time therapist invite for {args.name.strip()}, valid until "
                  f"{link.expires_at:%Y-%m-%d %H:%M} UTC:")
            if bot:
                print(f"  {link.url(bot.group(1))}")
            print(f"  or send the bot: {link.command}")
            if not bot:
                print("  (add --bot @yourbot to get a t.me link)")
            return 0
        if args.action == "list":
            therapists = await store.therapists()
            if not therapists:
                print("no therapists yet: relbot therapist invite --name \"...\"")
            for t in therapists:
                state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
                print(f"{t.user_id}\t{t.name}\tsince {t.created_at:%Y-%m-%d}\t{state}")
            return 0
        if await store.revoke_therapist(args.user_id):
            print(f"revoked therapist {args.user_id}: their reports and offers stop now")
            return 0
        return _fail(f"no active therapist with id {args.user_id} (see relbot therapist list)",
                     1)
