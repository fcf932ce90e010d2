"""Properties over generated data: only MappingError escapes; the fast path agrees with the
interpreter; hub-owned fields survive a round trip out and back in."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.errors import MappingError
from hub.mappings.compiler import CompiledMapping, compile_mapping
from hub.mappings.registry import TransformRegistry
from hub.plugins import plugin_manager

REGISTRY = TransformRegistry.from_plugins(plugin_manager(entry_points=False))

KITCHEN_SINK = {
    "mapping": "kitchen_sink",
    "source": {"connector": "c", "stream": "s"},
    "target": {"module": "accounts"},
    "filter": "not skip",
    "tables": {"states": {"A": "active", "I": "inactive", 1: "one"}},
    "fields": {
        "a": {"from": "name", "transform": ["strip", "lower", "upper", "title", {"truncate": 5}]},
        "b": {"from": "text", "transform": [{"replace": {"old": "a", "new": "b"}}, {"regex": "(\\w+)"}]},
        "c": {"from": "text", "transform": [{"regex": {"pattern": "\\d", "replace": "#"}}, "split", {"join": "-"}]},
        "d": {"from": ["x", "y", "text"], "transform": ["coalesce", {"default": "none"}, "text", "concat"]},
        "e": {"from": "num", "transform": [{"null_if": [False, ""]}, {"decimal": {"thousands": ","}}]},
        "f": {"from": "num", "transform": [{"integer": {"thousands": ".", "point": ","}}]},
        "g": {"from": "flag", "transform": ["boolean"]},
        "h": {"from": "when", "transform": [{"date": ["%d.%m.%Y", "iso"]}, {"format_date": "%Y"}]},
        "i": {
            "from": "when",
            "transform": [
                {"datetime": {"formats": ["iso", "epoch"], "tz": "Asia/Shanghai"}},
                {"format_datetime": "iso"},
            ],
        },
        "j": {"from": "phone", "transform": [{"phone": {"region": "DE"}}]},
        "k": {"from": "email", "transform": ["email"]},
        "l": {"from": "cur", "transform": ["currency"]},
        "m": {"from": "cur", "transform": ["country"]},
        "n": {"from": "state", "lookup": {"table": "states", "on_miss": "warn"}},
        "o": {"from": "state", "lookup": {"table": {"A": "x"}, "ignore_case": True}},
        "p": {"from": "nested.list[0].value", "transform": [{"expr": "value * 2 if value else 0"}]},
        "q": {"from": {"first": "name", "second": "x"}, "transform": [{"expr": "value.first + value.second"}]},
        "r": {"from": "num", "when": "num > 3", "transform": [{"format_number": {"thousands": ",", "places": 2}}]},
        "s": {"from": "name", "transform": ["required"]},
    },
}

NAMES = ["name", "text", "x", "y", "num", "flag", "when", "phone", "email", "cur", "state", "nested", "skip"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["A", "I", "1", "DE", "eur", "030 1234567", "a@b.de", "01.02.2024", "2024-02-01T10:00", ""])
    | st.decimals(allow_nan=True, allow_infinity=True, places=3)
)
json_like = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
records = st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=6), json_like, max_size=12)
anything = records | json_like

SINK: CompiledMapping = compile_mapping(KITCHEN_SINK, plugins=REGISTRY)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anything)
def test_only_mapping_errors_escape(record: Any) -> None:
    try:
        result = SINK(record)
    except MappingError:
        return
    assert result is None or set(result) <= set(KITCHEN_SINK["fields"])  # type: ignore[arg-type]
    SINK.drain_warnings()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_compiled_code_agrees_with_the_interpreter(record: dict[str, Any]) -> None:
    traced = SINK.inbound.trace(record)
    try:
        result = SINK(record)
    except MappingError as exc:
        first = traced.error or next(f.error for f in traced.fields if f.error is not None)
        assert (exc.field, exc.transform, exc.problem) == (first.field, first.transform, first.problem)
        return
    finally:
        SINK.drain_warnings()
    if result is None:
        assert traced.skipped
    else:
        assert not traced.failed
        assert result == traced.values


ROUND_TRIP = compile_mapping(
    {
        "mapping": "round_trip",
        "source": {"connector": "c", "stream": "s"},
        "target": {"module": "accounts"},
        "tables": {"states": {"A": "active", "I": "inactive", "B": "blocked"}},
        "fields": {
            "email": {"from": "mail", "transform": ["strip", "lower"]},
            "phone": {"from": "tel"},
            "name": {"from": "partner_name"},
            "status": {"from": "state", "lookup": "states"},
            "industry": {"from": "sector", "transform": [{"default": "unknown"}]},
            "tax_id": {"from": "vat", "only_create": True},
        },
        "outbound": {"fields": {"mail": {"from": "email"}, "sector": {"from": "industry"}}},
        "conflict": {"default": "newest", "fields": {"email": "hub", "phone": "hub", "name": "source"}},
    },
    plugins=REGISTRY,
)
hub_text = st.none() | st.text(max_size=12)
hub_records = st.fixed_dictionaries(
    {
        "email": hub_text,
        "phone": hub_text,
        "name": hub_text,
        "status": st.sampled_from(["active", "inactive", "blocked"]) | st.none(),
        "industry": hub_text,
        "tax_id": hub_text,
    }
)


@settings(max_examples=300, deadline=None)
@given(hub_records, st.booleans())
def test_out_and_back_in_leaves_hub_owned_fields_unchanged(hub: dict[str, Any], source_newer: bool) -> None:
    assert ROUND_TRIP.hub_owned == {"email", "phone"}
    outgoing = ROUND_TRIP.outbound(hub)
    assert outgoing is not None
    incoming = ROUND_TRIP(outgoing)
    assert incoming is not None
    updated = {**hub, **ROUND_TRIP.changes(hub, incoming, source_newer=source_newer)}
    for name in ROUND_TRIP.hub_owned | ROUND_TRIP.only_create:
        assert updated[name] == hub[name]
    # plain renames and lookups come back exactly
    assert incoming["name"] == hub["name"]
    assert incoming["status"] == hub["status"]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["A", "B", "C", 1, 2]), st.sampled_from(["x", "y", "z", 7]), min_size=1))
def test_derived_lookup_inverts_on_the_table_values(table: dict[Any, Any]) -> None:
    m = compile_mapping(
        {"mapping": "t", "source": {"connector": "c", "stream": "s"}, "target": {"module": "accounts"},
         "fields": {"status": {"from": "code", "lookup": {"table": table}}}},
        plugins=REGISTRY,
    )  # fmt: skip
    for value in set(table.values()):
        back = m.outbound({"status": value})
        assert back is not None
        assert table[back["code"]] == value
        assert m(back) == {"status": value}
