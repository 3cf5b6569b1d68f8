"""The storage contract, part 3: what is kept, sealed, rotated, expired, and claimed.

Same backends as the rest of the contract suite. The raw rows are read behind the
store's back (``Backend.dump``/``query``), so "sealed at rest" means what an attacker with
a copy of the database file would see.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from bot.privacy.keyring import KeyRing, new_key_entry
from bot.privacy.retention import Upkeep, reseal_all
from bot.storage import Notice, OutboxStatus, Store, UserRecord

from .conftest import TEST_KEYS
from .harness import Backend, FakeClock

SECRET = "Zebrafinch husband read my phone"


async def _write(store: Store, user_id: int, text: str = SECRET) -> None:
    async with store.transaction(user_id) as tx:
        user = UserRecord(user_id, user_id, language="en",
                          session=f'{{"v":{{"note":"{text}"}}}}', consent={"store_answers": True})
        await tx.save_user(user)
        await tx.enqueue(user_id, "sendMessage", {"chat_id": user_id, "text": f"You said: {text}"})
        await tx.add_record("journal", {"situation": text})
        await tx.mark_seen(user_id * 100)


def _flat(dump: dict[str, list[dict[str, object]]]) -> str:
    return repr(dump)


async def test_free_text_is_sealed_at_rest(store: Store, backend: Backend) -> None:
    await _write(store, 1)
    raw = await backend.dump(store, 1)
    assert "Zebrafinch" not in _flat(raw)
    assert str(raw["users"][0]["session"]).startswith("rb1.test.")
    assert str(raw["records"][0]["data"]).startswith("rb1.test.")
    assert str(raw["outbox"][0]["params"]).startswith("rb1.test.")
    # ... and the store opens all of it again.
    async with store.transaction(1) as tx:
        snapshot = await tx.snapshot()
    assert snapshot.user is not None and SECRET in (snapshot.user.session or "")
    assert snapshot.records[0].data == {"situation": SECRET}
    assert (await store.pending())[0].params["text"] == f"You said: {SECRET}"


async def test_a_sent_reply_keeps_no_text(store: Store, backend: Backend) -> None:
    await _write(store, 1)
    [item] = await store.pending()
    assert await store.mark_sent(item.id, 55)
    [row] = await backend.outbox_rows(store, 1)
    assert (row["status"], row["message_id"], row["params"]) == ("sent", 55, "{}")
    assert row["method"] == "sendMessage" and row["finished_at"] is not None


async def test_a_dead_reply_loses_its_text_after_the_grace_period(
    store: Store, backend: Backend, clock: FakeClock
) -> None:
    await _write(store, 1)
    [item] = await store.pending()
    assert await store.mark_failed(item.id, "400 Bad Request", None) is OutboxStatus.DEAD
    assert await store.scrub_dead(timedelta(hours=1)) == 0  # still inspectable for a while
    clock.advance(hours=2)
    assert await store.scrub_dead(timedelta(hours=1)) == 1
    [row] = await backend.outbox_rows(store, 1)
    assert (row["status"], row["params"], row["last_error"]) == ("dead", "{}", "400 Bad Request")


async def test_the_last_reply_to_an_erased_person_leaves_no_row(
    store: Store, backend: Backend
) -> None:
    await _write(store, 1)
    async with store.transaction(1) as tx:
        await tx.delete_rows()
        await tx.enqueue(1, "editMessageText", {"chat_id": 1, "message_id": 9, "text": "Done."})
    [item] = await store.pending()
    assert await store.mark_sent(item.id, 9)
    assert await backend.user_row_counts(store, 1) == dict.fromkeys(
        await backend.user_row_counts(store, 1), 0)


async def test_a_value_sealed_for_one_person_does_not_open_for_another(
    store: Store, backend: Backend
) -> None:
    await _write(store, 1)
    async with store.transaction(2) as tx:
        await tx.save_user(UserRecord(2, 2, session='{"n":1}'))
    [(sealed,)] = await backend.query(store, "SELECT session FROM users WHERE user_id = 1")
    await backend.query(store, f"UPDATE users SET session = '{sealed}' WHERE user_id = 2")
    async with store.transaction(2) as tx:
        user = await tx.load_user()
    assert user is not None and user.session is None and user.notice is Notice.UNREADABLE


async def test_a_lost_key_means_a_fresh_start_not_a_broken_bot(
    persistent_backend: Backend,
) -> None:
    async with persistent_backend.make() as store:
        await _write(store, 1)
    other = KeyRing.parse(new_key_entry("other"))
    async with persistent_backend.make(keys=other) as store:
        async with store.transaction(1) as tx:
            user = await tx.load_user()
            snapshot = await tx.snapshot()
        assert user is not None and user.session is None and user.notice is Notice.UNREADABLE
        assert snapshot.records == [] and snapshot.unreadable_records == 1
        assert await store.records(1) == []
        # The unsendable reply is dead-lettered instead of blocking the chat.
        assert await store.pending() == []
        async with store.transaction(1) as tx:
            await tx.save_user(replace(user, notice=None, session='{"n":0}'))
            await tx.enqueue(1, "sendMessage", {"chat_id": 1, "text": "fresh"})
        assert [i.params["text"] for i in await store.pending()] == ["fresh"]


async def test_rotation_reseals_everything_while_old_rows_stay_readable(
    persistent_backend: Backend,
) -> None:
    async with persistent_backend.make() as store:
        await _write(store, 1)
        await _write(store, 2)
        assert await store.key_usage() == {"test": 6}
    rotated = TEST_KEYS.with_new_current(new_key_entry("new"))
    async with persistent_backend.make(keys=rotated) as store:
        assert (await store.pending())[0].params["text"] == f"You said: {SECRET}"
        assert await store.users_to_reseal(0) == [1, 2]
        assert await reseal_all(store) == 6
        assert await store.key_usage() == {"new": 6}
        assert await store.users_to_reseal(0) == []
    async with persistent_backend.make(keys=rotated.only_current()) as store:
        assert [r.data for r in await store.records(2)] == [{"situation": SECRET}]


async def test_rows_written_before_encryption_are_read_and_then_sealed(
    persistent_backend: Backend,
) -> None:
    async with persistent_backend.make(keys=None) as store:
        await _write(store, 1)
        assert await store.key_usage() == {"plain": 3}
    async with persistent_backend.make() as store:
        assert [r.data for r in await store.records(1)] == [{"situation": SECRET}]
        assert await reseal_all(store) == 3
        assert await store.key_usage() == {"test": 3}
        raw = await persistent_backend.dump(store, 1)
        assert "Zebrafinch" not in _flat(raw)


async def test_retention_expires_inactive_people_and_tells_them(
    store: Store, clock: FakeClock
) -> None:
    await _write(store, 1)
    await _write(store, 2)
    clock.advance(days=200)
    async with store.transaction(2) as tx:  # person 2 came back meanwhile
        user = await tx.load_user()
        assert user is not None
        await tx.save_user(user)
    clock.advance(days=200)
    assert await store.inactive_users(timedelta(days=365)) == [1]
    report = await Upkeep(store, 365).run_once()
    assert report.expired == 1
    async with store.transaction(1) as tx:
        gone = await tx.snapshot()
    assert gone.user is not None and gone.user.notice is Notice.EXPIRED
    assert gone.user.session is None and gone.records == []
    assert gone.user.language == "en"  # how to greet them is kept
    assert [r.data for r in await store.records(2)] == [{"situation": SECRET}]
    assert await store.inactive_users(timedelta(days=365)) == []


async def test_purge_job_drops_old_inbox_and_finished_outbox_rows(
    store: Store, backend: Backend, clock: FakeClock
) -> None:
    await _write(store, 1)
    [item] = await store.pending()
    await store.mark_sent(item.id, 1)
    clock.advance(days=31)
    report = await Upkeep(store, 365).run_once()
    assert (report.inbox, report.outbox) == (1, 1)
    counts = await backend.user_row_counts(store, 1)
    assert (counts["inbox"], counts["outbox"], counts["records"], counts["users"]) == (0, 0, 1, 1)


async def test_each_job_is_claimed_once_per_period(store: Store, clock: FakeClock) -> None:
    period = timedelta(hours=1)
    assert await store.claim_job("purge", period) is True
    assert await store.claim_job("purge", period) is False
    assert await store.claim_job("expire", period) is True  # jobs are claimed separately
    clock.advance(minutes=59)
    assert await store.claim_job("purge", period) is False
    clock.advance(minutes=2)
    assert await store.claim_job("purge", period) is True


async def test_replicas_racing_for_a_job_let_exactly_one_run_it(
    persistent_backend: Backend,
) -> None:
    stores = [persistent_backend.make() for _ in range(4)]
    for store in stores:
        await store.open()
    try:
        for round_ in range(3):
            won = await asyncio.gather(
                *(s.claim_job(f"job{round_}", timedelta(hours=1)) for s in stores))
            assert sorted(won) == [False, False, False, True], won
    finally:
        for store in stores:
            await store.close()


async def test_delete_confirmation_token_round_trips(store: Store, clock: FakeClock) -> None:
    async with store.transaction(1) as tx:
        await tx.save_user(UserRecord(1, 1, delete_token="abc",
                                      delete_expires=clock.now + timedelta(minutes=10)))
    async with store.transaction(1) as tx:
        user = await tx.load_user()
    assert user is not None and user.delete_token == "abc"
    assert user.delete_expires == clock.now + timedelta(minutes=10)
