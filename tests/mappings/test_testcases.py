"""Embedded tests: passing, failing with a per-field diff, skips and expected errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from hub.mappings.compiler import compile_mapping
from hub.mappings.registry import TransformRegistry
from hub.mappings.testcases import render_results, run_tests, values_match
from tests.mappings.samples import EXAMPLE

SPEC: dict[str, Any] = {
    "mapping": "t",
    "source": {"connector": "c", "stream": "s"},
    "target": {"module": "accounts"},
    "filter": "active",
    "fields": {
        "name": {"from": "name", "transform": ["strip"]},
        "email": {"from": "email", "transform": ["strip", "lower"]},
        "credit_limit": {"from": "limit", "transform": ["decimal"]},
        "status": {"from": "state", "lookup": {"table": {"A": "active"}}},
    },
}


def test_the_example_tests_pass(registry: TransformRegistry) -> None:
    results = run_tests(compile_mapping(EXAMPLE, plugins=registry))
    assert [r.passed for r in results] == [True, True]


def test_failures_carry_a_per_field_diff(registry: TransformRegistry) -> None:
    spec = {**SPEC, "tests": [
        {"name": "ok", "input": {"active": True, "name": " A ", "limit": "12.50"},
         "expect": {"name": "A", "credit_limit": 12.5}},
        {"name": "wrong", "input": {"active": True, "name": " A ", "email": "X@Y"},
         "expect": {"name": "a", "email": "x@y", "status": None}},
        {"name": "not skipped", "input": {"active": True}, "skipped": True},
        {"name": "skipped", "input": {"active": False}, "expect": {"name": None}},
        {"name": "expected error", "input": {"active": True, "state": "Z"}, "error": "status"},
        {"name": "other error", "input": {"active": True, "limit": "x"}, "error": "status"},
        {"name": "no error", "input": {"active": True}, "error": "status"},
    ]}  # fmt: skip
    results = run_tests(compile_mapping(spec, plugins=registry))
    assert [r.passed for r in results] == [True, False, False, False, True, False, False]
    assert [str(d) for d in results[1].diffs] == ["name: expected 'a', got 'A'"]
    assert results[2].problem == "expected a skip, it was mapped"
    assert results[3].problem == "skipped by the filter"
    assert results[5].problem is not None and "credit_limit: decimal" in results[5].problem
    text = render_results(results)
    assert "FAIL  wrong (tests[1], inbound)\n        name: expected 'a', got 'A'" in text
    assert text.endswith("7 tests: 2 passed, 5 failed")


def test_outbound_tests(registry: TransformRegistry) -> None:
    spec = {**SPEC, "tests": [
        {"direction": "outbound", "input": {"status": "active", "name": "n"}, "expect": {"state": "A"}},
        {"direction": "outbound", "input": {"status": "gone"}, "error": "state"},
    ]}  # fmt: skip
    assert all(r.passed for r in run_tests(compile_mapping(spec, plugins=registry)))


def test_a_field_left_out_by_when_shows_as_not_written(registry: TransformRegistry) -> None:
    spec = {**SPEC, "fields": {"name": {"from": "name", "when": "name"}},
            "tests": [{"input": {"active": True}, "expect": {"name": "x"}}]}  # fmt: skip
    (result,) = run_tests(compile_mapping(spec, plugins=registry))
    assert str(result.diffs[0]) == "name: expected 'x', got <not written>"


@pytest.mark.parametrize(
    ("expected", "actual", "equal"),
    [
        (12.5, Decimal("12.50"), True),
        ("12.5", Decimal("12.5"), True),
        (12, Decimal("12.1"), False),
        ("x", Decimal("1"), False),
        (1, True, False),
        (True, True, True),
        ("2024-02-01T02:00:00+00:00", dt.datetime(2024, 2, 1, 2, tzinfo=dt.UTC), True),
        ("2024-02-01T10:00:00+08:00", dt.datetime(2024, 2, 1, 2, tzinfo=dt.UTC), True),
        (dt.datetime(2024, 2, 1, 2), dt.datetime(2024, 2, 1, 2, tzinfo=dt.UTC), True),
        ("not a date", dt.datetime(2024, 2, 1, 2, tzinfo=dt.UTC), False),
        ("2024-02-01", dt.date(2024, 2, 1), True),
        (dt.date(2024, 2, 1), dt.date(2024, 2, 1), True),
        (["a", 1.5], ["a", Decimal("1.5")], True),
        (["a"], ["a", "b"], False),
        ({"code": "DE"}, {"code": "DE"}, True),
        (None, None, True),
    ],
)
def test_values_match(expected: Any, actual: Any, equal: bool) -> None:
    assert values_match(expected, actual) is equal
