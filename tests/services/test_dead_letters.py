"""hub.services.dead_letters: replay and discard with dead_letters.manage (audited), list with .read."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from hub.core.actor import Context
from hub.core.store import Store
from hub.errors import ConfigError
from hub.services import dead_letters
from hub.services import runs as run_service
from hub.sync.runner import Runner
from tests.services.auditing import assert_chain_intact, assert_refused, changes, events, people
from tests.services.test_connectors import TYPES
from tests.sync.conftest import CONTACTS_SPEC, configure, contact_rows, files_config, write_jsonl

SYSTEM = Context.system("test")


@pytest.fixture
def run_id(store: Store, tmp_path: Path) -> uuid.UUID:
    """A run of ``src`` that landed two contacts and left two dead letters (addresses that are not ones)."""
    rows = contact_rows(4)
    rows[1]["email"], rows[3]["email"] = "not-an-address", "neither"
    write_jsonl(tmp_path / "contacts-0001.jsonl", rows)
    configure(store, "src", "files", files_config(tmp_path), "contacts", CONTACTS_SPEC.format(name="contacts"),
              types=TYPES)
    run = run_service.start_run(store, SYSTEM, "src", "contacts", send=lambda _: None)
    assert Runner(store, TYPES).execute(run.id) == "succeeded"
    return run.id


def _ids(store: Store) -> list[uuid.UUID]:
    return [d.id for d in dead_letters.list_letters(store, SYSTEM)]


OPERATIONS: dict[str, tuple[str, Callable[[Store, Context, uuid.UUID], object]]] = {
    "replay": ("dead_letters.manage", lambda s, c, r: dead_letters.replay(s, c, run_id=r)),
    "discard": ("dead_letters.manage", lambda s, c, r: dead_letters.discard(s, c, _ids(s)[:1])),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_each_operation_is_refused_without_its_permission(store: Store, run_id: uuid.UUID, operation: str) -> None:
    permission, call = OPERATIONS[operation]
    nobody, holder = people(store, permission)
    assert_refused(store, nobody, permission, lambda: call(store, nobody, run_id))
    call(store, holder, run_id)
    assert_chain_intact(store)


def test_list_and_show(store: Store, run_id: uuid.UUID) -> None:
    letters = dead_letters.list_letters(store, SYSTEM, run_id=run_id)
    assert sorted(d.external_id or "" for d in letters) == ["c000001", "c000003"]
    assert all(d.status == "open" and d.run_id == run_id for d in letters)
    shown = dead_letters.show_letter(store, SYSTEM, letters[0].id)
    assert shown.payload["email"] in ("not-an-address", "neither")
    with pytest.raises(ConfigError, match="no dead letter"):
        dead_letters.show_letter(store, SYSTEM, uuid.uuid4())
    nobody, _ = people(store, "dead_letters.manage")  # no role with read access to contacts
    assert dead_letters.list_letters(store, nobody, run_id=run_id) == []  # the record rules apply
    with pytest.raises(ConfigError, match="no dead letter"):
        dead_letters.show_letter(store, nobody, letters[0].id)


def test_replay_is_one_audited_event_with_the_letters_and_the_outcome(store: Store, run_id: uuid.UUID) -> None:
    _, holder = people(store, "dead_letters.manage")
    ids = sorted(str(i) for i in _ids(store))
    report = dead_letters.replay(store, holder, run_id=run_id)
    assert (report.replayed, report.failed) == (0, 2)  # the same mapping, the same problem
    [event] = events(store, "dead_letters", "replay")
    assert (event.actor_name, event.source, event.record_id) == ("holder", "cli", str(report.run_id))
    found = changes(event)
    assert found["letters"] == [None, ids]
    assert found["status"] == [dict.fromkeys(ids, "open"), dict.fromkeys(ids, "open")]
    assert (found["replayed"], found["failed"], found["requeued"]) == ([None, 0], [None, 2], [None, 0])
    with pytest.raises(ConfigError, match="no open dead letters match"):
        dead_letters.replay(store, holder, ids=[uuid.uuid4()])
    assert_chain_intact(store)


def test_discard_audits_each_letter_and_only_open_ones(store: Store, run_id: uuid.UUID) -> None:
    _, holder = people(store, "dead_letters.manage")
    first, second = _ids(store)
    assert dead_letters.discard(store, holder, [first]) == [first]
    [event] = events(store, "dead_letters", "discard")
    assert (event.actor_name, event.source, event.record_id) == ("holder", "cli", str(first))
    assert changes(event) == {"status": ["open", "discarded"]}
    assert _ids(store) == [second]  # no longer open
    assert {d.id: d.status for d in dead_letters.list_letters(store, SYSTEM, include_closed=True)} == {
        first: "discarded", second: "open"}
    with pytest.raises(ConfigError, match=f"these are not: {first} \\(discarded\\)"):
        dead_letters.discard(store, holder, [second, first])
    assert _ids(store) == [second]  # nothing discarded
    with pytest.raises(ConfigError, match="no dead letter"):
        dead_letters.discard(store, holder, [uuid.uuid4()])
    with pytest.raises(ConfigError, match="no open dead letters match"):
        dead_letters.replay(store, holder, ids=[first])  # a discarded letter is never replayed
    assert len(events(store, "dead_letters", "discard")) == 1
    assert_chain_intact(store)
