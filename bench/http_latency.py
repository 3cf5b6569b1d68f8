"""Benchmark: reply latency over real HTTP on loopback, next to a bare echo bot.

Why this exists: what a person notices is the time from their tap (or typed answer) to
the bot's reply, and relbot paces its sends to stay inside Telegram's limits. This runs
the real `relbot run` (SQLite, the programme's dialogues) against the fake Telegram
(tests/fakegram) in polling and in webhook mode, with 5, 20 and 200 people acting at
once, each walking a real module and acting again as soon as the whole reply is there
(bench/crowd.py). For every action it times, from the update being made available
(queued for polling, POSTed for the webhook) to the arrival at the fake of the first
and of the last message of the reply, and prints p50/p99 per mode and people count,
next to a bare python-telegram-bot echo bot (bench/echo_bot.py) under the same load in
the same run (cells interleaved), the Bot API calls per action by method, and the
busiest second of sendMessage overall and to one chat (Telegram: about 30 messages per
second overall, about one per second in a chat, short bursts allowed).

    .venv/bin/python bench/http_latency.py            # 5, 20, 200 people; ~4 minutes
    .venv/bin/python bench/http_latency.py --quick    # 5 people, a few seconds each
    .venv/bin/python bench/http_latency.py --think 5  # people read 5 s before acting again
                                                      # (each cell 10 s longer; ~6 minutes)

Not named bench/http.py: run as a script, its folder comes first on sys.path, and a
module named http there hides the standard library's (http.server, http.client) from
every other benchmark in bench/.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from e2e.harness import PROGRAMME, BotProcess  # noqa: E402

from bench.crowd import (  # noqa: E402
    Crowd,
    Result,
    all_running,
    echo_walks,
    new_fake,
    programme_walks,
)
from bench.figures import (  # noqa: E402
    command_line,
    limits,
    machine,
    percentile,
    seconds_text,
    table,
)
from bot.config import DEFAULT_REPLY_RATE  # noqa: E402
from bot.tg.pacing import CHAT_BURST  # noqa: E402

PER_CHAT_SECOND = CHAT_BURST + 1  # a reply's burst, then one a second
FULL = {5: 6.0, 20: 12.0, 200: 12.0}  # people -> seconds of acting (+ 2 x --think)
QUICK = {5: 2.0}
MODES = ("polling", "webhook")
DRAIN = 90.0  # at most; the replies under way when acting stops


def measure(quick: bool, think: float, problems: list[str]
            ) -> dict[tuple[str, int, str], Result]:
    cells = QUICK if quick else FULL
    results: dict[tuple[str, int, str], Result] = {}
    relbot_walks = programme_walks(PROGRAMME)
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        crowds: dict[tuple[str, str], Crowd] = {}
        bots = []
        for mode in MODES:
            webhook = mode == "webhook"
            fake, echo_fake = stack.enter_context(new_fake()), stack.enter_context(new_fake())
            bots += [BotProcess(fake, work / mode / "relbot", dialogues=PROGRAMME,
                                webhook=webhook),
                     BotProcess(echo_fake, work / mode / "echo", webhook=webhook,
                                command=[sys.executable, "-m", "bench.echo_bot"])]
            crowds[(mode, "echo")] = Crowd(echo_fake, echo_walks, webhook=webhook,
                                           first_chat=10**7)
            crowds[(mode, "relbot")] = Crowd(fake, relbot_walks, webhook=webhook,
                                             first_chat=10**7)
        stack.enter_context(all_running(bots, problems))
        for people, seconds in cells.items():  # interleaved: each floor next to relbot
            for (mode, name), crowd in crowds.items():
                results[(mode, people, name)] = crowd.run(people, seconds + 2 * think, DRAIN, think)
    return results


def report(results: dict[tuple[str, int, str], Result], think: float) -> None:
    rows, calls, busiest = [], [], []
    for (mode, people, name), result in sorted(results.items()):
        firsts = [s.first for s in result.samples]
        lasts = [s.last for s in result.samples]
        per_action = sum(result.calls.values()) / max(result.actions, 1)
        rows.append([mode, people, name, f"{len(result.samples)}/{result.actions}",
                     *(seconds_text(percentile(v, q)) for v in (firsts, lasts)
                       for q in (0.5, 0.99)), f"{per_action:.2f}"])
        if name == "relbot":
            by_method = ", ".join(f"{method} {count / max(result.actions, 1):.2f}"
                                  for method, count in result.calls.most_common())
            calls.append(f"- {mode}, {people} people: {by_method}")
        overall, one_chat = limits(result.sends)
        busiest.append([mode, people, name, overall, one_chat])
    print("Reply latency over HTTP on loopback (seconds; from the update made available to "
          "the first / the last message of its reply arriving at the fake Telegram); each "
          f"person acts again {f'{think:g} s after' if think else 'as soon as'} the reply "
          "is complete" + (f" (first actions spread over {think:g} s)" if think else
                           " (all first actions at the same instant)"))
    print(*table(["mode", "people", "bot", "answered/actions", "first p50", "first p99",
                  "last p50", "last p99", "API calls/action"], rows), sep="\n")
    print("\nrelbot's Bot API calls per action, by method")
    print(*calls, sep="\n")
    print("\nsendMessage in the busiest second (Telegram: ~1 a second per chat with short "
          "bursts; ~30 a second for bulk notifications, which relbot keeps for background "
          f"sends; replies to people who just wrote: REPLY_RATE, {DEFAULT_REPLY_RATE:g})")
    print(*table(["mode", "people", "bot", "overall", "one chat"], busiest), sep="\n")
    print("\nTargets (relbot)" + ("" if len(results) > 4 else ": with 20 and 200 people only"))
    for mode in ("polling", "webhook"):
        for people, what, index, share, target in ((20, "last p50", 1, 0.5, 0.3),
                                                   (20, "last p99", 1, 0.99, 1.0),
                                                   (200, "first p99", 0, 0.99, 2.0)):
            result = results.get((mode, people, "relbot"))
            if result is None:
                continue
            value = percentile([(s.first, s.last)[index] for s in result.samples], share)
            verdict = "met" if value <= target else "MISSED"
            print(f"- {mode}, {people} people, {what}: {seconds_text(value)} s "
                  f"(target <= {target} s): {verdict}")
        for people in (20, 200):
            result = results.get((mode, people, "relbot"))
            if result is not None:
                overall, one_chat = limits(result.sends)
                print(f"- {mode}, {people} people, inside the limits relbot keeps: busiest "
                      f"second {overall} sendMessage overall (<= REPLY_RATE "
                      f"{DEFAULT_REPLY_RATE:g}: {'yes' if overall <= DEFAULT_REPLY_RATE else 'NO'})"
                      f", {one_chat} to one chat (<= {PER_CHAT_SECOND}, a reply's burst and "
                      f"1/s: {'yes' if one_chat <= PER_CHAT_SECOND else 'NO'})")
    print(f"\nmachine: {machine()}; relbot on SQLite, the programme's dialogues")
    print(f"command: {command_line()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5 people")
    parser.add_argument("--think", type=float, default=0.0, metavar="SECONDS",
                        help="a person reads for this long before acting again (default 0)")
    args = parser.parse_args()
    problems: list[str] = []
    report(measure(args.quick, args.think, problems), args.think)
    if problems:
        sys.exit("\n".join(["a bot did not run cleanly:", *problems]))


if __name__ == "__main__":
    main()
