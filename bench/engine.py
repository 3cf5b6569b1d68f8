"""How fast the dialogue core is: compile time, step latency and session size.

Not a test: a script that prints figures against the targets the bot is designed for
(step median < 20 µs, compiling 1,000 states < 0.5 s, a stored session < 1 KB), so a
change to `bot/core/engine.py` or `compile.py` can be judged before and after.

    .venv/bin/python bench/engine.py            # the full run (about 10 s)
    .venv/bin/python bench/engine.py --quick    # a smoke run for CI (under 3 s)

It compiles the shipped dialogues and a generated 1,000-state module (built in memory:
a chain of buttons, questions and branches), then walks the shipped dialogues with
random but valid input (right buttons, fitting answers, now and then help or back) and
times every step.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bot.core.bundle as bundle_module  # noqa: E402
from bot.core.bundle import load_bundle  # noqa: E402
from bot.core.compile import CompiledBundle, compile_bundle  # noqa: E402
from bot.core.diagnostics import format_human, has_errors  # noqa: E402
from bot.core.engine import step  # noqa: E402
from bot.core.loader import Loaded  # noqa: E402
from bot.core.model import Bundle  # noqa: E402
from bot.core.types import (  # noqa: E402
    Event,
    IntentInvoked,
    Pressed,
    Session,
    Started,
    Typed,
)
from bot.core.validate import REQUIRED_STRINGS  # noqa: E402

STEP_MEDIAN_US = 20.0
COMPILE_1000_S = 0.5
SESSION_BYTES = 1024


# --- inputs ------------------------------------------------------------------------------


def shipped_sources(folder: Path) -> dict[str, str]:
    return {str(p): p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))}


def generated_sources(states: int = 1000) -> dict[str, str]:
    """A valid module of `states` states: buttons, number questions, branches and says."""
    lines = [
        "dialogue: gen",
        "title: {en: Generated, es: Generado}",
        "start: s0",
        "variables:",
        "  score: 0",
        *(f"  v{i}: 0" for i in range(10)),
        "states:",
    ]
    for i in range(states - 1):
        nxt, skip = f"s{i + 1}", f"s{min(i + 3, states - 1)}"
        lines.append(f"  s{i}:")
        kind = i % 4
        if kind == 0:
            lines += [
                f"    say: {{en: 'Question {i}: pick one.', es: 'Pregunta {i}: elige.'}}",
                "    choices:",
                f"      - {{id: a, label: {{en: Next, es: Sigue}}, goto: {nxt}, "
                "add: {score: 1}}",
                f"      - {{id: b, label: {{en: Skip, es: Salta}}, goto: {skip}}}",
                f"      - {{id: c, label: {{en: Same, es: Igual}}, goto: {nxt}, "
                "set: {score: 0}}",
            ]
        elif kind == 1:
            lines += [
                "    say: {en: 'From 0 to 10, how much? ({score})', "
                "es: 'Del 0 al 10, ¿cuánto? ({score})'}",
                f"    ask: {{into: v{i % 10}, kind: scale}}",
                f"    goto: {nxt}",
            ]
        elif kind == 2:
            lines += [
                "    branch:",
                f"      - if: v{(i - 1) % 10} >= 5 and score > 2",
                f"        goto: {nxt}",
                f"      - goto: {skip}",
            ]
        else:
            lines += [
                f"    say: {{en: 'Step {i} done, {{score}}.', es: 'Paso {i} hecho, {{score}}.'}}",
                f"    goto: {nxt}",
            ]
    lines += [f"  s{states - 1}:", "    say: {en: The end., es: Fin.}", "    end: true"]
    strings = "".join(
        f"  {key}: {{en: '{key} {{min}} {{max}}', es: '{key} {{min}} {{max}}'}}\n"
        for key in REQUIRED_STRINGS
    )
    glob = f"languages: [en, es]\nstart: gen\nmenu: gen\nstrings:\n{strings}"
    return {"_global.yaml": glob, "gen.yaml": "\n".join(lines) + "\n"}


# --- compile -----------------------------------------------------------------------------


def time_compile(
    sources: Mapping[str, str], repeats: int
) -> tuple[dict[str, float], CompiledBundle]:
    """parse (YAML only), check (shape, build, named checks), compile, and all three.

    `load_bundle` parses and checks; the time spent parsing inside it is measured by
    wrapping the loader it calls, so the two are split within one and the same run.
    """
    parsing = [0.0]
    real_load = bundle_module.load_yaml

    def timed_load(text: str, file: str) -> Loaded:
        start = time.perf_counter()
        try:
            return real_load(text, file)
        finally:
            parsing[0] += time.perf_counter() - start

    best: dict[str, float] = {}
    compiled: CompiledBundle | None = None
    bundle_module.load_yaml = timed_load
    try:
        for _ in range(repeats):
            parsing[0] = 0.0
            start = time.perf_counter()
            bundle, diagnostics = load_bundle(sources)
            loaded = time.perf_counter()
            if has_errors(diagnostics):
                raise SystemExit(f"bench: the dialogues have errors:\n{format_human(diagnostics)}")
            compiled = compile_bundle(bundle)
            done = time.perf_counter()
            run = {
                "parse YAML": parsing[0],
                "check": loaded - start - parsing[0],
                "compile": done - loaded,
                "total": done - start,
            }
            best = {k: min(v, best.get(k, v)) for k, v in run.items()}
    finally:
        bundle_module.load_yaml = real_load
    assert compiled is not None
    return best, compiled


def count_states(bundle: Bundle | CompiledBundle) -> int:
    return sum(len(d.states) for d in bundle.dialogues.values())


# --- the walk ----------------------------------------------------------------------------


def valid_event(c: CompiledBundle, session: Session, rng: random.Random) -> Event:
    """A right button or a fitting answer; now and then help, back or a typo."""
    if not session.stack:
        return Started(rng.choice(sorted(c.dialogues)))
    frame = session.stack[-1]
    state = c.dialogues[frame.module].states.get(frame.state)
    roll = rng.random()
    if state is None or roll < 0.03:
        return IntentInvoked(rng.choice(("help", "back")))
    if roll < 0.05:
        return Typed("hmm, not sure")
    if state.choices:
        return Pressed(session.step, rng.choice(list(state.choices)))
    ask = state.source.ask
    assert ask is not None
    if ask.kind == "text":
        return Typed(rng.choice(("I felt unheard.", "Ana", "Saying no to extra shifts.")))
    if ask.kind == "yes_no":
        return Typed(rng.choice(("yes", "no")))
    low = int(ask.min if ask.min is not None else 0)
    high = int(ask.max if ask.max is not None else (10 if ask.kind == "scale" else 100))
    return Typed(str(rng.randint(low, high)))


def walk(c: CompiledBundle, steps: int, seed: int = 7) -> tuple[list[float], list[int], list[int]]:
    """Step latencies (µs), stored-session sizes and their sizes without the back-history
    (bytes), over a random valid walk."""
    rng = random.Random(seed)
    flags = dict.fromkeys(c.config.requires, True)
    session = Session(vars={"language": "en", "store_answers": True, **flags})
    latencies: list[float] = []
    sizes: list[int] = []
    bare: list[int] = []
    clock = time.perf_counter_ns
    for i in range(steps):
        if i % 500 == 0:  # someone new, in another language
            session = Session(
                vars={
                    "language": rng.choice(c.config.languages),
                    "store_answers": rng.random() < 0.5,
                    **flags,
                }
            )
        event = valid_event(c, session, rng)
        start = clock()
        session, _ = step(c, session, event)
        latencies.append((clock() - start) / 1000)
        sizes.append(len(session.to_json().encode()))
        bare.append(len(Session(session.stack, session.vars, session.step).to_json().encode()))
    return latencies, sizes, bare


# --- report ------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def report_compile(title: str, times: dict[str, float], target: float | None = None) -> None:
    print(title)
    for name, seconds in times.items():
        line = f"  {name:<18}{seconds * 1000:>9.1f} ms"
        if target is not None and name == "total":
            line += f"   target < {target * 1000:.0f} ms  {verdict(seconds < target)}"
        print(line)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a smoke run for CI (< 3 s)")
    p.add_argument("--steps", type=int, default=None, help="steps in the walk")
    p.add_argument("--dir", type=Path, default=ROOT / "dialogues", help="dialogues folder")
    args = p.parse_args(argv)
    steps = args.steps or (3_000 if args.quick else 100_000)
    repeats = 1 if args.quick else 5
    print(
        f"relbot engine benchmark: Python {platform.python_version()} on "
        f"{platform.machine()}, {'quick' if args.quick else 'full'} run, "
        f"best of {repeats} for compile times\n"
    )

    shipped = shipped_sources(args.dir)
    times, compiled = time_compile(shipped, repeats)
    where = args.dir.relative_to(ROOT) if args.dir.is_relative_to(ROOT) else args.dir
    report_compile(
        f"compile {where}/ ({len(compiled.dialogues)} modules, {count_states(compiled)} states)",
        times,
    )
    generated = generated_sources(1000)
    gen_times, gen = time_compile(generated, repeats)
    report_compile(
        f"compile a generated module ({count_states(gen)} states, "
        f"{len(gen.transitions)} transitions)",
        gen_times,
        COMPILE_1000_S,
    )

    # The same walk several times: the machine is shared, so report the best run's figures
    # (as for compile times) and the spread of the medians.
    runs = [walk(compiled, steps) for _ in range(1 if args.quick else 3)]
    medians = [statistics.median(run[0]) for run in runs]
    latencies, sizes, bare = runs[medians.index(min(medians))]
    latencies.sort()
    median = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"step (a random valid walk over the shipped modules, {steps:,} steps, "
          f"best of {len(runs)})")
    print(
        f"  {'median':<18}{median:>9.1f} µs   target < {STEP_MEDIAN_US:.0f} µs  "
        f"{verdict(median < STEP_MEDIAN_US)}"
    )
    if len(medians) > 1:
        print(f"  {'medians of runs':<18}{', '.join(f'{m:.1f}' for m in medians):>9} µs")
    print(f"  {'p99':<18}{p99:>9.1f} µs")
    print(f"  {'steps per second':<18}{len(latencies) / (sum(latencies) / 1e6):>9,.0f}")
    print("stored session (Session.to_json(), UTF-8 bytes)")
    typical = statistics.median(sizes)
    print(
        f"  {'typical (median)':<18}{typical:>9,.0f} B    target < {SESSION_BYTES:,} B  "
        f"{verdict(typical < SESSION_BYTES)}"
    )
    print(
        f"  {'largest seen':<18}{max(sizes):>9,} B    target < {SESSION_BYTES:,} B  "
        f"{verdict(max(sizes) < SESSION_BYTES)}"
    )
    over = sum(size >= SESSION_BYTES for size in sizes) / len(sizes)
    print(f"  {'over 1 KB':<18}{over:>9.1%}")
    print(
        f"  {'largest, no back':<18}{max(bare):>9,} B    (without the undo history "
        "that `back` uses)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
