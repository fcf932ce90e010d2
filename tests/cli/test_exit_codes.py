"""The installed `hub`, run as a process: a command that reports a failure exits non-zero.

Each failure is provoked for real (an audit row changed with SQL, a run that dies, a column the models do
not have, a dead letter that fails again) and the exit status is the one the process ends with, not what
click's test runner makes of it. Every command's --help documents its exit codes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from hub.cli import cli
from hub.core.actor import Context
from hub.core.store import Store
from hub.sync.connector_types import connector_types
from hub.sync.retry import RetryPolicy
from hub.sync.runner import Runner
from tests.cli.shop import write_shop

_BESIDE = Path(sys.executable).with_name("hub")
HUB = str(_BESIDE) if _BESIDE.exists() else shutil.which("hub")



def hub(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed `hub` with the test's HUB_* environment."""
    assert HUB is not None, "the hub command is not installed"
    return subprocess.run([HUB, *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def _in_process(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def shop(hub_env: str, tmp_path: Path) -> Iterator[Path]:
    """A files connector `shop` with a `people` route (one bad birthday among three records)."""
    files = write_shop(tmp_path, people=3, bad=1)
    _in_process("mapping", "save", str(files.spec))
    _in_process("connector", "add", "shop", "--type", "files", "--config", str(files.config))
    _in_process("connector", "route", "shop", "people", "--module", "contacts", "--mapping", "people",
                "--max-attempts", "1")
    yield files.data


def test_audit_verify_of_a_changed_row_exits_1(hub_env: str, store: Store) -> None:
    with store.writing(Context.system("test")) as tx:
        acc = tx.create("accounts", {"name": "Acme"})
        tx.update("accounts", acc["id"], {"city": "Berlin"})
    ok = hub("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET changes = :c WHERE seq = 2"), {"c": '{"city":[null,"Evil"]}'})
    broken = hub("audit", "verify")
    assert broken.returncode == 1
    assert "BROKEN at sequence number 2" in broken.stderr


def test_db_check_with_drift_exits_1(hub_env: str, store: Store) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE teams ADD COLUMN drift_probe INTEGER"))
    try:
        drift = hub("db", "check")
    finally:  # the PostgreSQL schema is shared by the session's tests
        with store.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE teams DROP COLUMN drift_probe"))
    assert drift.returncode == 1
    assert re.search(r"drift: .*teams.*drift_probe", drift.stdout)


def test_sync_wait_on_a_run_that_dies_exits_1(shop: Path, store: Store) -> None:
    shutil.rmtree(shop)  # the folder is gone: the run's only attempt fails
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    assert HUB is not None
    with subprocess.Popen([HUB, "sync", "shop", "--wait", "--timeout", "60"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"run (\S+) queued: shop/people inbound", line)
        assert found, line + (proc.stderr.read() if proc.stderr else "")
        runner = Runner(store, connector_types(store.plugins), retry=RetryPolicy(attempts=1))
        status = runner.execute(uuid.UUID(found.group(1)))
        assert status == "dead"  # what a worker would have done
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert re.search(r"run \S+: dead, .*gave up after 1 attempts: .*cannot list", out)


def test_deadletters_replay_that_fails_again_exits_1(shop: Path, store: Store) -> None:
    started = hub("sync", "shop")
    assert started.returncode == 0, started.stderr
    found = re.search(r"run (\S+) queued", started.stdout)
    assert found
    assert Runner(store, connector_types(store.plugins)).execute(uuid.UUID(found.group(1))) == "succeeded"
    replay = hub("deadletters", "replay", "--run", found.group(1))
    assert replay.returncode == 1, replay.stderr
    assert "replayed 0, failed again 1" in replay.stdout


def test_errors_and_bad_usage(hub_env: str, tmp_path: Path) -> None:
    missing = hub("connector", "show", "no-such")
    assert missing.returncode == 1 and "no connector instance 'no-such'" in missing.stderr
    usage = hub("sync")
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


def _commands(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, click.Command]]:
    yield " ".join(path), command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


def test_every_command_documents_its_exit_status() -> None:
    missing = []
    for name, command in _commands(cli, ("hub",)):
        with click.Context(command, info_name=name) as ctx:
            text = command.get_help(ctx)
        if not re.search(r"^\s*Exit status: \S", text, re.MULTILINE):
            missing.append(name)
    assert missing == []
    shown = hub("db", "check", "--help")
    assert shown.returncode == 0 and "Exit status: 0 the schema matches the models; 1 it drifted" in " ".join(
        shown.stdout.split())
