"""CSV export (hub.imports.csv_export): formulas neutralised, hidden fields left out, the export permission."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from hub.core import users
from hub.core.actor import Actor, Context
from hub.core.read import Condition
from hub.core.store import Store
from hub.errors import AccessDenied, ValidationError
from hub.imports.csv_export import export_csv, export_file


def export(store: Store, ctx: Context, module: str, **kwargs: Any) -> list[dict[str, str]]:
    out = io.StringIO()
    n = export_csv(store, ctx, module, out, **kwargs)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == n
    return rows


def test_cells_that_start_a_formula_are_neutralised(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        tx.create(
            "contacts",
            {
                "last_name": '=HYPERLINK("http://evil","x")',
                "first_name": "+1+2",
                "city": "-3",
                "job_title": "@SUM(A1:A9)",
                "department": "Sales = good",
                "tags": ["=vip"],
            },
        )
        tx.create("accounts", {"name": "Acme", "credit_limit": "-5", "city": "Köln"})
    [row] = export(store, ctx, "contacts")
    assert row["last_name"] == '\'=HYPERLINK("http://evil","x")'
    assert row["first_name"] == "'+1+2"
    assert row["city"] == "'-3"
    assert row["job_title"] == "'@SUM(A1:A9)"
    assert row["department"] == "Sales = good"
    assert row["tags"] == "'=vip"
    assert row["do_not_email"] == "false"
    assert row["email"] == ""
    [acme] = export(store, ctx, "accounts")
    assert acme["credit_limit"] == "-5.0000"  # a number stays a number
    assert acme["city"] == "Köln"


def test_export_chooses_fields_and_filters(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        for i, city in enumerate(["Shanghai", "Beijing", "Shanghai"]):
            tx.create("contacts", {"last_name": f"L{i}", "city": city, "birthday": f"199{i}-01-02"})
    out = io.StringIO()
    n = export_csv(
        store, ctx, "contacts", out, where=[Condition("city", "=", "Shanghai")], fields=["last_name", "birthday"]
    )
    assert n == 2
    assert out.getvalue().splitlines() == ["last_name,birthday", "L0,1990-01-02", "L2,1992-01-02"]
    with pytest.raises(ValidationError) as err:
        export_csv(store, ctx, "contacts", io.StringIO(), fields=["last_name", "shoe_size"])
    assert str(err.value) == "contacts.shoe_size: no such field"


def test_export_respects_hidden_fields_scope_and_the_export_permission(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        s, log = tx.session, tx.audit
        alice = users.create_user(s, log, "alice")
        bob = users.create_user(s, log, "bob")
        users.create_role(s, log, "exporter")
        users.grant(s, log, "exporter", "contacts", ["read", "export"], "own")
        users.field_rule(s, log, "exporter", "contacts", "national_id", "hidden")
        users.create_role(s, log, "reader")
        users.grant(s, log, "reader", "contacts", ["read"], "all")
        users.assign_role(s, log, "alice", "exporter")
        users.assign_role(s, log, "bob", "reader")
        tx.create("contacts", {"last_name": "Mine", "national_id": "N-1", "owner_id": alice.id})
        tx.create("contacts", {"last_name": "Theirs", "national_id": "N-2", "owner_id": bob.id})
    out = io.StringIO()
    assert export_csv(store, Context(Actor.for_user(alice.id, "alice"), "test"), "contacts", out) == 1
    header, *lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert "national_id" not in header and "last_name" in header
    assert len(lines) == 1 and "N-1" not in out.getvalue()
    assert lines[0][header.index("last_name")] == "Mine"
    with pytest.raises(AccessDenied) as err:
        export_csv(store, Context(Actor.for_user(bob.id, "bob"), "test"), "contacts", io.StringIO())
    assert str(err.value) == "bob may not export contacts"
    # The system sees everything, the secret decrypted.
    assert sorted(r["national_id"] for r in export(store, ctx, "contacts")) == ["N-1", "N-2"]


def test_cells_hidden_behind_spaces_a_bom_full_width_forms_or_a_line_feed_are_neutralised(
        store: Store, ctx: Context) -> None:
    values = {"last_name": " =1+2", "first_name": "\uff1dcmd|' /C calc'!A0", "city": "\ufeff@SUM(A1)",
              "job_title": "\n=HYPERLINK(\"http://evil\")", "department": "\u3000+1"}
    with store.writing(ctx) as tx:
        tx.create("contacts", values)
    [row] = export(store, ctx, "contacts")
    for name, value in values.items():
        assert row[name] == "'" + value, name


def test_a_failed_export_to_a_file_leaves_no_file(store: Store, ctx: Context, tmp_path: Path) -> None:
    with store.writing(ctx) as tx:
        tx.create("contacts", {"last_name": "Li"})
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "out.csv"
    with pytest.raises(ValidationError):
        export_file(store, ctx, "contacts", target, fields=["last_name", "shoe_size"])
    assert list(folder.iterdir()) == []

    def fail_midway(n: int) -> None:
        raise OSError("disk full")

    target.write_text("the previous export\n", encoding="utf-8")
    with store.writing(ctx) as tx:
        for i in range(600):
            tx.create("contacts", {"last_name": f"L{i}"})
    with pytest.raises(OSError, match="disk full"):
        export_file(store, ctx, "contacts", target, fields=["last_name"], progress=fail_midway)
    assert list(folder.iterdir()) == [target]
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert export_file(store, ctx, "contacts", target, fields=["last_name"]) == 601
    assert target.read_bytes().startswith(b"\xef\xbb\xbflast_name\r\n")
    assert list(folder.iterdir()) == [target]
