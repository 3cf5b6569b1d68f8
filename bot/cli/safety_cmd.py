"""`relbot safety-eval`: how the crisis screen does on the labelled corpus.

Prints a table per language and category (n, recall, recall-any, false positives),
then one summary line per language and a last line saying whether every target is met;
the exit status is 1 when one is not. `--verbose` lists what the screen got wrong.
`--set holdout` measures the held-out set instead; its messages are never listed, since
reading them would tune the screen to them. `--rules-only` leaves out the second stage
(the model), to see what it adds.

`relbot safety-train` writes the second stage's model for each language from the corpus,
the screen author's own phrasings and a training set written by someone else
(tests/safety/corpus, dev and train; never a held-out set), to
`bot/safety/rules/<language>.model.json`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bot.safety import Screen
from bot.safety.evaluate import (
    FP_TARGET,
    NONE,
    RECALL_TARGET,
    Labelled,
    Report,
    evaluate,
    read_corpus,
)

__all__ = ["add_parser", "add_train_parser", "run", "train"]

SETS = {"corpus": "corpus", "holdout": "holdout", "holdout2": "holdout2"}
TRAINING = ("corpus", "dev", "train")  # what the second stage learns from; never a holdout
TESTS = Path(__file__).resolve().parents[2] / "tests" / "safety"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("safety-eval", help="measure the crisis screen on the labelled corpus")
    p.add_argument("--set", choices=tuple(SETS), default="corpus", dest="which",
                   help="the corpus to tune against (default) or a held-out set")
    p.add_argument("--dir", type=Path, default=None,
                   help="a folder of <language>.yaml corpus files (default: tests/safety/SET)")
    p.add_argument("--rules", type=Path, default=None,
                   help="a folder of rule files (default: the shipped rules)")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="list every miss and false positive (text, expected, got, rule)")
    p.add_argument("--rules-only", action="store_true",
                   help="leave out the second stage (the model), to see what it adds")
    p.set_defaults(func=run)


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("safety-train",
                       help="write the crisis screen's second-stage model from the corpus")
    p.add_argument("--out", type=Path, default=None,
                   help="the folder to write <language>.model.json to "
                        "(default: the shipped rules folder)")
    p.set_defaults(func=train)


def training_messages() -> dict[str, list[tuple[str, str]]]:
    """language -> (text, label) from the folders in TRAINING (never a held-out set), in a
    fixed order."""
    out: dict[str, list[tuple[str, str]]] = {}
    paths = [path for folder in TRAINING for path in sorted((TESTS / folder).glob("*.yaml"))]
    for path in paths:
        items, _ = read_corpus(path.read_text(encoding="utf-8", errors="replace"), str(path),
                               path.stem)
        for item in items:
            out.setdefault(item.language, []).append((item.text, item.label))
    return out


def train(args: argparse.Namespace) -> int:
    from bot.safety.screen import RULES_DIR
    from bot.safety.train import train_model

    messages = training_messages()
    if not messages:
        print(f"relbot safety-train: no labelled messages in {TESTS}/corpus; run it from a "
              "checkout", file=sys.stderr)
        return 2
    out = args.out or RULES_DIR
    rules = Screen.load(RULES_DIR).rules_only()
    for language, pairs in sorted(messages.items()):
        if language not in rules.languages:
            print(f"relbot safety-train: no rules for '{language}'; skipped", file=sys.stderr)
            continue
        started = time.perf_counter()
        model = train_model(
            language, pairs, lambda text, lr=rules.languages[language]: lr.prepare(text).tokens,
            lambda text, lang=language: rules.check(text, lang) is not None)
        path = out / f"{language}.model.json"
        path.write_text(model.to_json(), encoding="utf-8")
        print(f"{language}: {len(pairs)} messages, {len(model.weights)} features, threshold "
              f"{model.threshold:.2f}, trained on {model.trained_on} "
              f"({time.perf_counter() - started:.1f} s) -> {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.verbose and args.which.startswith("holdout"):
        print("relbot safety-eval: the held-out set is never listed (reading its misses would "
              "tune the screen to it); run it without --verbose", file=sys.stderr)
        return 2
    folder = args.dir or TESTS / SETS[args.which]
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        print(f"relbot safety-eval: no corpus files in {folder}; pass --dir with "
              "<language>.yaml files", file=sys.stderr)
        return 2
    corpus: dict[str, list[Labelled]] = {}
    problems: list[str] = []
    for path in files:
        items, found = read_corpus(path.read_text(encoding="utf-8", errors="replace"),
                                   str(path), path.stem)
        language = items[0].language if items else path.stem
        corpus[language] = corpus.get(language, []) + items
        problems += found
    screen = Screen.load(args.rules)
    if args.rules_only:
        screen = screen.rules_only()
    report = evaluate(screen, corpus)
    report.problems = problems
    print(render(report, args.which, verbose=args.verbose))
    return 0 if report.met and not problems else 1


def render(report: Report, which: str, *, verbose: bool = False) -> str:
    lines = [f"{'language':<9}{'category':<19}{'n':>5}{'recall':>9}{'recall-any':>12}"
             f"{'false pos.':>12}"]
    for row in report.rows:
        mark = "  << below target" if row.missed_target else ""
        if row.category == NONE:
            lines.append(f"{row.language:<9}{'none (ordinary)':<19}{row.n:>5}{'':>9}{'':>12}"
                         f"{row.recall_any:>12.3f}{mark}")
        else:
            lines.append(f"{row.language:<9}{row.category:<19}{row.n:>5}{row.recall:>9.3f}"
                         f"{row.recall_any:>12.3f}{'':>12}{mark}")
    if verbose:
        lines += ["", "what the screen got wrong (text | expected | got | rule):"]
        for o in report.wrong():
            expected = "/".join(sorted(o.item.acceptable))
            got = f"{o.flag.category}/{o.flag.subtype}" if o.flag else "-"
            lines.append(f"  [{o.item.language}] {o.item.text!r} | {expected} | {got} | "
                         f"{o.flag.rule if o.flag else '-'}")
    lines += [f"corpus problem: {p}" for p in report.problems]
    lines.append("")
    for language in dict.fromkeys(r.language for r in report.rows):
        rows = [r for r in report.rows if r.language == language]
        flagged = [r for r in rows if r.category != NONE]
        lowest = min(flagged, key=lambda r: r.recall) if flagged else None
        ordinary = next((r for r in rows if r.category == NONE), None)
        right = sum(r.right for r in flagged)
        total = sum(r.n for r in flagged)
        fp = f"{ordinary.recall_any:.3f} ({ordinary.flagged}/{ordinary.n})" if ordinary else "-"
        low = f"lowest {lowest.recall:.3f} {lowest.category}" if lowest else "-"
        lines.append(f"{language}: recall {right / total if total else 1:.3f} ({low}), "
                     f"false positives {fp}")
    verdict = "all targets met" if report.met else "TARGET MISSED"
    lines.append(f"safety-eval {which}: {verdict} (recall >= {RECALL_TARGET} per language and "
                 f"category, false positives <= {FP_TARGET})")
    return "\n".join(lines)
