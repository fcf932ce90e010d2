"""The validated spec as objects: sources, steps, field rules, directions, test cases, the Spec itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.mappings.expressions import Expression
from hub.mappings.lookups import LookupTable
from hub.mappings.paths import Path, format_path, get_path
from hub.mappings.policies import ConflictPolicy, MatchRule
from hub.mappings.steps import Step

SourceKind = Literal["path", "list", "object", "value"]
DirectionName = Literal["inbound", "outbound"]


@dataclass(frozen=True)
class Source:
    """Where a field's value comes from: one path, a list of paths, an object of paths, or a constant."""

    kind: SourceKind
    paths: tuple[tuple[str, Path], ...] = ()
    value: Any = None

    def read(self, record: Mapping[str, Any]) -> Any:
        """The raw value for ``record`` before any transform (used by the interpreter and preview)."""
        if self.kind == "path":
            return get_path(record, self.paths[0][1])
        if self.kind == "list":
            return [get_path(record, path) for _, path in self.paths]
        if self.kind == "object":
            return {label: get_path(record, path) for label, path in self.paths}
        return self.value

    def describe(self) -> str:
        if self.kind == "value":
            return f"value {self.value!r}"
        texts = [format_path(path) for _, path in self.paths]
        return texts[0] if self.kind == "path" else "[" + ", ".join(texts) + "]"


@dataclass(frozen=True)
class FieldRule:
    """How one output field is made: source, optional ``when``, the step chain, ``only_create``."""

    target: str
    target_path: Path
    path: str
    source: Source
    steps: tuple[Step, ...] = ()
    when: Expression | None = None
    only_create: bool = False


@dataclass(frozen=True)
class Direction:
    """The rules of one direction (inbound: source -> hub; outbound: hub -> source)."""

    name: DirectionName
    rules: tuple[FieldRule, ...]
    filter: Expression | None = None
    not_derived: Mapping[str, str] = field(default_factory=dict)

    @property
    def only_create(self) -> frozenset[str]:
        return frozenset(rule.target for rule in self.rules if rule.only_create)

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(rule.target for rule in self.rules)


@dataclass(frozen=True)
class TestCase:
    """An embedded test: an input record and what must come out (fields, a skip, or an error)."""

    name: str
    path: str
    direction: DirectionName
    input: Mapping[str, Any]
    expect: Mapping[str, Any] | None = None
    skipped: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Spec:
    """A loaded, validated mapping spec; ``text`` is its canonical YAML and ``hash`` that text's sha256."""

    name: str
    description: str | None
    connector: str
    stream: str
    module: str
    inbound: Direction
    outbound: Direction
    match: tuple[MatchRule, ...]
    conflict: ConflictPolicy
    tables: Mapping[str, LookupTable]
    tests: tuple[TestCase, ...]
    data: Mapping[str, Any]
    text: str
    hash: str

    def direction(self, name: DirectionName) -> Direction:
        return self.inbound if name == "inbound" else self.outbound
