"""One batch of an inbound run, landed by ``hub.sync.engine.Lander`` directly: the check against the bindings,
and the write of the mapped records in the batch's transaction (on SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.core.actor import Context
from hub.core.binding import ExternalRef
from hub.core.modules import ModuleDef, catalog, define_custom_field
from hub.core.store import Store
from hub.mappings import compile_mapping
from hub.sync import runs
from hub.sync.connector import Record
from hub.sync.engine import Lander
from hub.sync.models import SyncRun
from hub.sync.stage import Outcome, outcomes
from tests.sync.conftest import CONTACTS_SPEC, configure, contact, contact_rows, count, files_config

SPEC = CONTACTS_SPEC.format(name="m")


@pytest.fixture
def run(store: Store, tmp_path: Path) -> SyncRun:
    """A queued inbound run of the ``src`` files instance's contacts through mapping ``m``."""
    configure(store, "src", "files", files_config(tmp_path), "m", SPEC)
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        queued, _ = runs.queue(session, "src", "contacts", "inbound")
    return queued


@pytest.fixture
def mapping() -> Any:
    return compile_mapping(SPEC)


def module_now(store: Store) -> ModuleDef:
    with Session(store.engine) as session:
        return catalog(session, None)["contacts"]


def checked(store: Store, lander: Lander, records: list[Record], **kwargs: Any) -> Any:
    with Session(store.engine) as session:
        return lander.check(session, records, **kwargs)


def test_values_the_stage_validated_are_checked_again_when_the_module_changed(store: Store, run: SyncRun,
                                                                              mapping: Any) -> None:
    """The mapping stage validates against the module's fields as the run started: if they changed since
    (here a custom field was added), the batch's transaction validates the values itself."""
    at_start = module_now(store)
    with store.writing(Context.system("test")) as tx:
        define_custom_field(tx.session, "contacts", "nickname", "text")
    lander = Lander(store, run, mapping, 1)
    records = [Record("contacts", "c1", {"id": "c1"}), Record("contacts", "c2", {"id": "c2"})]
    batch = checked(store, lander, records)
    mapped = [Outcome("ok", {"last_name": "Li", "email": " Li.Wei@Example.CN "}, validated=True),
              Outcome("ok", {"last_name": "Bad", "email": "not an address"}, validated=True)]
    with store.writing(lander.ctx) as tx:
        dead = lander.write(tx, batch, mapped, at_start)
    assert [(d["external_id"], d["error_kind"]) for d in dead] == [("c2", "validation")]
    assert "not a valid e-mail address" in dead[0]["error"]
    assert contact(store, "c1")["email"] == "Li.Wei@example.cn"


def test_the_check_takes_as_unbound_only_records_once_in_the_batch_with_no_binding_and_none_in_flight(
        store: Store, run: SyncRun, mapping: Any) -> None:
    with store.writing(Context.system("test")) as tx:
        tx.upsert("contacts", {"last_name": "Li"}, ref=ExternalRef("src", "contacts", "bound"))
    lander = Lander(store, run, mapping, 1)
    records = [Record("contacts", x, {"id": x, "n": i}) for i, x in enumerate(["bound", "new", "flying", "twice",
                                                                              "twice"])]
    batch = checked(store, lander, records, in_flight=frozenset({"flying"}))
    assert batch.unbound == {"new"}
    assert [rec.external_id for rec, _, _ in batch.live] == ["bound", "new", "flying", "twice", "twice"]


def test_a_binding_made_between_the_check_and_the_write_rolls_the_batch_back_and_the_record_lands_once(
        store: Store, run: SyncRun, mapping: Any) -> None:
    """Another writer (an outbound run, a replay) binds a record the batch's check found unbound: the batch's
    transaction fails on the bindings' unique key and writes nothing; checked again, it updates that record."""
    lander = Lander(store, run, mapping, 1)
    rows = contact_rows(2)
    records = [Record("contacts", r["id"], r) for r in rows]
    batch = checked(store, lander, records)
    assert batch.unbound == {r["id"] for r in rows}
    with store.writing(Context.system("test")) as tx:
        other = tx.upsert("contacts", {"last_name": "Other"}, ref=ExternalRef("src", "contacts", rows[0]["id"]))
    with pytest.raises(IntegrityError), store.writing(lander.ctx) as tx:
        lander.write(tx, batch, outcomes(mapping, None, [r.data for r in records]))
    assert count(store.engine, "SELECT count(*) FROM contacts") == 1
    batch = checked(store, lander, records)
    assert batch.unbound == {rows[1]["id"]}
    with store.writing(lander.ctx) as tx:
        assert lander.write(tx, batch, outcomes(mapping, None, [r.data for r in records])) == []
    assert count(store.engine, "SELECT count(*) FROM contacts") == 2
    assert contact(store, rows[0]["id"])["id"] == other.id
