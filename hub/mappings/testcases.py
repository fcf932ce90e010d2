"""Running a spec's embedded tests: each test's input mapped and compared field by field.

A test passes when every field in ``expect`` comes out equal (numbers compare by value, so ``1234.5``
matches ``Decimal('1234.50')``; dates and datetimes compare with ISO text, naive meaning UTC), when a
``skipped: true`` record is filtered out, or when an ``error: field`` record fails on that field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from hub.errors import MappingError, ValidationError
from hub.mappings.model import TestCase
from hub.mappings.paths import get_path, has_path, parse_path

if TYPE_CHECKING:
    from hub.mappings.compiler import CompiledMapping

NOT_WRITTEN: Any = type("NotWritten", (), {"__repr__": lambda self: "<not written>"})()


@dataclass(frozen=True)
class FieldDiff:
    """One field that did not come out as expected."""

    field: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.field}: expected {self.expected!r}, got {self.actual!r}"


@dataclass
class TestResult:
    """The outcome of one embedded test."""

    case: TestCase
    passed: bool
    diffs: list[FieldDiff] = field(default_factory=list)
    problem: str | None = None


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def values_match(expected: Any, actual: Any) -> bool:
    """Equality as a spec author means it (see the module docstring)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(actual, Decimal) and isinstance(expected, int | float | str | Decimal):
        try:
            return Decimal(str(expected)) == actual
        except InvalidOperation:
            return False
    if isinstance(actual, dt.datetime):
        if isinstance(expected, str):
            try:
                expected = dt.datetime.fromisoformat(expected)
            except ValueError:
                return False
        return isinstance(expected, dt.datetime) and _utc(expected) == _utc(actual)
    if isinstance(actual, dt.date) and isinstance(expected, str):
        return actual.isoformat() == expected
    if isinstance(actual, list | tuple) and isinstance(expected, list | tuple):
        return len(actual) == len(expected) and all(map(values_match, expected, actual))
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        return actual.keys() == expected.keys() and all(values_match(expected[k], actual[k]) for k in expected)
    return bool(expected == actual)


def run_case(mapping: CompiledMapping, case: TestCase) -> TestResult:
    """Run one test case."""
    direction = mapping.inbound if case.direction == "inbound" else mapping.outbound
    try:
        output = direction(case.input)
    except MappingError as exc:
        if case.error is not None and exc.field == case.error:
            return TestResult(case, True)
        return TestResult(case, False, problem=f"failed: {exc}")
    mapping.drain_warnings()
    if case.skipped:
        return TestResult(case, output is None, problem=None if output is None else "expected a skip, it was mapped")
    if output is None:
        return TestResult(case, False, problem="skipped by the filter")
    if case.error is not None:
        return TestResult(case, False, problem=f"expected an error on {case.error!r}, it was mapped")
    diffs = []
    for name, expected in (case.expect or {}).items():
        path = parse_path(name) if case.direction == "outbound" else (name,)
        actual = get_path(output, path) if has_path(output, path) else NOT_WRITTEN
        if actual is NOT_WRITTEN or not values_match(expected, actual):
            diffs.append(FieldDiff(name, expected, actual))
    return TestResult(case, not diffs, diffs)


def run_tests(mapping: CompiledMapping) -> list[TestResult]:
    """Run every embedded test of the mapping's spec."""
    return [run_case(mapping, case) for case in mapping.spec.tests]


class TestsFailed(ValidationError):
    """A spec whose embedded tests do not all pass (``results`` has every test's outcome)."""

    __test__ = False  # not a pytest test class

    def __init__(self, name: str, results: list[TestResult]) -> None:
        self.results = results
        failed = [r for r in results if not r.passed]
        detail = "; ".join(
            f"{r.case.name}: {r.problem or ', '.join(str(d) for d in r.diffs)}" for r in failed
        )
        super().__init__("tests", f"{name}: {len(failed)} of {len(results)} embedded tests fail: {detail}")


def check_tests(mapping: CompiledMapping) -> list[TestResult]:
    """Run the embedded tests; TestsFailed when one fails."""
    results = run_tests(mapping)
    if any(not r.passed for r in results):
        raise TestsFailed(mapping.name, results)
    return results


def render_results(results: list[TestResult]) -> str:
    """A report a person reads: PASS/FAIL per test, a line per differing field, then a summary."""
    lines = []
    for result in results:
        label = f"{result.case.name} ({result.case.path}, {result.case.direction})"
        lines.append(f"{'PASS' if result.passed else 'FAIL'}  {label}")
        if result.problem:
            lines.append(f"        {result.problem}")
        lines.extend(f"        {diff}" for diff in result.diffs)
    failed = sum(not r.passed for r in results)
    lines.append(f"{len(results)} tests: {len(results) - failed} passed, {failed} failed")
    return "\n".join(lines)
