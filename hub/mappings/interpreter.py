"""The reference evaluator of field rules, step by step: the compiled fast path's twin.

Compiled mappings run generated code and only fall back here when a field fails, to name the exact
step, transform and value in the MappingError. The preview and the test runner use it to show every
field's source value, result and error. A property test keeps the two paths in agreement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.errors import MappingError
from hub.mappings.expressions import Expression
from hub.mappings.model import FieldRule
from hub.mappings.registry import Transform
from hub.mappings.runtime import MappingWarning, WarningSink, describe_failure, failure


@dataclass(frozen=True)
class BoundStep:
    name: str
    fn: Transform
    handles_null: bool


class BoundRule:
    """A field rule with its step functions bound (lookups bound to a warning sink)."""

    def __init__(self, rule: FieldRule, sink: WarningSink | None) -> None:
        self.rule = rule
        self.steps = tuple(BoundStep(s.name, s.bind(rule.target, sink), s.handles_null) for s in rule.steps)

    def when(self, record: Mapping[str, Any]) -> bool:
        """The rule's ``when:`` for ``record`` (True without one); MappingError if it fails."""
        if self.rule.when is None:
            return True
        return test_expression(self.rule.when, record, self.rule.target, "when")

    def run(self, record: Mapping[str, Any]) -> Any:
        """The field's value (``when`` not considered); MappingError naming the failing step."""
        value = self.rule.source.read(record)
        return self.transform(value)

    def transform(self, value: Any) -> Any:
        for step in self.steps:
            if value is None and not step.handles_null:
                continue
            try:
                value = step.fn(value)
            except Exception as exc:
                raise failure(self.rule.target, step.name, step.fn, value, exc) from exc
        return value


@dataclass
class FieldOutcome:
    """One field of one record: what was read, whether the rule applied, the result or the error."""

    field: str
    source: Any
    written: bool
    value: Any = None
    error: MappingError | None = None


@dataclass
class RecordTrace:
    """One record through one direction, field by field (``error`` is a record-level failure)."""

    skipped: bool = False
    error: MappingError | None = None
    fields: list[FieldOutcome] = field(default_factory=list)
    warnings: list[MappingWarning] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.error is not None or any(f.error is not None for f in self.fields)

    @property
    def values(self) -> dict[str, Any]:
        return {f.field: f.value for f in self.fields if f.written and f.error is None}


def test_expression(expression: Expression, record: Any, field_name: str, transform: str) -> bool:
    """``expression`` as a condition; a failure becomes a MappingError on ``field_name``."""
    try:
        return expression.test(record)
    except Exception as exc:
        problem = f"expression {expression.text!r} failed: {type(exc).__name__}: {exc}"
        raise MappingError(field_name, transform, None, problem) from exc


def as_record(record: Any) -> dict[str, Any]:
    """``record`` as a dict; a MappingError when it is not an object at all."""
    if isinstance(record, dict):
        return record
    if isinstance(record, Mapping):
        return dict(record)
    raise MappingError("<record>", "from", type(record).__name__, "a record must be an object (mapping)")


def outcome(bound: BoundRule, record: Mapping[str, Any]) -> FieldOutcome:
    """The traced evaluation of one rule on one record; never raises."""
    target = bound.rule.target
    try:
        source = bound.rule.source.read(record)
    except Exception as exc:  # a source read is lenient, but a broken Mapping may still raise
        return FieldOutcome(target, None, False, error=failure(target, "from", None, None, exc))
    try:
        if not bound.when(record):
            return FieldOutcome(target, source, False)
        return FieldOutcome(target, source, True, bound.transform(source))
    except MappingError as exc:
        return FieldOutcome(target, source, True, error=exc)


def trace(rules: list[BoundRule], flt: Expression | None, record: Any, sink: WarningSink | None) -> RecordTrace:
    """Every field of ``record`` evaluated independently (all errors shown, not just the first)."""
    result = RecordTrace()
    try:
        data = as_record(record)
        if flt is not None and not test_expression(flt, data, "filter", "filter"):
            result.skipped = True
            return result
    except MappingError as exc:
        result.error = exc
        return result
    result.fields = [outcome(bound, data) for bound in rules]
    if sink is not None:
        result.warnings = sink.drain()
    return result


def diagnose(bound: BoundRule, record: Mapping[str, Any], original: BaseException) -> MappingError:
    """The MappingError for a field whose compiled code raised ``original``."""
    try:
        if bound.when(record):
            bound.run(record)
    except MappingError as exc:
        return exc
    # The step-by-step run succeeded where the compiled one failed (a transform that is not pure).
    return MappingError(bound.rule.target, "?", None, describe_failure(None, None, original))
