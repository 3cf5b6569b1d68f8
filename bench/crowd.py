"""People acting at once against a bot over real HTTP, timed at the fake Telegram.

Why this module exists: the end-to-end benchmarks (bench/http_latency.py, bench/replicas.py)
ask one question under load: from the moment an update is made available to the bot,
how long until the first and the last message of its reply reach Telegram? A thread
per person would measure the threads (200 of them waking on every call of the fake,
which lives in this process). Instead one driver thread watches the fake's call log
and, as soon as a person's reply is complete (as many messages as the pure core
predicts for that move, see tests/e2e/walk.py), makes that person's next move: a
closed loop, like people who read the whole reply before answering.

"Made available": queued in the fake (polling), or the moment the fake starts POSTing
it to the webhook (taken by wrapping the fake's POST; the fake itself is unchanged).
"Reaches Telegram": the moment the fake receives the sendMessage call.

This reads the fake's records in place (its lock held briefly): the public read-back
methods copy every record, which costs more than the bot under test at 200 people.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer

import fakegram.webhook
from e2e.harness import BotProcess
from fakegram import FakeTelegram

from bot.cli.folders import compiled_or_exit

Move = tuple[str, str, int]  # ("start" | "press" | "type", value, messages in the reply)
Moves = Callable[[int], list[Move]]  # n-th person who starts -> their moves

MODULES = ("Noticing a pattern", "I-statement builder", "Trust and healthy dependence",
           "Interindependence map", "Steady from within", "Daily check-in", "About this bot")
MESSAGE = "sendMessage"
STARTUP = 120.0  # seconds a bot may take to listen (it loads the dialogues and the screen)
NOT_PER_ACTION = {"getUpdates", "getMe", "setWebhook", "deleteWebhook", "setMyCommands",
                  "getWebhookInfo"}

# The fake Telegram and the test balancer are ThreadingHTTPServers, whose listen backlog is
# socketserver's default of 5: 200 connections opened at once (an echo bot answering 200
# people) overflow it and some are reset. Telegram accepts them; so do the servers here.
ThreadingHTTPServer.request_queue_size = 1024

# ---- when the fake starts POSTing an update (webhook mode) ---------------------------------
POSTED: dict[int, float] = {}  # update_id -> first POST began; update ids differ per fake
_original_post = fakegram.webhook._post


def _timed_post(url: str, secret: str | None, body: bytes, timeout: float) -> tuple[int | None,
                                                                                   str]:
    update_id = int(json.loads(body)["update_id"])
    POSTED.setdefault(update_id, time.time())
    return _original_post(url, secret, body, timeout)


fakegram.webhook._post = _timed_post

_first_ids = itertools.count(1)


def new_fake(*, webhook_workers: int = 40) -> FakeTelegram:
    """A fake Telegram whose update ids do not overlap any other fake's in this process;
    40 webhook connections, the max_connections relbot and python-telegram-bot ask for."""
    return FakeTelegram(first_update_id=next(_first_ids) * 100_000_000,
                        webhook_workers=webhook_workers)


@contextlib.contextmanager
def all_running(bots: Sequence[BotProcess], problems: list[str]) -> Iterator[None]:
    """harness.running for several bots, started side by side (each takes seconds to load
    its dialogues). At the end each must stop with exit code 0 and a clean log; what went
    wrong is added to `problems` (the figures measured so far are still printed)."""
    try:
        for bot in bots:
            bot.start(wait=False)
        for bot in bots:
            hooks = sum(other.webhook for other in bots if other.fake is bot.fake)
            bot.fake.wait_for(lambda bot=bot, hooks=hooks: _ready(bot, hooks), STARTUP,
                              what="the bot to listen")
        yield
    finally:
        codes = [bot.stop() if bot.alive() else 0 for bot in bots]
    for bot, code in zip(bots, codes, strict=True):
        try:
            assert code == 0, f"exit code {code}"
            bot.assert_healthy()
        except AssertionError as error:
            lines = str(error).splitlines()
            problems.append(f"{' '.join(bot.command[-2:])} in {bot.workdir.name}: "
                            f"{len(lines)} lines of log, ending: {' | '.join(lines[-3:])}")


def _ready(bot: BotProcess, hooks: int) -> bool:
    """BotProcess.wait_ready's test, with a startup allowance for a loaded machine; for
    webhook replicas sharing one fake, until each (`hooks` of them) registered."""
    if not bot.alive():
        raise AssertionError(f"the bot exited early ({bot.returncode}):\n{bot.output}")
    if not bot.webhook:
        return bot.fake.is_polling()
    with bot.fake._state.lock:
        return sum(c.method == "setWebhook" and c.status == 200
                   for c in bot.fake._state.records.calls) >= hooks


# ---- what people do ----------------------------------------------------------------------
def programme_walks(dialogues: os.PathLike[str] | str) -> Moves:
    """Person n walks module n % 7 of the programme: /start, the welcome without storing,
    the module's menu button, then the module, pressing buttons and typing short answers
    (tests/e2e/walk.py's policy), expecting the replies the pure core predicts. Each
    module is planned when first needed."""
    from e2e import walk

    compiled = compiled_or_exit(dialogues)
    screen = walk.Screen.load()  # seconds; walk.plan would load it again for every module

    class Loaded:
        @staticmethod
        def load() -> walk.Screen:
            return screen

    plans: dict[int, list[Move]] = {}

    def moves(n: int) -> list[Move]:
        module = n % len(MODULES)
        if module not in plans:
            walk.Screen = Loaded  # type: ignore[misc]
            planned = walk.plan(compiled, MODULES[module], "w").moves
            plans[module] = [(m.kind, m.value, len(m.expect)) for m in planned]
            assert all(count >= 1 for _, _, count in plans[module]), "a move without reply"
        return plans[module]

    return moves


def echo_walks(n: int) -> list[Move]:
    """For the echo bot: short texts, each answered with one message."""
    return [("type", f"hi {n}.{k}", 1) for k in range(1000)]


# ---- the driver --------------------------------------------------------------------------
@dataclass
class Sample:
    """One action: seconds from available to the first and the last message of the reply."""

    first: float
    last: float


@dataclass
class _Person:
    chat: int
    moves: list[Move]
    index: int = 0
    update_id: int = 0
    queued: float = 0.0
    want: int = 0
    got: int = 0
    first_at: float = 0.0


@dataclass
class Result:
    samples: list[Sample]
    actions: int  # made (some may not have been answered before the drain ended)
    seconds: float  # from the first action to the last reply
    calls: Counter[str]  # Bot API calls made while the crowd acted, by method
    sends: list[tuple[int, float]] = field(default_factory=list)  # (chat, at) per sendMessage

    @property
    def unanswered(self) -> int:
        return self.actions - len(self.samples)


class Crowd:
    """`people` acting at once on `fake`, each walking `moves(n)`, for `seconds`; then
    waiting up to `drain` seconds for the replies still under way. A person acts again
    `think` seconds after the last message of the reply (0: at once, and everybody's first
    action at the same instant; otherwise first actions are spread over `think` seconds,
    so the crowd is not in step); one who finished their walk is replaced by a new
    person, so `people` keep acting."""

    def __init__(self, fake: FakeTelegram, moves: Moves, *, webhook: bool, first_chat: int):
        self.fake = fake
        self.moves = moves
        self.webhook = webhook
        self.chats = itertools.count(first_chat)
        self.started = itertools.count()

    def run(self, people: int, seconds: float, drain: float, think: float = 0.0) -> Result:
        state = self.fake._state
        with state.lock:
            cursor = len(state.records.calls)
        began = time.time()
        stop_acting, give_up = began + seconds, began + seconds + drain
        by_chat: dict[int, _Person] = {}
        waiting: list[int] = []  # indices of calls not finished when last seen
        samples: list[Sample] = []
        actions, last_reply = 0, began

        def act(person: _Person) -> None:
            nonlocal actions
            kind, value, want = person.moves[person.index]
            person.want, person.got = want, 0
            person.queued = time.time()
            if kind == "start":
                person.update_id = self.fake.send_command(person.chat, "start")
            elif kind == "type":
                person.update_id = self.fake.send_text(person.chat, value)
            else:
                person.update_id = self.fake.press(person.chat, self._newest_with(person.chat,
                                                   value), button_text=value)
            actions += 1

        def fresh() -> _Person:
            person = _Person(next(self.chats), self.moves(next(self.started)))
            by_chat[person.chat] = person
            return person

        due: list[tuple[float, int, _Person]] = []  # (when, tie-break, who) acts next
        order = itertools.count()
        spread = random.Random(people)  # with `think`, first actions spread over it
        for _ in range(people):
            if think:
                heapq.heappush(due, (began + spread.uniform(0, think), next(order), fresh()))
            else:
                act(fresh())
        busy = people
        while busy and time.time() < give_up:
            now = time.time()
            while due and due[0][0] <= now:
                if now >= stop_acting:
                    busy -= 1
                    heapq.heappop(due)
                else:
                    act(heapq.heappop(due)[2])
            with state.cond:
                state.cond.wait(min(0.02, max(0.0, due[0][0] - now)) if due else 0.02)
                finished, waiting, cursor = self._finished_sends(waiting, cursor)
            for chat, at in finished:
                person = by_chat.get(chat)
                if person is None or person.got >= person.want:
                    continue
                person.got += 1
                person.first_at = at if person.got == 1 else person.first_at
                if person.got < person.want:
                    continue
                available = POSTED.get(person.update_id, at) if self.webhook else person.queued
                samples.append(Sample(person.first_at - available, at - available))
                last_reply = max(last_reply, at)
                person.index += 1
                if time.time() >= stop_acting:
                    busy -= 1
                    continue
                following = person if person.index < len(person.moves) else fresh()
                heapq.heappush(due, (time.time() + think, next(order), following))
        time.sleep(0.3)  # the last "✓" edits and callback answers of answered actions
        calls, sends = self._calls_since(began)
        return Result(samples, actions, last_reply - began, calls, sends)

    def _finished_sends(self, waiting: list[int], cursor: int
                        ) -> tuple[list[tuple[int, float]], list[int], int]:
        """(chat, arrival) of sendMessage calls answered since last time (lock held)."""
        calls = self.fake._state.records.calls
        end = len(calls)
        finished, still = [], []
        for index in itertools.chain(waiting, range(cursor, end)):
            call = calls[index]
            if call.method != MESSAGE:
                continue
            if call.finished is None:
                still.append(index)
            elif call.status == 200:
                finished.append((int(call.params["chat_id"]), call.started))
        finished.sort(key=lambda pair: pair[1])
        return finished, still, end

    def _newest_with(self, chat: int, label: str) -> int:
        """The newest bot message in `chat` that shows a button `label` (Person.button)."""
        state = self.fake._state
        with state.lock:
            messages = state.messages.get(chat, {})
            for message_id in sorted(messages, reverse=True):
                if not messages[message_id].deleted and label in messages[message_id].button_texts:
                    return message_id
        raise AssertionError(f"no button {label!r} in a benchmark chat")

    def _calls_since(self, began: float) -> tuple[Counter[str], list[tuple[int, float]]]:
        state = self.fake._state
        with state.lock:
            calls = [c for c in state.records.calls if c.started >= began]
            counted = Counter(c.method for c in calls if c.method not in NOT_PER_ACTION)
            sends = [(int(c.params["chat_id"]), c.started) for c in calls
                     if c.method == MESSAGE and c.status == 200]
        return counted, sends
