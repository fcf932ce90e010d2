"""Compiled mappings: results, skips, precise MappingErrors, exposed policies, generated code safety."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal

import pytest

from hub.core.binding import BoundId
from hub.errors import MappingError
from hub.mappings import codegen
from hub.mappings.compiler import CompiledMapping, compile_mapping
from hub.mappings.registry import TransformRegistry
from tests.mappings.samples import CATALOG, EXAMPLE

Make = Callable[..., CompiledMapping]

PARTNER = {
    "name": " Acme GmbH ", "email": " INFO@ACME.DE", "mobile": "", "phone": "138 0013 8000",
    "country_id": {"id": 57, "code": "Germany"}, "credit_limit": "1,234,567.5", "create_date": "01.02.2024 10:00",
    "state": "B", "ref": "P-1", "vat": " de123 ", "is_company": True, "active": True,
}  # fmt: skip


@pytest.fixture
def example(registry: TransformRegistry) -> CompiledMapping:
    return compile_mapping(EXAMPLE, catalog=CATALOG, plugins=registry)


def test_maps_a_record(example: CompiledMapping) -> None:
    assert example(PARTNER) == {
        "name": "Acme GmbH",
        "email": "info@acme.de",
        "phone": "+8613800138000",
        "country": "DE",
        "credit_limit": Decimal("1234567.5"),
        "created_on": dt.datetime(2024, 2, 1, 2, 0, tzinfo=dt.UTC),
        "status": "blocked",
        "erp_ref": "P-1",
        "tax_id": "DE123",
    }


def test_filtered_records_come_back_as_none(example: CompiledMapping) -> None:
    assert example({**PARTNER, "is_company": False}) is None
    assert example({"name": "no flags at all"}) is None
    assert example.apply({**PARTNER, "active": False}).status == "skipped"


def test_a_failing_record_names_field_transform_and_value(example: CompiledMapping) -> None:
    with pytest.raises(MappingError) as info:
        example({**PARTNER, "credit_limit": "12,5 EUR"})
    error = info.value
    assert (error.field, error.transform, error.value) == ("credit_limit", "decimal", "12,5 EUR")
    assert str(error) == "credit_limit: decimal: '12,5 EUR' is not a number (value '12,5 EUR')"


def test_the_failing_step_is_named_within_a_chain(example: CompiledMapping) -> None:
    with pytest.raises(MappingError) as info:
        example({**PARTNER, "email": 42})
    assert (info.value.field, info.value.transform, info.value.value) == ("email", "strip", 42)
    with pytest.raises(MappingError) as info:
        example({**PARTNER, "email": " not-an-address "})
    assert (info.value.transform, info.value.value) == ("email", "not-an-address")


def test_apply_never_raises(example: CompiledMapping) -> None:
    result = example.apply({**PARTNER, "country_id": {"code": "Atlantis"}})
    assert result.status == "failed" and result.values is None
    assert result.error is not None and result.error.field == "country"
    assert example.apply(PARTNER).status == "mapped"


def test_records_that_are_not_objects(example: CompiledMapping) -> None:
    with pytest.raises(MappingError, match="a record must be an object"):
        example(["not", "a", "record"])  # type: ignore[arg-type]
    ordered = OrderedDict(PARTNER)
    assert example(ordered) == example(PARTNER)


def test_exposes_what_the_sync_engine_needs(example: CompiledMapping) -> None:
    assert example.module == "accounts"
    assert (example.connector, example.stream) == ("odoo", "res.partner")
    assert example.only_create == {"erp_ref"}
    assert example.hub_owned == {"email"}
    assert example.conflict.owner("credit_limit") == "source"
    assert example.conflict.owner("name") == "newest"
    assert [(r.kind, r.fields) for r in example.match] == [("binding", ()), ("fields", ("tax_id",)),
                                                           ("fields", ("email",))]  # fmt: skip
    assert example.match[2].normalize("A@B.DE") == "a@b.de"
    assert example.filter == "is_company and active"
    assert example.fields[0] == "name"
    assert "erp_partner_to_account" in repr(example)


def test_when_leaves_the_field_out(make: Make) -> None:
    m = make({"name": {"from": "n"}, "website": {"from": "w", "when": "w and startswith(w, 'http')"}})
    assert m({"n": "a", "w": "https://x"}) == {"name": "a", "website": "https://x"}
    assert m({"n": "a", "w": "x"}) == {"name": "a"}


def test_a_failing_when_is_a_mapping_error(make: Make) -> None:
    m = make({"website": {"from": "w", "when": "len(w) > 3"}})
    with pytest.raises(MappingError) as info:
        m({"w": None})
    assert (info.value.field, info.value.transform) == ("website", "when")


def test_a_failing_filter_is_a_mapping_error(make: Make) -> None:
    m = make({"name": {"from": "n"}}, filter="len(n) > 2")
    assert m({"n": "abc"}) == {"name": "abc"}
    with pytest.raises(MappingError) as info:
        m({"n": 5})
    assert (info.value.field, info.value.transform) == ("filter", "filter")


def test_sources_list_object_and_constant(make: Make) -> None:
    m = make({
        "phone": {"from": ["mobile", "phone"], "transform": ["coalesce"]},
        "name": {"from": {"first": "person.first", "last": "person.last"},
                 "transform": [{"expr": "value.first + ' ' + value.last"}]},
        "account_type": {"value": "customer"},
        "tags": {"value": ["erp"]},
        "legal_name": {"from": "banks[0].holder"},
    })  # fmt: skip
    record = {"mobile": None, "phone": "1", "person": {"first": "Ada", "last": "L"}, "banks": [{"holder": "H"}]}
    first = m(record)
    assert first == {"phone": "1", "name": "Ada L", "account_type": "customer", "tags": ["erp"], "legal_name": "H"}
    assert first is not None
    first["tags"].append("changed")  # a constant is copied, never shared between records
    assert m(record)["tags"] == ["erp"]  # type: ignore[index]


def test_missing_sources_map_to_null(make: Make) -> None:
    m = make({"name": {"from": "n", "transform": ["strip"]}, "city": {"from": "a.b[2].c"}})
    assert m({}) == {"name": None, "city": None}


def test_outbound_is_derived_for_renames_and_lookups(example: CompiledMapping) -> None:
    out = example.outbound({"country": "DE", "status": "inactive", "erp_ref": "P-9", "tax_id": "DE1"})
    assert out == {"country_id": {"code": "DE"}, "state": "I", "ref": "P-9"}
    not_derived = example.outbound.direction.not_derived
    assert not_derived["name"] == "transform 'strip' cannot be reversed"
    assert not_derived["phone"] == "it reads several source fields"
    assert example.outbound.only_create == {"ref"}
    with pytest.raises(MappingError) as info:
        example.outbound({"status": "archived"})
    assert (info.value.field, info.value.transform, info.value.value) == ("state", "lookup", "archived")


def test_explicit_outbound_rules(make: Make) -> None:
    m = make(
        {"name": {"from": "name", "transform": ["strip"]}, "status": {"from": "st", "lookup": {"table": {"A": "on"}}}},
        outbound={
            "filter": "status != 'deleted'",
            "fields": {
                "name": {"from": "name", "transform": ["upper"]},
                "partner.display": {"from": "name", "when": "name"},
                "st": {"from": "status", "lookup": {"table": {"on": "A+"}}},
            },
        },
    )
    assert m.outbound({"name": "Acme", "status": "on"}) == {"name": "ACME", "partner": {"display": "Acme"}, "st": "A+"}
    assert m.outbound({"name": "", "status": "on"}) == {"name": "", "st": "A+"}
    assert m.outbound({"name": "x", "status": "deleted"}) is None
    assert "name" not in m.outbound.direction.not_derived


def test_derive_can_be_switched_off(make: Make) -> None:
    m = make({"name": {"from": "name"}}, outbound={"derive": False})
    assert m.outbound({"name": "x"}) == {}


def test_generated_code_never_contains_spec_text(make: Make) -> None:
    evil = "x'):__import__('os');pwned=\"1\"#"
    m = make({"name": {"from": evil, "transform": [{"default": evil}]}}, tables={"t": {evil: evil}})
    for source in (m.inbound.source_code, m.outbound.source_code):
        assert "pwned" not in source
        assert "'" not in source and '"' not in source
    assert m({evil: None}) == {"name": evil}


def test_check_source_refuses_text_constants() -> None:
    program = codegen.Program("def _make():\n    return 'x'\n", {})
    with pytest.raises(AssertionError, match="constant"):
        codegen.check_source(program)
    with pytest.raises(AssertionError, match="unknown name"):
        codegen.check_source(codegen.Program("def _make():\n    return open\n", {}))
    with pytest.raises(AssertionError, match="attribute"):
        codegen.check_source(codegen.Program("def _make(_rec):\n    return _rec.__dict__\n", {"_rec": 1}))


def test_compiling_happens_once(registry: TransformRegistry) -> None:
    calls: list[object] = []

    def counting(options: object) -> Callable[[object], object]:
        calls.append(options)
        return lambda value: value

    counted = TransformRegistry({**registry, "count": counting}, {})
    m = compile_mapping(
        {"mapping": "t", "source": {"connector": "c", "stream": "s"}, "target": {"module": "accounts"},
         "fields": {"name": {"from": "n", "transform": ["count"]}}},
        plugins=counted,
    )  # fmt: skip
    for i in range(100):
        assert m({"n": i}) == {"name": i}
    assert len(calls) == 1


def test_bound_fields_are_named_for_the_run_and_never_reversed(make: Make) -> None:
    m = make({"parent_id": {"from": "parent", "transform": [{"bound": "partners"}]}, "name": {"from": "n"}})
    assert m.bound_fields == ("parent_id",)
    assert m({"parent": " P-1 ", "n": "Acme"}) == {"parent_id": BoundId("partners", "P-1"), "name": "Acme"}
    assert m({"n": "Acme"}) == {"parent_id": None, "name": "Acme"}
    assert m.outbound.direction.not_derived["parent_id"] == "transform 'bound' cannot be reversed"
    assert make({"name": {"from": "n"}}).bound_fields == ()
