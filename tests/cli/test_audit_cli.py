"""`hub audit verify` and `hub audit log`, as an operator runs them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from hub.cli import cli
from hub.core.actor import Context
from hub.core.store import Store
from tests.core import audit_tamper as tamper


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _write_history(store: Store) -> str:
    with store.writing(Context.system("test")) as tx:
        acc = tx.create("accounts", {"name": "Acme", "tax_id": "DE123"})
        for i in range(5):
            tx.update("accounts", acc["id"], {"city": f"City {i}"})
    return str(acc["id"])


def test_verify_catches_a_changed_and_a_deleted_row_with_their_sequence_numbers(
        hub_env: str, store: Store) -> None:
    record_id = _write_history(store)
    code, out = _run("audit", "verify")
    assert code == 0 and "ok: 6 events" in out
    head = re.search(r"head: 6 ([0-9a-f]{64})", out)
    assert head is not None

    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET changes = :c WHERE seq = 4"), {"c": '{"city":[null,"Evil"]}'})
    code, out = _run("audit", "verify")
    assert code == 1
    assert "BROKEN at sequence number 4" in out and "changed" in out

    with store.engine.begin() as conn:  # put 4 back, then delete 2
        conn.execute(sa.text("UPDATE audit_events SET changes = :c WHERE seq = 4"),
                     {"c": '{"city":["City 1","City 2"]}'})
    code, out = _run("audit", "verify")
    assert code == 0, out
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = 2"))
    code, out = _run("audit", "verify")
    assert code == 1 and "BROKEN at sequence number 2" in out and "missing" in out

    code, out = _run("audit", "log", "accounts", record_id)
    assert code == 0 and "City 4" in out


def test_a_cut_tail_is_caught_with_expect_head(hub_env: str, store: Store) -> None:
    _write_history(store)
    code, out = _run("audit", "verify")
    match = re.search(r"head: 6 ([0-9a-f]{64})", out)
    assert match is not None
    kept_head = match.group(1)
    with store.engine.begin() as conn:  # an intruder removes the last two events and rewrites the head row
        h = conn.execute(sa.text("SELECT hash FROM audit_events WHERE seq = 4")).scalar_one()
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq > 4"))
        conn.execute(sa.text("UPDATE audit_head SET seq = 4, hash = :h"), {"h": h})
    code, out = _run("audit", "verify")
    assert code == 0  # without the kept head the shortened chain is self-consistent
    code, out = _run("audit", "verify", "--expect-head", kept_head)
    assert code == 1 and "BROKEN at sequence number 5" in out and "cut off" in out


def test_log_of_a_record_outside_scope_is_not_found(hub_env: str, store: Store) -> None:
    record_id = _write_history(store)
    code, _ = _run("users", "create", "eve", "--password", "long-enough-pw")
    assert code == 0
    result = CliRunner().invoke(cli, ["--as", "eve", "audit", "log", "accounts", record_id])
    assert result.exit_code != 0
    assert "may not read accounts" in str(result.exception)


@pytest.mark.parametrize("expect", ["0" * 64])
def test_verify_of_an_empty_chain(hub_env: str, expect: str) -> None:
    code, out = _run("audit", "verify", "--expect-head", expect)
    assert code == 0 and "ok: 0 events" in out


def _hub(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed `hub`, as an operator runs it (the environment carries HUB_DATABASE_URL, HUB_VAR_DIR)."""
    return subprocess.run([str(Path(sys.executable).with_name("hub")), *args], capture_output=True, text=True,
                          timeout=120, check=False)


def _write_events(store: Store, n: int) -> None:
    with store.writing(Context.system("test")) as tx:
        acc = tx.create("accounts", {"name": "Acme", "tax_id": "DE123"})
    for i in range(n - 1):
        with store.writing(Context.system("test")) as tx:
            tx.update("accounts", acc["id"], {"city": f"City {i}"})


def test_a_forged_event_rechained_to_the_end_is_reported_at_its_seq_by_hub(
        hub_env: str, store: Store, tmp_path: Path) -> None:
    _write_events(store, 22)
    done = _hub("audit", "verify")
    assert done.returncode == 0, done.stderr
    head = re.search(r"head: 22 ([0-9a-f]{64})", done.stdout)
    assert head is not None
    cp = tmp_path / "checkpoint.json"
    done = _hub("audit", "checkpoint", "--out", str(cp))
    assert done.returncode == 0, done.stderr
    assert json.loads(cp.read_text())["seq"] == 22 and cp.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "var" / "audit-signing.key").stat().st_mode & 0o777 == 0o600

    tamper.forge(store.engine, 7)
    for args in (("--expect-head", head.group(1)), ("--since-checkpoint", str(cp)), ()):
        done = _hub("audit", "verify", *args)
        assert done.returncode == 1, (args, done.stdout)
        assert "BROKEN at sequence number 7:" in done.stderr, (args, done.stderr)


def test_verify_since_checkpoint_counts_new_events_and_strict_refuses_them(
        hub_env: str, store: Store, tmp_path: Path) -> None:
    _write_events(store, 4)
    cp = tmp_path / "cp.json"
    code, out = _run("audit", "checkpoint", "--out", str(cp))
    assert code == 0 and "checkpoint of event 4" in out
    _write_events(store, 3)
    code, out = _run("audit", "verify", "--since-checkpoint", str(cp))
    assert code == 0 and "ok: 7 events" in out and "3 events written after the checkpoint" in out
    result = CliRunner().invoke(cli, ["audit", "verify", "--since-checkpoint", str(cp), "--strict"])
    assert result.exit_code == 1 and "BROKEN at sequence number 5" in result.stderr


def test_verify_since_checkpoint_catches_a_cut_tail_and_a_doctored_checkpoint(
        hub_env: str, store: Store, tmp_path: Path) -> None:
    _write_events(store, 6)
    cp = tmp_path / "cp.json"
    assert _run("audit", "checkpoint", "--out", str(cp))[0] == 0
    tamper.cut_tail(store.engine, 4)
    assert _run("audit", "verify")[0] == 0
    result = CliRunner().invoke(cli, ["audit", "verify", "--since-checkpoint", str(cp)])
    assert result.exit_code == 1 and "BROKEN at sequence number 5" in result.stderr
    cp.write_text(cp.read_text().replace('"seq": 6', '"seq": 4'))
    result = CliRunner().invoke(cli, ["audit", "verify", "--since-checkpoint", str(cp)])
    assert result.exit_code == 1 and "signature does not match" in result.stderr
