"""Compiling a validated spec, once, into CompiledMapping: plain callables plus what the engine needs.

``compiled(record)`` maps a source record to hub fields (inbound): a dict, None when the ``filter:``
skips the record, or a MappingError naming the field, transform and value (quarantine that record,
not the batch). ``compiled.outbound(hub_record)`` maps the other way. The object also carries the
target module, parsed match rules and conflict policy, the ``only_create`` and hub-owned fields, and
collects ``on_miss: warn`` warnings for ``drain_warnings()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

import pluggy

from hub.errors import MappingError
from hub.mappings import codegen
from hub.mappings.interpreter import BoundRule, RecordTrace, diagnose, test_expression, trace
from hub.mappings.model import Direction, DirectionName, Spec
from hub.mappings.policies import ConflictPolicy, MatchRule
from hub.mappings.registry import TransformRegistry
from hub.mappings.runtime import MappingWarning, WarningSink
from hub.mappings.spec import Catalog, validate


class CompiledDirection:
    """One direction compiled: call it with a record; ``trace`` shows it field by field."""

    def __init__(self, direction: Direction, sink: WarningSink) -> None:
        self.direction = direction
        self.sink = sink
        self.rules = [BoundRule(rule, sink) for rule in direction.rules]
        self.program = codegen.generate(self.rules, has_filter=direction.filter is not None)
        flt = direction.filter
        self._run = codegen.build(
            self.program,
            flt=None if flt is None else (lambda record: test_expression(flt, record, "filter", "filter")),
            fail=self._fail,
        )

    def _fail(self, index: int, record: Mapping[str, Any], exc: BaseException) -> NoReturn:
        raise diagnose(self.rules[index], record, exc) from exc

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """The mapped fields, or None when the filter skips the record; MappingError on failure."""
        return self._run(record)

    def trace(self, record: Any) -> RecordTrace:
        """Every field of ``record`` evaluated on its own, with source values, results and errors."""
        return trace(self.rules, self.direction.filter, record, self.sink)

    @property
    def fields(self) -> tuple[str, ...]:
        return self.direction.targets

    @property
    def only_create(self) -> frozenset[str]:
        return self.direction.only_create

    @property
    def source_code(self) -> str:
        """The generated Python source (for debugging and tests)."""
        return self.program.source


@dataclass(frozen=True)
class MapResult:
    """The outcome for one record: ``status`` mapped / skipped / failed, with values or the error."""

    status: Literal["mapped", "skipped", "failed"]
    values: dict[str, Any] | None = None
    error: MappingError | None = None
    warnings: list[MappingWarning] = field(default_factory=list)


class CompiledMapping:
    """A spec compiled once; see the module docstring."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._sink = WarningSink()
        self.inbound = CompiledDirection(spec.inbound, self._sink)
        self.outbound = CompiledDirection(spec.outbound, self._sink)
        self._call: Callable[[Mapping[str, Any]], dict[str, Any] | None] = self.inbound._run

    def __call__(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """Inbound: the hub fields for a source record, None when filtered out; MappingError on failure."""
        return self._call(record)

    def apply(self, record: Mapping[str, Any], direction: DirectionName = "inbound") -> MapResult:
        """Map one record without raising: the status, values or error, and its warnings."""
        run = self.inbound if direction == "inbound" else self.outbound
        self._sink.drain()
        try:
            values = run(record)
        except MappingError as exc:
            return MapResult("failed", error=exc, warnings=self._sink.drain())
        if values is None:
            return MapResult("skipped", warnings=self._sink.drain())
        return MapResult("mapped", values, warnings=self._sink.drain())

    def drain_warnings(self) -> list[MappingWarning]:
        """The warnings (``on_miss: warn``) collected in this thread since the last drain."""
        return self._sink.drain()

    def changes(
        self, current: Mapping[str, Any], incoming: Mapping[str, Any], *, source_newer: bool = True
    ) -> dict[str, Any]:
        """Fields of ``incoming`` to write over the existing hub record ``current``.

        Applies the conflict policy (hub-owned fields are never overwritten) and skips ``only_create``.
        """
        return self.conflict.changes(current, incoming, source_newer=source_newer, only_create=self.only_create)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def module(self) -> str:
        """The hub module records are written to (``accounts``, ``contacts``, ...)."""
        return self.spec.module

    @property
    def connector(self) -> str:
        return self.spec.connector

    @property
    def stream(self) -> str:
        return self.spec.stream

    @property
    def match(self) -> tuple[MatchRule, ...]:
        return self.spec.match

    @property
    def conflict(self) -> ConflictPolicy:
        return self.spec.conflict

    @property
    def fields(self) -> tuple[str, ...]:
        """The hub fields the inbound direction writes, in spec order."""
        return self.inbound.fields

    @property
    def only_create(self) -> frozenset[str]:
        """Hub fields written only when the hub record is created (skip them on update)."""
        return self.inbound.only_create

    @property
    def hub_owned(self) -> frozenset[str]:
        """Hub fields the source never overwrites on update (conflict owner ``hub``)."""
        return self.conflict.owned_by("hub", self.fields)

    @property
    def bound_fields(self) -> tuple[str, ...]:
        """Hub fields with a ``bound`` step: their inbound value is an external id that the run resolves."""
        return tuple(rule.target for rule in self.spec.inbound.rules if any(s.name == "bound" for s in rule.steps))

    @property
    def filter(self) -> str | None:
        """The inbound ``filter:`` expression text, if any."""
        flt = self.spec.inbound.filter
        return None if flt is None else flt.text

    def __repr__(self) -> str:
        return f"<CompiledMapping {self.name!r} -> {self.module} ({len(self.fields)} fields)>"


def compile_mapping(
    spec: Spec | Mapping[str, Any] | str,
    *,
    catalog: Catalog | None = None,
    tables: Mapping[str, Mapping[Any, Any]] | None = None,
    plugins: pluggy.PluginManager | TransformRegistry | None = None,
) -> CompiledMapping:
    """Validate (unless already a Spec) and compile a mapping, once; reuse the result for every record."""
    return CompiledMapping(validate(spec, catalog=catalog, tables=tables, plugins=plugins))
