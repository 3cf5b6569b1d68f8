"""The second stage of the screen: a small word-level classifier for what the rules miss.

Rules catch the phrasings their word lists know; people in distress also write in ways
nobody listed ("soon it won't matter anyway"). Measured on the held-out set, the rules
alone flag about four disclosures in ten. So when no rule flags a message, a linear
classifier over the same normalised words (single words and pairs of neighbours) has a
say: if it gives a disclosure a probability of at least its `threshold`, the message is
flagged with the category it scores highest, and the bot asks, as for any flag.

It is multinomial logistic regression, trained by `bot.safety.train` on the labelled
corpus and the screen author's own phrasings (never on the held-out set), and shipped
as data next to the rules (`rules/<language>.model.json`): no model download, no
dependency, a few dictionary look-ups per message. The file records a fingerprint of
what it was trained on, so a test notices when the corpus changed and it was not
retrained (`relbot safety-train`).

Pure: text in, objects out. A broken model file is a diagnostic, never a crash; the
screen then runs on its rules alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.core.crisis import CATEGORIES
from bot.core.diagnostics import Diagnostic
from bot.safety.codes import file_problem
from bot.safety.normalise import CLAUSE, SENTENCE

__all__ = ["CLASSES", "MODEL_SUFFIX", "NONE", "Model", "features", "load_model", "softmax"]

NONE = "none"
CLASSES: tuple[str, ...] = (NONE, *CATEGORIES)
MODEL_SUFFIX = ".model.json"
FORMAT = 1


def features(tokens: Iterable[str]) -> set[str]:
    """The words of a normalised message and each pair of neighbours (a break between two
    sentences or clauses ends a pair), e.g. {"w:want", "w:die", "b:want die"}."""
    out: set[str] = set()
    previous = ""
    for token in tokens:
        if token in (SENTENCE, CLAUSE):
            previous = ""
            continue
        out.add("w:" + token)
        if previous:
            out.add(f"b:{previous} {token}")
        previous = token
    return out


def softmax(bias: Sequence[float], weights: Mapping[str, Sequence[float]],
            feats: Iterable[str]) -> list[float]:
    """P(class) from the bias and the summed weights of the features present (the
    same arithmetic for training and for screening)."""
    scores = list(bias)
    for feature in feats:
        row = weights.get(feature)
        if row is not None:
            for i, w in enumerate(row):
                scores[i] += w
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


@dataclass(frozen=True, slots=True)
class Model:
    """Weights per feature for each class of `CLASSES`, a bias per class, the probability
    of a disclosure from which the screen flags, and what the weights were trained on."""

    language: str
    weights: dict[str, tuple[float, ...]]
    bias: tuple[float, ...]
    threshold: float
    trained_on: str = ""
    settings: dict[str, float] = field(default_factory=dict)

    def probabilities(self, tokens: Sequence[str]) -> tuple[float, ...]:
        """P(class) for each class of `CLASSES`."""
        return tuple(softmax(self.bias, self.weights, features(tokens)))

    def judge(self, tokens: Sequence[str]) -> tuple[str, float] | None:
        """(category, P(any disclosure)) when that probability reaches the threshold."""
        p = self.probabilities(tokens)
        disclosure = 1.0 - p[0]
        if disclosure < self.threshold:
            return None
        best = max(range(1, len(CLASSES)), key=lambda i: p[i])
        return CLASSES[best], disclosure

    def to_json(self) -> str:
        """The shipped file: one feature per line, so a retrain reads as a diff."""
        head = {"format": FORMAT, "language": self.language, "classes": list(CLASSES),
                "threshold": self.threshold, "trained_on": self.trained_on,
                "settings": self.settings, "bias": [round(b, 4) for b in self.bias]}
        lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "weights": {']
        items = sorted(self.weights.items())
        for n, (feature, row) in enumerate(items):
            comma = "," if n < len(items) - 1 else ""
            lines.append(f"  {json.dumps(feature, ensure_ascii=False)}: "
                         f"{json.dumps([round(w, 4) for w in row])}{comma}")
        lines.append("}}")
        return "\n".join(lines) + "\n"


def load_model(text: str, file: str) -> tuple[Model | None, list[Diagnostic]]:
    """The model in `text`, or None and a diagnostic saying what is wrong with the file."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, [file_problem(file, "S020", f"is not valid JSON ({exc})")]
    try:
        if data.get("format") != FORMAT or tuple(data["classes"]) != CLASSES:
            return None, [file_problem(file, "S020", "was made for other categories or by "
                                       "another version; run `relbot safety-train`")]
        width = len(CLASSES)
        weights = {str(k): tuple(float(w) for w in v) for k, v in data["weights"].items()}
        bias = tuple(float(b) for b in data["bias"])
        threshold = float(data["threshold"])
        if len(bias) != width or any(len(r) != width for r in weights.values()) \
                or not 0.0 < threshold <= 1.0:
            raise ValueError("shape")
        model = Model(str(data["language"]), weights, bias, threshold,
                      str(data.get("trained_on", "")),
                      {str(k): float(v) for k, v in dict(data.get("settings", {})).items()})
    except (AttributeError, KeyError, TypeError, ValueError):
        return None, [file_problem(file, "S020", "does not have the shape of a screen model; "
                                   "run `relbot safety-train`")]
    return model, []
