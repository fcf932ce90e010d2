"""Migration 0006: a database whose audit chain was unkeyed is re-chained under the key at upgrade time,
its dead letters sealed, and the new head signed as a checkpoint; a chain broken before is refused."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.config import DEV_BLIND_INDEX_KEY, DEV_ENCRYPTION_KEYS, Settings
from hub.core import audit
from hub.core import audit_checkpoint as checkpoints
from hub.core.actor import Context
from hub.core.crypto import Keyring
from hub.core.db import make_engine
from hub.core.migrate import current, upgrade
from hub.core.store import Store
from hub.errors import ConfigError
from hub.plugins import plugin_manager
from hub.sync.models import DeadLetter, open_payload
from tests.core import audit_tamper as tamper


@pytest.fixture
def old_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A database as Hub left it before 0006: an unkeyed SHA-256 chain of 8 events, a dead letter in clear."""
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0005")
    store = Store(make_engine(url), Keyring.from_config(DEV_ENCRYPTION_KEYS, DEV_BLIND_INDEX_KEY),
                  plugins=plugin_manager())
    for i in range(8):
        with store.writing(Context.system("test")) as tx:
            tx.create("accounts", {"name": f"Account {i}"})
    tamper.rechain_from(store.engine, 1)  # the links as the old version computed them
    with store.engine.begin() as conn:
        conn.execute(sa.insert(DeadLetter.__table__).values(
            id=uuid.uuid4(), run_id=uuid.uuid4(), instance="erp", stream="customers", direction="inbound",
            payload={"tax_id": "DE812526315"}, error_kind="validation", error="bad", status="open", attempts=1))
    return store


def _verify(store: Store, anchor: audit.Anchor | None = None) -> audit.Verdict:
    with Session(store.engine) as session:
        return audit.verify(session, store.keyring.audit_key, anchor=anchor)


def test_upgrade_rechains_under_the_key_seals_letters_and_signs_the_head(old_db: Store, tmp_path: Path) -> None:
    assert not _verify(old_db).ok  # the unkeyed chain does not pass the keyed verify
    upgrade(str(old_db.engine.url), "0006")
    assert current(str(old_db.engine.url)) == "0006"
    verdict = _verify(old_db)
    assert (verdict.ok, verdict.events) == (True, 8)
    path = tmp_path / "var" / "audit-checkpoint-0006-8.json"
    cp = checkpoints.load(path, checkpoints.signing_key(Settings.from_env()))
    assert (cp.seq, cp.hash) == (8, verdict.head_hash) and _verify(old_db, cp.anchor).ok
    with Session(old_db.engine) as session:
        [letter] = session.scalars(sa.select(DeadLetter)).all()
    assert "DE812526315" not in json.dumps(letter.payload)
    assert open_payload(old_db.keyring, letter) == {"tax_id": "DE812526315"}


def test_upgrade_refuses_to_rechain_a_chain_broken_before(old_db: Store) -> None:
    with old_db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET changes = '{}' WHERE seq = 3"))
    with pytest.raises(ConfigError, match="event 3"):
        upgrade(str(old_db.engine.url))
    assert current(str(old_db.engine.url)) == "0005"


def test_upgrade_checks_the_head_the_operator_kept(old_db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unkeyed chain can be forged and re-chained by anyone; the head kept before catches that."""
    with old_db.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT hash FROM audit_head")).scalar_one()
    tamper.forge(old_db.engine, 3)
    monkeypatch.setenv("HUB_AUDIT_EXPECT_HEAD", kept)
    with pytest.raises(ConfigError, match="HUB_AUDIT_EXPECT_HEAD"):
        upgrade(str(old_db.engine.url))
    assert current(str(old_db.engine.url)) == "0005"
