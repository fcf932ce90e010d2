"""Tampering by someone without Hub's keys, caught by the keyed chain and a signed checkpoint
(hub.core.audit, hub.core.audit_checkpoint): each case reports the first bad sequence number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from hub.config import Settings
from hub.core import audit
from hub.core import audit_checkpoint as checkpoints
from hub.core.actor import Context
from hub.core.store import Store
from hub.errors import ConfigError, ValidationError
from tests.core import audit_tamper as tamper


def _fill(store: Store, ctx: Context, n: int) -> None:
    for i in range(n):
        with store.writing(ctx) as tx:
            tx.create("accounts", {"name": f"Account {i}"})


def _verify(store: Store, anchor: audit.Anchor | None = None, strict: bool = False,
            expect_head: str | None = None) -> audit.Verdict:
    with Session(store.engine) as session:
        return audit.verify(session, store.keyring.audit_key, expect_head, anchor, strict)


def _checkpoint(store: Store, tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    head = _verify(store)
    assert head.ok
    path = tmp_path / "head.json"
    path.write_text(checkpoints.Checkpoint.sign(key, head.head_seq, head.head_hash).to_json(key))
    return path


@pytest.fixture
def signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_a_forged_event_rechained_to_the_end_is_reported_at_its_own_seq(store: Store, ctx: Context) -> None:
    _fill(store, ctx, 22)
    kept = _verify(store)
    tamper.forge(store.engine, 7)
    for verdict in (_verify(store), _verify(store, expect_head=kept.head_hash)):
        assert (verdict.ok, verdict.broken_seq) == (False, 7), verdict


def test_a_removed_event_is_reported_at_its_seq_even_when_the_rest_are_renumbered(
        store: Store, ctx: Context) -> None:
    _fill(store, ctx, 10)
    tamper.remove(store.engine, 4, renumber=True)
    verdict = _verify(store)
    assert (verdict.ok, verdict.broken_seq) == (False, 4), verdict


def test_reordered_events_are_reported_at_the_first_moved(store: Store, ctx: Context) -> None:
    _fill(store, ctx, 10)
    tamper.swap(store.engine, 5, 8)
    verdict = _verify(store)
    assert (verdict.ok, verdict.broken_seq) == (False, 5), verdict


def test_an_event_appended_after_the_checkpoint_without_the_key_fails(
        store: Store, ctx: Context, tmp_path: Path, signer: Ed25519PrivateKey) -> None:
    _fill(store, ctx, 5)
    cp = checkpoints.load(_checkpoint(store, tmp_path, signer), signer)
    seq = tamper.append(store.engine)
    verdict = _verify(store, cp.anchor)
    assert (verdict.ok, verdict.broken_seq) == (False, seq) == (False, 6), verdict


def test_events_hub_wrote_after_the_checkpoint_are_counted_and_fail_only_when_strict(
        store: Store, ctx: Context, tmp_path: Path, signer: Ed25519PrivateKey) -> None:
    _fill(store, ctx, 5)
    cp = checkpoints.load(_checkpoint(store, tmp_path, signer), signer)
    _fill(store, ctx, 3)
    verdict = _verify(store, cp.anchor)
    assert (verdict.ok, verdict.since, verdict.head_seq) == (True, 3, 8)
    strict = _verify(store, cp.anchor, strict=True)
    assert (strict.ok, strict.broken_seq, strict.since) == (False, 6, 3)


def test_a_cut_tail_is_caught_against_the_checkpoint_at_the_first_removed_seq(
        store: Store, ctx: Context, tmp_path: Path, signer: Ed25519PrivateKey) -> None:
    _fill(store, ctx, 9)
    cp = checkpoints.load(_checkpoint(store, tmp_path, signer), signer)
    tamper.cut_tail(store.engine, 6)
    assert _verify(store).ok  # self-consistent on its own
    verdict = _verify(store, cp.anchor)
    assert (verdict.ok, verdict.broken_seq) == (False, 7), verdict
    assert "7 to 9 were removed" in verdict.problem


def test_a_checkpoint_whose_event_was_replaced_is_reported_at_its_seq(
        store: Store, ctx: Context, signer: Ed25519PrivateKey) -> None:
    _fill(store, ctx, 4)
    head = _verify(store)
    verdict = _verify(store, audit.Anchor(head.head_seq, "a" * 64))
    assert (verdict.ok, verdict.broken_seq) == (False, 4)


def test_an_altered_or_foreign_checkpoint_is_refused(
        store: Store, ctx: Context, tmp_path: Path, signer: Ed25519PrivateKey) -> None:
    _fill(store, ctx, 4)
    path = _checkpoint(store, tmp_path, signer)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "seq": 2}))
    with pytest.raises(ValidationError, match="signature does not match"):
        checkpoints.load(path, signer)
    path.write_text(json.dumps(data))
    with pytest.raises(ValidationError, match="signature does not match"):
        checkpoints.load(path, Ed25519PrivateKey.generate())
    assert checkpoints.load(path, signer).seq == 4
    path.write_text("not json")
    with pytest.raises(ValidationError, match="not a JSON checkpoint"):
        checkpoints.load(path, signer)


def test_the_signing_key_file_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    with pytest.raises(ConfigError, match="no audit signing key"):
        checkpoints.signing_key(settings)
    key = checkpoints.signing_key(settings, create=True)
    path = tmp_path / "var" / checkpoints.KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert checkpoints.signing_key(settings).private_bytes_raw() == key.private_bytes_raw()
    given = checkpoints.generate_signing_key()
    from_env = checkpoints.signing_key(Settings(var_dir=tmp_path / "none", audit_signing_key=given))
    assert from_env.private_bytes_raw() != key.private_bytes_raw()
    with pytest.raises(ConfigError, match="HUB_AUDIT_SIGNING_KEY"):
        checkpoints.signing_key(Settings(audit_signing_key="c2hvcnQ="))
