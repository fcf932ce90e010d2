"""Generating a direction's fast path: specialised Python source, compiled once per mapping.

Why this is safe: the generated source is built only from fixed templates and identifiers this
module makes up (``_v3``, ``_f3_1``, ``_p3_0`` ...). Every value that comes from a spec or a caller
(field names, path keys, constants, tables, transform options, expressions) is bound as a parameter
of the generated ``_make`` function from a namespace dict, never spliced into the text. Before the
source is compiled, ``check_source`` parses it and refuses any string or float constant, any name that
is not one of the generated identifiers, and any attribute other than ``get``/``__class__``; the code
runs with empty ``__builtins__``. User text therefore never becomes code: expressions are parsed by
Python's ``ast`` and evaluated by simpleeval (see hub.mappings.expressions), lookups are dict reads.

Why it is fast: one flat function per direction with the step functions as closure variables, no
per-field loop, no per-step dispatch, null checks inline, a dict display for the result, and
``try`` blocks that cost nothing until a field fails; then the interpreter re-runs that one field
step by step to build a precise MappingError.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.mappings.interpreter import BoundRule, as_record
from hub.mappings.paths import path_getter, set_path

_SKIP: Any = type("Skip", (), {"__repr__": lambda self: "<not written>"})()
_ATTRIBUTES = frozenset({"get", "__class__"})


@dataclass(frozen=True)
class Program:
    """Generated source and the values its ``_make`` function binds."""

    source: str
    params: Mapping[str, Any]


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.params: dict[str, Any] = {}

    def bind(self, name: str, value: Any) -> str:
        assert name not in self.params, name
        self.params[name] = value
        return name

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)


def _read(w: _Writer, i: int, bound: BoundRule) -> str:
    """The expression reading rule ``i``'s source."""
    source = bound.rule.source

    def one(j: int, path: tuple[Any, ...]) -> str:
        if len(path) == 1 and isinstance(path[0], str):
            return f"_rec.get({w.bind(f'_p{i}_{j}', path[0])})"
        return f"{w.bind(f'_g{i}_{j}', path_getter(path))}(_rec)"

    if source.kind == "value":
        name = w.bind(f"_c{i}", source.value)
        return f"_copy({name})" if isinstance(source.value, list | dict) else name
    reads = [one(j, path) for j, (_, path) in enumerate(source.paths)]
    if source.kind == "path":
        return reads[0]
    if source.kind == "list":
        return "[" + ", ".join(reads) + "]"
    labels = [w.bind(f"_l{i}_{j}", label) for j, (label, _) in enumerate(source.paths)]
    return "{" + ", ".join(f"{label}: {read}" for label, read in zip(labels, reads, strict=True)) + "}"


def _field(w: _Writer, i: int, bound: BoundRule) -> None:
    var = f"_v{i}"
    indent = 2
    if bound.rule.when is not None:
        w.emit(2, f"{var} = _skip")
    w.emit(2, "try:")
    indent = 3
    if bound.rule.when is not None:
        w.bind(f"_w{i}", bound.when)
        w.emit(3, f"if _w{i}(_rec):")
        indent = 4
    w.emit(indent, f"{var} = {_read(w, i, bound)}")
    for s, step in enumerate(bound.steps):
        fn = w.bind(f"_f{i}_{s}", step.fn)
        if step.handles_null:
            w.emit(indent, f"{var} = {fn}({var})")
        else:
            w.emit(indent, f"if {var} is not None:")
            w.emit(indent + 1, f"{var} = {fn}({var})")
    w.emit(2, "except _exc as _e:")
    w.emit(3, f"_fail({i}, _rec, _e)")


def generate(rules: Sequence[BoundRule], *, has_filter: bool) -> Program:
    """The source of ``_make(**params)``, which returns the direction's ``record -> dict | None``."""
    w = _Writer()
    fixed = {"_dict": dict, "_exc": Exception, "_as_record": as_record, "_skip": _SKIP, "_set": set_path}
    for name, value in {**fixed, "_copy": copy.deepcopy, "_filter": None, "_fail": None}.items():
        w.bind(name, value)
    w.emit(1, "def _run(_rec):")
    w.emit(2, "if _rec.__class__ is not _dict:")
    w.emit(3, "_rec = _as_record(_rec)")
    if has_filter:
        w.emit(2, "if not _filter(_rec):")
        w.emit(3, "return None")
    for i, bound in enumerate(rules):
        _field(w, i, bound)
    flat = [i for i, b in enumerate(rules) if len(b.rule.target_path) == 1 and b.rule.when is None]
    keys = ", ".join(f"{w.bind(f'_k{i}', rules[i].rule.target)}: _v{i}" for i in flat)
    w.emit(2, f"_out = {{{keys}}}")
    for i, bound in enumerate(rules):
        if i in flat:
            continue
        indent = 2
        if bound.rule.when is not None:
            w.emit(2, f"if _v{i} is not _skip:")
            indent = 3
        if len(bound.rule.target_path) == 1:
            w.emit(indent, f"_out[{w.bind(f'_k{i}', bound.rule.target)}] = _v{i}")
        else:
            w.emit(indent, f"_set(_out, {w.bind(f'_t{i}', bound.rule.target_path)}, _v{i})")
    w.emit(2, "return _out")
    w.emit(1, "return _run")
    header = "def _make(" + ", ".join(w.params) + "):"
    return Program("\n".join([header, *w.lines, ""]), w.params)


def check_source(program: Program) -> None:
    """Refuse generated source that holds anything but generated identifiers (see module docstring)."""
    tree = ast.parse(program.source)
    allowed = set(program.params) | {"_make", "_run", "_rec", "_out", "_e"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and not (node.value is None or type(node.value) is int):
            raise AssertionError(f"generated mapping code holds a constant {node.value!r}")
        if isinstance(node, ast.Name) and node.id not in allowed and not _is_value_var(node.id):
            raise AssertionError(f"generated mapping code uses an unknown name {node.id!r}")
        if isinstance(node, ast.arg) and node.arg not in allowed:
            raise AssertionError(f"generated mapping code has an unknown parameter {node.arg!r}")
        if isinstance(node, ast.Attribute) and node.attr not in _ATTRIBUTES:
            raise AssertionError(f"generated mapping code reads attribute {node.attr!r}")


def _is_value_var(name: str) -> bool:
    return name.startswith("_v") and name[2:].isdigit()


def build(program: Program, *, flt: Callable[[Any], bool] | None, fail: Callable[..., Any]) -> Callable[[Any], Any]:
    """Check, compile and instantiate ``program`` with the filter and failure handler bound."""
    check_source(program)
    namespace: dict[str, Any] = {"__builtins__": {}}
    exec(compile(program.source, "<compiled mapping>", "exec"), namespace)  # safe: see the module docstring
    params = dict(program.params, _filter=flt, _fail=fail)
    run: Callable[[Any], Any] = namespace["_make"](**params)
    return run


def is_skip(value: Any) -> bool:
    """True for the marker of a field left out because its ``when`` was false."""
    return value is _SKIP
