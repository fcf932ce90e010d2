"""Lookup tables: named and inline, caller-provided, misses, key normalisation, inversion."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from hub.errors import MappingError
from hub.mappings.compiler import CompiledMapping, compile_mapping
from hub.mappings.lookups import LookupTable, table_key
from hub.mappings.problems import SpecError
from hub.mappings.registry import TransformRegistry

Make = Callable[..., CompiledMapping]
STATES = {"A": "active", "I": "inactive", "B": "blocked"}


def test_named_table(make: Make) -> None:
    m = make({"status": {"from": "state", "lookup": "states"}}, tables={"states": STATES})
    assert m({"state": "I"}) == {"status": "inactive"}


def test_inline_table_and_lookup_as_a_step(make: Make) -> None:
    m = make({"status": {"from": "state", "transform": ["strip", "upper", {"lookup": {"table": STATES}}]}})
    assert m({"state": " b "}) == {"status": "blocked"}


def test_miss_is_an_error_by_default(make: Make) -> None:
    m = make({"status": {"from": "state", "lookup": {"table": STATES}}})
    with pytest.raises(MappingError) as info:
        m({"state": "X"})
    assert (info.value.field, info.value.transform, info.value.value) == ("status", "lookup", "X")
    assert info.value.problem == "'X' is not in the inline table"


def test_miss_with_default(make: Make) -> None:
    m = make({"status": {"from": "state", "lookup": {"table": STATES, "default": "active"}}})
    assert m({"state": "X"}) == {"status": "active"}
    assert m.drain_warnings() == []


def test_miss_with_warn_collects_a_warning_and_continues(make: Make) -> None:
    m = make({"status": {"from": "state", "lookup": {"table": "states", "on_miss": "warn", "default": "x"}}},
             tables={"states": STATES})  # fmt: skip
    assert m({"state": "Z"}) == {"status": "x"}
    assert m({"state": "A"}) == {"status": "active"}
    warnings = m.drain_warnings()
    assert [(w.field, w.transform, w.value) for w in warnings] == [("status", "lookup", "Z")]
    assert "not in table 'states'; using 'x'" in str(warnings[0])
    assert m.drain_warnings() == []


def test_miss_with_keep(make: Make) -> None:
    m = make({"status": {"from": "state", "lookup": {"table": STATES, "on_miss": "keep"}}})
    assert m({"state": "Z"}) == {"status": "Z"}


def test_null_is_never_looked_up(make: Make) -> None:
    m = make({"status": {"from": "state", "lookup": {"table": STATES}}})
    assert m({}) == {"status": None}


def test_ignore_case(make: Make) -> None:
    m = make({"country": {"from": "c", "lookup": {"table": {"Germany": "DE"}, "ignore_case": True}}})
    assert m({"c": "GERMANY"}) == {"country": "DE"}


def test_keys_compare_as_text(make: Make) -> None:
    m = make({"status": {"from": "s", "lookup": {"table": {1: "one", "2": "two", "true": "yes", 1.5: "x"}}}})
    assert m({"s": "1"}) == {"status": "one"}
    assert m({"s": 1.0}) == {"status": "one"}
    assert m({"s": 2}) == {"status": "two"}
    assert m({"s": Decimal("2.0")}) == {"status": "two"}
    assert m({"s": True}) == {"status": "yes"}
    assert m({"s": 1.5}) == {"status": "x"}
    with pytest.raises(MappingError, match="a list cannot be looked up"):
        m({"s": [1]})


def test_table_key_refuses_non_finite_numbers() -> None:
    with pytest.raises(ValueError, match="cannot be looked up"):
        table_key(float("nan"))


def test_inverse_first_key_wins() -> None:
    table = LookupTable("states", {"A": "active", "X": "active", "I": "inactive", "N": None})
    assert table.inverse().entries == {"active": "A", "inactive": "I"}


def test_caller_tables_and_spec_tables_shadow_them(registry: TransformRegistry) -> None:
    spec = {
        "mapping": "t", "source": {"connector": "c", "stream": "s"}, "target": {"module": "accounts"},
        "tables": {"states": {"A": "from-spec"}},
        "fields": {"status": {"from": "s", "lookup": "states"}, "country": {"from": "c", "lookup": "countries"}},
    }  # fmt: skip
    m = compile_mapping(spec, tables={"states": {"A": "from-caller"}, "countries": {"DE": "DE"}}, plugins=registry)
    assert m({"s": "A", "c": "DE"}) == {"status": "from-spec", "country": "DE"}


@pytest.mark.parametrize(
    ("lookup", "message"),
    [
        ({"table": "countrys"}, "fields.x.lookup.table: unknown table 'countrys' (did you mean 'countries'?)"),
        ("nope", "fields.x.lookup.table: unknown table 'nope'"),
        ({"table": {}}, "fields.x.lookup.table: a table needs at least one entry"),
        ({"table": {"a": [1]}}, "fields.x.lookup.table: value of 'a' must be text, a number, true/false or null"),
        ({"table": ["a"]}, "fields.x.lookup.table: a table is a mapping of key: value, got list"),
        ({"on_miss": "error"}, "fields.x.lookup.table: missing: give a table name or an inline table"),
        ({"table": "countries", "on_miss": "ignore"}, "fields.x.lookup.on_miss: must be one of error, warn, default"),
        (
            {"table": "countries", "on_miss": "default"},
            "fields.x.lookup.on_miss: on_miss 'default' needs a 'default' value",
        ),
        ({"table": "countries", "ignore_case": "yes"}, "fields.x.lookup.ignore_case: must be true or false"),
        ({"table": "countries", "on_mis": "warn"}, "fields.x.lookup.on_mis: unknown key (did you mean 'on_miss'?)"),
        (
            {"table": {"a": 1, "A": 2}, "ignore_case": True},
            "fields.x.lookup.table: keys collide as 'a' with different values",
        ),
        (5, "fields.x.lookup: lookup is a table name or a mapping with 'table'"),
    ],
)
def test_lookup_problems(registry: TransformRegistry, lookup: Any, message: str) -> None:
    spec = {
        "mapping": "t", "source": {"connector": "c", "stream": "s"}, "target": {"module": "accounts"},
        "tables": {"countries": {"DE": "DE"}}, "fields": {"x": {"from": "c", "lookup": lookup}},
    }  # fmt: skip
    with pytest.raises(SpecError) as info:
        compile_mapping(spec, plugins=registry)
    assert len(info.value.problems) == 1
    assert str(info.value.problems[0]).startswith(message)


def test_declared_table_problems(registry: TransformRegistry) -> None:
    spec = {
        "mapping": "t", "source": {"connector": "c", "stream": "s"}, "target": {"module": "accounts"},
        "tables": {"bad": {"k": {"nested": 1}}}, "fields": {"x": {"from": "c"}},
    }  # fmt: skip
    with pytest.raises(SpecError, match=r"tables\.bad: value of 'k' must be text"):
        compile_mapping(spec, plugins=registry)
