"""Field encryption (hub.core.crypto), the blind index, and key rotation (hub.core.rotation)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from hub.config import DEV_BLIND_INDEX_KEY, DEV_ENCRYPTION_KEYS
from hub.core import crypto, rotation
from hub.core.actor import Context
from hub.core.crypto import DecryptionError, Keyring, associated_data
from hub.core.models import Account, BlindIndex, Contact, Employee
from hub.core.modules import define_custom_field
from hub.core.read import Condition
from hub.core.store import Store
from hub.errors import ConfigError, ValidationError


def stored(store: Store, model: Any, record_id: uuid.UUID, column: str) -> Any:
    """A column as the database holds it (no decryption)."""
    table = model.__table__
    with Session(store.engine) as session:
        return session.execute(select(table.c[column]).where(table.c.id == record_id)).scalar_one()


def set_stored(store: Store, model: Any, record_id: uuid.UUID, **values: Any) -> None:
    table = model.__table__
    with store.engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == record_id).values(**values))


# -- ciphertexts ----------------------------------------------------------------------------------


def test_equal_plaintexts_give_different_ciphertexts(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        a = tx.create("accounts", {"name": "A", "tax_id": "DE 123"})
        b = tx.create("accounts", {"name": "B", "tax_id": "DE 123"})
    token_a = stored(store, Account, a["id"], "tax_id")
    token_b = stored(store, Account, b["id"], "tax_id")
    assert token_a.startswith("enc:v1:dev1:")
    assert token_b.startswith("enc:v1:dev1:")
    assert token_a != token_b
    assert "DE 123" not in token_a
    assert (a["tax_id"], b["tax_id"]) == ("DE 123", "DE 123")
    ring = store.keyring
    aad = associated_data("accounts", a["id"], "tax_id")
    assert ring.encrypt("x", aad) != ring.encrypt("x", aad)
    assert ring.decrypt(token_a, aad) == "DE 123"


def test_every_sensitive_field_is_stored_encrypted(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        define_custom_field(tx.session, "contacts", "passport", "text", sensitive=True)
    with store.writing(ctx) as tx:
        c = tx.create("contacts", {"last_name": "Li", "national_id": "110101", "passport": "E99"})
        e = tx.create(
            "employees",
            {"employee_number": "E-1", "last_name": "Li", "national_id": "N-1", "bank_account": "DE89 3704"},
        )
        p = tx.create("payments", {"amount": "1", "currency": "EUR", "bank_account": "GB29 NWBK"})
    assert stored(store, Contact, c["id"], "national_id").startswith("enc:v1:dev1:")
    assert stored(store, Contact, c["id"], "custom")["passport"].startswith("enc:v1:dev1:")
    assert stored(store, Employee, e["id"], "national_id").startswith("enc:v1:dev1:")
    assert stored(store, Employee, e["id"], "bank_account").startswith("enc:v1:dev1:")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT bank_account FROM payments")).scalar_one().startswith("enc:v1:dev1:")
    assert (c["national_id"], c["passport"], e["bank_account"], p["bank_account"]) == (
        "110101",
        "E99",
        "DE89 3704",
        "GB29 NWBK",
    )


def test_a_ciphertext_copied_to_another_record_or_field_does_not_decrypt(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        a = tx.create("accounts", {"name": "A", "tax_id": "DE 111"})
        b = tx.create("accounts", {"name": "B", "tax_id": "DE 222"})
        emp = tx.create(
            "employees", {"employee_number": "E-1", "last_name": "Li", "national_id": "N-1", "bank_account": "IBAN-1"}
        )
    token_a = stored(store, Account, a["id"], "tax_id")
    set_stored(store, Account, b["id"], tax_id=token_a)
    set_stored(store, Employee, emp["id"], bank_account=stored(store, Employee, emp["id"], "national_id"))
    with store.reading(ctx) as tx:
        assert tx.get("accounts", b["id"])["tax_id"] == "<undecryptable>"
        assert tx.get("accounts", a["id"])["tax_id"] == "DE 111"
        moved = tx.get("employees", emp["id"])
    assert (moved["national_id"], moved["bank_account"]) == ("N-1", "<undecryptable>")
    with pytest.raises(DecryptionError) as err:
        store.keyring.decrypt(token_a, associated_data("accounts", b["id"], "tax_id"))
    assert str(err.value) == "value does not decrypt for this record and field"
    with pytest.raises(DecryptionError):
        store.keyring.decrypt(token_a, associated_data("accounts", a["id"], "name"))


def test_a_tampered_ciphertext_does_not_decrypt(keyring: Keyring) -> None:
    aad = associated_data("accounts", uuid.uuid4(), "tax_id")
    token = keyring.encrypt("DE 123", aad)
    prefix, body = token.rsplit(":", 1)
    raw = bytearray(base64.b64decode(body))
    raw[-1] ^= 1
    with pytest.raises(DecryptionError):
        keyring.decrypt(f"{prefix}:{base64.b64encode(bytes(raw)).decode()}", aad)


def test_an_unknown_key_id_is_a_clear_decryption_error(keyring: Keyring) -> None:
    other = Keyring.from_config(f"k9:{crypto.generate_key()}", DEV_BLIND_INDEX_KEY)
    aad = b"accounts:1:tax_id"
    token = other.encrypt("secret", aad)
    assert crypto.key_id(token) == "k9"
    with pytest.raises(DecryptionError) as err:
        keyring.decrypt(token, aad)
    assert str(err.value) == "value was encrypted with key 'k9', which is not configured"
    with pytest.raises(DecryptionError) as err:
        crypto.key_id("plain text")
    assert str(err.value) == "value is not an encrypted field value"


def test_keyring_configuration_errors_name_the_variable() -> None:
    good = crypto.generate_key()
    short = base64.b64encode(os.urandom(10)).decode()
    cases = [
        ("k1:not*base64", DEV_BLIND_INDEX_KEY, "HUB_ENCRYPTION_KEYS[k1]: key is not valid base64"),
        (f"k1:{short}", DEV_BLIND_INDEX_KEY, "HUB_ENCRYPTION_KEYS[k1]: key is 10 bytes; AES needs 16, 24 or 32"),
        (f"k1:{good},k1:{good}", DEV_BLIND_INDEX_KEY, "HUB_ENCRYPTION_KEYS: key id 'k1' appears twice"),
        (good, DEV_BLIND_INDEX_KEY, "HUB_ENCRYPTION_KEYS: "),
        ("", DEV_BLIND_INDEX_KEY, "HUB_ENCRYPTION_KEYS: no key configured"),
        (" , ", DEV_BLIND_INDEX_KEY, "HUB_ENCRYPTION_KEYS: no key configured"),
        (f"bad id!:{good}", DEV_BLIND_INDEX_KEY, "HUB_ENCRYPTION_KEYS: 'bad id!' is not of the form id:base64key"),
        (f"k1:{good}", "%%%", "HUB_BLIND_INDEX_KEY: key is not valid base64"),
    ]
    for keys, index_key, message in cases:
        with pytest.raises(ConfigError) as err:
            Keyring.from_config(keys, index_key)
        assert str(err.value).startswith(message), (keys, str(err.value))
    old = DEV_ENCRYPTION_KEYS.split(":", 1)[1]
    ring = Keyring.from_config(f" k2:{good} , dev1:{old} ", DEV_BLIND_INDEX_KEY)
    assert ring.primary_id == "k2"
    assert [k for k, _ in ring.keys] == ["k2", "dev1"]


# -- blind index ----------------------------------------------------------------------------------


def test_blind_index_finds_records_ignoring_case_spaces_and_hyphens(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        a = tx.create("accounts", {"name": "A", "tax_id": "DE 123"})
        tx.create("accounts", {"name": "B", "tax_id": "DE 124"})
        tx.create("contacts", {"last_name": "C", "national_id": "DE 123"})  # same value, other module
    with store.reading(ctx) as tx:
        for probe in ("de 123", "DE123", "De-123", " de  1-2-3 "):
            found = tx.query("accounts", [Condition("tax_id", "=", probe)])
            assert [r["id"] for r in found] == [a["id"]], probe
        assert tx.query("accounts", [Condition("tax_id", "=", "DE 125")]) == []
        with pytest.raises(ValidationError) as err:
            tx.query("accounts", [Condition("tax_id", "~", "DE")])
        assert str(err.value) == "accounts.tax_id: an encrypted field can only be searched with ="
    with Session(store.engine) as session:
        digests = list(session.scalars(select(BlindIndex.digest).where(BlindIndex.module == "accounts")))
    assert len(digests) == 2
    assert store.keyring.blind_index("accounts", "tax_id", "DE 123") in digests
    assert store.keyring.blind_index("accounts", "tax_id", "DE 123") != store.keyring.blind_index(
        "contacts", "national_id", "DE 123"
    )


def test_blind_index_follows_updates_and_serves_as_match_field(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        a = tx.create("accounts", {"name": "A", "tax_id": "DE 123"})
    with store.writing(ctx) as tx:
        found = tx.upsert("accounts", {"name": "A renamed", "tax_id": "de-123"}, match="tax_id")
        created = tx.upsert("accounts", {"name": "Other", "tax_id": "FR 9"}, match="tax_id")
    assert (found.status, found.id) == ("updated", a["id"])
    assert created.status == "created"
    with store.writing(ctx) as tx:
        tx.update("accounts", a["id"], {"tax_id": "DE 999"})
        assert tx.query("accounts", [Condition("tax_id", "=", "DE 123")]) == []
        assert [r["name"] for r in tx.query("accounts", [Condition("tax_id", "=", "DE999")])] == ["A renamed"]
        tx.update("accounts", a["id"], {"tax_id": None})
        assert tx.query("accounts", [Condition("tax_id", "=", "DE999")]) == []
        assert tx.get("accounts", a["id"])["tax_id"] is None
    assert stored(store, Account, a["id"], "tax_id") is None
    with Session(store.engine) as session:
        assert session.scalar(select(BlindIndex.record_id).where(BlindIndex.record_id == a["id"])) is None


# -- rotation -------------------------------------------------------------------------------------


def _all_sensitive_raw(store: Store) -> list[str]:
    """Every stored sensitive value, read with plain SQL (custom columns as JSON text)."""
    values: list[str] = []
    with store.engine.connect() as conn:
        for sql in (
            "SELECT tax_id FROM accounts",
            "SELECT national_id FROM contacts",
            "SELECT CAST(custom AS TEXT) FROM contacts",
            "SELECT bank_account FROM payments",
        ):
            values.extend(v for (v,) in conn.execute(text(sql)) if v is not None)
    return values


def test_rotation_moves_every_value_to_the_new_key(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        define_custom_field(tx.session, "contacts", "passport", "text", sensitive=True)
    with store.writing(ctx) as tx:
        accounts = [tx.create("accounts", {"name": f"A{i}", "tax_id": f"DE {i}"})["id"] for i in range(7)]
        contacts = [
            tx.create("contacts", {"last_name": f"C{i}", "national_id": f"N{i}", "passport": f"P{i}"})["id"]
            for i in range(5)
        ]
        tx.create("contacts", {"last_name": "No secrets"})
        tx.create("payments", {"amount": "5", "currency": "EUR", "bank_account": "IBAN-1"})
    assert rotation.key_usage(store, ctx) == Counter({"dev1": 7 + 5 + 5 + 1})

    new_key = crypto.generate_key()
    new_ring = Keyring.from_config(f"k2:{new_key},{DEV_ENCRYPTION_KEYS}", DEV_BLIND_INDEX_KEY)
    rotated = Store(store.engine, new_ring, plugins=store.plugins)
    # Before rotation the new store reads old values and writes new ones with k2.
    with rotated.writing(ctx) as tx:
        assert tx.get("accounts", accounts[0])["tax_id"] == "DE 0"
        extra = tx.create("accounts", {"name": "New", "tax_id": "DE new"})
    assert stored(store, Account, extra["id"], "tax_id").startswith("enc:v1:k2:")
    assert rotation.key_usage(rotated, ctx) == Counter({"dev1": 18, "k2": 1})

    report = rotation.rotate(rotated, ctx, batch_size=3)
    assert report.rotated == 7 + 5 + 1
    assert report.by_module == Counter({"accounts": 7, "contacts": 5, "payments": 1})
    assert rotation.key_usage(rotated, ctx) == Counter({"k2": 19})
    values = _all_sensitive_raw(store)
    assert not any("enc:v1:dev1:" in v for v in values)
    assert sum(v.count("enc:v1:k2:") for v in values) == 19

    with rotated.reading(ctx) as tx:
        assert [tx.get("accounts", rid)["tax_id"] for rid in accounts] == [f"DE {i}" for i in range(7)]
        got = [tx.get("contacts", rid) for rid in contacts]
        assert [(c["national_id"], c["passport"]) for c in got] == [(f"N{i}", f"P{i}") for i in range(5)]
        assert [r["id"] for r in tx.query("accounts", [Condition("tax_id", "=", "de 3")])] == [accounts[3]]
        assert [r["id"] for r in tx.query("contacts", [Condition("passport", "=", "p4")])] == [contacts[4]]
    # Without the new key the values no longer decrypt: the old key really is out of use.
    with store.reading(ctx) as tx:
        assert tx.get("accounts", accounts[0])["tax_id"] == "<undecryptable>"
    # Running it again finds nothing to do.
    assert rotation.rotate(rotated, ctx).rotated == 0
    # A keyring with only the new key reads everything.
    only_new = Store(store.engine, Keyring.from_config(f"k2:{new_key}", DEV_BLIND_INDEX_KEY), plugins=store.plugins)
    with only_new.reading(ctx) as tx:
        assert tx.get("contacts", contacts[2])["passport"] == "P2"


def test_mac_keys_are_derived_per_purpose_and_content_hashes_are_keyed() -> None:
    ring = Keyring.from_config(DEV_ENCRYPTION_KEYS, DEV_BLIND_INDEX_KEY)
    assert len({ring.index_key, ring.content_key, ring.audit_key}) == 3
    assert ring.content_key == Keyring.from_config(DEV_ENCRYPTION_KEYS, DEV_BLIND_INDEX_KEY).content_key
    other = Keyring.from_config(DEV_ENCRYPTION_KEYS, crypto.generate_key())
    text = '{"tax_id":"DE812526315"}'
    assert ring.content_hash(text) == ring.content_hash(text) != other.content_hash(text)
    assert ring.content_hash(text) != hashlib.sha256(text.encode()).hexdigest()
    assert "content_key" not in repr(ring) and "audit_key" not in repr(ring)


@pytest.mark.parametrize("key_len", [16, 32, 64, 100])
def test_the_precomputed_mac_is_standard_hmac_sha256(key_len: int) -> None:
    key = os.urandom(key_len)
    mac = crypto.Mac(key)
    for data in (b"", b"x", os.urandom(1000)):
        assert mac.hexdigest(data) == hmac.digest(key, data, "sha256").hex()
