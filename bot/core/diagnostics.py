"""Diagnostics: what the checker tells an author, and one descriptor per code.

Modelled on a compiler's diagnostics (Yarn Spinner's `DiagnosticDescriptor`): a code
means exactly one problem, and its descriptor holds the severity, the message template,
the example and the fix that the authoring guide shows. Every diagnostic is built
through its descriptor (`CODES[code].at(...)`), never by hand, so a message cannot drift
from its code. Checks *return* diagnostics and never raise on an author's mistake, so
one run reports every problem at once.

One mistake often causes others: a renamed state leaves the states after it unreachable
and the module unable to end. A diagnostic that follows from another names its `cause`;
`fold` groups them, and `format_human` prints only the causes, ordered by file and line,
each with a count of what follows from it. `tests/core/test_diagnostics.py` compiles a
broken fixture per code and asserts that exactly that code fires at the right place.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "CODES", "Descriptor", "Diagnostic", "Key", "Severity", "Span", "fold", "format_human",
    "format_json", "has_errors", "reference_markdown", "sort_key",
]

Span = tuple[int, int, int, int]  # line, column, end line, end column (1-based, end exclusive)
Key = tuple[str, int, int, str]  # file, line, column, code: what a consequence points at


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found at one place (a range in a file). Lines and columns are 1-based."""

    code: str
    severity: Severity
    file: str
    line: int
    column: int
    message: str
    hint: str = ""
    end_line: int = 0  # 0: the same as line
    end_column: int = 0  # 0: one character after column
    cause: Key | None = None  # the diagnostic this one follows from

    @property
    def key(self) -> Key:
        return self.file, self.line, self.column, self.code

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.severity} {self.code}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text


@dataclass(frozen=True, slots=True)
class Descriptor:
    """One kind of problem: its code, severity, title, message template, example and fix.

    `message` is a `str.format` template over the fields a check passes to `at`.
    `follows` names the problem in the plural when it is folded under its cause.
    """

    code: str
    severity: Severity
    title: str
    message: str
    example: str
    fix: str
    follows: str = ""

    def at(self, file: str, span: Span, *, hint: str = "", cause: Key | None = None,
           **fields: object) -> Diagnostic:
        """The diagnostic for this problem at `span` of `file`."""
        line, column, end_line, end_column = span
        return Diagnostic(self.code, self.severity, file, line, column,
                          self.message.format(**fields), hint or self.fix,
                          end_line, end_column, cause)


E, W = Severity.ERROR, Severity.WARNING
_D = Descriptor

CODES: dict[str, Descriptor] = {
    d.code: d
    for d in (
        _D("D001", E, "YAML syntax error", "YAML syntax error: {problem}",
           "say: {en: Hello, es: Hola",
           "Close the bracket or quote. Inside {en: ..., es: ...} a comma, colon or # ends "
           "the text early: put such text in quotes."),
        _D("D002", E, "Unknown key", "unknown key '{name}' in {where}",
           "sya: {en: Hello}",
           "Use one of the keys listed in the hint (a typo, usually)."),
        _D("D003", E, "Duplicate key", "duplicate key '{name}' (first at line {first})",
           "two states both called `intro:`",
           "Rename one of them; YAML would silently keep only the last."),
        _D("D004", E, "Wrong type", "expected {expected}, found {found}",
           "choices: yes   (a list was expected)",
           "Write the value in the shape the hint describes."),
        _D("D005", E, "Missing required key", "{where} needs '{name}'",
           "a choice without `goto:`",
           "Add the key named in the message."),
        _D("D006", E, "Invalid value", "'{value}' is not {expected}",
           "id: Yes Please   (ids are lower-case letters, digits and _)",
           "Use a value of the form the hint shows."),
        _D("D007", E, "`call` without `return_to` (or the other way round)",
           "state '{state}': `call` and `return_to` go together",
           "call: safety   with no return_to",
           "Add `return_to:` naming the state to continue at after the called module."),
        _D("D008", E, "Question without `goto`",
           "state '{state}' asks a question but has no `goto:`",
           "ask: {into: mood, kind: scale}   with no goto",
           "Add `goto:` naming the state to go to once the answer is in."),
        _D("D009", E, "Buttons without a question",
           "state '{state}' shows buttons but has no `say:` question",
           "choices: [...]   with no say",
           "Add a `say:` with the question the buttons answer."),
        _D("D010", E, "A state must do exactly one thing next",
           "state '{state}' must have exactly one of choices, ask, goto, branch, call, end "
           "(ask may go with choices)",
           "a state with both `choices:` and `goto:`",
           "Keep one of choices, ask, goto, branch, call, end."),
        _D("D011", E, "Transition to a state that does not exist", "no state '{target}'",
           "goto: outro   (no state `outro`)",
           "Fix the name (see did-you-mean) or add the state."),
        _D("D012", E, "Reference to a dialogue that does not exist", "no dialogue '{target}'",
           "end: {next: manu}",
           "Fix the dialogue id (see did-you-mean); ids are file names without .yaml."),
        _D("D013", E, "State unreachable from the start",
           "state '{state}' cannot be reached from '{start}'",
           "a state nothing points to",
           "Point a goto, choice or branch at it, or delete it.",
           follows="unreachable state(s)"),
        _D("D014", E, "No way to the end from this state",
           "from state '{state}' the module can never end",
           "two states that only go to each other",
           "Give one of them a way on to a state that ends the module.",
           follows="state(s) with no way to the end"),
        _D("D015", E, "Duplicate id", "{what} id '{id}' {where}",
           "two choices with id `yes` in one state, or two files with the same dialogue id",
           "Give each a distinct id."),
        _D("D016", E, "Dialogue id does not match the file name",
           "dialogue id '{id}' but the file is {stem}.yaml",
           "dialogue: trust   in file trusts.yaml",
           "Make the id and the file name the same."),
        _D("D017", E, "Start state does not exist", "start state '{state}' does not exist",
           "start: intro   (no state `intro`)",
           "Name an existing state as `start`."),
        _D("D018", E, "Loop that never waits for the person",
           "state '{state}' is in a loop with no question in it",
           "a goto b, b goto a",
           "Put a state with choices or ask inside the loop."),
        _D("D019", E, "Branch without a default",
           "state '{state}': the branch has no default",
           "branch: [{if: mood > 5, goto: a}]",
           "End the branch with an entry that has only `goto:` (no `if`)."),
        _D("D020", E, "Variable shown before anything sets it",
           "'{{{variable}}}' is shown before anything sets it",
           "say: {en: You felt {feeling}.}   before the question that sets feeling",
           "Move the text after the question, or set the variable earlier."),
        _D("D021", E, "Unknown variable", "unknown variable '{name}' in {what}",
           "if: moood > 5",
           "Fix the name, or declare the variable under `variables:`."),
        _D("D022", E, "Condition does not parse", "condition: {problem}",
           "if: mood >> 5",
           "Use comparisons (== != < <= > >=), and/or/not, numbers, 'quoted text'."),
        _D("D023", E, "Type mismatch", "{problem}",
           "add: {feeling: 1}   where feeling is text",
           "Only number variables can be added to; compare numbers with numbers."),
        _D("D024", E, "Branch default is not last",
           "only the last branch entry may lack `if`",
           "branch: [{goto: a}, {if: mood > 5, goto: b}]",
           "Move the entry without `if` to the end, or give it an `if`."),
        _D("D025", E, "Placeholder does not parse", "placeholder problem: {problem}",
           "say: {en: Hello {name}",
           "Close the brace, or write {{ and }} for literal braces."),
        _D("D026", E, "Text without English", "text needs English (`en:`)",
           "say: {es: Hola}",
           "Add an `en:` line; English is what people see when their language is missing."),
        _D("D027", E, "`requires` names no consent flag",
           "'{flag}' is not one of the consent flags",
           "requires: [adult]   with no `adult` under consent",
           "List the flag under `consent:` too, or fix its name."),
        _D("D030", E, "Text may exceed Telegram's 4096 characters",
           "the {lang} text can reach {length} characters",
           "a long text with a {story} of up to 4000 characters",
           "Shorten the text or lower max_length of the variables it shows."),
        _D("D031", E, "Button label too long",
           "label ({lang}) is {length} characters; keep it under {limit}",
           "a label of 80 characters",
           "Keep labels under 64 characters (short is kinder on a phone)."),
        _D("D032", E, "Too many buttons", "{count} buttons; Telegram allows {limit}",
           "a state with 120 choices",
           "Telegram allows 100 buttons in a message; split the question."),
        _D("D033", E, "Button id would not fit Telegram's callback data",
           "choice id '{id}' is {length} characters; at most {limit} fit Telegram's 64-byte "
           "callback data",
           "id: a_very_long_choice_identifier_that_goes_on",
           "Use a short id (at most 24 characters)."),
        _D("D040", E, "`start` or `menu` names no dialogue",
           "`{setting}: {target}` names no dialogue",
           "menu: manu   in _global.yaml",
           "Fix the dialogue id (see did-you-mean); ids are file names without .yaml."),
        _D("D041", E, "Intent must do one thing", "intent '{intent}' does {actions}",
           "cancel: {goto: menu, call: safety}",
           "Keep one of goto, call, back; `say` may go with any."),
        _D("D047", E, "_global.yaml is missing", "_global.yaml is missing",
           "a dialogues folder without _global.yaml",
           "Add _global.yaml to the folder (copy the shipped one and edit it)."),
        _D("D048", E, "A bot string is missing", "strings: '{name}' is missing",
           "strings: without `idle:`",
           "Add the string under `strings:` in _global.yaml."),
        _D("D049", E, "No such file or folder", "no such file or folder",
           "relbot validate dialogs/",
           "Check the path."),
        _D("D050", E, "Crisis category without a route", "no route for '{category}' ({about})",
           "safety: {routes: {...}}   without `domestic_violence:`",
           "Add the category under `safety: routes:` with the module that helps with it; "
           "otherwise a person who discloses it gets no help."),
        _D("D051", E, "Country without an emergency number", "{country} has no emergency number",
           "ES: {name: Spain}   with no `emergency:` list",
           "Add `emergency:` with the country's emergency number, its `source` and the date "
           "you `checked` it."),
        _D("D052", E, "Helpline with no way to reach it",
           "this line has no number, text or web address",
           "crisis: {name: Lifeline, source: ..., checked: ...}   with no number",
           "Add `number:` (to call), `text:` (an SMS number) or `web:` (an address)."),
        _D("D053", E, "Country not in resources.yaml",
           "resources.yaml lists no country '{country}'",
           "set: {country: FR}   when resources.yaml lists no FR",
           "Add the country to resources.yaml, or fix the code (two capital letters)."),
        _D("D054", E, "Safety gate asked for, but there is none",
           "module '{module}' asks for the safety gate, but _global.yaml has no "
           "`safety: gate:`",
           "safety_gate: true   with no `safety: gate:` in _global.yaml",
           "Add `gate: {dialogue: ..., when: ...}` under `safety:` in _global.yaml, or "
           "remove `safety_gate`."),
        _D("D055", E, "The safety gate can never open", "the gate can never open: {reason}",
           "gate: {when: home_unsafe}   and no module keeps and sets home_unsafe",
           "Declare the variable as `false` under `variables:`, list it under `keep:`, and "
           "`set:` it to true in the route that should open the gate."),
        _D("D056", E, "Numbers shown, but there is no resources.yaml",
           "state '{state}' shows numbers, but the folder has no resources.yaml",
           "resources: [crisis]   in a folder without resources.yaml",
           "Add resources.yaml to the folder (see dialogues/resources.yaml), or remove "
           "`resources:`."),
        _D("D057", E, "Numbers on a question", "state '{state}' shows numbers and asks a question",
           "resources: [crisis]   on a state with `choices:`",
           "Show the numbers in a state that goes on (`goto:`) to the question, so the "
           "question stays last, right above its buttons."),
        _D("D060", E, "File is not UTF-8 text",
           "this file is not UTF-8 text: byte 0x{byte} cannot be read as a character",
           "a file saved as Latin-1 or Windows-1252 (é stored as the single byte 0xE9)",
           "Save the file as UTF-8 (in most editors: Save As, Encoding: UTF-8) and check "
           "the characters around the position shown."),
        _D("D061", E, "File cannot be read", "cannot read this file: {reason}",
           "a folder, a pipe, a broken link or a file over 1 MB named tour.yaml",
           "Make it a regular, readable text file under 1 MB, or move it out of the folder."),
        _D("D062", E, "File too complex to load", "too complex to load: {problem}",
           "more than 100 *aliases, or anchors that expand to millions of values",
           "Write the repeated parts out instead of using &anchors and *aliases (at most "
           "100 aliases and 200,000 values per file)."),
        _D("D070", E, "Unknown script part", "'{part}' is not a script part ({parts})",
           "say: {en: \"{dm_describe:story}\"}",
           "Name one of the parts in the message, optionally with the mark that ends it: "
           "{dm_express:feel.}"),
        _D("D071", E, "Script parts mixed with other words",
           "a script text holds only `{{name:part}}` placeholders",
           "say: {en: \"When {is_observation:when} I feel {is_feeling_words:feel}\"}",
           "Leave out the words between the parts: each part writes its own lead-in "
           "(\"When\", \"I feel\") and punctuation. Put other words in a message of their own."),
        _D("D072", E, "`returning` names no dialogue",
           "returning: no module '{target}'",
           "returning: {after_hours: 6, dialogue: welcom_back}",
           "Name a module of this folder (its file name without .yaml)."),
        _D("D073", E, "Hand-over to a module this one never starts",
           "passes to '{target}', but no `end: {{next: {target}}}` here starts it",
           "passes: {dear_mann: [situation]}",
           "Name a module this one starts next with `end: {next: ...}`, or add that ending."),
        _D("D074", E, "Hand-over the receiving module does not declare",
           "'{target}' does not declare '{name}', so it cannot use what is passed",
           "passes: {dear_man: [situation]}   with no `situation` under dear_man's variables",
           "Declare the variable in the receiving module's `variables:` (with the same "
           "kind of value) and use it there."),
        _D("W301", W, "Missing translation", "missing '{lang}' translation",
           "say: {en: Hello}   in a module whose languages are [en, es]",
           "Add the missing language; people see the English until then."),
        _D("W302", W, "Unused variable", "variable '{name}' is never used",
           "variables: {mood: 0}   and nothing reads mood",
           "Delete it, or use it in a text, condition or save.",
           follows="variable(s) left unused"),
        _D("W303", W, "Language not declared", "'{lang}' is not in this module's languages",
           "say: {en: Hi, fr: Salut}   when languages are [en, es]",
           "Add the language to `languages:` or remove the text."),
        _D("W304", W, "Helpline checked long ago",
           "checked {day}, more than a year before the newest check ({newest})",
           "checked: 2025-01-10   when the newest check in the file is 2026-11-29",
           "Check the number against its `source` again, then update `checked:`."),
        _D("W305", W, "More than four messages at once",
           "one tap or answer here brings {count} messages (at most {most}): {way}",
           "a result, its explanation, a tip, a note, a save message and the next question",
           "Join short messages into one, move a note to where the person asks for it, or "
           "let a button lead to the rest."),
    )
}


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return d.file, d.line, d.column, d.code


def fold(diagnostics: list[Diagnostic]) -> list[tuple[Diagnostic, list[Diagnostic]]]:
    """Each root cause, by file and line, with the diagnostics that follow from it."""
    by_key = {d.key: d for d in diagnostics}

    def root(d: Diagnostic) -> Diagnostic:
        seen = {d.key}
        while d.cause is not None and d.cause in by_key and d.cause not in seen:
            d = by_key[d.cause]
            seen.add(d.key)
        return d

    groups: dict[Key, tuple[Diagnostic, list[Diagnostic]]] = {}
    for d in sorted(diagnostics, key=sort_key):
        top = root(d)
        if top is d:
            groups.setdefault(d.key, (d, []))
        else:
            groups.setdefault(top.key, (top, []))[1].append(d)
    return sorted(groups.values(), key=lambda group: sort_key(group[0]))


def _follow_words(consequences: list[Diagnostic]) -> str:
    counts = Counter(d.code for d in consequences)
    parts = []
    for code, n in sorted(counts.items()):
        words = CODES[code].follows or CODES[code].title.lower()
        parts.append(f"{n} {words.replace('(s)', 's' if n > 1 else '')} ({code})")
    n = len(consequences)
    return f"and {n} problem{'s' if n > 1 else ''} that follow from it: {', '.join(parts)}"


def format_human(diagnostics: list[Diagnostic], *, everything: bool = False) -> str:
    """The compiler-style listing of root causes (`everything`: their consequences too),
    then a one-line summary."""
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = len(diagnostics) - errors
    lines: list[str] = []
    folded = 0
    for cause, consequences in fold(diagnostics):
        lines.append(str(cause))
        if consequences:
            folded += len(consequences)
            lines.append(f"    {_follow_words(consequences)}")
            if everything:
                lines += ["      " + str(d).replace("\n", "\n      ") for d in consequences]
    if folded and not everything:
        lines.append(f"({folded} problem(s) that follow from the ones above are folded; "
                     "fix those first, or list everything with --all)")
    lines.append(f"{errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)


def format_json(diagnostics: list[Diagnostic]) -> str:
    """Every diagnostic (consequences too, each naming its `cause`), for CI and editors."""
    return json.dumps([asdict(d) for d in sorted(diagnostics, key=sort_key)],
                      ensure_ascii=False, indent=2)


def reference_markdown(codes: Iterable[Any] | None = None) -> str:
    """A table of codes for a guide (default: `CODES`, for the authoring guide; the crisis
    rules pass theirs). Each code needs `code`, `severity`, `title`, `example` and `fix`."""
    lines = ["| code | severity | problem | example | fix |", "|---|---|---|---|---|"]
    for c in CODES.values() if codes is None else codes:
        example = c.example.replace("|", "\\|").replace("`", "")
        fix = c.fix.replace("|", "\\|")
        lines.append(f"| {c.code} | {c.severity} | {c.title} | `{example}` | {fix} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(reference_markdown(), end="")
