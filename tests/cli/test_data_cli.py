"""`hub import`, `hub export`, `hub records`, `hub fields`, `hub users/roles`, `hub keys`, `hub demo`."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.core import crypto


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_import_twice_then_export_round_trip(hub_env: str, tmp_path: Path) -> None:
    src = tmp_path / "people.csv"
    src.write_bytes("Name,Vorname,E-Mail,Land\n王,芳,wang.fang@example.cn,CN\nMüller,Jörg,joerg@example.de,DE\n"
                    "Bad,Row,not-an-email,DE\n".encode("gb18030"))
    cols = tmp_path / "cols.yaml"
    cols.write_text("Name: last_name\nVorname: first_name\nE-Mail: email\nLand: country\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    code, out, err = _run("import", "contacts", str(src), "--columns", str(cols), "--rejects", str(rejects))
    assert code == 1  # a row was rejected
    assert "created 2, updated 0, unchanged 0, rejected 1" in out and "gb18030" in out
    assert "line 4: contacts.email: 'not-an-email' is not a valid e-mail address" in err
    rows = list(csv.DictReader(io.StringIO(rejects.read_text(encoding="utf-8-sig"))))
    assert rows == [{"Name": "Bad", "Vorname": "Row", "E-Mail": "not-an-email", "Land": "DE", "_line": "4",
                     "_error": "contacts.email: 'not-an-email' is not a valid e-mail address"}]
    _, out, _ = _run("import", "contacts", str(src), "--columns", str(cols))
    assert "created 0, updated 0, unchanged 2, rejected 1" in out

    code, out, _ = _run("export", "contacts", "--where", "country=CN", "--fields", "last_name,first_name,email")
    assert code == 0
    assert list(csv.reader(io.StringIO(out))) == [["last_name", "first_name", "email"],
                                                  ["王", "芳", "wang.fang@example.cn"]]


def test_dry_run_writes_nothing(hub_env: str, tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("name,country\nAcme,DE\nGlobex,XX\n", encoding="utf-8-sig")
    code, out, err = _run("import", "accounts", str(src), "--dry-run")
    assert code == 1 and "dry run: would have created 1" in out and "rejected 1" in out
    assert "accounts.country: 'XX' is not an ISO 3166 country code" in err
    _, out, err = _run("records", "list", "accounts")
    assert "(0 of 0)" in err


def test_unknown_column_is_named_before_anything_is_written(hub_env: str, tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("name,colour\nAcme,red\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "accounts", str(src)])
    assert result.exit_code != 0
    assert "header column 'colour': accounts has no field 'colour'" in str(result.exception)


def test_custom_field_roles_and_hidden_export(hub_env: str, tmp_path: Path) -> None:
    assert _run("fields", "add", "contacts", "wechat_id", "--kind", "text", "--pattern", "[a-z][a-z0-9_]{5,19}")[0] == 0
    assert _run("roles", "create", "viewer")[0] == 0
    assert _run("roles", "grant", "viewer", "contacts", "--actions", "read,export", "--scope", "all")[0] == 0
    assert _run("roles", "field", "viewer", "contacts", "wechat_id", "hidden")[0] == 0
    assert _run("users", "create", "vic", "--password", "long-enough-pw", "--role", "viewer")[0] == 0
    src = tmp_path / "c.csv"
    src.write_text("last_name,email,wechat_id\nLi,li@example.cn,li_wechat\nWu,wu@example.cn,=1+2\n", encoding="utf-8")
    _, out, err = _run("import", "contacts", str(src))
    assert "created 1" in out and "does not match the pattern" in err
    _, out, _ = _run("export", "contacts")
    assert "wechat_id" in out.splitlines()[0] and "li_wechat" in out
    _, out, _ = _run("--as", "vic", "export", "contacts")
    assert "wechat_id" not in out and "li_wechat" not in out and "li@example.cn" in out


def test_export_neutralises_formulas(hub_env: str, tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text('name,city\n"=HYPERLINK(""http://x"")",@SUM(A1)\n', encoding="utf-8")
    assert "created 1" in _run("import", "accounts", str(src))[1]
    _, out, _ = _run("export", "accounts", "--fields", "name,city")
    assert list(csv.reader(io.StringIO(out)))[1] == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)"]


def test_keys_rotate_moves_every_value_to_the_new_key(hub_env: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "a.csv"
    src.write_text("name,tax_id\nAcme,DE111\nGlobex,DE222\n", encoding="utf-8")
    _run("import", "accounts", str(src))
    from hub.config import DEV_ENCRYPTION_KEYS

    monkeypatch.setenv("HUB_ENCRYPTION_KEYS", f"k2:{crypto.generate_key()},{DEV_ENCRYPTION_KEYS}")
    _, out, _ = _run("keys", "status")
    assert "k2 (primary): 0 values" in out and "dev1: 2 values" in out
    code, out, _ = _run("keys", "rotate")
    assert code == 0 and "rotated 2 of 2 records to key k2" in out
    _, out, _ = _run("keys", "status")
    assert "k2 (primary): 2 values" in out and "dev1: 0 values" in out
    _, out, _ = _run("records", "list", "accounts", "--where", "tax_id=de111", "--fields", "name,tax_id")
    assert "name=Acme  tax_id=DE111" in out


def test_production_refuses_development_keys(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "hub.cli", "db", "current"], capture_output=True, text=True,
                          env={"HUB_ENV": "production", "HUB_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1
    assert "HUB_SECRET_KEY, HUB_ENCRYPTION_KEYS, HUB_BLIND_INDEX_KEY: the development default is not allowed" \
        in proc.stderr


def test_demo_loads_syncs_and_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`hub demo` loads data and syncs the sample ERP both ways through a real worker on the embedded broker."""
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'hub.db'}")
    monkeypatch.delenv("HUB_BROKER_URL", raising=False)
    code, out, _ = _run("demo", "--accounts", "40")
    assert code == 0 and "accounts   40" in out and "hub audit verify" in out
    erp_in = (r"demo-erp/customers inbound run \S+: succeeded, read 200, created 195, updated 0, unchanged 0, "
              r"deleted 0, quarantined 1")
    assert re.search(erp_in, out)
    written = re.search(r"demo-erp/customers outbound run \S+: succeeded, .* written (\d+)", out)
    assert written and int(written.group(1)) >= 3  # the hub's edits (and the HR leaver's reassigned accounts)
    assert "accounts.country: 'XX' is not an ISO 3166 country code" in out
    runs = re.findall(r"^  (demo-\S+) (inbound|outbound) run \S+: (\w+)", out, re.M)
    assert {"demo-erp/customers", "demo-nav/customers", "demo-odoo/companies"} <= {r[0] for r in runs}
    assert all(status == "succeeded" for _, _, status in runs), runs
    code, again, _ = _run("demo", "--accounts", "40")
    assert code == 0
    assert re.search(r"demo-erp/customers inbound run \S+: succeeded, read 0, created 0", again)
    again_runs = re.findall(r"^  (demo-\S+) (inbound|outbound) run \S+: (\w+)", again, re.M)
    assert again_runs and all(status == "succeeded" for _, _, status in again_runs), again_runs
    _, verify, _ = _run("audit", "verify")
    assert "chain intact" in verify
    _, rep, _ = _run("--as", "li.wei", "records", "list", "deals", "--limit", "500")
    _, mgr, _ = _run("--as", "wang.fang", "records", "list", "deals", "--limit", "500")
    assert 0 < len(rep.splitlines()) < len(mgr.splitlines())


HUB = str(Path(sys.executable).with_name("hub"))


def _hub(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `hub` as a real process (its exit status is the one a script sees)."""
    return subprocess.run([HUB, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_import_exit_status_and_the_encoding(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real processes (the exit status a script sees); about the CLI, so on the embedded database only."""
    monkeypatch.setenv("HUB_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    good = tmp_path / "good.csv"
    good.write_text("name,country\nAcme,DE\n", encoding="utf-8")
    proc = _hub("import", "accounts", str(good))
    assert proc.returncode == 0, proc.stderr
    assert "created 1, updated 0, unchanged 0, rejected 0" in proc.stdout
    assert "Exit status: 0 every row imported; 1 some rows rejected or not imported" in " ".join(
        _run("import", "--help")[1].split())

    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,city\nMüller AG,Köln\nSchmidt KG,Düsseldorf\n".encode("cp1252"))
    proc = _hub("import", "accounts", str(latin))
    assert proc.returncode == 1
    assert "its encoding cannot be told for sure" in proc.stderr and "Pass --encoding" in proc.stderr
    assert "'Müller AG,Köln'" in proc.stderr
    assert "M黮ler" not in proc.stdout + proc.stderr
    proc = _hub("import", "accounts", str(latin), "--encoding", "cp1252")
    assert proc.returncode == 0, proc.stderr
    assert "read as cp1252" in proc.stdout
    assert "name=Müller AG  city=Köln" in _run("records", "list", "accounts", "--where", "city=Köln",
                                                 "--fields", "name,city")[1]

    bad = tmp_path / "bad.csv"
    bad.write_text("name,country\nGlobex,XX\nInitech,FR\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    proc = _hub("import", "accounts", str(bad), "--rejects", str(rejects))
    assert proc.returncode == 1
    assert "line 2: accounts.country: 'XX' is not an ISO 3166 country code" in proc.stderr
    assert "created 1, updated 0, unchanged 0, rejected 1" in proc.stdout
    assert rejects.exists()
    assert _hub("import", "accounts", str(tmp_path / "missing.csv")).returncode == 2


def _invoke(*args: str) -> tuple[int, str, str]:
    """In process; a HubError is caught (as main() does) and its message returned as stderr."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr + (str(result.exception) if result.exception else "")


def test_a_failed_export_leaves_no_file(hub_env: str, tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("name\nAcme\n", encoding="utf-8")
    assert _invoke("import", "accounts", str(src))[0] == 0
    out = tmp_path / "out" / "accounts.csv"
    out.parent.mkdir()
    code, _, err = _invoke("export", "accounts", "--fields", "name,colour", "-o", str(out))
    assert code == 1 and "accounts.colour: no such field" in err
    assert list(out.parent.iterdir()) == []
    assert _invoke("roles", "create", "reader")[0] == 0
    assert _invoke("roles", "grant", "reader", "accounts", "--actions", "read", "--scope", "all")[0] == 0
    assert _invoke("users", "create", "rita", "--password", "long-enough-pw", "--role", "reader")[0] == 0
    code, _, err = _invoke("--as", "rita", "export", "accounts", "-o", str(out))
    assert code == 1 and "rita may not export accounts" in err
    assert list(out.parent.iterdir()) == []
    assert _invoke("export", "accounts", "-o", str(out))[0] == 0
    assert list(out.parent.iterdir()) == [out] and "Acme" in out.read_text(encoding="utf-8-sig")


def test_stored_escape_sequences_are_shown_escaped(hub_env: str, tmp_path: Path) -> None:
    src = tmp_path / "evil.csv"
    src.write_text('last_name,first_name,email,city\n"\x1b]0;pwned\x07Evil","\x1b[2J\x1b[31mX",evil@example.cn,'
                   '"a\u202eb\x9b"\n', encoding="utf-8")
    assert _invoke("import", "contacts", str(src))[0] == 0
    code, listing, _ = _invoke("records", "list", "contacts", "--fields", "id,last_name,first_name,city")
    found = _invoke("records", "search", "contacts", "Evil")[1]
    record_id = re.search(r"id=(\S+)", listing)
    assert code == 0 and record_id
    shown = _invoke("records", "show", "contacts", record_id.group(1))[1]
    for out in (listing, found, shown):
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", out), out
    assert "\\x1b]0;pwned\\x07Evil" in listing and "\\x1b]0;pwned\\x07Evil" in found
    assert "\\x1b[2J\\x1b[31mX" in listing and "a\\u202eb\\x9b" in listing
    assert '"city": "a\\u202eb\\x9b"' in shown and "\\u001b]0;pwned\\u0007Evil" in shown
