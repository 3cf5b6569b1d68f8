"""The bot's budget of new messages (`SendBudget`), on its own: who goes first, how fast
background sends go, and a pause after Telegram's 429. Real asyncio timers, no fakes.
"""

from __future__ import annotations

import asyncio
import itertools
import time

from bot.tg.pacing import ChatBucket, Priority, SendBudget, Ticket


async def granted_in_order(budget: SendBudget, tickets: list[tuple[str, Ticket]]) -> list[str]:
    """Queue every ticket at once (the budget is empty), return the order they got through."""
    order: list[str] = []

    async def wait(name: str, ticket: Ticket) -> None:
        await budget.acquire(ticket)
        order.append(name)

    await budget.acquire(Ticket(Priority.REPLY))  # the one token there was: now all queue
    await asyncio.gather(*(wait(name, ticket) for name, ticket in tickets))
    return order


async def test_replies_before_background_and_first_messages_before_thirds() -> None:
    budget = SendBudget(50.0, 50.0, window=0.01)
    order = await granted_in_order(budget, [
        ("reminder", Ticket(Priority.BACKGROUND)),
        ("ana 3rd", Ticket(Priority.REPLY, 2)),
        ("ben 1st", Ticket(Priority.REPLY, 0)),
        ("ana 2nd", Ticket(Priority.REPLY, 1)),
        ("cy 1st", Ticket(Priority.REPLY, 0)),
        ("safety", Ticket(Priority.URGENT, 3)),
    ])
    assert order == ["safety", "ben 1st", "cy 1st", "ana 2nd", "ana 3rd", "reminder"]


async def test_a_waiting_background_send_moves_up_when_its_person_writes() -> None:
    budget = SendBudget(50.0, 50.0, window=0.01)
    moved = Ticket(Priority.BACKGROUND)

    async def person_writes() -> None:
        await asyncio.sleep(0)  # once everyone waits
        budget.promote(moved, Priority.REPLY)
        budget.promote(moved, Priority.BACKGROUND, 9)  # never down

    order, _ = await asyncio.gather(granted_in_order(budget, [
        ("other reminder", Ticket(Priority.BACKGROUND)),
        ("dan's reminder", moved),
        ("eve 2nd", Ticket(Priority.REPLY, 1)),
    ]), person_writes())
    assert order == ["dan's reminder", "eve 2nd", "other reminder"]


async def test_background_keeps_to_its_rate_while_replies_go_faster() -> None:
    budget = SendBudget(200.0, 20.0, window=0.05)
    began = time.monotonic()
    done: dict[str, float] = {}

    async def send(name: str, priority: Priority) -> None:
        await budget.acquire(Ticket(priority))
        done[name] = time.monotonic() - began

    await asyncio.gather(*(send(f"b{i}", Priority.BACKGROUND) for i in range(12)),
                         *(send(f"r{i}", Priority.REPLY) for i in range(40)))
    replies = max(t for name, t in done.items() if name.startswith("r"))
    background = max(t for name, t in done.items() if name.startswith("b"))
    assert replies < 0.4, replies  # 40 at 200 a second: about 0.2 s
    assert background > 0.45, background  # 12 at 20 a second (one at once): about 0.55 s


async def test_a_pause_holds_every_new_message() -> None:
    budget = SendBudget(100.0, 30.0)
    budget.pause(0.4)
    began = time.monotonic()
    await budget.acquire(Ticket(Priority.URGENT))
    assert time.monotonic() - began >= 0.39


def test_a_chat_bucket_lets_a_reply_through_and_slows_a_flood() -> None:
    bucket = ChatBucket(1.0, 5)
    assert [bucket.delay() for _ in range(5)] == [0.0] * 5
    assert bucket.spent() > 4.9
    held = [bucket.delay() for _ in range(3)]
    assert all(0.9 < b - a < 1.1 for a, b in itertools.pairwise([0.0, *held]))
