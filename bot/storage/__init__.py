"""All bot state lives here (never in python-telegram-bot's persistence).

Why a storage package: updates must be processed exactly once and replies sent at least
once, across restarts and (with PostgreSQL) several replicas.  The model::

    async with store.transaction(user_id) as tx:      # per-user lock, then load
        if await tx.seen(update.update_id):            # redelivered update: ignore
            return
        user = await tx.load_user() or UserRecord(user_id, chat_id)
        ...                                            # dialogue step, no network calls
        await tx.save_user(replace(user, session=new_session))
        await tx.enqueue(chat_id, "sendMessage", {"chat_id": chat_id, "text": reply})
        await tx.mark_seen(update.update_id)
    # committed atomically (or nothing at all if the block raised)

    for item in await store.pending():                 # the sender, after commit
        try:
            message = await bot.do_api_request(item.method, api_kwargs=item.params)
        except RetryAfter/NetworkError as e:  await store.mark_failed(item.id, str(e), retry_at)
        except Forbidden/BadRequest as e:     await store.mark_failed(item.id, str(e), None)
        else:                                 await store.mark_sent(item.id, message_id)

Several sender replicas call ``pending(claim_for=timedelta(seconds=30))`` instead, which
leases rows (and keeps each chat on one sender) until ``mark_sent``/``mark_failed``;
``renew`` extends a lease nobody took over, ``release`` gives unsent rows back, and
``recent_sends`` is a chat's pacing history any replica can read (see ``bot.tg.sender``).
Delivery is at-least-once: a crash between the API call and ``mark_sent`` resends.

Free text (sessions, unsent call parameters, records) is sealed at rest with the store's
key ring (``keys=``, see ``bot.privacy.keyring``); a sent row keeps no parameters.

Faults: a busy, locked, full or briefly unreachable database raises errors for which
``is_transient(error)`` is True: wait and run the whole transaction again.  A database
that cannot be written at all makes ``open()`` raise ``StorageRefused`` (one line).

Backends: ``SQLiteStore`` (default, one process) and ``PostgresStore`` (several replicas);
``open_store(url)`` picks one.  Both pass the same contract test suite.
"""

from bot.storage.base import DEFAULT_MAX_ATTEMPTS, SUPERSEDED, Snapshot, Store, Transaction
from bot.storage.faults import StorageRefused, describe, is_transient
from bot.storage.migrations import SchemaBehind, SchemaVersionError, Upgrade
from bot.storage.models import (
    Clock,
    Consent,
    JSONValue,
    Notice,
    OutboxBacklog,
    OutboxItem,
    OutboxStatus,
    Record,
    UserRecord,
)
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import SQLiteStore
from bot.storage.url import open_store

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "SUPERSEDED",
    "Clock",
    "Consent",
    "JSONValue",
    "Notice",
    "OutboxBacklog",
    "OutboxItem",
    "OutboxStatus",
    "PostgresStore",
    "Record",
    "SQLiteStore",
    "SchemaBehind",
    "SchemaVersionError",
    "Snapshot",
    "StorageRefused",
    "Store",
    "Transaction",
    "Upgrade",
    "UserRecord",
    "describe",
    "is_transient",
    "open_store",
]
