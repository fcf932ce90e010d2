"""`hub connectors`, `hub connector ...`, `hub sync`, `hub runs`, `hub deadletters`, `hub lineage`."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.cli import cli
from hub.core.store import Store
from hub.sync.connector_types import connector_types
from hub.sync.models import SyncRun
from hub.sync.runner import Runner
from tests.cli.shop import SPEC, write_shop


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def shop(hub_env: str, tmp_path: Path) -> Path:
    files = write_shop(tmp_path, people=20, bad=5, mail="P{i}@Example.com")
    assert _run("mapping", "save", str(files.spec))[0] == 0
    assert _run("connector", "add", "shop", "--type", "files", "--config", str(files.config))[0] == 0
    return files.data


def test_types_add_show_check_and_routes(shop: Path) -> None:
    assert "files" in _run("connectors")[1]
    code, out, _ = _run("connector", "check", "shop")
    assert code == 0 and "shop: ok" in out and "people" in out
    code, out, _ = _run("connector", "route", "shop", "people", "--module", "contacts", "--mapping", "people",
                        "--schedule", "*/5 * * * *")
    assert code == 0 and "shop/people (inbound) <-> contacts via people" in out
    result = CliRunner().invoke(cli, ["connector", "route", "shop", "people", "--module", "contacts",
                                      "--mapping", "people", "--schedule", "every day"])
    assert result.exit_code != 0 and "'every day' is not a cron expression" in str(result.exception)
    _, out, _ = _run("connector", "list")
    assert "shop (files)" in out and "every '*/5 * * * *'" in out
    _, out, _ = _run("connector", "pause", "shop")
    assert "PAUSED" in _run("connector", "list")[1]


def test_secrets_are_encrypted_masked_and_never_in_the_audit_trail(hub_env: str, tmp_path: Path, store: Store,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.hookspecs import hookimpl
    from hub.sync.connector import Connector

    class Secretive(Connector):
        type_name = "secretive"
        config_schema = {"type": "object", "required": ["password"],
                         "properties": {"url": {"type": "string"}, "password": {"type": "string", "secret": True}}}

    class Plugin:
        @hookimpl
        def register_connectors(self) -> dict[str, type[Connector]]:
            return {"secretive": Secretive}

    from hub.plugins import plugin_manager
    from hub.root import Hub

    types = connector_types(plugin_manager(extra=[Plugin()], entry_points=False))
    monkeypatch.setattr(Hub, "connector_types", property(lambda self: types))
    config = tmp_path / "s.json"
    config.write_text(json.dumps({"url": "https://erp.example.com", "password": "hunter2-very-secret"}))
    assert _run("connector", "add", "vault", "--type", "secretive", "--config", str(config))[0] == 0
    _, out, _ = _run("connector", "show", "vault")
    assert "********" in out and "hunter2" not in out
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT config FROM connector_instances WHERE name = 'vault'")).scalar_one()
        audit = conn.execute(text("SELECT string_agg(changes, ' ') FROM audit_events")
                             if store.engine.dialect.name == "postgresql"
                             else text("SELECT group_concat(changes, ' ') FROM audit_events")).scalar_one()
    assert "hunter2" not in json.dumps(stored) and "enc:v1:" in json.dumps(stored)
    assert "hunter2" not in audit and "********" in audit


def test_sync_queues_then_runs_dead_letters_replay_and_lineage(shop: Path, store: Store, tmp_path: Path) -> None:
    _run("connector", "route", "shop", "people", "--module", "contacts", "--mapping", "people")
    code, out, _ = _run("sync", "shop")
    assert code == 0
    run_id = uuid.UUID(re.search(r"run (\S+) queued: shop/people inbound", out).group(1))  # type: ignore[union-attr]
    assert Runner(store, connector_types(store.plugins)).execute(run_id) == "succeeded"  # what a worker does
    _, out, _ = _run("runs", "show", str(run_id))
    assert re.search(r"status\s+succeeded", out) and re.search(r"created\s+19", out)
    assert re.search(r"quarantined\s+1", out) and re.search(r"mapping_version\s+1", out)
    _, out, _ = _run("deadletters", "list", "--run", str(run_id))
    assert "birthday: date" in out and "31.02.1990" in out
    letter = out.split()[0]
    assert '"born": "31.02.1990"' in _run("deadletters", "show", letter)[1]
    code, out, _ = _run("deadletters", "replay", "--run", str(run_id))
    assert code == 1 and "replayed 0, failed again 1" in out  # same mapping, same problem
    fixed = tmp_path / "people.yaml"
    fixed.write_text(SPEC.replace("birthday: {from: born,", "birthday: {from: born, when: \"born != '31.02.1990'\",",
                                  ), encoding="utf-8")  # version 2 leaves an impossible date out
    assert _run("mapping", "save", str(fixed))[0] == 0
    code, out, _ = _run("deadletters", "replay", "--run", str(run_id), "--mapping", "latest")
    assert code == 0 and "replayed 1, failed again 0" in out
    assert "(0 dead letters)" in CliRunner().invoke(cli, ["deadletters", "list"]).stderr
    with Session(store.engine) as session:
        runs = session.scalars(select(SyncRun).order_by(SyncRun.queued_at)).all()
    assert [r.kind for r in runs] == ["sync", "replay", "replay"]
    _, found, _ = _run("records", "list", "contacts", "--where", "email=p5@example.com", "--fields", "id")
    record_id = found.strip().split("=")[1]
    _, out, _ = _run("lineage", "contacts", record_id)
    assert re.search(r"email .* connector:shop .* people record 5 mapping people v2", out)
    _, out, _ = _run("runs", "list")
    assert out.count("shop/people") == 3


def test_org_sweep_on_an_empty_hub(hub_env: str) -> None:
    code, out, _ = _run("org", "sweep")
    assert code == 0 and "0 leavers offboarded" in out
    result = CliRunner().invoke(cli, ["org", "sync", "no-such-hr"])
    assert result.exit_code != 0 and "no connector instance 'no-such-hr'" in str(result.exception)


def test_route_names_a_known_stream_and_a_saved_mapping_and_changes_only_with_replace(shop: Path,
                                                                                      store: Store) -> None:
    result = CliRunner().invoke(cli, ["connector", "route", "shop", "peeple", "--module", "contacts",
                                      "--mapping", "people"])
    assert result.exit_code != 0 and "shop: no stream 'peeple'; streams: people" in str(result.exception)
    result = CliRunner().invoke(cli, ["connector", "route", "shop", "people", "--module", "contacts",
                                      "--mapping", "peple"])
    assert result.exit_code != 0
    assert "no mapping named 'peple' (did you mean people?)" in str(result.exception)
    assert "people" not in _run("connector", "list")[1].split("shop (files)")[1]  # nothing was routed

    code, out, _ = _run("connector", "route", "shop", "people", "--module", "contacts", "--mapping", "people")
    assert code == 0 and out.startswith("shop/people (inbound) <-> contacts via people (added)")
    code, out, _ = _run("connector", "route", "shop", "people", "--module", "contacts", "--mapping", "people")
    assert code == 0 and "(unchanged)" in out
    result = CliRunner().invoke(cli, ["connector", "route", "shop", "people", "--module", "accounts",
                                      "--mapping", "people", "--schedule", "*/5 * * * *"])
    assert result.exit_code != 0
    assert ("shop/people (inbound) is routed already; this would change module: contacts -> accounts; "
            "schedule: (none) -> */5 * * * *") in str(result.exception)
    assert "every '*/5" not in _run("connector", "list")[1]  # the working route is as it was
    code, out, _ = _run("connector", "route", "shop", "people", "--module", "contacts", "--mapping", "people",
                        "--schedule", "*/5 * * * *", "--replace")
    assert code == 0 and "(changed)\n    schedule: (none) -> */5 * * * *" in out
    assert "every '*/5 * * * *'" in _run("connector", "list")[1]


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("empty.json", "", "the file is empty; a connector config is a JSON or YAML object"),
    ("blank.yaml", "\n  \n", "the file is empty"),
    ("bad.json", '{"path": "x",\n  "streams": }', "not valid JSON at line 2 column 14: Expecting value"),
    ("bad.yaml", "path: x\nstreams: [a\n", "not valid YAML at line 3 column 1"),
    ("list.json", "[1, 2]", "a connector config is an object, not list"),
])
def test_add_with_a_config_file_that_is_not_an_object_names_the_file_and_place(
        hub_env: str, tmp_path: Path, name: str, text: str, problem: str) -> None:
    config = tmp_path / name
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["connector", "add", "x", "--type", "files", "--config", str(config)])
    assert result.exit_code != 0
    assert str(result.exception).startswith(f"{config}: {problem}"), str(result.exception)
    assert "x (files)" not in _run("connector", "list")[1]


def test_runs_cancel_and_deadletters_discard(shop: Path, store: Store) -> None:
    _run("connector", "route", "shop", "people", "--module", "contacts", "--mapping", "people")
    _, out, _ = _run("sync", "shop")
    queued = re.search(r"run (\S+) queued", out).group(1)  # type: ignore[union-attr]
    code, out, _ = _run("runs", "cancel", queued)
    assert code == 0 and out == f"run {queued}: cancelled (shop/people inbound)\n"
    assert queued in _run("runs", "list", "--status", "cancelled")[1]
    result = CliRunner().invoke(cli, ["runs", "cancel", queued])
    assert result.exit_code != 0 and f"run {queued} is cancelled; only a queued" in str(result.exception)
    _, out, _ = _run("sync", "shop")
    run_id = uuid.UUID(re.search(r"run (\S+) queued", out).group(1))  # type: ignore[union-attr]
    assert Runner(store, connector_types(store.plugins)).execute(run_id) == "succeeded"
    letter = _run("deadletters", "list", "--run", str(run_id))[1].split()[0]
    code, out, _ = _run("deadletters", "discard", letter)
    assert code == 0 and out == "discarded 1 dead letters\n"
    assert "(0 dead letters)" in CliRunner().invoke(cli, ["deadletters", "list"]).stderr
    assert "discarded" in _run("deadletters", "list", "--all")[1]
