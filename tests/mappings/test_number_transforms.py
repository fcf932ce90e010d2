"""Number transforms: decimal and integer with locale separators, boolean, format_number."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from hub.errors import MappingError

GOOD = [
    ("decimal", "1234.50", Decimal("1234.50")),
    ("decimal", 12, Decimal(12)),
    ("decimal", 0.1, Decimal("0.1")),
    ("decimal", Decimal("7.1"), Decimal("7.1")),
    ({"decimal": {"thousands": ","}}, "1,234,567.89", Decimal("1234567.89")),
    ({"decimal": {"thousands": ".", "point": ","}}, "1.234,5", Decimal("1234.5")),
    ({"decimal": {"thousands": " ", "point": ","}}, "-12 000,75", Decimal("-12000.75")),
    ({"decimal": {"thousands": "'"}}, "1'000.5", Decimal("1000.5")),
    ({"decimal": {"places": 2}}, "2.345", Decimal("2.34")),  # half-even
    ({"decimal": {"places": 0}}, 2.5, Decimal("2")),
    ("integer", "42", 42),
    ("integer", 7, 7),
    ("integer", 3.0, 3),
    ("integer", Decimal("10.00"), 10),
    ({"integer": {"thousands": ","}}, "1,000,000", 1000000),
    ({"integer": {"thousands": ".", "point": ","}}, "1.000,00", 1000),
    ("boolean", "Yes", True),
    ("boolean", " no ", False),
    ("boolean", 1, True),
    ("boolean", False, False),
    ("boolean", "", False),
    ({"boolean": {"true": ["ja", "j"], "false": ["nein", "n"]}}, "JA", True),
    ("format_number", Decimal("1234.5"), "1234.5"),
    ({"format_number": {"thousands": ".", "point": ",", "places": 2}}, Decimal("1234567.891"), "1.234.567,89"),
    ({"format_number": {"thousands": ","}}, 1234, "1,234"),
    ({"format_number": {"places": 1}}, "2.25", "2.2"),
]


@pytest.mark.parametrize(("step", "value", "expected"), GOOD)
def test_good_values(apply: Callable[[Any, Any], Any], step: Any, value: Any, expected: Any) -> None:
    result = apply(step, value)
    assert result == expected
    assert type(result) is type(expected)


BAD = [
    ("decimal", "1,234.5", "is not a number"),  # thousands separator not declared
    ("decimal", "abc", "is not a number"),
    ("decimal", "", "is not a number"),
    ("decimal", "NaN", "not a finite number"),
    ("decimal", float("inf"), "not a finite number"),
    ("decimal", True, "true/false is not a number"),
    ("decimal", [1], "needs a number or text, got list"),
    ({"decimal": {"thousands": ".", "point": ","}}, "1.5.3,2,1", "is not a number"),
    ({"decimal": {"point": ","}}, "1.5", "is not a number"),  # a '.' where ',' is the point
    ({"decimal": {"places": 2}}, "1e30", "too large"),
    ("integer", "4.5", "is not a whole number"),
    ("integer", 2.5, "is not a whole number"),
    ("integer", "x", "is not a number"),
    ("integer", False, "true/false is not a number"),
    ("boolean", "maybe", "is not one of the true or false values"),
    ("boolean", 2, "is not one of the true or false values"),
    ("boolean", [True], "is not one of the true or false values"),
    ("format_number", "x", "is not a number"),
    ("format_number", True, "true/false is not a number"),
]


@pytest.mark.parametrize(("step", "value", "problem"), BAD)
def test_bad_values_raise_mapping_error(apply: Callable[[Any, Any], Any], step: Any, value: Any, problem: str) -> None:
    with pytest.raises(MappingError) as info:
        apply(step, value)
    assert info.value.transform == (step if isinstance(step, str) else next(iter(step)))
    assert problem in info.value.problem


OPTIONS = [
    ({"decimal": {"thousands": ",", "point": ","}}, "decimal.thousands: must differ from point"),
    ({"decimal": {"thousands": ",,"}}, "decimal.thousands: must be a single character"),
    ({"decimal": {"point": "1"}}, "decimal.point: must not be a digit or a sign"),
    ({"decimal": {"places": -1}}, "decimal.places: must be a whole number of at least 0"),
    ({"decimal": {"thousand": ","}}, "decimal.thousand: unknown option (did you mean 'thousands'?)"),
    ({"decimal": ","}, "decimal: decimal options must be a mapping"),
    ({"integer": {"places": 2}}, "integer.places: integer takes no places"),
    ({"boolean": {"true": ["y"], "false": ["Y"]}}, "boolean.false: ['y'] listed as both true and false"),
    ({"boolean": {"true": []}}, "boolean.true: must be a text or a non-empty list of texts"),
    ({"format_number": {"places": "2"}}, "format_number.places: must be a whole number"),
]


@pytest.mark.parametrize(("step", "message"), OPTIONS)
def test_bad_options_are_spec_problems(option_problems: Callable[[Any], list[str]], step: Any, message: str) -> None:
    problems = option_problems(step)
    assert len(problems) == 1
    assert message in problems[0]
