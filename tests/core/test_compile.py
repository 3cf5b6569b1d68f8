"""Compiling: typed-text matching, the transition table, and messages worked out up front."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.compile import CompiledBundle, normalize, shown_messages

from .helpers import compile_folder, dialogue_folders


@pytest.mark.parametrize(
    ("typed", "form"),
    [
        ("Español", "espanol"),
        ("  ¡YES!  ", "yes"),
        ("I'm  not\tsure", "i m not sure"),
        ("Ｆｕｌｌ ｗｉｄｔｈ", "full width"),
        ("🙂", ""),
    ],
)
def test_normalize_ignores_case_accents_and_punctuation(typed: str, form: str) -> None:
    assert normalize(typed) == form


def test_typed_labels_and_numbers_map_to_choices(examples: CompiledBundle) -> None:
    hello = examples.dialogues["tour"].states["hello"]
    assert hello.by_label["es"] == {"1": "en", "english": "en", "2": "es", "espanol": "es"}
    path = examples.dialogues["tour"].states["pick_path"]
    assert path.by_label["es"]["a walk"] == path.by_label["es"]["un paseo"] == "walk"


def test_the_transition_table_lists_every_edge(examples: CompiledBundle) -> None:
    tour = examples.dialogues["tour"]
    assert len(tour.transitions) == 20
    assert ("tour", "pick_path", "answer", "decide") in tour.transitions  # typed, not a button
    assert ("tour", "decide", "next", "middle") in tour.transitions
    assert ("tour", "take_pause", "return", "after_pause") in tour.transitions
    assert [t.dest for t in tour.destinations("decide", "next")] == ["high", "low", "middle"]


@pytest.mark.parametrize("folder", dialogue_folders(), ids=lambda p: p.name)
def test_messages_worked_out_up_front_match_rendering(folder: Path) -> None:
    compiled = compile_folder(folder)
    odd = {name: "⟨x⟩" for d in compiled.dialogues.values() for name in d.model.variables}
    checked = 0
    for dialogue in compiled.dialogues.values():
        for state in dialogue.states.values():
            for lang, shown in state.shown.items():
                again = shown_messages(state.source, state.say, state.choices, lang, odd)
                assert again == shown, f"{dialogue.id}.{state.name} [{lang}]"
                checked += 1
            if any("{" in t.get("en").replace("{{", "") for t in state.source.say):
                assert not state.shown, f"{dialogue.id}.{state.name} shows a variable"
    assert checked > 0
