"""The mapping stage (hub.sync.stage): mapping and validation in a forked helper, with the same outcomes as
in the run's own process, and a run that goes on when the helper dies; the engine's read-ahead."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from hub.core.binding import BoundId
from hub.core.modules import catalog
from hub.core.store import Store
from hub.errors import MappingError, ValidationError
from hub.mappings import compile_mapping
from hub.sync import runs
from hub.sync.retry import RetryPolicy
from hub.sync.runner import Runner
from hub.sync.stage import MappingStage, Outcome, outcomes, validate
from tests.sync.conftest import CONTACTS_SPEC, all_types, configure, files_config, landed, write_jsonl

SPEC = CONTACTS_SPEC.format(name="stage_contacts") + "filter: \"last != 'skip'\"\n"
SOURCES: list[dict[str, Any]] = [
    {"id": "1", "email": " Li.Wei@Example.CN ", "first": "Wei", "last": " Li ", "city": "Shanghai"},
    {"id": "2", "email": "not an address", "first": "Bad", "last": "Mail", "city": "Berlin"},
    {"id": "3", "email": "x@example.de", "first": "Skipped", "last": "skip", "city": "Berlin"},
    {"id": "4", "email": "y@example.de", "first": "N" * 300, "last": "Long", "city": "Köln"},
]


@pytest.fixture
def contacts(store: Store) -> Any:
    with Session(store.engine) as session:
        return catalog(session, None)["contacts"]


def pids(_record: Any) -> dict[str, Any]:
    return {"last_name": str(os.getpid())}


def test_outcomes_map_validate_skip_and_refuse(contacts: Any) -> None:
    got = outcomes(compile_mapping(SPEC), contacts, SOURCES)
    assert [o.kind for o in got] == ["ok", "error", "skip", "ok"]
    first = outcomes(compile_mapping(SPEC), contacts, SOURCES[:1])[0]
    assert first == Outcome("ok", {"email": "li.wei@example.cn", "first_name": "Wei", "last_name": "Li",
                                   "city": "Shanghai"}, True)
    long_name = got[3]
    assert long_name.kind == "ok" and not long_name.validated, "invalid values go to the write path to be reported"
    assert validate(contacts, {"no_such_field": 1}) is None


def test_a_bound_reference_is_left_for_the_run_to_resolve_in_a_reference_field_only(contacts: Any) -> None:
    ref = BoundId("companies", "K-1")
    assert validate(contacts, {"account_id": ref, "first_name": "Wei"}) == {"account_id": ref, "first_name": "Wei"}
    assert validate(contacts, {"job_title": ref}) is None, "not a reference field: the write path reports it"


def test_the_forked_helper_gives_the_same_outcomes_as_this_process(contacts: Any) -> None:
    mapping = compile_mapping(SPEC)
    with MappingStage(mapping, contacts) as stage:
        assert stage.forked
        for batch in (SOURCES, SOURCES[:2], []):
            stage.submit(batch)
            assert stage.result() == outcomes(mapping, contacts, batch)


def test_batches_are_mapped_in_another_process_which_ends_with_the_stage() -> None:
    stage = MappingStage(pids, None)
    stage.submit([{}])
    [outcome] = stage.result()
    assert outcome.values is not None and outcome.values["last_name"] != str(os.getpid())
    helper = int(outcome.values["last_name"])
    stage.close()
    with pytest.raises(ProcessLookupError):  # reaped, not a zombie
        os.kill(helper, 0)


def test_when_the_helper_dies_batches_are_mapped_here_and_nothing_is_lost(contacts: Any) -> None:
    mapping = compile_mapping(SPEC)
    stage = MappingStage(mapping, contacts)
    stage.submit(SOURCES[:1])
    stage.result()
    assert stage._pid is not None
    os.kill(stage._pid, signal.SIGKILL)
    stage.submit(SOURCES)
    assert stage.result() == outcomes(mapping, contacts, SOURCES)
    assert not stage.forked
    stage.submit(SOURCES[:2])
    assert stage.result() == outcomes(mapping, contacts, SOURCES[:2])
    stage.close()


def test_one_batch_at_a_time() -> None:
    with MappingStage(pids, None, forked=False) as stage:
        with pytest.raises(RuntimeError, match="no batch"):
            stage.result()
        stage.submit([{}])
        with pytest.raises(RuntimeError, match="take the result"):
            stage.submit([{}])


@pytest.mark.parametrize("between", [0, 1], ids=["next-batch", "batch-after-next"])
def test_a_record_changed_back_in_a_later_batch_lands_as_its_last_version(store: Store, tmp_path: Path,
                                                                        between: int) -> None:
    """Batch k+1 is checked against the bindings while batch k is still being written (and, on PostgreSQL,
    batch k+2 while k commits in its thread): a record that equals what was stored before k must not be
    taken as unchanged when k changes it."""
    src = tmp_path / "src"
    src.mkdir()
    first = {"id": "c1", "email": "a@example.com", "first": "A", "last": "Before", "city": "Berlin"}
    changed = {**first, "last": "Changed"}
    write_jsonl(src / "contacts-0000.jsonl", [first])
    configure(store, "src", "files", files_config(src), "src_contacts", CONTACTS_SPEC.format(name="src_contacts"),
              batch_size=1)
    runner = Runner(store, all_types(), lease_seconds=30, retry=RetryPolicy(attempts=2, initial=0.001, cap=0.01))
    other = {"id": "c2", "email": "b@example.com", "first": "B", "last": "Other", "city": "Paris"}
    for rows in ([], [changed, *[other] * between, first]):  # the second run: c1 changes, then changes back
        if rows:
            write_jsonl(src / "contacts-0001.jsonl", rows)
        with Session(store.engine, expire_on_commit=False) as session, session.begin():
            run, _ = runs.queue(session, "src", "contacts", "inbound")
        assert runner.execute(run.id) == "succeeded"
    rows = {external_id: (email, last) for external_id, email, last in landed(store.engine, "src")}
    assert rows["c1"] == ("a@example.com", "Before")


def test_a_mapping_failure_bound_for_a_sensitive_field_keeps_no_value(contacts: Any) -> None:
    secret = "DE-4471-SECRET"

    def failing(record: Any) -> dict[str, Any]:
        raise MappingError(record["target"], "number", record["value"], f"{record['value']!r} is not a number")

    got = outcomes(failing, contacts, [{"target": "national_id", "value": secret},
                                       {"target": "city", "value": "Köln"}])
    assert [o.kind for o in got] == ["error", "error"]
    assert secret not in (got[0].error or "") and "national_id: number:" in (got[0].error or "")
    assert "'Köln'" in (got[1].error or ""), "values bound for ordinary fields are still quoted"


def test_a_sensitive_fields_validation_error_keeps_no_value(contacts: Any) -> None:
    national_id = replace(contacts.fields["national_id"], pattern=r"[A-Z]{2}-\d+")
    with pytest.raises(ValidationError) as caught:
        national_id.clean("contacts", "XX-12-SECRET")
    assert "XX-12-SECRET" not in str(caught.value) and "does not match the pattern" in str(caught.value)
    email = contacts.fields["email"]
    with pytest.raises(ValidationError) as caught:
        replace(email, sensitive=True).clean("contacts", "not an address secret")
    assert "not an address secret" not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        email.clean("contacts", "not an address plain")
    assert "not an address plain" in str(caught.value), "ordinary fields still quote the value"
