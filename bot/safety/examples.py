"""The rules' own examples, tried like tests whenever the rules are built.

Every rule carries `should_flag` and `should_not_flag` examples, and each language has
`ordinary` messages that must not flag at all. They document the rule for the next
clinician and keep it honest: an example that does not behave as declared is reported
(S012, S013) at the example's line, a rule without examples is a warning (S014).
`tests/safety/test_rule_examples.py` runs each example as its own pytest test too.
"""

from __future__ import annotations

from bot.core.loader import Loaded
from bot.safety.codes import report
from bot.safety.lexicon import Entry
from bot.safety.matcher import CompiledRule, LanguageRules

__all__ = ["check_examples", "rule_fires"]


def rule_fires(rules: LanguageRules, rule: CompiledRule, text: str) -> str | None:
    """None if `rule` flags `text`; otherwise why not ("no match", or a modifier's name)."""
    for finding in rules.findings(text, explain=True):
        if finding.rule is rule:
            return finding.suppressed_by
    return "no match"


def check_examples(ld: Loaded, rules: LanguageRules, ordinary: list[Entry]) -> None:
    """Report every example that does not behave as its rule declares."""
    for rule in rules.rules:
        spec = rule.spec
        if not spec.should_flag or not spec.should_not_flag:
            missing = "should_flag" if not spec.should_flag else "should_not_flag"
            report(ld, "S014", (*spec.path, "id"), f"rule '{spec.id}' has no {missing} examples")
        for example in spec.should_flag:
            why = rule_fires(rules, rule, example.text)
            if why is not None:
                report(ld, "S012", example.path, f"rule '{spec.id}' does not flag "
                       f"'{example.text}' ({_reason(why)})")
        for example in spec.should_not_flag:
            if rule_fires(rules, rule, example.text) is None:
                report(ld, "S013", example.path, f"rule '{spec.id}' flags '{example.text}'")
    for example in ordinary:
        flagged = [f.rule.spec.id for f in rules.findings(example.text)]
        if flagged:
            report(ld, "S013", example.path, f"ordinary message '{example.text}' is flagged "
                   f"by rule {', '.join(flagged)}")


def _reason(why: str) -> str:
    return "its patterns do not match" if why == "no match" else f"the {why} context applies"
