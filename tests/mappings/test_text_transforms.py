"""Text and list transforms: good values, bad values (MappingError), bad options (spec problems)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from hub.errors import MappingError

GOOD = [
    ("strip", "  a b  ", "a b"),
    ({"strip": "-*"}, "--a*-", "a"),
    ("lower", "ÄBC", "äbc"),
    ("upper", "abc", "ABC"),
    ("title", "frankfurt am main", "Frankfurt Am Main"),
    ({"truncate": 3}, "abcdef", "abc"),
    ({"truncate": {"length": 5, "suffix": "…"}}, "abcdefgh", "abcd…"),
    ({"truncate": 10}, "short", "short"),
    ({"replace": {"old": "-", "new": ""}}, "12-34-5", "12345"),
    ({"regex": "(\\d+)"}, "order 42 of 50", "42"),
    ({"regex": {"pattern": "^[A-Z]{2}"}}, "DE123", "DE"),
    ({"regex": {"pattern": "abc"}}, "xyz", None),  # no match: null
    ({"regex": {"pattern": "\\s+", "replace": " "}}, "a   b\t c", "a b c"),
    (
        {"regex": {"pattern": "(?P<cc>[a-z]+)-(\\d+)", "replace": "\\2/\\g<cc>", "flags": ["ignorecase"]}},
        "DE-7",
        "7/DE",
    ),
    ("split", "vip, wholesale,, eu ", ["vip", "wholesale", "eu"]),
    ({"split": ";"}, "a;b", ["a", "b"]),
    ({"split": {"sep": "|", "strip": False, "skip_empty": False}}, " a||b", [" a", "", "b"]),
    ({"join": " "}, ["Ada", None, "Lovelace"], "Ada Lovelace"),
    ({"join": {"sep": "/", "skip_empty": False}}, ["a", "", 3], "a//3"),
    ({"join": ", "}, "single", "single"),
    ("concat", ["DE", 12, True], "DE12true"),
    ("coalesce", [None, "", "x", "y"], "x"),
    ("coalesce", [None, ""], None),
    ("coalesce", "x", "x"),
    ({"default": "n/a"}, None, "n/a"),
    ({"default": "n/a"}, "", "n/a"),
    ({"default": "n/a"}, "set", "set"),
    ({"default": []}, None, []),
    ({"null_if": [False, ""]}, False, None),
    ({"null_if": [False, ""]}, 0, 0),  # typed: 0 is not False
    ({"null_if": "-"}, "x", "x"),
    ({"null_if": "-"}, ["-"], ["-"]),
    ("required", "x", "x"),
    ("text", 12, "12"),
    ("text", Decimal("1.50"), "1.50"),
    ("text", False, "false"),
    ({"expr": "value * 100"}, 3, 300),
    ({"expr": "'none' if value is None else value"}, None, "none"),
    ({"expr": "value.first + ' ' + value.last"}, {"first": "Ada", "last": "L"}, "Ada L"),
]


@pytest.mark.parametrize(("step", "value", "expected"), GOOD)
def test_good_values(apply: Callable[[Any, Any], Any], step: Any, value: Any, expected: Any) -> None:
    assert apply(step, value) == expected


@pytest.mark.parametrize("step", ["strip", "lower", "upper", "title", {"truncate": 2}, "split", {"regex": "x"}])
def test_null_passes_through(apply: Callable[[Any, Any], Any], step: Any) -> None:
    assert apply(step, None) is None


BAD = [
    ("strip", 12, "needs text, got int"),
    ("lower", ["a"], "needs text, got list"),
    ("upper", {"a": 1}, "needs text, got dict"),
    ("title", 1.5, "needs text, got float"),
    ({"strip": "x"}, 1, "needs text, got int"),
    ({"truncate": 2}, 123, "needs text"),
    ({"replace": {"old": "a"}}, 5, "needs text"),
    ({"regex": "a"}, True, "needs text"),
    ("split", 5, "needs text"),
    ({"join": " "}, [{"a": 1}], "cannot write a dict as text"),
    ("required", None, "a value is required"),
    ("required", "", "a value is required"),
    ("text", [1], "cannot write a list as text"),
    ({"expr": "value + 1"}, "a", "expression 'value + 1' failed: can only concatenate str"),
    ({"expr": "'x' * 10000000 if value else 0"}, 1, "long"),
]


@pytest.mark.parametrize(("step", "value", "problem"), BAD)
def test_bad_values_raise_mapping_error(apply: Callable[[Any, Any], Any], step: Any, value: Any, problem: str) -> None:
    name = step if isinstance(step, str) else next(iter(step))
    with pytest.raises(MappingError) as info:
        apply(step, value)
    assert info.value.field == "out"
    assert info.value.transform == name
    assert info.value.value == value
    assert problem in info.value.problem


OPTIONS = [
    ({"strip": 3}, "fields.out.transform[0].strip.chars: must be non-empty text"),
    ({"lower": True}, "fields.out.transform[0].lower: lower takes no options"),
    ({"truncate": 0}, "fields.out.transform[0].truncate.length: must be a whole number of at least 1"),
    ({"truncate": {"lenght": 3}}, "fields.out.transform[0].truncate.lenght: unknown option (did you mean 'length'?)"),
    ({"truncate": {"length": 2, "suffix": "..."}}, "truncate.suffix: must be shorter than length"),
    ({"replace": {"new": "x"}}, "fields.out.transform[0].replace.old: replace needs option 'old'"),
    ({"regex": "(unclosed"}, "fields.out.transform[0].regex.pattern: bad regex '(unclosed'"),
    ({"regex": {"pattern": "(a)", "replace": "\\2"}}, "regex.replace: refers to group 2 but the pattern has 1"),
    ({"regex": {"pattern": "(a)", "replace": "\\g<x>"}}, "regex.replace: refers to unknown group 'x'"),
    ({"regex": {"pattern": "a", "flags": ["nocase"]}}, "regex.flags: unknown flag 'nocase'"),
    ({"split": ""}, "fields.out.transform[0].split.sep: must be non-empty text"),
    ({"join": {"sep": 1}}, "join.sep: must be text"),
    ({"concat": ","}, "concat takes no options"),
    ("default", "default needs a value"),
    ({"null_if": [[1]]}, "null_if takes a value or a list of values"),
    ({"expr": "value +"}, "fields.out.transform[0].expr: bad expression syntax"),
    ({"expr": "open('x')"}, "unknown function 'open'"),
    ({"expr": "record.x"}, "unknown name 'record'"),
    ("strpi", "fields.out.transform[0]: unknown transform 'strpi' (did you mean 'strip'?)"),
    ({"upper": None, "lower": None}, "a step is a transform name or a one-key mapping"),
]


@pytest.mark.parametrize(("step", "message"), OPTIONS)
def test_bad_options_are_spec_problems(option_problems: Callable[[Any], list[str]], step: Any, message: str) -> None:
    problems = option_problems(step)
    assert len(problems) == 1
    assert message in problems[0]
