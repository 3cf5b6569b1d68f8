"""The storage contract, part 2: outbox delivery and privacy (export, records, erasure).

Same backends and fixtures as test_storage_contract.py; split only to keep files short.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.storage import OutboxStatus, Snapshot, Store, UserRecord
from bot.storage.migrations import SYSTEM_TABLES

from .harness import Backend, FakeClock, handle, texts


# --- outbox ----------------------------------------------------------------------------
async def test_outbox_keeps_order_per_chat(store: Store) -> None:
    for step in range(6):
        user = 1 + step % 2
        async with store.transaction(user) as tx:
            await tx.enqueue(user, "sendMessage", {"chat_id": user, "text": f"{user}:{step}a"})
            await tx.enqueue(user, "sendMessage", {"chat_id": user, "text": f"{user}:{step}b"})
    chat1 = await store.pending(chat_id=1)
    assert texts(chat1) == ["1:0a", "1:0b", "1:2a", "1:2b", "1:4a", "1:4b"]
    everything = await store.pending()
    assert [item.id for item in everything] == sorted(item.id for item in everything)
    assert len(everything) == 12
    assert texts(await store.pending(limit=3)) == ["1:0a", "1:0b", "2:1a"]


async def test_mark_sent(store: Store, clock: FakeClock, backend: Backend) -> None:
    await handle(store, 1, 1)
    [item] = await store.pending()
    assert item.status is OutboxStatus.PENDING and item.attempts == 0
    assert await store.mark_sent(item.id, 4242) is True
    assert await store.pending() == []
    assert await store.mark_sent(item.id, 4242) is False  # already sent
    assert await store.mark_sent(10**9, None) is False  # unknown (e.g. user deleted)
    [row] = await backend.outbox_rows(store, 1)
    assert row["status"] == "sent" and row["message_id"] == 4242
    assert str(row["finished_at"]) in (
        clock.now.isoformat(timespec="microseconds"), str(clock.now))
    assert row["params"] == "{}"  # the text is gone once Telegram has it


async def test_retry_blocks_its_chat_only_and_dead_letter_unblocks(
    backend: Backend, clock: FakeClock
) -> None:
    async with backend.make(max_attempts=3) as store:
        async with store.transaction(1) as tx:
            for text in ("m1", "m2"):
                await tx.enqueue(1, "sendMessage", {"chat_id": 1, "text": text})
        async with store.transaction(2) as tx:
            await tx.enqueue(2, "sendMessage", {"chat_id": 2, "text": "other"})
        m1, m2, _other = await store.pending()

        for attempt in (1, 2):
            status = await store.mark_failed(m1.id, "429", clock.now + timedelta(seconds=30))
            assert status is OutboxStatus.PENDING
            assert texts(await store.pending()) == ["other"]  # m2 must not overtake m1
            assert await store.pending(chat_id=1) == []
            clock.advance(seconds=31)
            head = (await store.pending(chat_id=1))[0]
            assert (head.id, head.attempts, head.last_error) == (m1.id, attempt, "429")

        assert await store.mark_failed(m1.id, "429 again", clock.now) is OutboxStatus.DEAD
        assert texts(await store.pending()) == ["m2", "other"]  # the poison row is gone
        assert await store.mark_failed(m1.id, "late", None) is None
        assert await store.mark_sent(m1.id, 1) is False
        # A permanent failure (retry_at=None) dead-letters at once.
        assert await store.mark_failed(m2.id, "400 Bad Request", None) is OutboxStatus.DEAD
        assert texts(await store.pending()) == ["other"]
        rows = await backend.outbox_rows(store, 1)
        assert [(r["status"], r["attempts"]) for r in rows] == [("dead", 3), ("dead", 1)]
        assert rows[1]["last_error"] == "400 Bad Request"


async def test_claims_lease_rows_and_whole_chats(store: Store, clock: FakeClock) -> None:
    async with store.transaction(1) as tx:
        for text in ("a", "b", "c"):
            await tx.enqueue(1, "sendMessage", {"chat_id": 1, "text": text})
    async with store.transaction(2) as tx:
        await tx.enqueue(2, "sendMessage", {"chat_id": 2, "text": "d"})
    lease = timedelta(seconds=30)
    claimed = await store.pending(limit=2, claim_for=lease)
    assert texts(claimed) == ["a", "b"]
    assert all(item.not_before == clock.now + lease for item in claimed)
    assert texts(await store.pending()) == ["d"]  # c waits behind its leased chat
    assert texts(await store.pending(claim_for=lease)) == ["d"]
    assert await store.pending(claim_for=lease) == []
    for item in claimed:
        assert await store.mark_sent(item.id, None)
    assert texts(await store.pending()) == ["c"]  # d is leased
    clock.advance(seconds=31)  # the sender holding "d" died: its lease expires
    assert texts(await store.pending()) == ["c", "d"]


async def test_concurrent_senders_never_split_a_chat(persistent_backend: Backend) -> None:
    lease = timedelta(seconds=30)
    async with persistent_backend.make() as one, persistent_backend.make() as two:
        for chat in range(1, 6):
            async with one.transaction(chat) as tx:
                for n in range(4):
                    await tx.enqueue(chat, "sendMessage", {"chat_id": chat, "text": str(n)})
        delivered: dict[int, list[str]] = {chat: [] for chat in range(1, 6)}
        while True:
            a, b = await asyncio.gather(
                one.pending(limit=3, claim_for=lease), two.pending(limit=3, claim_for=lease)
            )
            if not a and not b:
                break
            assert not {i.chat_id for i in a} & {i.chat_id for i in b}  # a chat has one sender
            for item in a + b:
                delivered[item.chat_id].append(str(item.params["text"]))
                assert await (one if item in a else two).mark_sent(item.id, None)
        assert delivered == {chat: ["0", "1", "2", "3"] for chat in range(1, 6)}


async def test_release_gives_back_unsent_claims_only(store: Store, clock: FakeClock) -> None:
    async with store.transaction(1) as tx:
        for text in ("a", "b", "c"):
            await tx.enqueue(1, "sendMessage", {"chat_id": 1, "text": text})
    lease = timedelta(seconds=30)
    a, b, c = await store.pending(claim_for=lease)
    assert await store.mark_sent(a.id, 1)
    await store.mark_failed(b.id, "429", clock.now + timedelta(seconds=5))  # rescheduled
    # The sender stops early: only "c" still carries its lease, so only "c" is given back.
    assert await store.release([a, b, c]) == 1
    assert await store.release([]) == 0
    assert await store.pending() == []  # "b" waits for its retry and holds "c" behind it
    clock.advance(seconds=6)
    assert texts(await store.pending(claim_for=lease)) == ["b", "c"]  # not 30 s later


async def test_renew_keeps_only_leases_nobody_took_over(store: Store, clock: FakeClock) -> None:
    async with store.transaction(1) as tx:
        for text in ("a", "b"):
            await tx.enqueue(1, "sendMessage", {"chat_id": 1, "text": text})
    lease = timedelta(seconds=30)
    a, b = await store.pending(claim_for=lease)
    clock.advance(seconds=20)
    [renewed] = await store.renew([a], lease)  # still ours: 30 s from now
    assert renewed.not_before == clock.now + lease
    clock.advance(seconds=15)  # b's lease ran out; nobody claimed it: still renewable
    assert [i.id for i in await store.renew([b], lease)] == [b.id]
    clock.advance(seconds=16)  # a's renewed lease ran out, b's has not
    [taken] = await store.pending(claim_for=lease)  # another sender claims "a"
    assert taken.id == a.id
    assert await store.renew([renewed], lease) == []  # so the first one must not send it
    assert await store.mark_sent(taken.id, 1)
    assert await store.renew([taken], lease) == []  # finished rows are not renewed


async def test_recent_sends_is_the_chats_pacing_history(store: Store, clock: FakeClock) -> None:
    start = clock.now
    for n in range(3):
        await handle(store, 1, n, str(n))
        async with store.transaction(1) as tx:
            await tx.enqueue(1, "answerCallbackQuery", {"callback_query_id": str(n)})
        await handle(store, 2, n, str(n))
        for item in await store.pending():
            await store.mark_sent(item.id, None)
        clock.advance(seconds=1)
    assert await store.recent_sends(1, start) == [start + timedelta(seconds=n) for n in range(3)]
    assert await store.recent_sends(1, start + timedelta(seconds=1.5)) == [
        start + timedelta(seconds=2)]
    assert await store.recent_sends(3, start) == []


async def test_purge_outbox_drops_finished_rows_only(store: Store, clock: FakeClock) -> None:
    await handle(store, 1, 1, "sent")
    await handle(store, 1, 2, "queued")
    sent, _queued = await store.pending()
    await store.mark_sent(sent.id, 1)
    clock.advance(days=40)
    assert await store.purge_outbox(timedelta(days=30)) == 1
    assert texts(await store.pending()) == ["queued"]


# --- privacy ---------------------------------------------------------------------------
async def _populate(store: Store, user_id: int) -> None:
    async with store.transaction(user_id) as tx:
        await tx.save_user(
            UserRecord(user_id, user_id, language="en", session='{"s":1}', consent={"adult": True})
        )
        await tx.mark_seen(user_id * 10)
        await tx.mark_seen(user_id * 10 + 1)
        await tx.enqueue(user_id, "sendMessage", {"chat_id": user_id, "text": "one"})
        await tx.enqueue(user_id, "sendMessage", {"chat_id": user_id, "text": "two"})
        await tx.add_record("checkin", {"rating": 4})
    [first, *_] = await store.pending(chat_id=user_id)
    await store.mark_sent(first.id, 77)


async def _populate_homework(store: Store, user_id: int) -> None:
    """The person is a therapist with an open offer, and the client of another therapist
    (``user_id + 100``) with an accepted assignment, a reminder and a completion."""
    from datetime import date, time

    from bot.homework import LinkKind, Schedule, new_link, parse_payload

    schedule = Schedule("daily", time(20), date(2025, 1, 1), "UTC", 5)
    for therapist in (user_id, user_id + 100):
        invite = new_link(LinkKind.THERAPIST, store.now())
        await store.add_therapist_invite("Dr", invite)
        async with store.transaction(therapist) as tx:
            assert await tx.redeem_link(*(parse_payload(invite.payload) or ())) is not None
            offer = new_link(LinkKind.ASSIGNMENT, store.now())
            assert await tx.create_assignment(["journal"], schedule, "note", offer)
    async with store.transaction(user_id) as tx:
        grant = await tx.redeem_link(*(parse_payload(offer.payload) or ()))
        assert grant is not None and grant.assignment is not None
        await tx.answer_assignment(grant.assignment.id, accept=True)
        assert await tx.mark_done(grant.assignment.id, "journal")


async def test_snapshot_opens_everything_about_one_person(store: Store) -> None:
    await _populate(store, 5)
    await _populate(store, 6)
    async with store.transaction(5) as tx:
        snapshot = await tx.snapshot()
    assert snapshot.user is not None
    assert (snapshot.user.user_id, snapshot.user.session) == (5, '{"s":1}')
    assert dict(snapshot.user.consent) == {"adult": True}
    assert [(r.kind, r.data, r.user_id) for r in snapshot.records] == [
        ("checkin", {"rating": 4}, 5)]
    assert snapshot.unreadable_records == 0
    async with store.transaction(7) as tx:
        assert await tx.snapshot() == Snapshot(None, [], 0)


async def test_records_by_kind_in_order(store: Store) -> None:
    async with store.transaction(1) as tx:
        await tx.add_record("journal", {"text": "a"})
        await tx.add_record("checkin", {"rating": 3})
        await tx.add_record("journal", {"text": "b"})
    async with store.transaction(2) as tx:
        await tx.add_record("journal", {"text": "not yours"})
    assert [r.kind for r in await store.records(1)] == ["journal", "checkin", "journal"]
    journal = await store.records(1, kind="journal")
    assert [r.data for r in journal] == [{"text": "a"}, {"text": "b"}]
    assert all(r.user_id == 1 for r in journal)
    assert await store.records(3) == []


async def test_delete_user_leaves_no_row_in_any_table(store: Store, backend: Backend) -> None:
    for user_id in (5, 6):
        await _populate(store, user_id)
        await _populate_homework(store, user_id)
    schema = await backend.schema(store)
    # Every table but the bookkeeping is keyed by user_id, or erasure is partial.
    assert {t for t, cols in schema.items() if "user_id" not in cols} == SYSTEM_TABLES
    before = await backend.user_row_counts(store, 5)
    assert all(before.values()), before
    other_before = await backend.user_row_counts(store, 6)

    # Also gone: the other therapist's assignment to the person, and its used link.
    assert await store.delete_user(5) == sum(before.values()) + 2

    assert await backend.user_row_counts(store, 5) == dict.fromkeys(before, 0)
    assert await backend.user_row_counts(store, 6) == other_before
    assert [item.user_id for item in await store.pending()] == [6]
    # No column of any table, bookkeeping included, still mentions the person.
    for table, columns in schema.items():
        for column in columns:
            rows = await backend.query(
                store, f'SELECT COUNT(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) = \'5\'')
            assert rows[0][0] == 0, (table, column)
    assert await store.delete_user(5) == 0
    assert await handle(store, 5, 50) is True  # a returning user starts from scratch
