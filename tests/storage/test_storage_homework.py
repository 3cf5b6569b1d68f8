"""The storage contract, homework part: links, assignments, sharing, reminders, erasure.

Same backends as the rest of the contract suite (SQLite file and memory, PostgreSQL).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.homework import LinkKind, QuietHours, Schedule, new_link, parse_payload
from bot.storage import Store, UserRecord

from .harness import Backend, FakeClock

THERAPIST, CLIENT, OTHER = 10, 20, 30
SECRET_NOTE = "Practise saying no to Zebrafinch"


async def _user(store: Store, user_id: int, *, unreachable: bool = False) -> None:
    async with store.transaction(user_id) as tx:
        await tx.save_user(UserRecord(user_id, user_id, language="en", unreachable=unreachable))


async def _therapist(store: Store, clock: FakeClock, user_id: int = THERAPIST,
                     name: str = "Dr Ana") -> None:
    link = new_link(LinkKind.THERAPIST, clock.now)
    await store.add_therapist_invite(name, link)
    kind, token = parse_payload(link.payload) or (None, "")
    assert kind is LinkKind.THERAPIST
    async with store.transaction(user_id) as tx:
        grant = await tx.redeem_link(kind, token)
    assert grant is not None and grant.therapist is not None
    assert (grant.therapist.user_id, grant.therapist.name) == (user_id, name)


def _daily(clock: FakeClock, days: int = 3) -> Schedule:
    return Schedule("daily", time(20, 0), clock.now.date(), "UTC", days)


async def _offer(store: Store, clock: FakeClock, therapist: int = THERAPIST,
                 note: str | None = SECRET_NOTE) -> str:
    link = new_link(LinkKind.ASSIGNMENT, clock.now)
    async with store.transaction(therapist) as tx:
        assignment = await tx.create_assignment(["daily_checkin"], _daily(clock), note, link)
    assert assignment is not None and assignment.status == "offered"
    return link.payload


async def _open(store: Store, user_id: int, payload: str):  # type: ignore[no-untyped-def]
    parsed = parse_payload(payload)
    assert parsed is not None
    async with store.transaction(user_id) as tx:
        return await tx.redeem_link(*parsed)


async def _accepted(store: Store, clock: FakeClock, client: int = CLIENT,
                    tz: str = "Europe/Madrid", **sharing: bool) -> int:
    grant = await _open(store, client, await _offer(store, clock))
    assert grant is not None and grant.assignment is not None
    async with store.transaction(client) as tx:
        answered = await tx.answer_assignment(grant.assignment.id, accept=True,
                                              sharing=sharing, tz=tz)
    assert answered is not None and answered.status == "accepted"
    return answered.id


async def test_a_therapist_invite_works_once_and_only_unexpired(
        store: Store, clock: FakeClock) -> None:
    link = new_link(LinkKind.THERAPIST, clock.now)
    await store.add_therapist_invite("Dr Ana", link)
    parsed = parse_payload(link.payload)
    assert parsed is not None
    async with store.transaction(OTHER) as tx:
        assert await tx.therapist() is None
        last = parsed[1][-1]
        tampered = parsed[1][:-1] + ("1" if last == "0" else "0")  # never the token itself
        assert await tx.redeem_link(parsed[0], tampered) is None
    async with store.transaction(THERAPIST) as tx:
        assert await tx.redeem_link(*parsed) is not None
        assert (await tx.therapist()) is not None
    async with store.transaction(OTHER) as tx:
        assert await tx.redeem_link(*parsed) is None  # reused
    late = new_link(LinkKind.THERAPIST, clock.now)
    await store.add_therapist_invite("Dr Late", late)
    clock.advance(days=14, seconds=1)
    assert await _open(store, OTHER, late.payload) is None  # expired
    assert [t.user_id for t in await store.therapists()] == [THERAPIST]


async def test_a_link_opened_twice_at_once_is_granted_once(
        store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)
    payload = await _offer(store, clock)
    grants = await asyncio.gather(_open(store, CLIENT, payload), _open(store, OTHER, payload))
    assert sorted(g is not None for g in grants) == [False, True]


async def test_only_an_active_therapist_can_assign_and_links_are_not_kept(
        store: Store, clock: FakeClock, backend: Backend) -> None:
    link = new_link(LinkKind.ASSIGNMENT, clock.now)
    async with store.transaction(OTHER) as tx:
        assert await tx.create_assignment(["daily_checkin"], _daily(clock), None, link) is None
    await _therapist(store, clock)
    payload = await _offer(store, clock)
    raw = repr(await backend.dump(store, THERAPIST))
    assert payload not in raw and payload[2:] not in raw  # only the hash is kept
    assert SECRET_NOTE not in raw  # the note is sealed at rest
    assert await store.revoke_therapist(THERAPIST) is True
    assert await _open(store, CLIENT, payload) is None  # a revoked therapist's offer
    async with store.transaction(THERAPIST) as tx:
        assert await tx.create_assignment(["journal"], _daily(clock), None,
                                          new_link(LinkKind.ASSIGNMENT, clock.now)) is None


async def test_a_therapist_cannot_take_their_own_offer(store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)
    assert await _open(store, THERAPIST, await _offer(store, clock)) is None


async def test_the_client_sees_the_offer_and_the_note(store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)
    grant = await _open(store, CLIENT, await _offer(store, clock))
    assert grant is not None and grant.assignment is not None
    offer = grant.assignment
    assert (offer.therapist_id, offer.client_id, offer.note) == (THERAPIST, CLIENT, SECRET_NOTE)
    assert offer.modules == ("daily_checkin",) and offer.schedule.days == 3


async def test_decline_shows_nothing_and_sets_no_reminder(store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)
    grant = await _open(store, CLIENT, await _offer(store, clock))
    assert grant is not None and grant.assignment is not None
    async with store.transaction(CLIENT) as tx:
        declined = await tx.answer_assignment(grant.assignment.id, accept=False,
                                              sharing={"free_text": True})
        assert declined is not None and (declined.status, declined.sharing) == ("declined", {})
        assert await tx.answer_assignment(grant.assignment.id, accept=True) is None
        assert await tx.my_reminders() == []
    assert await store.therapist_assignments(THERAPIST) == []


async def test_accept_starts_reminders_in_the_clients_time_zone(
        store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)  # clock: 2025-01-01 12:00 UTC
    assignment_id = await _accepted(store, clock, tz="America/Mexico_City", scripts=True)
    async with store.transaction(CLIENT) as tx:
        [reminder] = await tx.my_reminders()
    # 20:00 in Mexico City (UTC-6) is 02:00 UTC the next day.
    assert reminder.due_at == datetime(2025, 1, 2, 2, 0, tzinfo=UTC)
    assert reminder.assignment_id == assignment_id
    [seen] = await store.therapist_assignments(THERAPIST)
    assert (seen.client_id, seen.sharing) == (CLIENT, {"scripts": True})
    assert await store.therapist_assignments(OTHER) == []  # another therapist sees nothing


async def test_a_due_reminder_is_claimed_once_and_fires_once(
        store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)
    await _user(store, CLIENT)
    await _accepted(store, clock, tz="UTC")
    assert await store.claim_reminders(timedelta(minutes=1)) == []  # not due yet
    clock.now = datetime(2025, 1, 1, 20, 0, tzinfo=UTC)
    claims = await asyncio.gather(*(store.claim_reminders(timedelta(minutes=1))
                                    for _ in range(4)))
    assert sorted(len(c) for c in claims) == [0, 0, 0, 1]
    [reminder] = [r for c in claims for r in c]
    async with store.transaction(CLIENT) as tx:
        assert await tx.fire_reminder(reminder.id) is not None
    async with store.transaction(CLIENT) as tx:
        assert await tx.fire_reminder(reminder.id) is None  # a second replica: too late
        [moved] = await tx.my_reminders()
    assert moved.due_at == datetime(2025, 1, 2, 20, 0, tzinfo=UTC)
    assert await store.claim_reminders(timedelta(minutes=1)) == []


async def test_a_claim_lapses_if_the_claimer_dies(store: Store, clock: FakeClock) -> None:
    await _user(store, CLIENT)
    schedule = Schedule("once", time(9, 0), date(2025, 1, 2))
    async with store.transaction(CLIENT) as tx:
        await tx.add_reminder(schedule, QuietHours(time(0), time(0)))
    assert await store.reminders_due() == 0  # not due yet
    clock.now = datetime(2025, 1, 2, 9, 0, tzinfo=UTC)
    assert await store.reminders_due() == 1  # what /metrics shows as relbot_reminders_due
    assert len(await store.claim_reminders(timedelta(minutes=2))) == 1
    assert await store.reminders_due() == 0  # claimed: a sender has it
    clock.advance(minutes=1)
    assert await store.claim_reminders(timedelta(minutes=2)) == []
    clock.advance(minutes=2)
    assert await store.reminders_due() == 1  # the claimer died: due again
    [again] = await store.claim_reminders(timedelta(minutes=2))
    async with store.transaction(CLIENT) as tx:
        assert await tx.fire_reminder(again.id) is not None
        assert await tx.my_reminders() == []  # a one-time schedule ends


async def test_quiet_hours_move_a_reminder_to_the_morning(store: Store, clock: FakeClock) -> None:
    await _user(store, CLIENT)
    schedule = Schedule("daily", time(23, 30), date(2025, 1, 1), "Europe/Madrid", None)
    async with store.transaction(CLIENT) as tx:
        reminder = await tx.add_reminder(schedule, QuietHours(time(22), time(8)))
    assert reminder is not None
    assert reminder.due_at == datetime(2025, 1, 2, 7, 0, tzinfo=UTC)  # 08:00 in Madrid


async def test_snooze_is_a_one_off(store: Store, clock: FakeClock) -> None:
    await _user(store, CLIENT)
    async with store.transaction(CLIENT) as tx:
        snooze = await tx.add_reminder(None, QuietHours(), due_at=clock.now + timedelta(hours=1))
    assert snooze is not None and snooze.schedule is None
    clock.advance(hours=1)
    [claimed] = await store.claim_reminders(timedelta(minutes=1))
    async with store.transaction(CLIENT) as tx:
        assert await tx.fire_reminder(claimed.id) is not None
        assert await tx.my_reminders() == []


async def test_reminders_stop_when_blocked_revoked_or_stopped(
        store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)
    await _user(store, CLIENT)
    assignment_id = await _accepted(store, clock, tz="UTC")
    async with store.transaction(CLIENT) as tx:
        assert await tx.revoke_sharing(assignment_id) == [assignment_id]
        assert await tx.my_reminders() == []
        assert await tx.revoke_sharing(assignment_id) == []
    assert await store.therapist_assignments(THERAPIST) == []
    assert await store.therapist_assignments(THERAPIST, CLIENT) == []

    await _user(store, OTHER, unreachable=True)
    async with store.transaction(OTHER) as tx:
        blocked = await tx.add_reminder(_daily(clock), QuietHours())
    assert blocked is not None
    clock.now = datetime(2025, 1, 1, 22, 30, tzinfo=UTC)  # quiet until 08:00
    clock.advance(hours=10)
    assert [r.id for r in await store.claim_reminders(timedelta(minutes=1))] == [blocked.id]
    async with store.transaction(OTHER) as tx:
        assert await tx.fire_reminder(blocked.id) is None
        assert await tx.my_reminders() == []
        personal = await tx.add_reminder(_daily(clock), QuietHours())
        assert personal is not None and await tx.stop_reminder(personal.id) is True
        assert await tx.my_reminders() == []


async def test_completion_counts_only_for_accepted_assignments(
        store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)
    assignment_id = await _accepted(store, clock)
    async with store.transaction(CLIENT) as tx:
        assert await tx.mark_done(assignment_id, "daily_checkin") is True
    async with store.transaction(OTHER) as tx:
        assert await tx.mark_done(assignment_id, "daily_checkin") is False  # not theirs
    [done] = await store.done_of(assignment_id)
    assert (done.module, done.done_at) == ("daily_checkin", clock.now)


@pytest.mark.parametrize("erased", [THERAPIST, CLIENT])
async def test_erasing_either_side_leaves_no_trace_of_them(
        store: Store, clock: FakeClock, backend: Backend, erased: int) -> None:
    await _therapist(store, clock)
    await _user(store, CLIENT)
    assignment_id = await _accepted(store, clock)
    async with store.transaction(CLIENT) as tx:
        await tx.mark_done(assignment_id, "daily_checkin")
    await store.delete_user(erased)
    schema = await backend.schema(store)
    for table in ("therapists", "links", "assignments", "homework_done", "reminders"):
        for column in schema[table]:
            rows = await backend.query(store, f'SELECT COUNT(*) FROM "{table}"'
                                              f' WHERE CAST("{column}" AS TEXT) = \'{erased}\'')
            assert rows[0][0] == 0, (table, column)
    assert await store.therapist_assignments(THERAPIST) == []
    assert await store.done_of(assignment_id) == []


async def test_a_draft_is_finished_once_and_opens_only_when_finished(
        store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)
    async with store.transaction(THERAPIST) as tx:
        draft = await tx.draft_assignment("a note")
        assert draft is not None and draft.modules == () and draft.note == "a note"
        link = new_link(LinkKind.ASSIGNMENT, clock.now)
        done = await tx.finish_assignment(draft.id, ["journal", "daily_checkin"],
                                          _daily(clock), link)
        assert done is not None and done.modules == ("journal", "daily_checkin")
        again = new_link(LinkKind.ASSIGNMENT, clock.now)
        assert await tx.finish_assignment(draft.id, ["journal"], _daily(clock), again) is None
    async with store.transaction(OTHER) as tx:
        assert await tx.finish_assignment(draft.id, ["journal"], _daily(clock),
                                          new_link(LinkKind.ASSIGNMENT, clock.now)) is None
    assert await _open(store, CLIENT, again.payload) is None  # never stored
    assert await _open(store, CLIENT, link.payload) is not None


async def test_the_client_may_reopen_their_offer_but_nobody_else(
        store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)
    payload = await _offer(store, clock)
    first = await _open(store, CLIENT, payload)
    again = await _open(store, CLIENT, payload)
    assert first is not None and again is not None
    assert first.assignment is not None and again.assignment is not None
    assert first.assignment.id == again.assignment.id
    assert await _open(store, OTHER, payload) is None
    async with store.transaction(CLIENT) as tx:
        await tx.answer_assignment(first.assignment.id, accept=False)
    assert await _open(store, CLIENT, payload) is None  # answered: the link is spent


async def test_finishing_a_module_counts_for_each_accepted_assignment_with_it(
        store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)
    assignment_id = await _accepted(store, clock)
    async with store.transaction(CLIENT) as tx:
        assert await tx.module_done("daily_checkin") == [assignment_id]
        assert await tx.module_done("journal") == []
        assert await tx.module_done("daily") == []  # whole names only
    async with store.transaction(OTHER) as tx:
        assert await tx.module_done("daily_checkin") == []
    assert [d.module for d in await store.done_of(assignment_id)] == ["daily_checkin"]


async def test_a_therapists_note_is_resealed_by_key_rotation(
        persistent_backend: Backend, clock: FakeClock) -> None:
    from bot.privacy.keyring import new_key_entry
    from bot.privacy.retention import reseal_all

    from .conftest import TEST_KEYS

    async with persistent_backend.make() as store:
        await _therapist(store, clock)
        payload = await _offer(store, clock)
        assert (await store.key_usage()).get("test") == 1  # the note, sealed
    rotated = TEST_KEYS.with_new_current(new_key_entry("new"))
    async with persistent_backend.make(keys=rotated) as store:
        assert await store.users_to_reseal(0) == [THERAPIST]
        assert await reseal_all(store) == 1
        assert await store.key_usage() == {"new": 1}
    async with persistent_backend.make(keys=rotated.only_current()) as store:
        grant = await _open(store, CLIENT, payload)
        assert grant is not None and grant.assignment is not None
        assert grant.assignment.note == SECRET_NOTE


async def test_only_therapists_who_asked_are_told_of_finished_homework(
        store: Store, clock: FakeClock) -> None:
    await _therapist(store, clock)
    await _accepted(store, clock)
    assert await store.therapists_to_tell(CLIENT, "daily_checkin") == []  # not asked
    async with store.transaction(THERAPIST) as tx:
        assert await tx.set_notify_done(True) is True
    async with store.transaction(OTHER) as tx:
        assert await tx.set_notify_done(True) is False  # not a therapist
    assert await store.therapists_to_tell(CLIENT, "daily_checkin") == [THERAPIST]
    assert await store.therapists_to_tell(CLIENT, "journal") == []  # not assigned
    assert await store.therapists_to_tell(OTHER, "daily_checkin") == []  # not their client
    async with store.transaction(CLIENT) as tx:
        await tx.revoke_sharing()
    assert await store.therapists_to_tell(CLIENT, "daily_checkin") == []  # stopped sharing
