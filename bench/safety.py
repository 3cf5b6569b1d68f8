"""How fast the crisis screen is: `Screen.check` runs on every typed message.

Not a test: a script that prints figures against the target (p99 well under a
millisecond for ordinary message lengths), so a change to the rules or to
`bot/safety` can be judged before and after.

    .venv/bin/python bench/safety.py            # the full run (about 20 s)
    .venv/bin/python bench/safety.py --quick    # a smoke run for CI (a few seconds)

It loads the shipped rules (and the second stage's models) as the bot does (regexes
compiled when first needed) and as
`relbot validate` does (everything compiled, every example tried), then screens every
message of the labelled corpus in its language, several passes, and reports the median
and p99 per message after the first pass (the first pass is reported separately: it
pays for compiling what it needs), and the rules alone interleaved with the full screen, so
the second stage's cost is measured in the same run. Then a 4,000-character message (Telegram allows
4,096), ordinary and with a disclosure at its end.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.safety import Screen  # noqa: E402
from bot.safety.evaluate import read_corpus  # noqa: E402

P99_TARGET_US = 1_000.0
CORPUS = ROOT / "tests" / "safety" / "corpus"


def messages() -> tuple[list[tuple[str, str]], list[bool]]:
    """(text, language) for every corpus message, and whether each is ordinary."""
    out, ordinary = [], []
    for path in sorted(CORPUS.glob("*.yaml")):
        items, _ = read_corpus(path.read_text(encoding="utf-8"), str(path), path.stem)
        out += [(item.text, path.stem) for item in items]
        ordinary += [item.label == "none" for item in items]
    return out, ordinary


def timed(screen: Screen, corpus: list[tuple[str, str]]) -> list[float]:
    """µs per message for one pass over `corpus`."""
    out = []
    clock = time.perf_counter
    for text, language in corpus:
        start = clock()
        screen.check(text, language)
        out.append((clock() - start) * 1e6)
    return out


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def long_message(disclosure: str) -> str:
    ordinary = ("Today I went to the market, talked to my sister about the weekend, and "
                "tried to say no to covering another shift without apologising. ")
    body = (ordinary * (4000 // len(ordinary) + 1))[: 4000 - len(disclosure) - 1]
    return f"{body} {disclosure}".strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a smoke run for CI")
    args = p.parse_args(argv)
    passes = 2 if args.quick else 6
    print(f"relbot crisis screen benchmark: Python {platform.python_version()} on "
          f"{platform.machine()}, {'quick' if args.quick else 'full'} run\n")

    start = time.perf_counter()
    screen = Screen.load()
    load_s = time.perf_counter() - start
    print("load the shipped rules")
    print(f"  {'as the bot does':<22}{load_s * 1000:>9.0f} ms  (regexes compiled when needed)")
    if not args.quick:
        start = time.perf_counter()
        checked = Screen.load(examples=True)
        full_s = time.perf_counter() - start
        print(f"  {'as relbot validate':<22}{full_s * 1000:>9.0f} ms  (every regex, every "
              f"example; {len(checked.diagnostics)} problems)")

    corpus, is_ordinary = messages()
    first = timed(screen, corpus)
    runs = [timed(screen, corpus) for _ in range(passes - 1)]
    medians = [statistics.median(run) for run in runs]
    best = runs[medians.index(min(medians))]
    longest = max(len(text) for text, _ in corpus)
    print(f"\ncheck, per corpus message ({len(corpus)} messages in English and Spanish, "
          f"up to {longest} characters; best of {len(runs)} passes after the first)")
    median, p99 = statistics.median(best), percentile(best, 0.99)
    print(f"  {'median':<22}{median:>9.1f} µs")
    print(f"  {'p99':<22}{p99:>9.1f} µs   target < {P99_TARGET_US:,.0f} µs  "
          f"{verdict(p99 < P99_TARGET_US)}")
    print(f"  {'slowest':<22}{max(best):>9.1f} µs")
    for label, keep in (("ordinary", True), ("disclosures", False)):
        mine = [t for t, o in zip(best, is_ordinary, strict=True) if o is keep]
        print(f"  {label + ', median/p99':<22}{statistics.median(mine):>9.1f} / "
              f"{percentile(mine, 0.99):.1f} µs  ({len(mine)} messages)")
    if len(medians) > 1:
        print(f"  {'medians of passes':<22}{', '.join(f'{m:.0f}' for m in medians):>9} µs")
    print(f"  {'first pass, p99':<22}{percentile(first, 0.99):>9.1f} µs  (compiling as it goes)")
    rules = screen.rules_only()  # the same compiled rules, without the second stage
    pairs = [(timed(rules, corpus), timed(screen, corpus)) for _ in range(passes - 1)]
    alone = min((run for run, _ in pairs), key=statistics.median)
    both = min((run for _, run in pairs), key=statistics.median)
    print(f"  {'rules alone, med/p99':<22}{statistics.median(alone):>9.1f} / "
          f"{percentile(alone, 0.99):.1f} µs  (interleaved with the full screen: "
          f"{statistics.median(both):.1f} / {percentile(both, 0.99):.1f} µs; the model "
          f"{len(screen.models)} language(s))")
    print(f"  {'messages per second':<22}{len(best) / (sum(best) / 1e6):>9,.0f}")

    print("\na 4,000-character message (best of 5)")
    for label, disclosure in (("ordinary", ""), ("disclosure at the end",
                                                 "honestly i just want to die.")):
        text = long_message(disclosure)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            flag = screen.check(text, "en")
            times.append((time.perf_counter() - start) * 1000)
        print(f"  {label:<22}{min(times):>9.2f} ms  flag: "
              f"{flag.category if flag else 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
