"""The dialogue file format, described once as data.

`DIALOGUE`, `GLOBAL`, `RESOURCES` and `TRANSCRIPT` describe the four kinds of YAML
file an author writes. `check_shape` uses them to report structural mistakes; `json_schema`
turns the same description into `schema.json` for editors (a test keeps the shipped
file current). Meaning (does this state exist? is this variable set?) is checked
later, in `bot.core.validate`.
"""

from __future__ import annotations

import json
from typing import Any

from bot.core.crisis import CATEGORIES
from bot.core.loader import Loaded
from bot.core.resources import HELPLINES
from bot.core.shapes import (
    Bool,
    Enum,
    Field,
    Int,
    ListOf,
    MapOf,
    Num,
    Obj,
    OneOrList,
    Ref,
    Scalar,
    Shape,
    Str,
    Union,
)

__all__ = [
    "ASK_KINDS", "COUNTRY_PATTERN", "DIALOGUE", "GLOBAL", "INTENT_NAMES", "LANG_PATTERN",
    "NEXT_KEYS", "RESOURCES", "TRANSCRIPT", "check_shape", "json_schema", "write_schema",
]

NAME = r"[a-z][a-z0-9_]*"
NAME_HINT = "lower-case letters, digits and _ , starting with a letter"
LANG_PATTERN = r"[a-z]{2}"
COUNTRY_PATTERN = r"[A-Z]{2}"
CHOICE_ID = r"[a-z0-9][a-z0-9_]*"
ASK_KINDS = ("text", "number", "scale", "yes_no")
INTENT_NAMES = ("cancel", "help", "back", "sos", "menu", "restart")
NEXT_KEYS = ("choices", "ask", "goto", "branch", "call", "end")

_name = Str(NAME, NAME_HINT)
_state_ref = Str(NAME, NAME_HINT, description="the name of a state in this module")
_dialogue_ref = Str(NAME, NAME_HINT, description="a module id (its file name without .yaml)")
TEXT = Union(
    [(str, Str(description="English text")),
     (dict, MapOf(Str(), LANG_PATTERN, "two-letter language codes like en, es"))],
    description=("Text a person reads: `en: ...` and other languages, or plain English text. "
                 "`{name}` shows a variable; a text of only script parts, like "
                 "`{is_observation:when} {is_feeling_words:feel}`, joins what the person "
                 "typed into sentences (parts: sentence, when, feel, need, ask)."),
)
_texts = OneOrList(TEXT, description="One text, or a list of texts (one chat bubble each).")
_words = MapOf(ListOf(Str()), LANG_PATTERN, "two-letter language codes like en, es",
               description="Typed words per language that trigger this.")

_value = Union(
    [((str, int, float, bool), Scalar()),
     (dict, MapOf(Str(), LANG_PATTERN, "two-letter language codes like en, es"))],
    description="A plain value, or a text per language (stored in the person's language).",
)
_sets = MapOf(_value, NAME, NAME_HINT, description="variables to set")

CHOICE = Obj("choice", {
    "id": Field(Str(CHOICE_ID, "a short id: a-z, 0-9 and _"), True),
    "label": Field(TEXT, True),
    "goto": Field(_state_ref, True),
    "set": Field(_sets),
    "add": Field(MapOf(Num(), NAME, NAME_HINT, description="numbers to add to variables")),
}, description="A button.")

ASK = Obj("ask", {
    "into": Field(Str(NAME, NAME_HINT, description=(
        "the variable to fill; leave it out to go on without keeping the words"))),
    "kind": Field(Enum(ASK_KINDS), True),
    "max_length": Field(Int(1, description="text: most characters accepted (default 500)")),
    "min": Field(Num(description="number/scale: smallest accepted")),
    "max": Field(Num(description="number/scale: largest accepted")),
    "retry": Field(TEXT),
    "practice": Field(Bool(description=(
        "true where the person types words they are practising: typed words such as stop "
        "or menu are their answer, not a command (/cancel and sos still work)"))),
}, description="Wait for typed text, check it, store it in a variable (`into`).")

ARM = Obj("branch_arm", {
    "if": Field(Str(description="a condition, e.g. mood >= 7 and not store_answers")),
    "goto": Field(_state_ref, True),
}, description="One way out of a branch; the last one has no `if`.")

SAVE = Obj("save", {
    "kind": Field(_name, True),
    "fields": Field(ListOf(_name), True),
}, description="Save a structured record of these variables (only with consent).")

END = Union([
    (bool, Bool()),
    (dict, Obj("end", {"next": Field(_dialogue_ref)}, description="End, then start `next`.")),
], description="`end: true`, or `end: {next: menu}` to start another module.")

INTENT_ACTION = Obj("intent", {
    "words": Field(_words),
    "say": Field(_texts),
    "goto": Field(_dialogue_ref),
    "call": Field(_dialogue_ref),
    "back": Field(Bool()),
    "restart": Field(Bool()),
}, description="What an intent does: say something, then goto / call a module, or go back.")

_intent_override = Union([
    (str, Enum(("off",), description="switch the intent off here")),
    (dict, INTENT_ACTION),
])
INTENTS = Obj("intents", {n: Field(_intent_override) for n in INTENT_NAMES},
              description="Override global intents here.")

STATE = Obj("state", {
    "say": Field(_texts),
    "set": Field(_sets),
    "save": Field(SAVE),
    "columns": Field(Int(1, description="buttons per row")),
    "choices": Field(ListOf(CHOICE)),
    "ask": Field(ASK),
    "goto": Field(_state_ref),
    "branch": Field(ListOf(ARM)),
    "call": Field(_dialogue_ref),
    "return_to": Field(_state_ref),
    "end": Field(END),
    "intents": Field(INTENTS),
    "timeout": Field(_state_ref),
    "retry": Field(TEXT),
    "resources": Field(ListOf(Enum(HELPLINES), description=(
        "Show the crisis numbers for the person's country (resources.yaml) after this "
        "state's messages: the emergency number always, and these helplines. Not on a "
        "question: use it on a state that goes on."))),
}, description="A step of the dialogue. `retry`: the re-prompt for an answer that does not fit.")

DIALOGUE = Obj("dialogue", {
    "dialogue": Field(_name, True),
    "title": Field(TEXT, True),
    "description": Field(TEXT),
    "languages": Field(ListOf(Str(LANG_PATTERN, "a two-letter language code"))),
    "start": Field(_state_ref, True),
    "variables": Field(MapOf(Scalar(), NAME, NAME_HINT)),
    "keep": Field(ListOf(_name)),
    "intents": Field(INTENTS),
    "safety_gate": Field(Bool(description=(
        "true for a module that coaches saying something to another person: after someone "
        "discloses harm, it first asks (the safety gate) whether that would be safe"))),
    "passes": Field(MapOf(ListOf(_name), NAME, NAME_HINT, description=(
        "The hand-over: for a module this one starts next (`end: {next: dear_man}`), the "
        "variables it passes on. That module declares them, so it can start from what "
        "was already said instead of asking again."))),
    "states": Field(MapOf(Ref(lambda: STATE), NAME, NAME_HINT), True),
}, description="A relbot module.")

GLOBAL = Obj("global", {
    "languages": Field(ListOf(Str(LANG_PATTERN, "a two-letter language code")), True),
    "start": Field(_dialogue_ref, True),
    "menu": Field(_dialogue_ref, True),
    "consent": Field(ListOf(_name)),
    "requires": Field(ListOf(_name, description="consent flags that must be true before any "
                                                "module other than `start` runs")),
    "intents": Field(Obj("global_intents", {n: Field(INTENT_ACTION) for n in INTENT_NAMES})),
    "words": Field(MapOf(_words, r"yes|no", "yes or no")),
    "strings": Field(MapOf(TEXT)),
    "returning": Field(Obj("returning", {
        "after_hours": Field(Num(description="hours away after which a typed message is a "
                                             "return, not the answer to the open question"),
                             True),
        "dialogue": Field(_dialogue_ref, True),
    }, description=("Someone who comes back after `after_hours` and types, while a question "
                    "is open, gets `dialogue` first (a greeting that asks whether to carry on): "
                    "their message is not taken as the answer. It ends to carry on, or "
                    "`end: {next: menu}`."))),
    "safety": Field(Obj("safety", {
        "routes": Field(Obj("routes", {c: Field(_dialogue_ref) for c in CATEGORIES},
                            description="The module each kind of disclosure interrupts "
                                        "with (every category needs one)."), True),
        "gate": Field(Obj("gate", {
            "dialogue": Field(_dialogue_ref, True),
            "when": Field(Str(NAME, NAME_HINT, description=(
                "a kept true/false variable; a route sets it to true")), True),
        }, description="Asked before a module with `safety_gate: true` once `when` is "
                       "true.")),
    }, description="What happens when the crisis screen flags what someone typed.")),
}, description="Settings for every module (_global.yaml).")

_date = Str(r"\d{4}-\d{2}-\d{2}", "a date written as YYYY-MM-DD, e.g. 2026-11-29")
_phone = Str(r"[*+]?[0-9](?:[0-9 -]*[0-9])?",
             "a number in quotes, as people dial it: \"988\", \"116 123\", \"*4141\"")
_line_fields = {
    "name": Field(TEXT),
    "number": Field(_phone),
    "text": Field(Str(r"[0-9](?:[0-9 -]*[0-9])?",
                      "an SMS number in quotes, e.g. \"988\"",
                      description="a number people can send a text message to")),
    "web": Field(Str(r"[a-z0-9.-]+\.[a-z]{2,}(?:/\S*)?", "a web address without https://, "
                     "e.g. findahelpline.com", description="a web address people can open")),
    "source": Field(Str(r"https://\S+", "an https:// address where the number is published",
                        description="where the number was checked"), True),
    "checked": Field(_date, True),
}
LINE = Obj("helpline", _line_fields, description=(
    "One way to reach help: a `number` to call, a `text` number, or a `web` address, with "
    "the `source` it was checked against and the date it was `checked`."))
REGION_LINE = Obj("region_number", {
    **_line_fields, "where": Field(TEXT, True),
}, description="An emergency number and where it works, for people who picked no country.")
COUNTRY = Obj("country", {
    "name": Field(TEXT, True),
    "emergency": Field(ListOf(LINE)),
    **{kind: Field(LINE) for kind in HELPLINES},
}, description="A country's emergency number(s) and helplines.")
RESOURCES = Obj("resources", {
    "compiled": Field(_date, True),
    "verified_online": Field(Bool(description="false until every entry was checked "
                                              "against its source"), True),
    "fallback": Field(Obj("fallback", {
        "emergency": Field(ListOf(REGION_LINE), True),
        "directory": Field(LINE, True),
    }, description="Shown until the person picks a country, and for a helpline a "
                   "country does not list."), True),
    "countries": Field(MapOf(COUNTRY, COUNTRY_PATTERN,
                             "two capital letters (ISO 3166), like US, ES, MX"), True),
    "wording": Field(Obj("wording", {key: Field(TEXT, True) for key in (
        "emergency", "call", "call_or_text", "text", "web", "country", "regions", "region",
        "directory", "more")}, description="How the numbers are phrased."), True),
}, description="Crisis lines per country (resources.yaml).")

STEP = Obj("step", {
    "away_hours": Field(Num(description="with `type`: hours since the person's last message")),
    "press": Field(Str(description="a button label or id")),
    "type": Field(Union([(str, Str()), ((int, float), Num())])),
    "intent": Field(Enum(INTENT_NAMES)),
    "timeout": Field(Bool()),
    "expect": Field(OneOrList(Str())),
    "not_expect": Field(OneOrList(Str())),
    "buttons": Field(ListOf(Str())),
    "saved": Field(_name),
    "ended": Field(Bool()),
}, description="One user action (or none, for the opening) and what the bot should show.")

TRANSCRIPT = Obj("transcript_file", {
    "module": Field(_dialogue_ref, True),
    "lang": Field(Str(LANG_PATTERN, "a two-letter language code")),
    "transcripts": Field(ListOf(Obj("transcript", {
        "name": Field(Str(), True),
        "start": Field(Str(NAME, NAME_HINT, description=(
            "start in this module instead of the file's (to show how the file's module "
            "is reached, e.g. a safety route interrupting an exercise)"))),
        "vars": Field(MapOf(Scalar(), NAME, NAME_HINT)),
        "steps": Field(ListOf(STEP), True),
    })), True),
}, description="Transcript tests for one module.")


def check_shape(ld: Loaded, shape: Shape) -> bool:
    """Check the loaded data against a shape; problems go into `ld.diagnostics`."""
    if ld.data is None:
        if not ld.diagnostics:  # an empty file: report it rather than skip it silently
            shape.check(None, (), ld)
        return False
    return shape.check(ld.data, (), ld)


def _collect(shape: Any, seen: dict[str, Obj]) -> None:
    if isinstance(shape, Obj):
        if shape.name in seen:
            return
        seen[shape.name] = shape
        for f in shape.fields.values():
            _collect(f.resolve(), seen)
        if shape.extra is not None:
            _collect(shape.extra, seen)
    elif isinstance(shape, Ref):
        _collect(shape._obj(), seen)
    elif isinstance(shape, (ListOf, OneOrList)):
        _collect(shape.item, seen)
    elif isinstance(shape, MapOf):
        _collect(shape.value, seen)
    elif isinstance(shape, Union):
        for _, s in shape.options:
            _collect(s, seen)


def json_schema() -> str:
    """The JSON Schema for every file kind, as shipped in `bot/core/schema.json`."""
    defs: dict[str, Obj] = {}
    for top in (DIALOGUE, GLOBAL, RESOURCES, TRANSCRIPT):
        _collect(top, defs)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://relbot.invalid/schema/dialogue.json",
        "title": "relbot dialogue files",
        "anyOf": [DIALOGUE.schema(), GLOBAL.schema(), RESOURCES.schema(), TRANSCRIPT.schema()],
        "$defs": {name: obj.definition() for name, obj in sorted(defs.items())},
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schema() -> str:
    """Rewrite the shipped `schema.json` from the format; returns its path."""
    from pathlib import Path

    target = Path(__file__).with_name("schema.json")
    target.write_text(json_schema(), encoding="utf-8")
    return str(target)


if __name__ == "__main__":  # `python -m bot.core.format` regenerates schema.json
    print(f"wrote {write_schema()}")
