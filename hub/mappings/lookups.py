"""Lookup tables: declared in a spec's ``tables:`` or inline, given by the caller, inverted for outbound.

Keys compare as text: ``1``, ``1.0`` and ``"1"`` are the same key; ``true``/``false`` are the texts
``"true"``/``"false"``. With ``ignore_case`` keys compare case-insensitively. A miss is handled by
``on_miss``: ``error`` (the record is quarantined), ``warn`` (a warning is collected and the value
becomes ``default``, or null), ``default`` (the value becomes ``default``) or ``keep`` (the value
passes through unchanged). Null is never looked up: it passes through.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hub.mappings.registry import OptionError, Transform
from hub.mappings.runtime import MappingWarning, WarningSink

ON_MISS = ("error", "warn", "default", "keep")
_MISS: Any = object()


def table_key(value: Any) -> str:
    """The text a scalar is looked up by; ValueError for values that cannot be keys."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
            raise ValueError(f"{value!r} cannot be looked up")
        if value == int(value):
            return str(int(value))
        return repr(value) if isinstance(value, float) else str(value.normalize())
    raise ValueError(f"a {type(value).__name__} cannot be looked up")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool | Decimal)


@dataclass(frozen=True)
class LookupTable:
    """A table of ``key -> value``; ``name`` is None for an inline table."""

    name: str | None
    entries: Mapping[Any, Any]

    @property
    def label(self) -> str:
        return f"table {self.name!r}" if self.name else "the inline table"

    @staticmethod
    def problems(entries: Any) -> list[str]:
        """What is wrong with ``entries`` as a table (empty list: nothing)."""
        if not isinstance(entries, Mapping):
            return [f"a table is a mapping of key: value, got {type(entries).__name__}"]
        if not entries:
            return ["a table needs at least one entry"]
        out = []
        for key, value in entries.items():
            if key is None or not _is_scalar(key):
                out.append(f"key {key!r} is not text, a number or true/false")
            elif not _is_scalar(value):
                out.append(f"value of {key!r} must be text, a number, true/false or null")
        return out

    def keyed(self, ignore_case: bool) -> dict[str, Any]:
        """Entries by normalised key; OptionError when two keys collide with different values."""
        keyed: dict[str, Any] = {}
        for key, value in self.entries.items():
            norm = table_key(key)
            if ignore_case:
                norm = norm.casefold()
            if norm in keyed and keyed[norm] != value:
                raise OptionError("table", f"keys collide as {norm!r} with different values in {self.label}")
            keyed.setdefault(norm, value)
        return keyed

    def inverse(self) -> LookupTable:
        """``value -> key``, for outbound; when several keys share a value the first key listed wins."""
        inverted: dict[Any, Any] = {}
        for key, value in self.entries.items():
            if value is None:
                continue
            inverted.setdefault(value, key)
        name = f"{self.name} (inverted)" if self.name else None
        return LookupTable(name, inverted)


@dataclass(frozen=True)
class LookupRule:
    """A parsed ``lookup:``: which table, what a miss does, and the default."""

    table: LookupTable
    on_miss: str = "error"
    default: Any = None
    ignore_case: bool = False
    keyed: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, table: LookupTable, on_miss: str, default: Any, ignore_case: bool) -> LookupRule:
        return cls(table, on_miss, default, ignore_case, table.keyed(ignore_case))

    def inverted(self) -> LookupRule:
        """The rule for the other direction: misses are errors unless this rule keeps them."""
        on_miss = "keep" if self.on_miss == "keep" else "error"
        return LookupRule.build(self.table.inverse(), on_miss, None, False)

    def bind(self, field_name: str, sink: WarningSink | None) -> Transform:
        """The lookup as a function of one value, reporting ``warn`` misses to ``sink``."""
        keyed = self.keyed
        ignore_case = self.ignore_case
        on_miss = self.on_miss
        fallback = self.default
        mutable = isinstance(fallback, list | dict)
        label = self.table.label

        def miss(value: Any) -> Any:
            if on_miss == "error":
                raise ValueError(f"{value!r} is not in {label}")
            if on_miss == "keep":
                return value
            if on_miss == "warn" and sink is not None:
                sink.add(MappingWarning(field_name, "lookup", value, f"not in {label}; using {fallback!r}"))
            return copy.deepcopy(fallback) if mutable else fallback

        if ignore_case:

            def lookup_folded(value: Any) -> Any:
                key = (value if value.__class__ is str else table_key(value)).casefold()
                found = keyed.get(key, _MISS)
                return miss(value) if found is _MISS else found

            return lookup_folded

        def lookup(value: Any) -> Any:
            found = keyed.get(value if value.__class__ is str else table_key(value), _MISS)
            return miss(value) if found is _MISS else found

        return lookup
