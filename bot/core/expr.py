"""Conditions for `branch`: a tiny expression language, parsed without `eval`.

`mood >= 7 and not store_answers`, `giving - independence > 3`, `feeling == 'guilt'`.
Parsing returns an AST or a `ConditionError` with the column of the problem, so the
checker can point into the string. Compiling turns the AST into a plain closure over
the variables mapping; evaluation never raises (a comparison between mismatched
types is simply false), because a person's chat must not crash on a condition.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ConditionError", "Node", "compile_condition", "infer_type", "names", "parse"]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'[^']*'|\"[^\"]*\")|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|<|>|\+|-|\(|\)))"
)
_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}


class ConditionError(ValueError):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.column = column  # 0-based offset in the condition string


@dataclass(frozen=True, slots=True)
class Node:
    op: str  # num, str, bool, var, not, and, or, +, -, or a comparison
    args: tuple[Any, ...]
    column: int


def _tokens(source: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        m = _TOKEN.match(source, pos)
        if not m or m.end() == pos:
            col = len(source) - len(source[pos:].lstrip())
            raise ConditionError(f"unexpected '{source[col:col + 8]}'", col)
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokens(source)
        self.i = 0
        self.end = len(source)

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ConditionError("the condition ends too soon", self.end)
        self.i += 1
        return tok

    def word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[1] in words and tok[0] in ("name", "op")

    def parse(self) -> Node:
        node = self.or_()
        if (tok := self.peek()) is not None:
            raise ConditionError(f"unexpected '{tok[1]}'", tok[2])
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.word("or"):
            col = self.take()[2]
            node = Node("or", (node, self.and_()), col)
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.word("and"):
            col = self.take()[2]
            node = Node("and", (node, self.not_()), col)
        return node

    def not_(self) -> Node:
        if self.word("not"):
            col = self.take()[2]
            return Node("not", (self.not_(),), col)
        return self.compare()

    def compare(self) -> Node:
        node = self.sum()
        if self.word(*_COMPARE):
            op, col = self.take()[1:]
            node = Node(op, (node, self.sum()), col)
            if self.word(*_COMPARE):
                raise ConditionError("chain comparisons with `and`", self.take()[2])
        return node

    def sum(self) -> Node:
        node = self.atom()
        while self.word("+", "-"):
            op, col = self.take()[1:]
            node = Node(op, (node, self.atom()), col)
        return node

    def atom(self) -> Node:
        kind, value, col = self.take()
        if kind == "num":
            return Node("num", (float(value) if "." in value else int(value),), col)
        if kind == "str":
            return Node("str", (value[1:-1],), col)
        if kind == "name" and value in ("true", "false"):
            return Node("bool", (value == "true",), col)
        if kind == "name" and value not in ("and", "or", "not"):
            return Node("var", (value,), col)
        if value == "(":
            node = self.or_()
            close = self.take()
            if close[1] != ")":
                raise ConditionError("missing ')'", close[2])
            return node
        raise ConditionError(f"unexpected '{value}'", col)


def parse(source: str) -> Node:
    return _Parser(source).parse()


def names(node: Node) -> list[tuple[str, int]]:
    """Variables the condition reads, with their columns."""
    if node.op == "var":
        return [(node.args[0], node.column)]
    return [n for a in node.args if isinstance(a, Node) for n in names(a)]


def infer_type(node: Node, types: Mapping[str, str]) -> tuple[str | None, list[tuple[str, int]]]:
    """(type, problems): types are 'number', 'text', 'bool'; unknown variables are None."""
    if node.op in ("num", "str", "bool"):
        return {"num": "number", "str": "text", "bool": "bool"}[node.op], []
    if node.op == "var":
        return types.get(node.args[0]), []
    parts = [infer_type(a, types) for a in node.args]
    problems = [p for _, ps in parts for p in ps]
    kinds = [t for t, _ in parts]
    if node.op in ("+", "-"):
        if any(k not in ("number", None) for k in kinds):
            problems.append((f"'{node.op}' works on numbers only", node.column))
        return "number", problems
    if node.op in _COMPARE:
        left, right = kinds
        if left and right and left != right:
            problems.append((f"compares {left} with {right}", node.column))
        elif node.op not in ("==", "!=") and {left, right} - {"number", None}:
            problems.append((f"'{node.op}' compares numbers only", node.column))
        return "bool", problems
    return "bool", problems


Evaluator = Callable[[Mapping[str, Any]], Any]


def compile_condition(node: Node) -> Evaluator:
    """A closure that evaluates the condition over a variables mapping, never raising."""
    op = node.op
    if op in ("num", "str", "bool"):
        value = node.args[0]
        return lambda v: value
    if op == "var":
        name = node.args[0]
        return lambda v: v.get(name)
    if op == "not":
        inner = compile_condition(node.args[0])
        return lambda v: not inner(v)
    left, right = (compile_condition(a) for a in node.args)
    if op == "and":
        return lambda v: bool(left(v)) and bool(right(v))
    if op == "or":
        return lambda v: bool(left(v)) or bool(right(v))
    if op in ("+", "-"):
        fn = operator.add if op == "+" else operator.sub

        def arith(v: Mapping[str, Any]) -> Any:
            a, b = left(v), right(v)
            return fn(a, b) if isinstance(a, (int, float)) and isinstance(b, (int, float)) else 0

        return arith
    compare = _COMPARE[op]

    def comparison(v: Mapping[str, Any]) -> bool:
        try:
            return bool(compare(left(v), right(v)))
        except TypeError:
            return False

    return comparison
