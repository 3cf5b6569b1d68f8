"""Benchmark: what one update costs in process, relbot against python-telegram-bot baselines.

Why this exists (issue 14): relbot commits every step durably (SQLite) and sends its
replies from an outbox; python-telegram-bot's ConversationHandler keeps state in memory
and flushes it now and then. This puts both, and a bare echo bot, on the same in-memory
Bot API (`bench/inmemory_api.py`: no network, but python-telegram-bot's whole client
path) and the same stream of updates: N people walking the shipped English dialogues
closed-loop (`bench/people.py`). The variants (`bench/variants.py`) run in interleaved
rounds in one process, each round on fresh files; the table shows each variant's median.

    .venv/bin/python bench/inprocess.py              # 500 people x 15 updates, 3 rounds
    .venv/bin/python bench/inprocess.py --quick      # a smoke run, a few seconds
    .venv/bin/python bench/inprocess.py --profile    # and relbot under cProfile

Targets: relbot >= 0.8x the in-memory ConversationHandler bot (b) and >= 5x the same
flushed after every update (c); the echo bot (a) is the floor. The echo bot cannot walk a
dialogue (it shows no buttons), so it replays the stream recorded in a warm-up walk.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from profiled import print_profile
from variants import EchoBot, PtbConversation, Relbot, Variant
from walking import Run, command, compiled_and_screen, machine, walk

TARGET_VS_MEMORY = 0.8
TARGET_VS_FLUSHED = 5.0
METHODS = ("sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery",
           "sendChatAction", "sendDocument", "deleteMessage")


def make(kind: str, folder: Path, round_no: int, compiled: object, screen: object) -> Variant:
    files = folder / f"r{round_no}-{kind}"
    files.mkdir()
    if kind == "a":
        return EchoBot()
    if kind in ("b", "c"):
        return PtbConversation(compiled, screen, files / "state.pickle",  # type: ignore[arg-type]
                               flush_every_update=kind == "c")
    return Relbot(compiled, screen, files / "relbot.sqlite3")  # type: ignore[arg-type]


async def run(people: int, steps: int, rounds: int, folder: Path) -> dict[str, list[Run]]:
    compiled, screen = compiled_and_screen()
    # Warm-up, not reported: records the stream the echo bot replays.
    recording = await walk(make("b", folder, 0, compiled, screen), people, steps, record=True)
    runs: dict[str, list[Run]] = {}
    order = ["a", "b", "c", "d"]
    for round_no in range(1, rounds + 1):
        for kind in order:
            variant = make(kind, folder, round_no, compiled, screen)
            replay = recording.streams if kind == "a" else None
            result = await walk(variant, people, steps, replay=replay)
            if kind != "a" and result.moves != recording.moves:
                raise SystemExit(f"{result.name} answered differently: its stream differs")
            runs.setdefault(kind, []).append(result)
            print(f"  round {round_no}: {result.name:<46} {result.per_second:>7,.0f} updates/s",
                  flush=True)
        order = order[1:] + order[:1]  # each variant goes first in some round
    return runs


def median_run(results: list[Run]) -> Run:
    return sorted(results, key=lambda r: r.per_second)[(len(results) - 1) // 2]


def report(runs: dict[str, list[Run]], people: int, steps: int) -> None:
    chosen = {k: median_run(v) for k, v in runs.items()}
    first = chosen["a"]
    print(f"\n{people:,} people x {steps} updates = {first.updates:,} updates per variant, "
          f"{len(runs['a'])} interleaved round(s), median round shown; every conversational "
          "variant got the same stream")
    print(f"{'variant':<46} {'updates/s':>9} {'µs/upd':>7} {'CPU µs/upd':>10} {'calls/upd':>9}"
          f" {'rounds (updates/s)':>22}")
    for kind, result in chosen.items():
        spread = ", ".join(f"{r.per_second:,.0f}" for r in runs[kind])
        cpu = statistics.median(r.cpu_us for r in runs[kind])
        print(f"{result.name:<46} {result.per_second:>9,.0f} {1e6 / result.per_second:>7,.0f}"
              f" {cpu:>10,.0f} {result.calls_per_update:>9.2f} {spread:>22}")
    print("\nBot API calls per update, by method")
    print(f"{'variant':<46} " + " ".join(f"{m[:12]:>12}" for m in METHODS))
    for result in chosen.values():
        print(f"{result.name:<46} " + " ".join(
            f"{result.calls[m] / result.updates:>12.2f}" for m in METHODS))
    relbot = chosen["d"]
    if relbot.hops is not None:
        print(f"\nrelbot: {relbot.hops / relbot.updates:.1f} round trips to the SQLite worker "
              "thread per update (counted by wrapping SQLiteStore._submit in this run)")
    print("the in-memory Bot API's own time (building answers): " + ", ".join(
        f"{r.name[:3]} {100 * r.server_seconds / r.seconds:.0f}%" for r in chosen.values()))
    print("\nrelbot (d) against the others: the median over rounds of the ratio within a round "
          "(wall clock; CPU time of the process, which a loaded machine disturbs less)")
    for kind, target in (("b", TARGET_VS_MEMORY), ("c", TARGET_VS_FLUSHED), ("a", None)):
        pairs = list(zip(runs["d"], runs[kind], strict=True))
        wall = statistics.median(d.per_second / o.per_second for d, o in pairs)
        cpu = statistics.median(o.cpu_us / d.cpu_us for d, o in pairs)
        calls = relbot.calls_per_update / chosen[kind].calls_per_update
        verdict = "" if target is None else (
            f"  target >= {target}x: {'ok' if wall >= target else 'MISSED'} (wall), "
            f"{'ok' if cpu >= target else 'MISSED'} (CPU)")
        print(f"  vs {chosen[kind].name:<46} per update {wall:>5.2f}x wall, {cpu:>5.2f}x CPU;"
              f" per Bot API call {wall * calls:>5.2f}x wall{verdict}")
    print("relbot (d) runs without Telegram's rate limits (the sender's budget and per-chat "
          "pacing unlimited), so it also makes no 'typing' actions; the retention, reminder "
          "and menu jobs are not started. (b) and (c) run relbot's core (take_turn, render) "
          "in one handler.")


def profile(people: int, steps: int, folder: Path) -> None:
    compiled, screen = compiled_and_screen()
    variant = Relbot(compiled, screen, folder / "profiled.sqlite3")
    print_profile(lambda: walk(variant, people, steps), "relbot (d)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (seconds)")
    parser.add_argument("--people", type=int, help="people walking at once (default 500)")
    parser.add_argument("--steps", type=int, default=15, help="updates per person")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3)")
    parser.add_argument("--profile", action="store_true",
                        help="then run relbot once more under cProfile")
    args = parser.parse_args()
    people = args.people or (20 if args.quick else 500)
    rounds = args.rounds or (1 if args.quick else 3)
    steps = args.steps if not args.quick else min(args.steps, 10)
    print(machine())
    print(command())
    with tempfile.TemporaryDirectory(prefix="relbot-inprocess-") as tmp:
        runs = asyncio.run(run(people, steps, rounds, Path(tmp)))
        report(runs, people, steps)
        if args.profile:
            profile(people, steps, Path(tmp))


if __name__ == "__main__":
    main()
