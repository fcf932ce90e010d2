"""Sandboxed expressions for ``filter:``, ``when:`` and the ``expr`` transform (simpleeval, never eval).

An expression is checked when the spec is loaded: its syntax, then every node against a small allowed
set (names, literals, arithmetic, comparisons, ``and``/``or``/``not``, ``x if c else y``, subscripts,
``a.b`` field access, and calls of the whitelisted functions below by name). Lambdas,
comprehensions, f-strings, method calls and dunder names are refused up front. At run time simpleeval
evaluates the already-parsed tree with its own limits (string length, power, shifts).

``a.b`` reads key ``b`` of object ``a`` (null when ``a`` is not an object): it never reaches Python
attributes, so no method or internal of any value is reachable from an expression.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from simpleeval import EvalWithCompoundTypes


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict | tuple) and len(value) == 0)


def _coalesce(*values: Any) -> Any:
    for value in values:
        if not _empty(value):
            return value
    return None


def _text_fn(name: str) -> Callable[[Any], Any]:
    def fn(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"{name}() needs text, got {type(value).__name__}")
        return getattr(str, name)(value)

    fn.__name__ = name
    return fn


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"decimal() needs a number or text, got {type(value).__name__}")
    try:
        result = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"decimal(): {value!r} is not a number") from None
    if not result.is_finite():
        raise ValueError(f"decimal(): {value!r} is not a finite number")
    return result


def _startswith(value: Any, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix)


def _endswith(value: Any, suffix: str) -> bool:
    return isinstance(value, str) and value.endswith(suffix)


def _contains(container: Any, item: Any) -> bool:
    if container is None:
        return False
    return bool(item in container)


#: The only functions an expression may call.
FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "abs": abs,
    "bool": bool,
    "coalesce": _coalesce,
    "contains": _contains,
    "decimal": _decimal,
    "empty": _empty,
    "endswith": _endswith,
    "float": float,
    "int": int,
    "len": len,
    "lower": _text_fn("lower"),
    "max": max,
    "min": min,
    "round": round,
    "startswith": _startswith,
    "str": str,
    "strip": _text_fn("strip"),
    "title": _text_fn("title"),
    "upper": _text_fn("upper"),
}

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.Expr, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call,
    ast.Name, ast.Load, ast.Constant, ast.Attribute, ast.Subscript, ast.Slice, ast.List, ast.Tuple,
    ast.Dict, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, ast.Add, ast.Sub, ast.Mult, ast.Div,
    ast.FloorDiv, ast.Mod, ast.Pow, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In,
    ast.NotIn, ast.Is, ast.IsNot,
)  # fmt: skip


class _Evaluator(EvalWithCompoundTypes):
    """simpleeval with ``a.b`` meaning "key b of object a" and nothing else."""

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        container = self._eval(node.value)
        if isinstance(container, Mapping):
            return container.get(node.attr)
        return None


class _Scope:
    """Names visible to an expression: the extras first, then the record's top-level fields."""

    __slots__ = ("extras", "record")

    def __init__(self, record: Any, extras: Mapping[str, Any]) -> None:
        self.record = record
        self.extras = extras

    def __getitem__(self, name: str) -> Any:
        if name in self.extras:
            return self.extras[name]
        record = self.record
        return record.get(name) if isinstance(record, Mapping) else None


def check_expression(text: Any, names: frozenset[str] | None = None) -> str | None:
    """The problem with ``text`` as an expression, or None when it is acceptable.

    ``names``, when given, are the only names the expression may read (besides function names).
    """
    if not isinstance(text, str) or not text.strip():
        return "an expression must be non-empty text"
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        return f"bad expression syntax: {exc.msg}{where} in {text!r}"
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            return f"{type(node).__name__} is not allowed in an expression ({text!r})"
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                return f"only the listed functions can be called, not methods ({text!r})"
            if node.func.id not in FUNCTIONS:
                known = ", ".join(sorted(FUNCTIONS))
                return f"unknown function {node.func.id!r} in {text!r} (known: {known})"
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name.startswith("__"):
                return f"names starting with '__' are not allowed ({text!r})"
        if names is not None and isinstance(node, ast.Name) and node.id not in names | FUNCTIONS.keys():
            allowed = ", ".join(repr(n) for n in sorted(names))
            return f"unknown name {node.id!r} in {text!r} (this expression sees only {allowed})"
    return None


class Expression:
    """A checked expression, parsed once; ``evaluate(record, extras)`` runs it sandboxed."""

    def __init__(self, text: str, names: frozenset[str] | None = None) -> None:
        problem = check_expression(text, names)
        if problem is not None:
            raise ValueError(problem)
        self.text = text
        self._parsed = _Evaluator.parse(text.strip())
        self._local = threading.local()

    def _evaluator(self) -> _Evaluator:
        evaluator: _Evaluator | None = getattr(self._local, "evaluator", None)
        if evaluator is None:
            evaluator = _Evaluator(functions=dict(FUNCTIONS))
            self._local.evaluator = evaluator
        return evaluator

    def evaluate(self, record: Any, extras: Mapping[str, Any] | None = None) -> Any:
        """The expression's value with the record's fields (and ``extras``) as names."""
        evaluator = self._evaluator()
        evaluator.names = _Scope(record, extras or {})
        return evaluator.eval(self.text, previously_parsed=self._parsed)

    def test(self, record: Any) -> bool:
        """The expression's truth for ``record`` (used by ``filter:`` and ``when:``)."""
        return bool(self.evaluate(record))

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"
