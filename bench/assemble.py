"""What joining a script costs, and what the programme's new checks cost.

Not a test: a script that prints figures. Rendering a script text (`{name:part}`, see
`bot/core/assemble.py`) runs on every step that shows a script, so it should stay far
below the engine's step budget (a step's median is about 15-20 µs); the four-messages
check (W305) and the hand-over check run at every `relbot validate` and start-up.

    .venv/bin/python bench/assemble.py            # the full run (a few seconds)
    .venv/bin/python bench/assemble.py --quick    # a smoke run for CI
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

from bot.cli.folders import load_folder  # noqa: E402
from bot.core.assemble import assemble  # noqa: E402
from bot.core.checks_handover import check_passes  # noqa: E402
from bot.core.checks_turn import check_turn_length  # noqa: E402
from bot.core.diagnostics import Diagnostic  # noqa: E402
from bot.core.validate import Reporter  # noqa: E402

PARTS = {
    "en": [("when", ",", "When you cancelled our plans on Friday."),
           ("feel", ",", "I feel let down"), ("need", ".", "because I need reliability"),
           ("ask", "?", "Would you be willing to tell me a day ahead??")],
    "es": [("when", ",", "Cuando cancelaste nuestros planes el viernes."),
           ("feel", ",", "un poco de miedo"), ("need", ".", "necesito necesito respeto"),
           ("ask", "?", "me gustaría que me avisaras antes")],
}


def _time(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    args.add_argument("--quick", action="store_true", help="a smoke run for CI")
    quick = args.parse_args(argv).quick
    n = 2_000 if quick else 50_000
    print(f"python {platform.python_version()}, {n:,} scripts per language")
    for lang, parts in PARTS.items():
        times = _time(lambda parts=parts, lang=lang: assemble(lang, parts), n)
        print(f"assemble an I-statement ({lang}): median {statistics.median(times) * 1e6:.1f} µs,"
              f" p99 {sorted(times)[int(len(times) * 0.99)] * 1e6:.1f} µs"
              f"  -> {assemble(lang, parts)}")
        counter = iter(range(10**9))

        def cold(parts: list[tuple[str, str, str]] = parts, lang: str = lang,
                 counter: object = counter) -> None:
            k = next(counter)  # type: ignore[call-overload]  # every part new: nothing cached
            assemble(lang, [(r, e, f"{v} {k}") for r, e, v in parts])

        times = _time(cold, n)
        print(f"  every part new ({lang}): median {statistics.median(times) * 1e6:.1f} µs")
    bundle, _ = load_folder(ROOT / "dialogues")
    out: list[Diagnostic] = []
    rounds = 3 if quick else 30

    def checks() -> None:
        for d in bundle.dialogues.values():
            if d.source is not None:
                report = Reporter(d.source, out)
                check_turn_length(bundle, d, report)
                check_passes(bundle, d, report)

    times = _time(checks, rounds)
    states = sum(len(d.states) for d in bundle.dialogues.values())
    print(f"W305 + hand-over checks over the shipped dialogues ({len(bundle.dialogues)} modules,"
          f" {states} states): median {statistics.median(times) * 1e3:.2f} ms"
          f" (warnings: {len(out)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
