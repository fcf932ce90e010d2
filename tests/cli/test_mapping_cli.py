"""`hub mapping ...` through click's CliRunner, against an SQLite file database."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import hub.mappings.versions  # noqa: F401 - registers the mapping tables in the metadata
from hub.cli.mapping import mapping
from hub.core.db import make_engine, transaction
from hub.core.migrate import upgrade

SPEC = """
mapping: erp_partner
source: {connector: odoo, stream: res.partner}
target: {module: accounts}
filter: is_company
fields:
  name:         {from: name, transform: [strip]}
  email:        {from: email, transform: [strip, lower]}
  credit_limit: {from: credit_limit, transform: [{decimal: {thousands: ","}}]}
  status:       {from: state, lookup: {table: {A: active, I: inactive}, default: active}}
  website:      {from: website, when: "website"}
conflict: {fields: {email: hub}}
tests:
  - name: company
    input:  {name: " Acme ", email: " INFO@ACME.DE", credit_limit: "1,000.5", state: I, is_company: true}
    expect: {name: Acme, email: info@acme.de, credit_limit: 1000.5, status: inactive}
  - name: person
    input: {name: Bob, is_company: false}
    skipped: true
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HUB_ENV", raising=False)
    yield url


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(*args: str) -> Result:
    return CliRunner().invoke(mapping, list(args))


def test_validate_ok(env: str, tmp_path: Path) -> None:
    result = run("validate", write(tmp_path, SPEC))
    assert result.exit_code == 0, result.output
    assert "ok: erp_partner: odoo/res.partner -> accounts (5 fields in, 1 out, 2 tests)" in result.stdout
    assert "note: outbound: name is not reversed: transform 'strip' cannot be reversed" in result.stdout


def test_validate_lists_every_problem(env: str, tmp_path: Path) -> None:
    bad = (
        SPEC.replace("transform: [strip]}", "transfrom: [strip]}")
        .replace("{A: active", "{A: activ")
        .replace("website:      {from: website", "webiste:      {from: website")
    )
    bad = bad.replace("lower]}", "lowr]}")
    result = run("validate", write(tmp_path, bad))
    assert result.exit_code == 1
    assert "mapping spec has 3 problems:" in result.stderr
    assert "fields.name.transfrom: unknown key (did you mean 'transform'?)" in result.stderr
    assert "fields.email.transform[1]: unknown transform 'lowr' (did you mean 'lower'?)" in result.stderr
    assert "fields.webiste: unknown target field 'webiste' (did you mean 'website'?)" in result.stderr


def test_validate_knows_custom_fields(env: str, tmp_path: Path) -> None:
    from hub.core.modules import define_custom_field

    spec = write(tmp_path, SPEC.replace("fields:\n", "fields:\n  erp_ref: {from: ref}\n"))
    result = run("validate", spec)
    assert result.exit_code == 1 and "fields.erp_ref: unknown target field 'erp_ref'" in result.stderr
    assert run("validate", "--no-fields", spec).exit_code == 0
    engine = make_engine(env)
    with transaction(engine) as session:
        define_custom_field(session, "accounts", "erp_ref", "text")
    engine.dispose()
    assert run("validate", spec).exit_code == 0


def test_test_passes(env: str, tmp_path: Path) -> None:
    result = run("test", write(tmp_path, SPEC))
    assert result.exit_code == 0, result.output
    assert "PASS  company (tests[0], inbound)" in result.stdout
    assert result.stdout.strip().endswith("2 tests: 2 passed, 0 failed")


def test_test_fails_with_a_per_field_diff(env: str, tmp_path: Path) -> None:
    failing = SPEC.replace("expect: {name: Acme, email: info@acme.de", "expect: {name: ACME, email: info@acme.com")
    result = run("test", write(tmp_path, failing))
    assert result.exit_code == 1
    assert "FAIL  company (tests[0], inbound)" in result.stdout
    assert "        name: expected 'ACME', got 'Acme'" in result.stdout
    assert "        email: expected 'info@acme.com', got 'info@acme.de'" in result.stdout
    assert "2 tests: 1 passed, 1 failed" in result.stdout


def test_preview(env: str, tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    rows = [
        {"name": " A ", "email": "A@X.DE", "credit_limit": "1,000", "state": "A", "is_company": True},
        {"name": "B", "credit_limit": "many", "is_company": True},
        {"name": "C", "is_company": False},
    ]
    sample.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    spec = write(tmp_path, SPEC)
    table = run("preview", spec, "--sample", str(sample))
    assert table.exit_code == 0, table.output
    assert "record 2: failed" in table.stdout
    assert "decimal: 'many' is not a number" in table.stdout
    assert "warning: fields.website: never fired on the sample: its 'when' (website) was false" in table.stdout
    assert "warning: source field 'website' is not in any sample record" in table.stdout
    as_json = run("preview", spec, "--sample", str(sample), "--format", "json")
    data = json.loads(as_json.stdout)
    assert data["counts"] == {"mapped": 1, "failed": 1, "skipped": 1}
    assert data["records"][0]["fields"][2]["result"] == "1000"


def test_preview_reports_a_bad_sample_line(env: str, tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    sample.write_text('{"name": "A"}\nnot json\n', encoding="utf-8")
    result = run("preview", write(tmp_path, SPEC), "--sample", str(sample))
    assert result.exit_code == 1
    assert "sample.jsonl:2: not valid JSON" in result.stderr


def test_versions_lifecycle(env: str, tmp_path: Path) -> None:
    spec = write(tmp_path, SPEC)
    operator = f"cli:{getpass.getuser()}"
    saved = run("save", spec, "-m", "first")
    assert saved.exit_code == 0, saved.output
    assert saved.stdout.startswith("erp_partner: saved as version 1 (")
    assert run("save", spec).stdout.startswith("erp_partner: unchanged, still version 1")
    changed = write(tmp_path, SPEC.replace("[strip]}", "[strip, upper]}").replace("{name: Acme,", "{name: ACME,"),
                    "v2.yaml")
    free_text = run("save", changed, "--actor", "bob")  # still accepted, but who acts is not free text
    assert free_text.stdout.startswith("erp_partner: saved as version 2")
    assert "note: --actor is ignored" in free_text.stderr

    listing = run("versions", "erp_partner")
    assert listing.exit_code == 0
    lines = listing.stdout.splitlines()
    assert len(lines) == 2 and f"{operator}  first" in lines[0] and " v2 " in lines[1] and operator in lines[1]
    assert "bob" not in listing.stdout

    diff = run("diff", "erp_partner", "1", "2")
    assert "--- erp_partner v1" in diff.stdout and "+    - upper" in diff.stdout
    assert "identical" in run("diff", "erp_partner", "2", "2").stdout

    assert run("pin", "erp_partner", "1").stdout.strip() == "erp_partner: pinned to version 1"
    assert run("versions", "erp_partner").stdout.splitlines()[0].startswith("* v1")
    assert "upper" not in run("show", "erp_partner").stdout

    rolled = run("rollback", "erp_partner", "1", "--actor", "carol")
    assert rolled.exit_code == 0
    assert "erp_partner: version 3 has the content of version 1" in rolled.stdout
    assert "note: erp_partner is pinned to version 1" in rolled.stdout
    assert run("unpin", "erp_partner").stdout.strip() == "erp_partner: unpinned"
    assert "upper" in run("show", "erp_partner", "--version", "2").stdout
    assert "upper" not in run("show", "erp_partner").stdout  # v3 is v1's content


def test_version_commands_fail_cleanly(env: str, tmp_path: Path) -> None:
    assert run("versions", "ghost").exit_code == 1
    missing = run("diff", "ghost", "1", "2")
    assert missing.exit_code == 1 and "no mapping named 'ghost'" in missing.stderr
    assert run("pin", "ghost", "1").exit_code == 1
    bad = run("save", write(tmp_path, "mapping: x\n"))
    assert bad.exit_code == 1 and "source: missing" in bad.stderr


def test_checking_a_spec_does_not_create_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "none" / "hub.db"
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.delenv("HUB_ENV", raising=False)
    result = run("validate", write(tmp_path, SPEC))
    assert result.exit_code == 0, result.output
    assert "note: custom fields not checked (no database yet)" in result.stderr
    assert not database.exists()


def test_save_refuses_a_spec_whose_tests_fail_unless_forced(env: str, tmp_path: Path) -> None:
    broken = write(tmp_path, SPEC.replace("[strip]}", "[strip, upper]}"))
    refused = run("save", broken)
    assert refused.exit_code == 1
    assert "FAIL  company (tests[0], inbound)" in refused.stderr
    assert "name: expected 'Acme', got 'ACME'" in refused.stderr
    assert "erp_partner: not saved: an embedded test fails (--force saves it anyway)" in refused.stderr
    assert run("versions", "erp_partner").exit_code == 1  # nothing was stored
    forced = run("save", broken, "--force")
    assert forced.exit_code == 0 and forced.stdout.startswith("erp_partner: saved as version 1")


def test_show_of_an_unknown_mapping_names_it_and_close_ones(env: str, tmp_path: Path) -> None:
    assert run("save", write(tmp_path, SPEC)).exit_code == 0
    unknown = run("show", "NAME")
    assert unknown.exit_code == 1 and "no mapping named 'NAME'" in unknown.stderr
    assert "no record with id" not in unknown.stderr
    close = run("show", "erp_partnr")
    assert "no mapping named 'erp_partnr'; did you mean erp_partner?" in close.stderr


def test_preview_counts_values_the_store_refuses_as_failed(env: str, tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    rows = [{"name": "A", "email": "not-an-email", "is_company": True},
            {"name": "B", "email": "b@example.com", "is_company": True}]
    sample.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    table = run("preview", write(tmp_path, SPEC), "--sample", str(sample))
    assert table.exit_code == 0, table.output
    assert "record 1: failed - invalid values: email ('not-an-email' is not a valid e-mail address)" in table.stdout
    assert "record 2: mapped" in table.stdout
    assert "1 mapped, 0 skipped, 1 failed" in table.stdout
