"""Diagnostics: what the checker tells an author, and the registry of codes.

Modelled on a compiler's diagnostics (Yarn Spinner's `YS0012`): every problem has a
stable code, a severity, a position (file, line, column), a message and a hint that
says how to fix it. Checks *return* diagnostics and never raise on an author's
mistake, so one run reports every problem at once.

Each code has one definition in `CODES`, with the example and fix that the authoring
guide shows; `tests/core/test_diagnostics.py` compiles a broken fixture per code and
asserts that exactly that code fires at the right place.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum

__all__ = [
    "CODES", "Code", "Diagnostic", "Severity", "format_human", "format_json", "has_errors",
    "reference_markdown",
]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Code:
    """One kind of problem: its id, severity, title, and the example/fix for the guide."""

    code: str
    severity: Severity
    title: str
    example: str
    fix: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found at one place. Lines and columns are 1-based."""

    code: str
    severity: Severity
    file: str
    line: int
    column: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.severity} {self.code}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


def _c(code: str, severity: Severity, title: str, example: str, fix: str) -> Code:
    return Code(code, severity, title, example, fix)


E, W = Severity.ERROR, Severity.WARNING

CODES: dict[str, Code] = {
    c.code: c
    for c in (
        _c("D001", E, "YAML syntax error",
           "say: {en: Hello, es: Hola",
           "Close the bracket or quote. Inside {en: ..., es: ...} a comma, colon or # ends "
           "the text early: put such text in quotes."),
        _c("D002", E, "Unknown key",
           "sya: {en: Hello}",
           "Use one of the keys listed in the hint (a typo, usually)."),
        _c("D003", E, "Duplicate key",
           "two states both called `intro:`",
           "Rename one of them; YAML would silently keep only the last."),
        _c("D004", E, "Wrong type",
           "choices: yes   (a list was expected)",
           "Write the value in the shape the hint describes."),
        _c("D005", E, "Missing required key",
           "a choice without `goto:`",
           "Add the key named in the message."),
        _c("D006", E, "Invalid value",
           "id: Yes Please   (ids are lower-case letters, digits and _)",
           "Use a value of the form the hint shows."),
        _c("D010", E, "A state must do exactly one thing next",
           "a state with both `choices:` and `goto:`",
           "Keep one of choices, ask, goto, branch, call, end."),
        _c("D011", E, "Transition to a state that does not exist",
           "goto: outro   (no state `outro`)",
           "Fix the name (see did-you-mean) or add the state."),
        _c("D012", E, "Reference to a dialogue that does not exist",
           "end: {next: manu}",
           "Fix the dialogue id (see did-you-mean); ids are file names without .yaml."),
        _c("D013", E, "State unreachable from the start",
           "a state nothing points to",
           "Point a goto, choice or branch at it, or delete it."),
        _c("D014", E, "No way to the end from this state",
           "two states that only go to each other",
           "Give one of them a way on to a state that ends the module."),
        _c("D015", E, "Duplicate id",
           "two choices with id `yes` in one state, or two files with the same dialogue id",
           "Give each a distinct id."),
        _c("D016", E, "Dialogue id does not match the file name",
           "dialogue: trust   in file trusts.yaml",
           "Make the id and the file name the same."),
        _c("D017", E, "Start state does not exist",
           "start: intro   (no state `intro`)",
           "Name an existing state as `start`."),
        _c("D018", E, "Loop that never waits for the person",
           "a goto b, b goto a",
           "Put a state with choices or ask inside the loop."),
        _c("D019", E, "Branch without a default",
           "branch: [{if: mood > 5, goto: a}]",
           "End the branch with an entry that has only `goto:` (no `if`)."),
        _c("D020", E, "Variable shown before anything sets it",
           "say: {en: You felt {feeling}.}   before the question that sets feeling",
           "Move the text after the question, or set the variable earlier."),
        _c("D021", E, "Unknown variable",
           "if: moood > 5",
           "Declare the variable under `variables:` or fix the name."),
        _c("D022", E, "Condition does not parse",
           "if: mood >> 5",
           "Use comparisons (== != < <= > >=), and/or/not, numbers, 'quoted text'."),
        _c("D023", E, "Type mismatch",
           "add: {feeling: 1}   where feeling is text",
           "Only number variables can be added to; compare numbers with numbers."),
        _c("D025", E, "Placeholder does not parse",
           "say: {en: Hello {name}",
           "Close the brace, or write {{ and }} for literal braces."),
        _c("D030", E, "Text may exceed Telegram's 4096 characters",
           "a long text with a {story} of up to 4000 characters",
           "Shorten the text or lower max_length of the variables it shows."),
        _c("D031", E, "Button label too long",
           "a label of 80 characters",
           "Keep labels under 64 characters (short is kinder on a phone)."),
        _c("D032", E, "Too many buttons",
           "a state with 120 choices",
           "Telegram allows 100 buttons in a message; split the question."),
        _c("D033", E, "Button id would not fit Telegram's callback data",
           "id: a_very_long_choice_identifier_that_goes_on",
           "Use a short id (at most 24 characters)."),
        _c("D040", E, "Global settings problem",
           "_global.yaml missing, or `menu:` names no dialogue",
           "Add dialogues/_global.yaml, or fix the dialogue it names."),
        _c("D041", E, "Intent must do one thing",
           "cancel: {goto: menu, call: safety}",
           "Keep one of goto, call, back; `say` may go with any."),
        _c("D050", E, "Crisis category without a route",
           "safety: {routes: {...}}   without `domestic_violence:`",
           "Add the category under `safety: routes:` with the module that helps with it; "
           "otherwise a person who discloses it gets no help."),
        _c("D051", E, "Country without an emergency number",
           "ES: {name: Spain}   with no `emergency:` list",
           "Add `emergency:` with the country's emergency number, its `source` and the date "
           "you `checked` it."),
        _c("D052", E, "Helpline with no way to reach it",
           "crisis: {name: Lifeline, source: ..., checked: ...}   with no number",
           "Add `number:` (to call), `text:` (an SMS number) or `web:` (an address)."),
        _c("D053", E, "Country not in resources.yaml",
           "set: {country: FR}   when resources.yaml lists no FR",
           "Add the country to resources.yaml, or fix the code (two capital letters)."),
        _c("D054", E, "Safety gate asked for, but there is none",
           "safety_gate: true   with no `safety: gate:` in _global.yaml",
           "Add `gate: {dialogue: ..., when: ...}` under `safety:` in _global.yaml, or "
           "remove `safety_gate`."),
        _c("D055", E, "The safety gate can never open",
           "gate: {when: home_unsafe}   and no module keeps and sets home_unsafe",
           "Declare the variable as `false` under `variables:`, list it under `keep:`, and "
           "`set:` it to true in the route that should open the gate."),
        _c("D056", E, "Numbers shown, but there is no resources.yaml",
           "resources: [crisis]   in a folder without resources.yaml",
           "Add resources.yaml to the folder (see dialogues/resources.yaml), or remove "
           "`resources:`."),
        _c("D057", E, "Numbers on a question",
           "resources: [crisis]   on a state with `choices:`",
           "Show the numbers in a state that goes on (`goto:`) to the question, so the "
           "question stays last, right above its buttons."),
        _c("W301", W, "Missing translation",
           "say: {en: Hello}   in a module whose languages are [en, es]",
           "Add the missing language; people see the English until then."),
        _c("W302", W, "Unused variable",
           "variables: {mood: 0}   and nothing reads mood",
           "Delete it, or use it in a text, condition or save."),
        _c("W303", W, "Language not declared",
           "say: {en: Hi, fr: Salut}   when languages are [en, es]",
           "Add the language to `languages:` or remove the text."),
        _c("W304", W, "Helpline checked long ago",
           "checked: 2025-01-10   when the newest check in the file is 2026-11-29",
           "Check the number against its `source` again, then update `checked:`."),
    )
}


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def format_human(diagnostics: list[Diagnostic]) -> str:
    """The compiler-style listing, plus a one-line summary."""
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = len(diagnostics) - errors
    lines = [str(d) for d in diagnostics]
    lines.append(f"{errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)


def format_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps([asdict(d) for d in diagnostics], ensure_ascii=False, indent=2)


def reference_markdown() -> str:
    """The diagnostic reference for the authoring guide, generated from `CODES`."""
    lines = ["| code | severity | problem | example | fix |", "|---|---|---|---|---|"]
    for c in CODES.values():
        example = c.example.replace("|", "\\|").replace("`", "")
        fix = c.fix.replace("|", "\\|")
        lines.append(f"| {c.code} | {c.severity} | {c.title} | `{example}` | {fix} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference_markdown(), end="")
