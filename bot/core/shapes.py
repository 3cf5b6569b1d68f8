"""Shapes: small type descriptions that both check YAML and emit JSON Schema.

The dialogue format is described once, as data (`bot.core.format`), with these
combinators. The same description checks a loaded file (unknown keys with a
did-you-mean, wrong types, missing keys, invalid values) and generates the JSON Schema
that editors use, so the two cannot drift apart.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.loader import Loaded, Path

__all__ = [
    "Bool", "Enum", "Field", "Int", "ListOf", "MapOf", "Num", "Obj", "OneOrList", "Ref",
    "Scalar", "Shape", "Str", "Union",
]


class Shape:
    """A shape checks a value (reporting into `Loaded`) and describes itself as schema."""

    description: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def expected(self) -> str:
        """Plain-words description used in 'wrong type' hints."""
        raise NotImplementedError

    def _wrong(self, value: Any, path: Path, ld: Loaded) -> bool:
        ld.diag("D004", path, f"write {self.expected()} here", expected=self.expected(),
                found=_kind(value))
        return False


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"true/false ({value})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text ('{value[:30]}')"
    if isinstance(value, list):
        return "a list"
    return "a mapping (key: value)"


def _with_description(schema: dict[str, Any], description: str) -> dict[str, Any]:
    if description:
        schema["description"] = description
    return schema


@dataclass
class Str(Shape):
    pattern: str | None = None
    pattern_hint: str = ""
    description: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        if not isinstance(value, str):
            return self._wrong(value, path, ld)
        if self.pattern and not re.fullmatch(self.pattern, value):
            ld.diag("D006", path, self.pattern_hint, value=value, expected="valid here")
            return False
        return True

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "string"}
        if self.pattern:
            out["pattern"] = f"^(?:{self.pattern})$"
        return _with_description(out, self.description)

    def expected(self) -> str:
        return self.pattern_hint or "text"


@dataclass
class Int(Shape):
    minimum: int | None = None
    description: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return self._wrong(value, path, ld)
        if self.minimum is not None and value < self.minimum:
            ld.diag("D006", path, f"use a number of at least {self.minimum}", value=value,
                    expected=f"at least {self.minimum}")
            return False
        return True

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        return _with_description(out, self.description)

    def expected(self) -> str:
        return "a whole number"


@dataclass
class Num(Shape):
    description: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self._wrong(value, path, ld)
        return True

    def schema(self) -> dict[str, Any]:
        return _with_description({"type": "number"}, self.description)

    def expected(self) -> str:
        return "a number"


@dataclass
class Bool(Shape):
    description: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        return True if isinstance(value, bool) else self._wrong(value, path, ld)

    def schema(self) -> dict[str, Any]:
        return _with_description({"type": "boolean"}, self.description)

    def expected(self) -> str:
        return "true or false"


@dataclass
class Scalar(Shape):
    """A plain value: text, number or true/false (variable values)."""

    description: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        ok = isinstance(value, (str, int, float, bool))
        return True if ok else self._wrong(value, path, ld)

    def schema(self) -> dict[str, Any]:
        return _with_description({"type": ["string", "number", "boolean"]}, self.description)

    def expected(self) -> str:
        return "text, a number, or true/false"


@dataclass
class Enum(Shape):
    values: tuple[str, ...]
    description: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        if value in self.values and isinstance(value, str):
            return True
        close = difflib.get_close_matches(str(value), self.values, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"use one of: {', '.join(self.values)}"
        ld.diag("D006", path, hint, value=value, expected=f"one of {', '.join(self.values)}")
        return False

    def schema(self) -> dict[str, Any]:
        return _with_description({"enum": list(self.values)}, self.description)

    def expected(self) -> str:
        return "one of " + ", ".join(self.values)


@dataclass
class ListOf(Shape):
    item: Shape
    description: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        if not isinstance(value, list):
            return self._wrong(value, path, ld)
        return all([self.item.check(v, (*path, i), ld) for i, v in enumerate(value)])

    def schema(self) -> dict[str, Any]:
        return _with_description({"type": "array", "items": self.item.schema()}, self.description)

    def expected(self) -> str:
        return f"a list of {self.item.expected()}"


@dataclass
class OneOrList(Shape):
    """One item, or a list of them (e.g. `say:` takes one text or several)."""

    item: Shape
    description: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        if isinstance(value, list):
            return all([self.item.check(v, (*path, i), ld) for i, v in enumerate(value)])
        return self.item.check(value, path, ld)

    def schema(self) -> dict[str, Any]:
        one = self.item.schema()
        return _with_description(
            {"anyOf": [one, {"type": "array", "items": one}]}, self.description
        )

    def expected(self) -> str:
        return f"{self.item.expected()} or a list of them"


@dataclass
class MapOf(Shape):
    value: Shape
    key_pattern: str = r"[a-z][a-z0-9_]*"
    key_hint: str = "lower-case letters, digits and _"
    description: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        if not isinstance(value, dict):
            return self._wrong(value, path, ld)
        ok = True
        for key, item in value.items():
            if not re.fullmatch(self.key_pattern, key):
                hint = f"use {self.key_hint}"
                if " " in key:  # `{en: Hi, how are you?}`: the comma ended the text early
                    hint = ("a comma inside {...} ends a text early: put the whole text in "
                            f"quotes, or {hint}")
                ld.diag("D006", (*path, key), hint, key=True, value=key,
                        expected="a valid name here")
                ok = False
            ok = self.value.check(item, (*path, key), ld) and ok
        return ok

    def schema(self) -> dict[str, Any]:
        return _with_description(
            {"type": "object",
             "patternProperties": {f"^(?:{self.key_pattern})$": self.value.schema()},
             "additionalProperties": False},
            self.description,
        )

    def expected(self) -> str:
        return f"a mapping of names to {self.value.expected()}"


@dataclass
class Field:
    shape: Shape | Callable[[], Shape]
    required: bool = False

    def resolve(self) -> Shape:
        return self.shape if isinstance(self.shape, Shape) else self.shape()


@dataclass
class Obj(Shape):
    name: str
    fields: dict[str, Field]
    description: str = ""
    extra: Shape | None = None  # shape of keys not in `fields` (e.g. language codes)
    extra_pattern: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        if not isinstance(value, dict):
            return self._wrong(value, path, ld)
        ok = True
        for key, item in value.items():
            child = (*path, key)
            if key in self.fields:
                ok = self.fields[key].resolve().check(item, child, ld) and ok
            elif self.extra is not None and re.fullmatch(self.extra_pattern, key):
                ok = self.extra.check(item, child, ld) and ok
            else:
                close = difflib.get_close_matches(key, list(self.fields), n=1, cutoff=0.6)
                hint = (f"did you mean '{close[0]}'?" if close
                        else f"{self.name} keys are: {', '.join(self.fields)}")
                ld.diag("D002", child, hint, key=True, name=key, where=self.name)
                ok = False
        for key, spec in self.fields.items():
            if spec.required and key not in value:
                ld.diag("D005", path, f"add `{key}:`", name=key, where=self.name)
                ok = False
        return ok

    def schema(self) -> dict[str, Any]:
        return {"$ref": f"#/$defs/{self.name}"}

    def definition(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "properties": {k: f.resolve().schema() for k, f in self.fields.items()},
            "additionalProperties": False,
        }
        required = [k for k, f in self.fields.items() if f.required]
        if required:
            out["required"] = required
        if self.extra is not None:
            out["patternProperties"] = {self.extra_pattern: self.extra.schema()}
        return _with_description(out, self.description)

    def expected(self) -> str:
        return f"a {self.name} (key: value lines)"


@dataclass
class Union(Shape):
    """One of several shapes, told apart by a Python type test per option."""

    options: list[tuple[type | tuple[type, ...], Shape]]
    description: str = ""

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        for python_type, shape in self.options:
            if isinstance(value, python_type) and not (
                isinstance(value, bool) and bool not in _as_tuple(python_type)
            ):
                return shape.check(value, path, ld)
        return self._wrong(value, path, ld)

    def schema(self) -> dict[str, Any]:
        return _with_description({"anyOf": [s.schema() for _, s in self.options]},
                                 self.description)

    def expected(self) -> str:
        return " or ".join(s.expected() for _, s in self.options)


def _as_tuple(t: type | tuple[type, ...]) -> tuple[type, ...]:
    return t if isinstance(t, tuple) else (t,)


@dataclass
class Ref(Shape):
    """A late reference to an `Obj`, for recursive or shared definitions."""

    target: Callable[[], Obj]
    _cache: list[Obj] = field(default_factory=list)

    def _obj(self) -> Obj:
        if not self._cache:
            self._cache.append(self.target())
        return self._cache[0]

    def check(self, value: Any, path: Path, ld: Loaded) -> bool:
        return self._obj().check(value, path, ld)

    def schema(self) -> dict[str, Any]:
        return self._obj().schema()

    def expected(self) -> str:
        return self._obj().expected()
