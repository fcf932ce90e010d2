"""Dead letters (hub.sync.deadletters, hub.sync.models): payloads sealed at rest, opened to show and replay."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.orm import Session

from hub.cli import cli
from hub.core.crypto import DecryptionError
from hub.core.store import Store
from hub.sync import deadletters, runs
from hub.sync.models import DeadLetter, open_payload
from hub.sync.retry import RetryPolicy
from hub.sync.runner import Runner
from tests.sync.conftest import (
    CONTACTS_SPEC,
    all_types,
    configure,
    contact,
    contact_rows,
    dead_letters,
    files_config,
    run_row,
    save_mapping,
    write_jsonl,
)

TAX_ID = "DE812526315"
SPEC = CONTACTS_SPEC.format(name="src_contacts")
BIRTHDAY = "  birthday: {from: birthday, transform: [date]}\n"


def _execute(store: Store) -> uuid.UUID:
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        run, _ = runs.queue(session, "src", "contacts", "inbound")
    Runner(store, all_types(), lease_seconds=30, retry=RetryPolicy(attempts=1)).execute(run.id)
    return run.id


def _quarantine_one(store: Store, src: Path) -> DeadLetter:
    rows = contact_rows(3)
    rows[1].update(birthday="31.02.2024", national_id=TAX_ID)
    write_jsonl(src / "contacts-0000.jsonl", rows)
    configure(store, "src", "files", files_config(src), "src_contacts", SPEC + BIRTHDAY)
    run = run_row(store, _execute(store))
    assert (run.created, run.quarantined) == (2, 1)
    [letter] = dead_letters(store)
    return letter


def test_a_dead_letter_payload_is_sealed_in_the_table(store: Store, tmp_path: Path) -> None:
    letter = _quarantine_one(store, tmp_path / "src")
    with store.engine.connect() as conn:  # what someone reading the database sees
        stored = [str(row) for row in conn.execute(sa.text("SELECT * FROM dead_letters"))]
    assert stored and not any(TAX_ID in row for row in stored)
    assert not any("31.02.2024\"" in row or "c000001@" in row for row in stored)
    assert set(letter.payload) == {"sealed"}
    assert open_payload(store.keyring, letter)["national_id"] == TAX_ID


def test_a_payload_moved_to_another_letter_or_written_in_clear_does_not_open(store: Store, tmp_path: Path) -> None:
    letter = _quarantine_one(store, tmp_path / "src")
    other = DeadLetter(id=uuid.uuid4(), payload=letter.payload)
    with pytest.raises(DecryptionError):
        open_payload(store.keyring, other)
    with pytest.raises(DecryptionError, match="not sealed"):
        open_payload(store.keyring, DeadLetter(id=letter.id, payload={"national_id": TAX_ID}))


def test_show_and_replay_open_the_sealed_payload(hub_env: str, store: Store, tmp_path: Path) -> None:
    letter = _quarantine_one(store, tmp_path / "src")
    result = CliRunner().invoke(cli, ["deadletters", "show", str(letter.id)])
    assert result.exit_code == 0, result.output
    assert TAX_ID in result.output and "31.02.2024" in result.output
    save_mapping(store, SPEC)  # the fixed mapping: no birthday
    with Session(store.engine) as session:
        report = deadletters.replay(store, deadletters.open_letters(session), "latest")
    assert (report.replayed, report.failed) == (1, 0)
    assert contact(store, "c000001")["last_name"] == contact_rows(3)[1]["last"]
