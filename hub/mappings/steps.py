"""Transform chains: parsing ``transform:`` and ``lookup:`` into steps, checking names and options.

A step is written as a name (``strip``) or a one-key mapping ``{name: options}``. ``transform:`` is
a list of steps (a single step may stand alone). ``lookup`` is a step like the others, and a field's
``lookup:`` key is the same step appended after its ``transform:`` chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.mappings.lookups import ON_MISS, LookupRule, LookupTable
from hub.mappings.problems import Problems, did_you_mean, join_path
from hub.mappings.registry import OptionError, Transform, TransformRegistry, wants_null
from hub.mappings.runtime import WarningSink

_LOOKUP_KEYS = ("table", "on_miss", "default", "ignore_case")


@dataclass(frozen=True)
class Step:
    """One transform of a chain: a plugin/built-in function, or a lookup bound at compile time."""

    name: str
    path: str
    fn: Transform | None = None
    lookup: LookupRule | None = None
    handles_null: bool = False

    def bind(self, field_name: str, sink: WarningSink | None) -> Transform:
        """The function to run for this step (lookups report ``warn`` misses to ``sink``)."""
        if self.lookup is not None:
            return self.lookup.bind(field_name, sink)
        assert self.fn is not None
        return self.fn


def run_chain(steps: Sequence[tuple[Transform, bool]], value: Any) -> Any:
    """Run ``(function, handles_null)`` pairs over ``value``; null skips steps that do not want it."""
    for fn, nullable in steps:
        if value is not None or nullable:
            value = fn(value)
    return value


class StepBuilder:
    """Builds steps against a transform registry and the named tables, reporting into ``problems``."""

    def __init__(self, registry: TransformRegistry, tables: Mapping[str, LookupTable], problems: Problems):
        self.registry = registry
        self.tables = tables
        self.problems = problems

    def chain(self, raw: Any, path: str) -> list[Step]:
        """The steps of a ``transform:`` value (a list of steps, or a single step)."""
        items = raw if isinstance(raw, list) else [raw]
        steps = []
        for index, item in enumerate(items):
            step_path = join_path(path, index) if isinstance(raw, list) else path
            step = self.step(item, step_path)
            if step is not None:
                steps.append(step)
        return steps

    def step(self, raw: Any, path: str) -> Step | None:
        """One step written as ``name`` or ``{name: options}``."""
        if isinstance(raw, str):
            name, options, options_path = raw, None, path
        elif isinstance(raw, Mapping) and len(raw) == 1:
            name, options = next(iter(raw.items()))
            options_path = join_path(path, str(name))
        else:
            self.problems.add(path, "a step is a transform name or a one-key mapping {name: options}")
            return None
        if name == "lookup":
            return self.lookup(options, options_path)
        factory = self.registry.get(name) if isinstance(name, str) else None
        if factory is None:
            known = [*self.registry, "lookup"]
            self.problems.add(path, f"unknown transform {name!r}{did_you_mean(str(name), known)}")
            return None
        try:
            fn = factory(options)
        except OptionError as exc:
            self.problems.add(join_path(options_path, exc.key) if exc.key else options_path, str(exc))
            return None
        except Exception as exc:  # a plugin factory's own error is still a spec problem, not a crash
            self.problems.add(options_path, f"bad options for {name}: {exc}")
            return None
        if not callable(fn):
            self.problems.add(path, f"transform {name!r} did not give a function (plugin error)")
            return None
        return Step(name, path, fn=fn, handles_null=wants_null(fn))

    def lookup(self, raw: Any, path: str) -> Step | None:
        """A ``lookup:`` given as a table name or ``{table, on_miss, default, ignore_case}``."""
        spec: Mapping[str, Any] = {"table": raw} if isinstance(raw, str) else raw
        if not isinstance(spec, Mapping):
            self.problems.add(path, "lookup is a table name or a mapping with 'table'")
            return None
        ok = True
        for key in spec:
            if key not in _LOOKUP_KEYS:
                self.problems.add(join_path(path, str(key)), f"unknown key{did_you_mean(str(key), _LOOKUP_KEYS)}")
                ok = False
        table = self._table(spec.get("table"), join_path(path, "table"))
        on_miss = spec.get("on_miss", "default" if "default" in spec else "error")
        if on_miss not in ON_MISS:
            hint = did_you_mean(str(on_miss), ON_MISS)
            self.problems.add(join_path(path, "on_miss"), f"must be one of {', '.join(ON_MISS)}{hint}")
            ok = False
        elif on_miss == "default" and "default" not in spec:
            self.problems.add(join_path(path, "on_miss"), "on_miss 'default' needs a 'default' value")
            ok = False
        ignore_case = spec.get("ignore_case", False)
        if not isinstance(ignore_case, bool):
            self.problems.add(join_path(path, "ignore_case"), "must be true or false")
            ok = False
        if table is None or not ok:
            return None
        try:
            rule = LookupRule.build(table, on_miss, spec.get("default"), ignore_case)
        except OptionError as exc:
            self.problems.add(join_path(path, exc.key or ""), str(exc))
            return None
        return Step("lookup", path, lookup=rule)

    def _table(self, raw: Any, path: str) -> LookupTable | None:
        if raw is None:
            self.problems.add(path, "missing: give a table name or an inline table")
            return None
        if isinstance(raw, str):
            table = self.tables.get(raw)
            if table is None:
                self.problems.add(path, f"unknown table {raw!r}{did_you_mean(raw, self.tables)}")
            return table
        problems = LookupTable.problems(raw)
        for problem in problems:
            self.problems.add(path, problem)
        return None if problems else LookupTable(None, dict(raw))
