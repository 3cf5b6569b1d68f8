"""Every example in the shipped rule files, as its own test.

Each rule carries `should_flag` and `should_not_flag` examples; each language has
`ordinary` messages that must not flag at all. The screen also checks them when it is
built (S012, S013), but as tests a failing example shows up by name in CI.
"""

from __future__ import annotations

import pytest

from bot.safety.examples import rule_fires
from bot.safety.rulefile import load_language, rule_language

from .helpers import shipped, shipped_texts


def _examples() -> list[pytest.param]:
    params = []
    for name, text in shipped_texts().items():
        language = rule_language(name)
        if language in (None, "common"):
            continue
        checked = load_language(text, name, language)
        for rule in checked.rules:
            for kind, entries in (("flag", rule.should_flag), ("not", rule.should_not_flag)):
                params += [pytest.param(language, rule.id, kind, e.text,
                                        id=f"{language}:{rule.id}:{kind}:{e.text[:50]}")
                           for e in entries]
        params += [pytest.param(language, None, "ordinary", e.text,
                                id=f"{language}:ordinary:{e.text[:50]}")
                   for e in checked.ordinary]
    return params


EXAMPLES = _examples()


def test_there_are_examples_in_both_languages() -> None:
    languages = {p.values[0] for p in EXAMPLES}
    assert languages == {"en", "es"}
    assert len(EXAMPLES) > 300


@pytest.mark.parametrize(("language", "rule_id", "kind", "text"), EXAMPLES)
def test_rule_example(language: str, rule_id: str | None, kind: str, text: str) -> None:
    rules = shipped().languages[language]
    if kind == "ordinary":
        assert shipped().check(text, language) is None, text
        return
    rule = next(r for r in rules.rules if r.spec.id == rule_id)
    why = rule_fires(rules, rule, text)
    if kind == "flag":
        assert why is None, f"{rule_id} does not flag {text!r} ({why})"
    else:
        assert why is not None, f"{rule_id} flags {text!r}"
