"""Training the screen's second stage (`bot.safety.model`) from labelled messages.

Multinomial logistic regression with AdaGrad steps and a little L2, over the features of
`bot.safety.model.features`, seeded so that the same messages give the same file. Two
choices lean it towards people's safety without flooding ordinary chat with check-ins:

- ordinary messages weigh `NONE_WEIGHT` times more than disclosures while training, since
  the corpus has more disclosures than ordinary messages and real chat is the other way;
- the threshold is chosen by cross-validation on the training messages alone: the lowest
  probability at which the model, on folds it did not see, flags at most
  `FOLD_FP_TARGET` of the ordinary messages the rules leave alone.

The held-out set is never used here. Pure: messages in, a `Model` out (`relbot
safety-train` reads and writes the files).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Sequence

from bot.safety.model import CLASSES, NONE, Model, features, softmax

__all__ = ["Example", "fingerprint", "train", "train_model"]

Example = tuple[str, tuple[str, ...]]  # (label, normalised tokens)
Tokenise = Callable[[str], Sequence[str]]

EPOCHS = 20
L2 = 1e-4
RATE = 0.3
NONE_WEIGHT = 3.0
FOLDS = 5
FOLD_FP_TARGET = 0.04
SEED = 20261129
PRUNE = 1e-3  # weights smaller than this are left out of the file
THRESHOLDS = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))  # 0.50 ... 0.99


def fingerprint(messages: Sequence[tuple[str, str]]) -> str:
    """A short hash of (text, label) pairs and the training settings: it changes when the
    training messages or the way of training change, so a stale model can be noticed."""
    digest = hashlib.sha256()
    settings = (EPOCHS, L2, RATE, NONE_WEIGHT, FOLDS, FOLD_FP_TARGET, SEED, PRUNE)
    digest.update(repr(settings).encode())
    for text, label in sorted(messages):
        digest.update(f"{label}\x1f{text}\x1e".encode())
    return digest.hexdigest()[:16]


def train(examples: Sequence[Example]) -> tuple[dict[str, list[float]], list[float]]:
    """Weights per feature and a bias per class, fitted to `examples`."""
    width = len(CLASSES)
    data = [(sorted(features(tokens)), CLASSES.index(label)) for label, tokens in examples]
    weights: dict[str, list[float]] = {}
    squares: dict[str, list[float]] = {}
    bias, bias_squares = [0.0] * width, [0.0] * width
    order = random.Random(SEED)
    for _ in range(EPOCHS):
        order.shuffle(data)
        for feats, y in data:
            scale = NONE_WEIGHT if y == 0 else 1.0
            p = softmax(bias, weights, feats)
            for j in range(width):
                g = (p[j] - (1.0 if j == y else 0.0)) * scale
                bias_squares[j] += g * g
                bias[j] -= RATE * g / math.sqrt(bias_squares[j] + 1e-8)
                if abs(g) < 1e-4:
                    continue
                for f in feats:
                    w = weights.setdefault(f, [0.0] * width)
                    sq = squares.setdefault(f, [0.0] * width)
                    gj = g + L2 * w[j]
                    sq[j] += gj * gj
                    w[j] -= RATE * gj / math.sqrt(sq[j] + 1e-8)
    return weights, bias


def train_model(language: str, messages: Sequence[tuple[str, str]], tokenise: Tokenise,
                flagged_by_rules: Callable[[str], bool]) -> Model:
    """The model for `language` from (text, label) pairs, with its threshold chosen by
    cross-validation (see the module docstring)."""
    examples = [(label, tuple(tokenise(text))) for text, label in messages]
    threshold = _cross_validated_threshold(messages, examples, flagged_by_rules)
    weights, bias = train(examples)
    kept = {f: tuple(row) for f, row in weights.items() if max(map(abs, row)) >= PRUNE}
    settings = {"epochs": EPOCHS, "l2": L2, "none_weight": NONE_WEIGHT, "folds": FOLDS,
                "fold_fp_target": FOLD_FP_TARGET}
    return Model(language, kept, tuple(bias), threshold, fingerprint(messages), settings)


def _cross_validated_threshold(messages: Sequence[tuple[str, str]],
                               examples: Sequence[Example],
                               flagged_by_rules: Callable[[str], bool]) -> float:
    """The lowest threshold whose out-of-fold false-positive rate, on ordinary messages
    the rules do not flag, is at most FOLD_FP_TARGET."""
    ordinary_scores: list[float] = []
    for fold in range(FOLDS):
        training = [e for i, e in enumerate(examples) if i % FOLDS != fold]
        weights, bias = train(training)
        fitted = {f: tuple(row) for f, row in weights.items()}
        for i in range(fold, len(examples), FOLDS):
            label, tokens = examples[i]
            if label == NONE and not flagged_by_rules(messages[i][0]):
                p = softmax(bias, fitted, sorted(features(tokens)))
                ordinary_scores.append(1.0 - p[0])
    for threshold in THRESHOLDS:
        flagged = sum(score >= threshold for score in ordinary_scores)
        if flagged <= FOLD_FP_TARGET * max(len(ordinary_scores), 1):
            return threshold
    return THRESHOLDS[-1]
