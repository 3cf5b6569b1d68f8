"""The storage contract, part 3: the outbox backlog that /healthz reports.

Same backends and fixtures as test_storage_contract.py. Every row that is still to be sent
counts (due, waiting for a retry, or leased to a sender); sent and dead rows do not.
"""

from __future__ import annotations

from datetime import timedelta

from bot.storage import OutboxBacklog, Store

from .harness import FakeClock


async def enqueue(store: Store, user_id: int, text: str) -> int:
    async with store.transaction(user_id) as tx:
        return await tx.enqueue(user_id, "sendMessage", {"chat_id": user_id, "text": text})


async def test_an_empty_outbox_has_no_backlog(store: Store, clock: FakeClock) -> None:
    backlog = await store.outbox_backlog()
    assert backlog == OutboxBacklog(0, None)
    assert backlog.oldest_age(clock.now) == 0.0


async def test_backlog_counts_unsent_rows_and_dates_the_oldest(
    store: Store, clock: FakeClock
) -> None:
    start = clock.now
    first = await enqueue(store, 1, "a")
    second = await enqueue(store, 2, "b")
    clock.advance(seconds=10)
    third = await enqueue(store, 1, "c")
    clock.advance(seconds=15)

    backlog = await store.outbox_backlog()
    assert backlog.pending == 3
    assert backlog.oldest_created_at == start
    assert backlog.oldest_age(clock.now) == 25.0

    # Waiting for a retry, or leased to a sender: still not sent, still counted.
    await store.mark_failed(second, "502 Bad Gateway", clock.now + timedelta(seconds=30))
    await store.pending(claim_for=timedelta(seconds=30))
    assert await store.outbox_backlog() == OutboxBacklog(3, start)

    # Sent and dead-lettered rows are finished: the oldest is now the third row.
    assert await store.mark_sent(first, 11)
    await store.mark_failed(second, "400 Bad Request", None)
    backlog = await store.outbox_backlog()
    assert backlog == OutboxBacklog(1, start + timedelta(seconds=10))
    assert backlog.oldest_age(clock.now) == 15.0

    assert await store.mark_sent(third, 12)
    assert await store.outbox_backlog() == OutboxBacklog(0, None)


async def test_backlog_of_a_deleted_user_is_gone(store: Store) -> None:
    await enqueue(store, 7, "x")
    await enqueue(store, 8, "y")
    await store.delete_user(7)
    assert (await store.outbox_backlog()).pending == 1
