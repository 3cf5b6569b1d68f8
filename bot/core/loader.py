"""YAML loading that remembers where every value came from.

Authors need file:line:column for every problem, so the loader turns YAML into plain
Python values *and* a table from each value's path (e.g. ``("states", "intro", "say")``)
to its position. Three YAML habits are switched off because they hurt authors:
``on/off/yes/no`` stay strings (they are state ids and answers here; only
``true``/``false`` are booleans), a date such as ``2026-11-29`` stays text (as a
`checked:` date in the resources file, it is checked as text with a position), and a
duplicate key is reported instead of silently keeping the last one.

Loading is bounded, so that no file can make `validate` or `run` hang or eat the
memory: at most `MAX_ALIASES` aliases (a "billion laughs" file of nested anchors would
otherwise expand to billions of values), `MAX_VALUES` values after expansion, and
`MAX_DEPTH` levels of nesting. Each limit is a positioned diagnostic, never an exception.

This module reads text it is given; reading files is the caller's business
(`bot.cli.folders`, which also caps the size and checks the encoding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from bot.core.diagnostics import CODES, Diagnostic, Key, Span

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_VALUES", "Loaded", "Path", "Position", "load_yaml"]

Path = tuple[str | int, ...]
Position = tuple[int, int]  # 1-based line, column

MAX_ALIASES = 100
MAX_VALUES = 200_000
MAX_DEPTH = 64

_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _TooComplex(Exception):
    """A loading limit was hit at `mark`; becomes diagnostic `code` (D062, or D001 for
    nesting) with `problem` as its message's detail."""

    def __init__(self, code: str, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.code, self.problem = code, problem
        self.position: Position = (mark.line + 1, mark.column + 1) if mark else (1, 1)


class _Bounded(Composer):
    """Composition with the limits above: aliases are counted where they are read, nesting
    where it deepens, and merged mappings (`<<: *x`) where they grow."""

    _aliases = 0
    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _TooComplex("D062", f"more than {MAX_ALIASES} aliases (*name) in one file",
                                  self.peek_event().start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooComplex("D001", f"nested more than {MAX_DEPTH} levels deep",
                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        super().flatten_mapping(node)  # type: ignore[misc]
        if len(node.value) > MAX_VALUES:
            raise _TooComplex("D062", f"merged mappings (<<) expand to more than {MAX_VALUES:,} "
                              "values", node.start_mark)


def _author(base: Any) -> Any:
    """`base` (a PyYAML safe loader class) where only true/false are booleans and dates
    stay text, composed within the limits of `_Bounded`."""
    cls = type(f"_Author{base.__name__}", (_Bounded, base), {"__doc__": _author.__doc__})
    cls.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _TIMESTAMP)]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    cls.add_implicit_resolver(
        _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
    return cls


_AuthorLoader = _author(yaml.SafeLoader)
_NOT_ALLOWED = re.compile(yaml.reader.Reader.NON_PRINTABLE.pattern)  # characters YAML refuses

try:  # libyaml, when PyYAML was built with it
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - PyYAML without libyaml
    CParser = None


if CParser is not None:
    class _LibyamlParsing(Composer, CParser, SafeConstructor, Resolver):  # type: ignore[misc]
        """libyaml scans and parses (3-4x faster, same marks); Python composes, because
        libyaml's own composer recurses in C and crashes on very deeply nested input."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _FastLoader = _author(_LibyamlParsing)
else:  # pragma: no cover
    _FastLoader = _AuthorLoader


@dataclass(slots=True)
class Loaded:
    """A loaded file: its data, where each path starts and ends, and the problems found."""

    file: str
    data: Any
    positions: dict[Path, Position] = field(default_factory=dict)
    key_positions: dict[Path, Position] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    quoted: set[Path] = field(default_factory=set)  # scalars written in quotes
    ends: dict[Path, Position] = field(default_factory=dict)  # end marks, exclusive
    key_ends: dict[Path, Position] = field(default_factory=dict)

    def at(self, path: Path) -> Position:
        """Position of the value at `path`, or of its nearest located ancestor."""
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), (1, 1))

    def key_at(self, path: Path) -> Position:
        """Position of the key that introduces `path` (falls back to the value)."""
        return self.key_positions.get(path) or self.at(path)

    def span(self, path: Path, *, key: bool = False) -> Span:
        """Where the value (or its key) at `path` starts and ends; falls back like `at`.

        A block value's end is where the next token starts (often column 1 of a later
        line), exactly as YAML marks it."""
        if key and path in self.key_positions:
            (line, column), end = self.key_positions[path], self.key_ends.get(path)
        else:
            located = path
            while located and located not in self.positions:
                located = located[:-1]
            (line, column), end = self.positions.get(located, (1, 1)), self.ends.get(located)
        end_line, end_column = end or (line, column + 1)
        return line, column, end_line, end_column

    def key_of(self, code: str, path: Path, *, key: bool = False) -> Key:
        """The identity of a diagnostic `code` reported at `path` (for `cause=`)."""
        line, column, _, _ = self.span(path, key=key)
        return self.file, line, column, code

    def diag(self, code: str, path: Path, hint: str = "", *, key: bool = False,
             cause: Key | None = None, **fields: object) -> Diagnostic:
        """Report `code` at `path` through its descriptor; returns the diagnostic."""
        found = CODES[code].at(self.file, self.span(path, key=key), hint=hint, cause=cause,
                               **fields)
        self.diagnostics.append(found)
        return found


def _mark(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _end(node: yaml.Node) -> Position:
    return node.end_mark.line + 1, node.end_mark.column + 1


def _syntax(file: str, line: int, column: int, problem: str) -> Diagnostic:
    return CODES["D001"].at(file, (line, column, line, column + 1), problem=problem)


def load_yaml(text: str, file: str) -> Loaded:
    """Parse `text`; syntax errors become a D001 diagnostic and `data` is None."""
    result = Loaded(file, None)
    bad = _NOT_ALLOWED.search(text)
    if bad:  # found here, so the position is the same whichever parser runs
        before = text[: bad.start()]
        line, column = before.count("\n") + 1, bad.start() - before.rfind("\n")
        result.diagnostics.append(_syntax(
            file, line, column,
            f"character #x{ord(bad.group()):04x} is not allowed (is this a text file?)"))
        return result
    loader = _FastLoader(text)
    try:
        root = loader.get_single_node()
        if root is not None:
            result.data = _build(loader, root, (), result, [MAX_VALUES])
    except _TooComplex as exc:
        line, column = exc.position
        result.diagnostics.append(
            CODES[exc.code].at(file, (line, column, line, column + 1), problem=exc.problem))
        result.data = None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "could not read YAML"
        context = f" ({exc.context})" if exc.context else ""
        result.diagnostics.append(_syntax(file, line, column, f"{problem}{context}"))
        result.data = None
    except RecursionError:  # brackets nested thousands deep
        result.diagnostics.append(_syntax(file, 1, 1, "nested too deeply"))
        result.data = None
    except yaml.YAMLError as exc:  # not marked: still a diagnostic, never a traceback
        result.diagnostics.append(_syntax(file, 1, 1, str(exc)))
        result.data = None
    finally:
        loader.dispose()
    return result


def _build(loader: Any, node: yaml.Node, path: Path, out: Loaded, budget: list[int]) -> Any:
    """Plain values from `node`, recording positions; `budget` counts values down (an
    alias is walked again wherever it is used, so this is what bounds an expansion)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooComplex("D062", f"more than {MAX_VALUES:,} values once aliases are expanded",
                          node.start_mark)
    out.positions[path] = _mark(node)
    out.ends[path] = _end(node)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                out.diagnostics.append(CODES["D004"].at(
                    out.file, (*_mark(key_node), *_end(key_node)), hint="write the key as text",
                    expected="plain text as a key", found="a list or a mapping"))
                continue
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            child = (*path, key)
            if key in mapping:
                first = out.key_positions[child]
                out.diagnostics.append(CODES["D003"].at(
                    out.file, (*_mark(key_node), *_end(key_node)), name=key, first=first[0]))
                continue
            out.key_positions[child] = _mark(key_node)
            out.key_ends[child] = _end(key_node)
            mapping[key] = _build(loader, value_node, child, out, budget)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), out, budget)
                for i, item in enumerate(node.value)]
    if isinstance(node, yaml.ScalarNode) and node.style in ("'", '"'):
        out.quoted.add(path)
    return loader.construct_object(node, deep=True)
