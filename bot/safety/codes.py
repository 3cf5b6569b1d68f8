"""The registry of rule-file diagnostics (`S001`...), parallel to the dialogues' `D` codes.

The crisis screen's rules are data that clinicians edit, so a mistake in them is
reported like a dialogue mistake: file:line:column, a stable code, a message and a fix.
Each code has one descriptor here (message template, severity, example, fix), and every
diagnostic is built through `report`, never by hand. `tests/safety/test_codes.py` has
a broken fixture per code and asserts that exactly that code fires at the right place.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.diagnostics import Diagnostic, Severity
from bot.core.diagnostics import reference_markdown as diagnostics_reference
from bot.core.loader import Loaded, Path

__all__ = ["SAFETY_CODES", "SafetyCode", "file_problem", "reference_markdown", "report"]


@dataclass(frozen=True, slots=True)
class SafetyCode:
    """One kind of problem in a rule file: id, severity, title, and the guide's example/fix."""

    code: str
    severity: Severity
    title: str
    example: str
    fix: str


E, W = Severity.ERROR, Severity.WARNING

SAFETY_CODES: dict[str, SafetyCode] = {
    c.code: c
    for c in (
        SafetyCode("S001", E, "YAML syntax error", "should_flag: [i want to die",
                   "Close the bracket or quote; put text with : or # in quotes."),
        SafetyCode("S002", E, "Duplicate key", "two `negation:` keys in one `context:`",
                   "Merge the two lists; YAML would silently keep only the last."),
        SafetyCode("S003", E, "Unknown key", "shoud_flag: [...]",
                   "Use one of the keys listed in the message (a typo, usually)."),
        SafetyCode("S004", E, "Wrong type", "match: i want to die   (a list was expected)",
                   "Write the value in the shape the message describes."),
        SafetyCode("S005", E, "Missing required key", "a rule without `match:`",
                   "Add the key named in the message."),
        SafetyCode("S006", E, "Unknown category", "category: suicide",
                   "Use one of the categories in bot/core/crisis.py, spelled exactly."),
        SafetyCode("S007", E, "Unknown word list", "match: ['{self} {wnat} {die}']",
                   "Fix the name in braces, or add the list under `lexicon:`."),
        SafetyCode("S008", E, "Word list refers to itself", "die: ['{die}', dead]",
                   "A list may use other lists in braces, but never (through them) itself."),
        SafetyCode("S009", E, "Entry does not compile", "'re:(kill|hurt'  or  'kill (me'",
                   "Write plain words; for a regular expression (re:...) close every bracket."),
        SafetyCode("S010", E, "Empty rule or word list", "match: []",
                   "Give it at least one entry, or delete it."),
        SafetyCode("S011", E, "Duplicate rule id", "two rules with id: wish_dead",
                   "Give each rule its own id."),
        SafetyCode("S012", E, "Example that should flag does not",
                   "should_flag: ['i wanna die']   but the rule does not match it",
                   "Widen the word lists (or the window), or move the example to "
                   "should_not_flag if it is really ordinary."),
        SafetyCode("S013", E, "Example that should not flag does",
                   "should_not_flag: ['dying to see you']   but the rule matches it",
                   "Add the phrase to `idioms:` or a context list, or narrow the word lists."),
        SafetyCode("S014", W, "Rule without examples", "a rule with no should_flag",
                   "Add at least one should_flag and one should_not_flag example."),
        SafetyCode("S015", E, "Entry too broad", "kill: ['*', 'k*']",
                   "Write at least three letters before a *, so it cannot match most words."),
        SafetyCode("S016", E, "Rule file missing or unreadable",
                   "no en.yaml in bot/safety/rules/",
                   "Restore the file (see bot/safety/rules/README.md), or fix the folder."),
        SafetyCode("S017", E, "Invalid value", "window: -1   or   id: Wish Dead",
                   "Use a value of the form the message shows."),
        SafetyCode("S018", W, "Precedence names a subtype no rule has", "plan_to_die",
                   "Fix the subtype name, or remove it from `precedence:`."),
        SafetyCode("S019", E, "Not a rule file name", "rules/notes.yaml",
                   "Name the file common.yaml or after its two-letter language (en.yaml), "
                   "or move it out of the rules folder."),
        SafetyCode("S020", E, "Screen model file broken or out of date", "rules/en.model.json",
                   "Run `relbot safety-train` to write it again from the labelled corpus; "
                   "until then the screen runs on its rules alone."),
    )
}


def report(ld: Loaded, code: str, path: Path, message: str, *, key: bool = False,
           hint: str = "") -> None:
    """Append the diagnostic `code` at the value (or key) found at `path` in `ld`."""
    line, column = ld.key_at(path) if key else ld.at(path)
    spec = SAFETY_CODES[code]
    ld.diagnostics.append(
        Diagnostic(code, spec.severity, ld.file, line, column, message, hint or spec.fix))


def file_problem(file: str, code: str, problem: str) -> Diagnostic:
    """The diagnostic `code` about a whole file (at 1:1): "en.yaml is missing"."""
    spec = SAFETY_CODES[code]
    name = file.replace("\\", "/").rsplit("/", 1)[-1]
    return Diagnostic(code, spec.severity, file, 1, 1, f"{name} {problem}", spec.fix)


def reference_markdown() -> str:
    """The table of rule-file codes for bot/safety/rules/README.md."""
    return diagnostics_reference(SAFETY_CODES.values())


if __name__ == "__main__":
    print(reference_markdown(), end="")
