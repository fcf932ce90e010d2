"""Loading and validating specs: every problem reported at once, each with its path in the spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.mappings.problems import SpecError
from hub.mappings.registry import TransformRegistry
from hub.mappings.spec import load, parse_text, validate
from tests.mappings.samples import CATALOG, EXAMPLE


def problems_of(spec: Any, registry: TransformRegistry, **kwargs: Any) -> list[str]:
    with pytest.raises(SpecError) as info:
        validate(spec, plugins=registry, **kwargs)
    return [str(p) for p in info.value.problems]


def test_the_example_loads(registry: TransformRegistry) -> None:
    spec = validate(EXAMPLE, catalog=CATALOG, plugins=registry)
    assert spec.name == "erp_partner_to_account"
    assert (spec.connector, spec.stream, spec.module) == ("odoo", "res.partner", "accounts")
    assert spec.inbound.targets[:3] == ("name", "email", "phone")
    assert spec.inbound.only_create == {"erp_ref"}
    assert [t.name for t in spec.tests] == ["a company", "a person is skipped"]
    assert len(spec.hash) == 64


def test_json_and_yaml_give_the_same_spec(registry: TransformRegistry, example: dict[str, Any]) -> None:
    from_yaml = validate(EXAMPLE, plugins=registry)
    from_json = validate(json.dumps(example), plugins=registry)
    assert from_json.text == from_yaml.text
    assert from_json.hash == from_yaml.hash


def test_load_reads_a_file(tmp_path: Path, registry: TransformRegistry) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(EXAMPLE, encoding="utf-8")
    assert load(path, plugins=registry).name == "erp_partner_to_account"


def test_all_problems_are_reported_together(registry: TransformRegistry, example: dict[str, Any]) -> None:
    example["fields"]["country"]["lookup"]["table"] = "countrys"
    example["fields"]["name"]["transfrom"] = example["fields"]["name"].pop("transform")
    example["fields"]["email"]["transform"][1] = "lowr"
    example["fields"]["created_on"]["transform"][0]["datetime"]["tz"] = "Mars/Olympus"
    example["fields"]["credit_limit"] = {"transform": ["strip"]}
    example["filter"] = "is_company and (active"
    example["fields"]["tax_id"]["transform"] = [{"regex": "[a-"}]
    example["fields"]["emial"] = {"from": "email"}
    found = problems_of(example, registry, catalog=CATALOG)
    assert found == [
        "fields.name.transfrom: unknown key (did you mean 'transform'?)",
        "fields.email.transform[1]: unknown transform 'lowr' (did you mean 'lower'?)",
        "fields.country.lookup.table: unknown table 'countrys' (did you mean 'countries'?)",
        "fields.credit_limit: missing 'from' (the source path), or 'value' for a constant",
        "fields.created_on.transform[0].datetime.tz: unknown time zone 'Mars/Olympus'",
        "fields.tax_id.transform[0].regex.pattern: bad regex '[a-': unterminated character set at position 0",
        "fields.emial: unknown target field 'emial' (did you mean 'email'?)",
        "filter: bad expression syntax: '(' was never closed at column 16 in 'is_company and (active'",
    ]


def test_spec_error_message_lists_every_problem(registry: TransformRegistry) -> None:
    with pytest.raises(SpecError) as info:
        validate({"mapping": "x", "fields": {}}, plugins=registry)
    message = str(info.value)
    assert message.startswith("mapping spec has 3 problems:\n")
    assert "  source: missing or not a mapping: give {connector: ..., stream: ...}" in message
    assert "  target: missing or not a mapping: give {module: ...}" in message
    assert "  fields: must be a non-empty mapping of target field: rule" in message


BASE: dict[str, Any] = {"mapping": "t", "source": {"connector": "c", "stream": "s"}, "target": {"module": "accounts"}}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"mapping": "has space"}, "mapping: missing or not a name"),
        ({"mappings": "t"}, "mappings: unknown key (did you mean 'mapping'?)"),
        ({"source": {"connector": "c"}}, "source.stream: missing or not text"),
        (
            {"source": {"connector": "c", "stream": "s", "strem": 1}},
            "source.strem: unknown key (did you mean 'stream'?)",
        ),
        ({"target": {"module": "acounts"}}, "target.module: unknown module 'acounts' (did you mean 'accounts'?)"),
        ({"description": 5}, "description: must be text"),
        ({"filter": "open('x')"}, "filter: unknown function 'open'"),
        ({"tables": ["x"]}, "tables: must be a mapping of table name: {key: value}"),
        ({"fields": {"name": "name"}}, "fields.name: a field rule is a mapping with 'from'"),
        ({"fields": {"name": {"from": "a", "value": 1}}}, "fields.name: give either 'from' or 'value', not both"),
        ({"fields": {"name": {"from": "a..b"}}}, "fields.name.from: bad path 'a..b' at position 2"),
        ({"fields": {"name": {"from": []}}}, "fields.name.from: must list at least one path"),
        ({"fields": {"name": {"from": ["a", 3]}}}, "fields.name.from[1]: a source path is text"),
        ({"fields": {"name": {"from": {"x": "a["}}}}, "fields.name.from.x: bad path 'a['"),
        ({"fields": {"name": {"from": "a", "when": "x ="}}}, "fields.name.when: bad expression syntax"),
        ({"fields": {"name": {"from": "a", "only_create": "yes"}}}, "fields.name.only_create: must be true or false"),
        (
            {"fields": {"name": {"from": "a", "transform": [{}]}}},
            "fields.name.transform[0]: a step is a transform name",
        ),
        ({"fields": {"name": {"from": "a", "transform": "strp"}}}, "fields.name.transform: unknown transform 'strp'"),
        ({"fields": {"na me": {"from": "a"}}}, "fields.na me: 'na me' is not a field name"),
        (
            {"fields": {"name": {"from": "a"}}, "match": [{"field": "email"}]},
            "match[0].field: 'email' is not a field this mapping writes",
        ),
        ({"fields": {"name": {"from": "a"}}, "match": ["bindings"]}, "match[0]: a rule is 'binding' or a mapping"),
        (
            {"fields": {"name": {"from": "a"}}, "match": [{"field": "name", "fields": ["name"]}]},
            "match[0]: give exactly one of 'field' or 'fields'",
        ),
        (
            {"fields": {"name": {"from": "a"}}, "match": [{"field": "name", "normalise": "lower"}]},
            "match[0].normalise: unknown key (did you mean 'normalize'?)",
        ),
        (
            {"fields": {"name": {"from": "a"}}, "match": [{"field": "name", "normalize": ["lowr"]}]},
            "match[0].normalize[0]: unknown transform 'lowr'",
        ),
        (
            {"fields": {"name": {"from": "a"}}, "conflict": {"default": "latest"}},
            "conflict.default: must be one of hub, source, newest",
        ),
        (
            {"fields": {"name": {"from": "a"}}, "conflict": {"fields": {"nam": "hub"}}},
            "conflict.fields.nam: not a field this mapping writes (did you mean 'name'?)",
        ),
        ({"fields": {"name": {"from": "a"}}, "conflict": {"feilds": {}}}, "conflict.feilds: unknown key"),
        ({"fields": {"name": {"from": "a"}}, "outbound": {"derive": "no"}}, "outbound.derive: must be true or false"),
        (
            {"fields": {"name": {"from": "a"}}, "outbound": {"fields": {"x": {"from": "nme"}}}},
            "outbound.fields.x.from: unknown hub field 'nme' (did you mean 'name'?)",
        ),
        (
            {"fields": {"name": {"from": "a"}}, "outbound": {"fields": {"x[0]": {"from": "name"}}}},
            "outbound.fields.x[0]: an outbound target path cannot have list indexes",
        ),
        (
            {"fields": {"name": {"from": "a"}}, "tests": [{"input": {}, "expect": {"nmae": 1}}]},
            "tests[0].expect.nmae: not a field the inbound mapping writes (did you mean 'name'?)",
        ),
        (
            {"fields": {"name": {"from": "a"}}, "tests": [{"input": {}}]},
            "tests[0]: give exactly one of 'expect', 'skipped: true' or 'error: <field>'",
        ),
        ({"fields": {"name": {"from": "a"}}, "tests": [{"expect": {}}]}, "tests[0].input: missing or not a mapping"),
        (
            {"fields": {"name": {"from": "a"}}, "tests": [{"input": {}, "error": "x"}]},
            "tests[0].error: must name a field the inbound mapping writes",
        ),
        (
            {"fields": {"name": {"from": "a"}}, "tests": [{"input": {}, "skipped": True, "direction": "in"}]},
            "tests[0].direction: must be inbound or outbound",
        ),
    ],
)
def test_problems_name_their_path(registry: TransformRegistry, changes: dict[str, Any], expected: str) -> None:
    spec = {**BASE, "fields": {"name": {"from": "name"}}, **changes}
    found = problems_of(spec, registry, catalog=CATALOG)
    assert any(p.startswith(expected) for p in found), found


def test_without_a_catalog_target_fields_are_not_checked(registry: TransformRegistry) -> None:
    spec = validate({**BASE, "fields": {"anything_at_all": {"from": "x"}}}, plugins=registry)
    assert spec.inbound.targets == ("anything_at_all",)


def test_custom_fields_come_with_the_catalog(registry: TransformRegistry) -> None:
    spec = {**BASE, "fields": {"loyalty_tier": {"from": "x"}}}
    assert problems_of(spec, registry, catalog=CATALOG) == ["fields.loyalty_tier: unknown target field 'loyalty_tier'"]
    with_custom = {**CATALOG, "accounts": CATALOG["accounts"] | {"loyalty_tier"}}
    assert validate(spec, catalog=with_custom, plugins=registry).inbound.targets == ("loyalty_tier",)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("mapping: [unclosed", "not valid YAML/JSON"),
        ('{"mapping": "x" "y"}', "not valid JSON: Expecting ',' delimiter at line 1 column 17"),
        ("- just\n- a list\n", "a spec is a mapping"),
        ("mapping: a\nfields:\n  email: {from: a}\n  email: {from: b}\n", "duplicate or unusable key 'email'"),
        ('{"mapping": "a", "mapping": "b"}', "duplicate key 'mapping'"),
        ("mapping: !!python/object:os.system {}", "not valid YAML/JSON"),
    ],
)
def test_unreadable_documents(text: str, problem: str) -> None:
    with pytest.raises(SpecError, match=problem):
        parse_text(text)


def test_a_spec_object_is_returned_as_is(registry: TransformRegistry) -> None:
    spec = validate(EXAMPLE, plugins=registry)
    assert validate(spec) is spec


def test_canonical_text_keeps_the_content(registry: TransformRegistry, example: dict[str, Any]) -> None:
    spec = validate(EXAMPLE, plugins=registry)
    assert yaml.safe_load(spec.text) == example
    reformatted = yaml.safe_dump(example, default_flow_style=True, sort_keys=False)
    assert validate(reformatted, plugins=registry).hash == spec.hash
