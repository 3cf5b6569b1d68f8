"""The screen's second stage: a trained model that flags what no rule catches.

It must be trained on the current corpus, add recall on messages nobody tuned for
without many more false positives, never crash the screen when its file is broken, and
speak only for its own language.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli.safety_cmd import train as train_cmd
from bot.cli.safety_cmd import training_messages
from bot.safety import Screen
from bot.safety.evaluate import NONE, Labelled, evaluate, read_corpus
from bot.safety.model import load_model
from bot.safety.screen import RULES_DIR
from bot.safety.train import fingerprint, train_model

from .helpers import HOLDOUT, shipped_texts

LANGUAGES = ("en", "es")


def with_model() -> Screen:
    texts = shipped_texts()
    for language in LANGUAGES:
        name = f"{language}.model.json"
        texts[name] = (RULES_DIR / name).read_text(encoding="utf-8")
    return Screen.from_texts(texts, examples=False)


def holdout() -> dict[str, list[Labelled]]:
    out = {}
    for language in LANGUAGES:
        items, _ = read_corpus((HOLDOUT / f"{language}.yaml").read_text(encoding="utf-8"),
                               language, language)
        out[language] = items
    return out


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_shipped_model_was_trained_on_the_current_messages(language: str) -> None:
    model, problems = load_model((RULES_DIR / f"{language}.model.json").read_text("utf-8"),
                                 f"{language}.model.json")
    assert problems == [] and model is not None
    assert model.trained_on == fingerprint(training_messages()[language]), (
        "the corpus or the training changed: run `relbot safety-train` and commit the files")
    assert 0.5 <= model.threshold < 1.0


def test_the_second_stage_adds_recall_on_the_held_out_set_at_a_similar_false_positive_rate(
) -> None:
    """Floors, not targets: the held-out messages are never read or trained on, only
    counted. The full figures are in the README (relbot safety-eval --set holdout)."""
    screen = with_model()
    both, rules = evaluate(screen, holdout()), evaluate(screen.rules_only(), holdout())
    for language in LANGUAGES:
        def recall(report, lang=language) -> float:
            rows = [r for r in report.rows if r.language == lang and r.category != NONE]
            return sum(r.right for r in rows) / sum(r.n for r in rows)

        def false_positives(report, lang=language) -> int:
            return next(r.flagged for r in report.rows
                        if r.language == lang and r.category == NONE)

        assert recall(both) >= recall(rules) + 0.10, language
        assert false_positives(both) <= false_positives(rules) + 2, language


def test_the_corpus_targets_still_hold_with_the_model() -> None:
    from .helpers import CORPUS
    from .test_evaluate import corpus

    assert evaluate(with_model(), corpus(CORPUS)).met


def test_a_model_flag_names_the_model_and_a_category() -> None:
    screen = with_model()
    misses = [item for items in holdout().values() for item in items
              if item.label != NONE and screen.rules_only().check(item.text, item.language) is None
              and screen.check(item.text, item.language) is not None]
    assert misses, "the model catches some of what the rules miss"
    flag = screen.check(misses[0].text, misses[0].language)
    assert flag is not None and flag.rule == f"{misses[0].language}:model"
    assert flag.subtype == "" and flag.category != NONE


def test_ordinary_exercise_answers_are_not_flagged() -> None:
    screen = with_model()
    for text, language in [("I'd like you to text me if you're going to be late", "en"),
                           ("I feel let down and tired", "en"),
                           ("Me gustaría que me avisaras si vas a llegar tarde", "es"),
                           ("me siento decepcionada y cansada", "es")]:
        assert screen.check(text, language) is None, text


def test_a_broken_model_file_leaves_the_rules_working() -> None:
    texts = shipped_texts()
    texts["en.model.json"] = '{"format": 1, "classes": ["none"], "weights": {}}'
    screen = Screen.from_texts(texts, examples=False)
    assert [d.code for d in screen.diagnostics] == ["S020"]
    assert "en" not in screen.models
    flag = screen.check("i want to kill myself", "en")
    assert flag is not None and flag.category == "suicide_self_harm"


def test_the_model_speaks_only_for_its_language() -> None:
    screen = with_model()
    assert screen.languages.keys() >= screen.models.keys() == {"en", "es"}
    assert screen.models["en"].language == "en" and screen.models["es"].language == "es"
    # A language with rules but no model is screened by its rules alone.
    texts = dict(shipped_texts())
    texts["en.model.json"] = texts["es.model.json"] = (RULES_DIR / "en.model.json").read_text(
        "utf-8")
    mixed = Screen.from_texts(texts, examples=False)
    assert set(mixed.models) == {"en"}
    assert [(d.code, d.message) for d in mixed.diagnostics] == [
        ("S020", "es.model.json holds the model for 'en', not 'es'")]
    assert mixed.check("me siento decepcionada y cansada", "es") is None


SELF, HOME = "suicide_self_harm", "domestic_violence"
TOY = [("i want to die tonight", SELF), ("i wanna end it all", SELF),
       ("no point living anymore", SELF), ("he hits me every week", HOME),
       ("he punched me again", HOME), ("she slaps me when drunk", HOME),
       ("lovely day at the park", NONE), ("we had pasta for dinner", NONE),
       ("my boss wants the report", NONE), ("the cat is asleep", NONE),
       ("i need more time for me", NONE), ("can we talk on sunday", NONE)]


def test_training_is_deterministic_and_round_trips() -> None:
    def tokens(text: str) -> list[str]:
        return text.split()

    first = train_model("en", TOY, tokens, lambda _: False)
    second = train_model("en", TOY, tokens, lambda _: False)
    assert first.to_json() == second.to_json()
    loaded, problems = load_model(first.to_json(), "en.model.json")
    assert problems == [] and loaded is not None
    assert loaded.judge(tokens("he hits me")) is not None
    assert loaded.judge(tokens("he hits me"))[0] == "domestic_violence"
    assert loaded.judge(tokens("lovely pasta at the park")) is None


def test_relbot_safety_train_writes_what_ships(tmp_path: Path) -> None:
    assert train_cmd(argparse.Namespace(out=tmp_path)) == 0
    for language in LANGUAGES:
        written = (tmp_path / f"{language}.model.json").read_text("utf-8")
        assert written == (RULES_DIR / f"{language}.model.json").read_text("utf-8")
