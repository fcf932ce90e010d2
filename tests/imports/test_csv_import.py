"""CSV import (hub.imports.csv_import): encodings, column maps, rejects by line, idempotence, dry runs."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hub.core import users
from hub.core.actor import Actor, Context
from hub.core.models import AuditEvent
from hub.core.modules import define_custom_field
from hub.core.read import Condition
from hub.core.store import Store, Tx
from hub.errors import ValidationError
from hub.imports.csv_export import export_csv
from hub.imports.csv_import import import_csv, write_rejects

HEADER = ["first_name", "last_name", "email", "birthday", "language", "segment", "city"]
SURNAMES = ["张", "王", "李", "赵", "陈", "Müller", "Smith"]
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "Jürgen", "Anna"]
LANGUAGES = ["zh-CN", "en", "de", "zh-TW"]
CITIES = ["北京", "上海", "Hamburg", "", "Zürich"]


def contact_row(i: int) -> dict[str, str]:
    return {
        "first_name": GIVEN[i % len(GIVEN)],
        "last_name": SURNAMES[i % len(SURNAMES)],
        "email": f"user{i}@example.com",
        "birthday": (dt.date(1960, 1, 1) + dt.timedelta(days=i)).isoformat(),
        "language": LANGUAGES[i % len(LANGUAGES)],
        "segment": ("retail", "wholesale", "")[i % 3],
        "city": CITIES[i % len(CITIES)],
    }


def spoil(i: int, row: dict[str, str]) -> str:
    """Make row ``i`` bad in one of four ways; return the reason the import must give."""
    kind = (i // 50) % 4
    if kind == 0:
        row["email"] = f"user{i}@"
        return f"contacts.email: 'user{i}@' is not a valid e-mail address"
    if kind == 1:
        row["birthday"] = "1990-02-30"
        return "contacts.birthday: '1990-02-30' is not a date (YYYY-MM-DD)"
    if kind == 2:
        row["language"] = "xx"
        return "contacts.language: 'xx' is not a language code (ISO 639-1, e.g. en or zh-CN)"
    row["segment"] = "platinum"
    return "contacts.segment: 'platinum' is not one of retail, wholesale"


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def audit_count(store: Store) -> int:
    with Session(store.engine) as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def count(store: Store, ctx: Context, where: list[Condition] | None = None) -> int:
    with store.reading(ctx) as tx:
        return tx.count("contacts", where or [])


@pytest.fixture
def segment(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        define_custom_field(tx.session, "contacts", "segment", "choice", choices=["retail", "wholesale"])


def test_ten_thousand_rows_with_two_percent_bad(store: Store, ctx: Context, segment: None, tmp_path: Path) -> None:
    rows, expected = [], {}
    for i in range(10_000):
        row = contact_row(i)
        if i % 50 == 7:
            expected[i + 2] = spoil(i, row)  # line 1 is the header
        rows.append(row)
    path = write_csv(tmp_path / "contacts.csv", HEADER, rows)

    report = import_csv(store, ctx, "contacts", path)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (9800, 0, 0, 200)
    assert (report.match, report.encoding) == ("email", "utf-8-sig")
    assert {r.line: r.reason for r in report.rejects} == expected
    assert [r.line for r in report.rejects] == sorted(expected)
    assert count(store, ctx) == 9800
    assert count(store, ctx, [Condition("last_name", "=", "张")]) == len(
        [i for i in range(10_000) if i % 7 == 0 and i + 2 not in expected]
    )
    with store.reading(ctx) as tx:
        [first] = tx.query("contacts", [Condition("email", "=", "user0@example.com")])
    assert (first["first_name"], first["last_name"], first["city"]) == ("伟", "张", "北京")
    assert first["segment"] == "retail"
    assert first["birthday"] == dt.date(1960, 1, 1)

    rejects = tmp_path / "rejects.csv"
    write_rejects(report, rejects)
    assert rejects.read_bytes().startswith(b"\xef\xbb\xbf")
    with rejects.open(encoding="utf-8-sig", newline="") as fh:
        back = list(csv.DictReader(fh))
    assert list(back[0]) == [*HEADER, "_line", "_error"]
    assert {int(r["_line"]): r["_error"] for r in back} == expected
    assert back[0]["email"] == rows[int(back[0]["_line"]) - 2]["email"] == "user7@"

    again = import_csv(store, ctx, "contacts", path)
    assert (again.created, again.updated, again.unchanged, again.rejected) == (0, 0, 9800, 200)

    rows[5]["city"] = "杭州"
    write_csv(path, HEADER, rows)
    events_before = audit_count(store)
    changed = import_csv(store, ctx, "contacts", path)
    assert (changed.created, changed.updated, changed.unchanged, changed.rejected) == (0, 1, 9799, 200)
    assert audit_count(store) == events_before + 1
    assert count(store, ctx, [Condition("city", "=", "杭州")]) == 1
    assert count(store, ctx) == 9800


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_chinese_text_survives_import_and_export(store: Store, ctx: Context, tmp_path: Path, encoding: str) -> None:
    rows = [
        {"last_name": "欧阳", "first_name": "娜娜", "email": "ouyang@example.cn", "city": "广州"},
        {"last_name": "司马", "first_name": "懿", "email": "sima@example.cn", "city": "洛阳"},
        {"last_name": "Zhōu", "first_name": "Jié", "email": "zhou@example.cn", "city": "台北"},
    ]
    header = ["last_name", "first_name", "email", "city"]
    path = write_csv(tmp_path / "in.csv", header, rows, encoding=encoding)
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    # Three short rows of GB18030 could as well be EUC-KR to a detector: the encoding is named.
    report = import_csv(store, ctx, "contacts", path, encoding="gb18030" if encoding == "gb18030" else None)
    assert report.encoding == encoding
    assert (report.created, report.rejected) == (3, 0)
    with store.reading(ctx) as tx:
        assert sorted(c["last_name"] for c in tx.query("contacts")) == sorted(r["last_name"] for r in rows)

    out = io.StringIO()
    assert export_csv(store, ctx, "contacts", out, fields=header) == 3
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert sorted(exported, key=lambda r: r["email"]) == sorted(rows, key=lambda r: r["email"])
    # The export imports back as unchanged.
    back = tmp_path / "back.csv"
    back.write_text(out.getvalue(), encoding="utf-8")
    again = import_csv(store, ctx, "contacts", back)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)


def test_a_column_map_renames_and_skips_headers(store: Store, ctx: Context, tmp_path: Path) -> None:
    header = ["Surname", "Given name", "E-Mail", "Notes"]
    path = write_csv(
        tmp_path / "crm.csv",
        header,
        [
            {"Surname": "Li", "Given name": "Wei", "E-Mail": "li@example.cn", "Notes": "ignore me"},
            {"Surname": "Wang", "Given name": "Fang", "E-Mail": "wang@example.cn", "Notes": ""},
        ],
    )
    columns: dict[str, str | None] = {
        "Surname": "last_name",
        "Given name": "first_name",
        "E-Mail": "email",
        "Notes": None,
    }
    report = import_csv(store, ctx, "contacts", path, columns=columns)
    assert (report.created, report.rejected, report.match) == (2, 0, "email")
    with store.reading(ctx) as tx:
        [li] = tx.query("contacts", [Condition("email", "=", "li@example.cn")])
    assert (li["last_name"], li["first_name"]) == ("Li", "Wei")


def test_an_unknown_header_is_named(store: Store, ctx: Context, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "bad.csv",
        ["last_name", "email", "shoe_size"],
        [{"last_name": "Li", "email": "li@example.cn", "shoe_size": "42"}],
    )
    with pytest.raises(ValidationError) as err:
        import_csv(store, ctx, "contacts", path)
    assert str(err.value) == (
        "header column 'shoe_size': contacts has no field 'shoe_size'; rename it with --columns or remove it"
    )
    with pytest.raises(ValidationError) as err:
        import_csv(store, ctx, "contacts", path, columns={"shoe_size": "size"})
    assert str(err.value).startswith("header column 'shoe_size': contacts has no field 'size'")
    assert count(store, ctx) == 0
    assert audit_count(store) == 0


def test_match_field_errors(store: Store, ctx: Context, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "no-key.csv", ["last_name", "city"], [{"last_name": "Li", "city": "Xi'an"}])
    with pytest.raises(ValidationError) as err:
        import_csv(store, ctx, "contacts", path)
    assert str(err.value).startswith("--match: contacts has no default match field in this file")
    with pytest.raises(ValidationError) as err:
        import_csv(store, ctx, "contacts", path, match="email")
    assert str(err.value) == "--match: no column of the file maps to 'email'"
    report = import_csv(store, ctx, "contacts", path, match="last_name")
    assert report.created == 1


def test_external_ids_in_the_file_become_bindings(store: Store, ctx: Context, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "ext.csv",
        ["external_id", "last_name"],
        [
            {"external_id": "A-1", "last_name": "Li"},
            {"external_id": "", "last_name": "Nobody"},
            {"external_id": "A-2", "last_name": "Wang"},
        ],
    )
    report = import_csv(store, ctx, "contacts", path)
    assert (report.match, report.created) == ("external_id", 2)
    assert [(r.line, r.reason) for r in report.rejects] == [(3, "contacts.external_id: is empty")]
    again = import_csv(store, ctx, "contacts", path)
    assert (again.created, again.unchanged) == (0, 2)


def test_a_row_with_the_wrong_number_of_cells_is_rejected(store: Store, ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text(
        "last_name,email\nLi,li@example.cn\nWang,wang@example.cn,extra\nZhao,zhao@example.cn\n", encoding="utf-8"
    )
    report = import_csv(store, ctx, "contacts", path)
    assert report.created == 2
    assert [(r.line, r.reason) for r in report.rejects] == [(3, "has 3 cells; the header has 2")]


def test_a_dry_run_writes_nothing(store: Store, ctx: Context, segment: None, tmp_path: Path) -> None:
    rows = [contact_row(i) for i in range(30)]
    spoil(0, rows[3])
    path = write_csv(tmp_path / "contacts.csv", HEADER, rows)
    report = import_csv(store, ctx, "contacts", path, dry_run=True, batch_size=10)
    assert (report.created, report.rejected, report.dry_run) == (29, 1, True)
    assert report.summary().startswith("dry run: would have created 29, updated 0, unchanged 0, rejected 1")
    assert count(store, ctx) == 0
    assert audit_count(store) == 0
    real = import_csv(store, ctx, "contacts", path, batch_size=10)
    assert (real.created, real.rejected) == (29, 1)
    assert audit_count(store) == 29


def test_an_empty_file_or_a_bad_header_is_a_validation_error(store: Store, ctx: Context, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ValidationError) as err:
        import_csv(store, ctx, "contacts", empty)
    assert str(err.value) == "file: is empty (no header line)"
    dupes = tmp_path / "dupes.csv"
    dupes.write_text("email,last_name,email\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        import_csv(store, ctx, "contacts", dupes)
    assert str(err.value) == "header: column 'email' appears more than once"


def test_an_export_imports_back_unchanged(store: Store, ctx: Context, tmp_path: Path) -> None:
    with store.writing(ctx) as tx:
        account = tx.create("accounts", {"name": "=Acme", "credit_limit": "-5", "country": "DE"})
        tx.create("contacts", {"last_name": "Li", "email": "li@example.cn", "tags": [], "mobile": "+86 138 0013 8000",
                               "account_id": account["id"], "birthday": "1990-01-02", "do_not_email": True})
        tx.create("contacts", {"last_name": " =1+2", "first_name": "'=quoted", "email": "wu@example.cn",
                               "tags": ["vip", "=x"], "city": "\uff1dcmd"})
    for module in ("contacts", "accounts"):
        out = io.StringIO()
        export_csv(store, ctx, module, out)
        path = tmp_path / f"{module}.csv"
        path.write_text(out.getvalue(), encoding="utf-8-sig")
        report = import_csv(store, ctx, module, path)
        assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 2 if module ==
                                                                                      "contacts" else 1, 0)
        assert report.match == "id"
        assert report.ignored == ["created_at", "updated_at", "deleted_at", "version"]
    # Chosen fields, renamed by a column map, matched on e-mail: still nothing to change.
    out = io.StringIO()
    export_csv(store, ctx, "contacts", out, fields=["email", "last_name", "first_name", "tags", "city"])
    renamed = out.getvalue().replace("email,last_name,first_name,tags,city", "E-Mail,Name,Vorname,Tags,Ort", 1)
    path = tmp_path / "renamed.csv"
    path.write_text(renamed, encoding="utf-8")
    columns: dict[str, str | None] = {"E-Mail": "email", "Name": "last_name", "Vorname": "first_name",
                                      "Tags": "tags", "Ort": "city"}
    report = import_csv(store, ctx, "contacts", path, columns=columns)
    assert (report.created, report.updated, report.unchanged, report.rejected) == (0, 0, 2, 0)
    with store.reading(ctx) as tx:
        [wu] = tx.query("contacts", [Condition("email", "=", "wu@example.cn")])
    assert (wu["last_name"], wu["first_name"], wu["tags"], wu["city"]) == (" =1+2", "'=quoted", ["=x", "vip"],
                                                                           "\uff1dcmd")


def test_a_failed_batch_stops_the_import_with_a_report(store: Store, ctx: Context, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [contact_row(i) for i in range(7)]
    rows[1]["email"] = "bad@"
    path = write_csv(tmp_path / "contacts.csv", ["first_name", "last_name", "email"],
                     [{k: r[k] for k in ("first_name", "last_name", "email")} for r in rows])
    calls = []
    write_many = Tx.write_many

    def fail_second(self: Tx, module: str, batch: Any, all_or_nothing: bool = False) -> Any:
        calls.append(len(batch))
        if len(calls) == 2:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return write_many(self, module, batch, all_or_nothing)

    monkeypatch.setattr(Tx, "write_many", fail_second)
    report = import_csv(store, ctx, "contacts", path, batch_size=3)
    assert report.stopped is not None
    assert report.stopped.startswith("line 5 and after were not imported (OperationalError: ")
    assert "database is locked" in report.stopped
    assert report.committed == [(2, 4)]
    assert (report.created, report.rejected) == (2, 5)
    assert [(r.line, r.reason) for r in report.rejects] == [
        (3, "contacts.email: 'bad@' is not a valid e-mail address"),
        *[(line, "not imported: the import stopped at line 5") for line in range(5, 9)]]
    assert report.summary().startswith("stopped: line 5 and after were not imported")
    assert "lines imported: 2-4\n" in report.summary()
    assert count(store, ctx) == 2
    # The rejects file holds every row not imported; fixed, it imports as it is.
    rejects = tmp_path / "rejects.csv"
    write_rejects(report, rejects)
    fixed = rejects.read_text(encoding="utf-8-sig").replace("bad@", "fixed@example.com")
    rejects.write_text(fixed, encoding="utf-8")
    monkeypatch.setattr(Tx, "write_many", write_many)
    again = import_csv(store, ctx, "contacts", rejects)
    assert (again.created, again.rejected, again.ignored) == (5, 0, ["_line", "_error"])
    assert count(store, ctx) == 7


def test_the_rejects_file_neutralises_formulas(store: Store, ctx: Context, tmp_path: Path) -> None:
    path = tmp_path / "evil.csv"
    path.write_text('last_name,email\n"=cmd|\' /C calc\'!A0", bad@\n" @SUM(A1)",also-bad\n\uff1dx,@x\n',
                    encoding="utf-8")
    report = import_csv(store, ctx, "contacts", path)
    assert report.rejected == 3
    rejects = tmp_path / "rejects.csv"
    write_rejects(report, rejects)
    back = list(csv.reader(io.StringIO(rejects.read_text(encoding="utf-8-sig"))))
    cells = [c for row in back[1:] for c in row]
    assert "'=cmd|' /C calc'!A0" in cells and "' @SUM(A1)" in cells and "'\uff1dx" in cells and "'@x" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\uff1d") or c.startswith(" @")]


def test_a_field_masked_for_the_importer_is_not_written_back(store: Store, ctx: Context, tmp_path: Path) -> None:
    with store.writing(ctx) as tx:
        s, log = tx.session, tx.audit
        clerk = users.create_user(s, log, "clerk")
        users.create_role(s, log, "clerk")
        users.grant(s, log, "clerk", "contacts", ["read", "create", "update", "export"], "all")
        users.field_rule(s, log, "clerk", "contacts", "national_id", "masked")
        users.assign_role(s, log, "clerk", "clerk")
        tx.create("contacts", {"last_name": "Li", "email": "li@example.cn", "national_id": "110101199003071234"})
    as_clerk = Context(Actor.for_user(clerk.id, "clerk"), "test")
    out = io.StringIO()
    export_csv(store, as_clerk, "contacts", out, fields=["email", "last_name", "national_id"])
    assert "110101199003071234" not in out.getvalue()
    path = tmp_path / "masked.csv"
    path.write_text(out.getvalue().replace(",Li,", ",Lee,"), encoding="utf-8")
    report = import_csv(store, as_clerk, "contacts", path)
    assert (report.updated, report.rejected, report.ignored) == (1, 0, ["national_id"])
    with store.reading(ctx) as tx:
        [li] = tx.query("contacts", [Condition("email", "=", "li@example.cn")])
    assert (li["last_name"], li["national_id"]) == ("Lee", "110101199003071234")
