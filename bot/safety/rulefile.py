"""Reading the rule files: YAML text in, a checked model (with positions) out.

The files are `common.yaml` (what all languages share: the default window, leetspeak,
and which category wins when several match) and one `<language>.yaml` per language
(spelling, context modifiers, word lists, promotions, ordinary messages and the rules).
`bot/safety/rules/README.md` describes them for the clinicians who edit them.

This module checks the *shape* of each file (unknown keys, wrong types, missing keys,
unknown categories, invalid ids) and returns what is usable; everything it leaves out
is reported as a diagnostic. Meaning (do the patterns compile? do the examples behave?)
is checked when the screen is built. Pure: texts in, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.core.checks_flow import did_you_mean
from bot.core.crisis import CATEGORIES
from bot.core.loader import Loaded, Path, load_yaml
from bot.safety.codes import SAFETY_CODES, report
from bot.safety.lexicon import Entry

__all__ = [
    "COMMON", "MODIFIERS", "CommonFile", "LanguageFile", "Promotion", "RuleSpec", "load_common",
    "load_language", "rule_language",
]

COMMON = "common"
_LANGUAGE = re.compile(r"[a-z]{2}")
_ID = re.compile(r"[a-z][a-z0-9_]*")
_ID_HINT = "lower-case letters, digits and _, starting with a letter"

#: context modifier -> its keys: lists of triggers, or a window (a number of words)
MODIFIERS: dict[str, dict[str, type]] = {
    "negation": {"before": list, "pseudo": list, "window": int},
    "distance": {"before": list, "after": list, "stops_at": list, "window": int},
    "hypothetical": {"before": list, "stops_at": list, "window": int},
    "resolved": {"past": list, "now": list, "unless": list},
    "experiencer": {"self": list, "self_object": list, "others": list, "objects_after": list,
                    "window": int, "applies_to": list},
    "joking": {"markers": list, "applies_to": list},
}
_RULE_KEYS = {"id": str, "subtype": str, "match": list, "with": list, "unless": list,
              "window": int, "should_flag": list, "should_not_flag": list}
_LANGUAGE_KEYS = {"spelling": dict, "context": dict, "lexicon": dict, "promote": list,
                  "ordinary": list, "rules": dict}
_CONTEXT_KEYS = {**{m: dict for m in MODIFIERS}, "clause_breaks": list, "idioms": list}
_COMMON_KEYS = {"window": int, "leet": dict, "precedence": list}
_TYPE_NAMES = {list: "a list", dict: "a mapping (key: value)", str: "text", int: "a number"}


def rule_language(file: str) -> str | None:
    """`en` for `.../en.yaml`, `common` for `common.yaml`, None for any other name."""
    stem = re.sub(r"\.ya?ml$", "", file.replace("\\", "/").rsplit("/", 1)[-1])
    return stem if stem == COMMON or _LANGUAGE.fullmatch(stem) else None


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule as written: what it flags, its patterns and its examples."""

    id: str
    category: str
    subtype: str
    match: tuple[Entry, ...]
    with_: tuple[Entry, ...]  # one of these must be in the match's sentence
    unless: tuple[Entry, ...]  # none of these may be in the match's sentence
    window: int | None
    should_flag: tuple[Entry, ...]
    should_not_flag: tuple[Entry, ...]
    path: Path


@dataclass(frozen=True, slots=True)
class Promotion:
    """A flag of a `sources` category (or `category/subtype`) becomes `target` when `when`
    is in the message."""

    target: str
    sources: tuple[str, ...]
    when: tuple[Entry, ...]


@dataclass(slots=True)
class LanguageFile:
    """A checked `<language>.yaml`: every usable part, and its `Loaded` for positions."""

    ld: Loaded
    language: str
    abbreviations: dict[str, Entry] = field(default_factory=dict)
    emoji: dict[str, str] = field(default_factory=dict)
    context: dict[str, list[Entry]] = field(default_factory=dict)  # "negation.before" -> ...
    windows: dict[str, int] = field(default_factory=dict)  # "negation" -> 3
    applies_to: dict[str, tuple[str, ...]] = field(default_factory=dict)  # modifier -> categories
    lexicon: dict[str, list[Entry]] = field(default_factory=dict)
    promotions: list[Promotion] = field(default_factory=list)
    ordinary: list[Entry] = field(default_factory=list)
    rules: list[RuleSpec] = field(default_factory=list)


@dataclass(slots=True)
class CommonFile:
    """A checked `common.yaml`."""

    ld: Loaded
    window: int = 3
    leet: dict[str, str] = field(default_factory=dict)
    precedence: list[tuple[str, tuple[str, ...], Path]] = field(default_factory=list)


# --- shape helpers -----------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"true/false ({value})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text ('{value[:30]}')"
    return "a list" if isinstance(value, list) else "a mapping (key: value)"


def _typed(ld: Loaded, path: Path, value: Any, kind: type) -> bool:
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if kind is int and ok and value < 0:
        report(ld, "S017", path, f"{value} is not a number of words", hint="write 0 or more")
        return False
    if not ok:
        report(ld, "S004", path, f"expected {_TYPE_NAMES[kind]}, found {_kind(value)}",
               hint=f"write {_TYPE_NAMES[kind]} here")
    return ok


def _mapping(ld: Loaded, path: Path, value: Any, keys: dict[str, type],
             what: str) -> dict[str, Any]:
    """The known, well-typed keys of a mapping; unknown keys and wrong types reported."""
    if not _typed(ld, path, value, dict):
        return {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in keys:
            hint = did_you_mean(key, keys) or f"use one of: {', '.join(keys)}"
            report(ld, "S003", (*path, key), f"unknown key '{key}' in {what}", key=True,
                   hint=hint)
        elif _typed(ld, (*path, key), item, keys[key]):
            out[key] = item
    return out


def _texts(ld: Loaded, path: Path, values: list[Any]) -> list[Entry]:
    """The entries of a list of texts (numbers are fine: `13` is a word too)."""
    out = []
    for i, value in enumerate(values):
        if isinstance(value, str | int) and not isinstance(value, bool):
            out.append(Entry(str(value), (*path, i)))
        else:
            _typed(ld, (*path, i), value, str)
    return out


def _category(ld: Loaded, path: Path, name: Any, *, key: bool = False) -> str | None:
    if name in CATEGORIES:
        return str(name)
    hint = did_you_mean(str(name), CATEGORIES) or f"use one of: {', '.join(CATEGORIES)}"
    report(ld, "S006", path, f"'{name}' is not a crisis category", hint=hint, key=key)
    return None


def _name(ld: Loaded, path: Path, value: str, what: str) -> bool:
    if _ID.fullmatch(value):
        return True
    report(ld, "S017", path, f"'{value}' is not a valid {what}", hint=_ID_HINT)
    return False


# --- the language file ------------------------------------------------------------------


def load_language(text: str, file: str, language: str) -> LanguageFile:
    """Check one language's file; the result holds what is usable."""
    ld = _load(text, file)
    out = LanguageFile(ld, language)
    top = _mapping(ld, (), ld.data if ld.data is not None else {}, _LANGUAGE_KEYS,
                   f"{language}.yaml")
    if "rules" not in top and not any(d.code in ("S001", "S004") for d in ld.diagnostics):
        report(ld, "S005", (), "the file needs `rules:`", hint="add `rules:` with the rules")
    _spelling(ld, top.get("spelling"), out)
    _context(ld, top.get("context"), out)
    for name, entries in top.get("lexicon", {}).items():
        if _name(ld, ("lexicon", name), name, "word list name") and _typed(
                ld, ("lexicon", name), entries, list):
            out.lexicon[name] = _texts(ld, ("lexicon", name), entries)
            if not entries:
                report(ld, "S010", ("lexicon", name), f"word list '{name}' is empty")
    for i, item in enumerate(top.get("promote", [])):
        _promotion(ld, ("promote", i), item, out)
    out.ordinary = _texts(ld, ("ordinary",), top.get("ordinary", []))
    for category, rules in top.get("rules", {}).items():
        path = ("rules", category)
        if _category(ld, path, category, key=True) and _typed(ld, path, rules, list):
            out.rules += [r for i, raw in enumerate(rules)
                          if (r := _rule(ld, (*path, i), raw, category)) is not None]
    return out


def _spelling(ld: Loaded, value: Any, out: LanguageFile) -> None:
    if value is None:
        return
    spelling = _mapping(ld, ("spelling",), value, {"abbreviations": dict, "emoji": dict},
                        "spelling")
    for key in ("abbreviations", "emoji"):
        for short, long in spelling.get(key, {}).items():
            path = ("spelling", key, short)
            if isinstance(long, str) and long.strip():
                if key == "emoji":
                    out.emoji[short] = long
                else:
                    out.abbreviations[short] = Entry(long, path)
            else:
                report(ld, "S004", path, f"expected the words '{short}' stands for, found "
                       f"{_kind(long)}", hint="write the words it stands for")


def _context(ld: Loaded, value: Any, out: LanguageFile) -> None:
    if value is None:
        return
    context = _mapping(ld, ("context",), value, _CONTEXT_KEYS, "context")
    for key in ("clause_breaks", "idioms"):
        out.context[key] = _texts(ld, ("context", key), context.get(key, []))
    for modifier, keys in MODIFIERS.items():
        spec = _mapping(ld, ("context", modifier), context.get(modifier, {}), keys, modifier)
        for key, item in spec.items():
            if key == "window":
                out.windows[modifier] = item
            elif key == "applies_to":  # categories, or category/subtype
                out.applies_to[modifier] = tuple(c for i, c in enumerate(item) if _category(
                    ld, ("context", modifier, key, i), str(c).split("/", 1)[0]))
            else:
                out.context[f"{modifier}.{key}"] = _texts(ld, ("context", modifier, key), item)


def _promotion(ld: Loaded, path: Path, value: Any, out: LanguageFile) -> None:
    spec = _mapping(ld, path, value, {"to": str, "from": list, "when": list}, "promote")
    missing = [k for k in ("to", "from", "when") if k not in spec]
    for key in missing:
        report(ld, "S005", path, f"a promotion needs '{key}'", hint=f"add `{key}:`")
    if missing or not isinstance(value, dict):
        return
    target = _category(ld, (*path, "to"), spec["to"])
    sources = [c for i, c in enumerate(spec["from"])
               if _category(ld, (*path, "from", i), str(c).split("/", 1)[0])]
    when = _texts(ld, (*path, "when"), spec["when"])
    if target and sources and when:
        out.promotions.append(Promotion(target, tuple(sources), tuple(when)))


def _rule(ld: Loaded, path: Path, value: Any, category: str) -> RuleSpec | None:
    spec = _mapping(ld, path, value, _RULE_KEYS, "a rule")
    if not isinstance(value, dict):
        return None
    missing = [k for k in ("id", "subtype", "match") if k not in spec and k not in value]
    for key in missing:
        report(ld, "S005", path, f"a rule needs '{key}'", hint=f"add `{key}:`")
    if missing or not all(k in spec for k in ("id", "subtype", "match")):
        return None
    if not (_name(ld, (*path, "id"), spec["id"], "rule id")
            and _name(ld, (*path, "subtype"), spec["subtype"], "subtype")):
        return None
    match = _texts(ld, (*path, "match"), spec["match"])
    if not match:
        if not spec["match"]:
            report(ld, "S010", (*path, "match"), f"rule '{spec['id']}' has no patterns")
        return None
    with_ = tuple(_texts(ld, (*path, "with"), spec.get("with", [])))
    unless = tuple(_texts(ld, (*path, "unless"), spec.get("unless", [])))
    return RuleSpec(spec["id"], category, spec["subtype"], tuple(match), with_, unless,
                    spec.get("window"),
                    tuple(_texts(ld, (*path, "should_flag"), spec.get("should_flag", []))),
                    tuple(_texts(ld, (*path, "should_not_flag"),
                                 spec.get("should_not_flag", []))), path)


# --- common.yaml ----------------------------------------------------------------------


def load_common(text: str, file: str) -> CommonFile:
    """Check `common.yaml`; missing parts fall back to safe defaults."""
    ld = _load(text, file)
    out = CommonFile(ld)
    top = _mapping(ld, (), ld.data if ld.data is not None else {}, _COMMON_KEYS, "common.yaml")
    out.window = top.get("window", out.window)
    for char, letter in top.get("leet", {}).items():
        if len(char) == 1 and isinstance(letter, str) and len(letter) == 1:
            out.leet[char] = letter
        else:
            report(ld, "S017", ("leet", char), f"'{char}: {letter}' is not one character "
                   "for one letter", hint="write it like  '4': a")
    for i, item in enumerate(top.get("precedence", [])):
        _precedence(ld, ("precedence", i), item, out)
    return out


def _precedence(ld: Loaded, path: Path, item: Any, out: CommonFile) -> None:
    if isinstance(item, str):
        if _category(ld, path, item):
            out.precedence.append((item, (), path))
        return
    if not isinstance(item, dict) or len(item) != 1:
        report(ld, "S004", path, f"expected a category or 'category: [subtypes]', found "
               f"{_kind(item)}", hint="write  - child_abuse  or  - suicide_self_harm: [plan]")
        return
    (category, subtypes), = item.items()
    if _category(ld, (*path, category), category) and _typed(ld, (*path, category), subtypes,
                                                             list):
        names = [str(s) for s in subtypes]
        out.precedence.append((category, tuple(names), (*path, category)))


def _load(text: str, file: str) -> Loaded:
    """YAML with positions; the loader's D001/D003 become this registry's S001/S002."""
    ld = load_yaml(text, file)
    renamed = {"D001": "S001", "D003": "S002"}
    ld.diagnostics[:] = [
        type(d)(renamed[d.code], SAFETY_CODES[renamed[d.code]].severity, d.file, d.line,
                d.column, d.message, SAFETY_CODES[renamed[d.code]].fix)
        if d.code in renamed else d
        for d in ld.diagnostics
    ]
    if ld.data is not None and not isinstance(ld.data, dict):
        report(ld, "S004", (), f"expected a mapping (key: value), found {_kind(ld.data)}",
               hint="start the file with keys such as `rules:`")
        ld.data = None
    return ld

