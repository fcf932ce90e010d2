"""Preview: per-record, per-field detail and warnings about rules and fields the sample never used."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from hub.mappings.compiler import CompiledMapping
from hub.mappings.previews import preview, read_jsonl, render_json, render_table

Make = Callable[..., CompiledMapping]


@pytest.fixture
def mapping(make: Make) -> CompiledMapping:
    return make(
        {
            "name": {"from": "name", "transform": ["strip"]},
            "credit_limit": {"from": "limit", "transform": [{"decimal": {"thousands": ","}}]},
            "website": {"from": "web", "when": "is_company"},
            "erp_ref": {"from": "ref"},
            "country": {"from": "country_id.code", "lookup": {"table": {"DE": "DE"}, "on_miss": "warn"}},
        },
        filter="active",
    )


SAMPLE = [
    {"active": True, "name": " Acme ", "limit": "1,000", "ref": None, "country_id": {"code": "DE"}},
    {"active": True, "name": "Bad", "limit": "lots", "country_id": {"code": "XX"}},
    {"active": False, "name": "Skipped"},
]


def test_per_record_per_field(mapping: CompiledMapping) -> None:
    report = preview(mapping, SAMPLE)
    assert [r.status for r in report.records] == ["mapped", "failed", "skipped"]
    first = {f.field: f for f in report.records[0].fields}
    assert (first["name"].source, first["name"].result, first["name"].error) == (" Acme ", "Acme", None)
    assert first["credit_limit"].result == Decimal("1000")
    assert first["website"].written is False
    second = {f.field: f for f in report.records[1].fields}
    assert second["credit_limit"].error == "decimal: 'lots' is not a number"
    assert second["name"].result == "Bad"  # other fields are still shown
    assert report.records[1].warnings == ["country: lookup: not in the inline table; using None (value 'XX')"]
    assert report.counts() == {"mapped": 1, "failed": 1, "skipped": 1}


def test_warns_about_rules_that_never_fired_and_absent_fields(mapping: CompiledMapping) -> None:
    report = preview(mapping, SAMPLE)
    assert report.warnings == [
        "fields.website: never fired on the sample: its 'when' (is_company) was false for every record",
        "fields.erp_ref: never fired on the sample: ref was missing or null in every record",
        "source field 'web' is not in any sample record",
    ]


def test_a_filter_that_skips_everything(mapping: CompiledMapping) -> None:
    report = preview(mapping, [{"active": False, "name": "x", "limit": "1", "web": "w", "ref": 1, "country_id": {}}])
    assert report.warnings == ["filter: skipped every record of the sample (1)", "source field 'country_id.code' is "
                               "not in any sample record"]  # fmt: skip


def test_bad_records_and_empty_samples(mapping: CompiledMapping) -> None:
    report = preview(mapping, ["not an object", {"active": "yes"}])
    assert report.records[0].status == "failed"
    assert "a record must be an object" in (report.records[0].error or "")
    assert preview(mapping, []).warnings == ["the sample has no records"]


def test_outbound_preview(make: Make) -> None:
    m = make({"status": {"from": "state", "lookup": {"table": {"A": "active"}}}})
    report = preview(m, [{"status": "active"}, {"status": "gone"}], direction="outbound")
    assert [r.status for r in report.records] == ["mapped", "failed"]
    assert report.records[0].fields[0].result == "A"


def test_rendering(mapping: CompiledMapping) -> None:
    report = preview(mapping, SAMPLE)
    table = render_table(report)
    assert "record 2: failed" in table
    assert "credit_limit  'lots'" in table and "decimal: 'lots' is not a number" in table
    assert "(not written)" in table
    assert "warning: source field 'web' is not in any sample record" in table
    data = json.loads(render_json(report))
    assert data["counts"] == {"mapped": 1, "failed": 1, "skipped": 1}
    assert data["records"][0]["fields"][1] == {
        "field": "credit_limit", "source": "1,000", "result": "1000", "error": None, "written": True,
    }  # fmt: skip


def test_read_jsonl(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"a": 1}\n\n{"a": 2}\n', encoding="utf-8")
    assert list(read_jsonl(good)) == [{"a": 1}, {"a": 2}]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{"a": \n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: not valid JSON"):
        list(read_jsonl(bad))


def test_values_the_target_field_refuses_fail_the_record(make: Make) -> None:
    m = make({"name": {"from": "name"}, "email": {"from": "mail"}, "credit_limit": {"from": "limit"}})
    report = preview(m, [{"name": "A", "mail": "not-an-email", "limit": "lots"},
                         {"name": "B", "mail": "b@example.com", "limit": "10"}])
    assert report.counts() == {"mapped": 1, "failed": 1, "skipped": 0}
    bad = report.records[0]
    assert bad.error == ("invalid values: email ('not-an-email' is not a valid e-mail address); "
                         "credit_limit ('lots' is not a number)")
    assert {f.field: f.error for f in bad.fields}["email"] == "invalid: 'not-an-email' is not a valid e-mail address"
    assert "1 mapped, 0 skipped, 1 failed" in render_table(report)
