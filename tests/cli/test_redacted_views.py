"""Field rules apply to every rendering of a value: `hub audit log`, `hub lineage`, `hub deadletters show`.

Alice's role hides ``phone`` and masks ``email`` of contacts. What she is shown of a contact's history, its
lineage and a dead letter of its route never holds the phone number, and the e-mail only masked.
"""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from hub.cli import cli
from hub.core import users
from hub.core.access import mask
from hub.core.actor import Context
from hub.core.store import Store
from hub.mappings import versions
from hub.root import Hub
from hub.sync.models import DeadLetter, Route, seal_payload

PHONES = ("+8613800138000", "+8613900139000")
EMAIL = "wang.fang@example.cn"
SPEC = """\
mapping: people
source: {connector: erp, stream: people}
target: {module: contacts}
fields:
  last_name: {from: surname}
  phone: {from: tel}
  email: {from: mail}
"""


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def contact(hub_env: str) -> str:
    """Alice may read every contact, phone hidden and e-mail masked; a contact whose phone changed once."""
    store = Hub.from_settings().store
    system = Context.system("test")
    with store.writing(system) as tx:
        s, log = tx.session, tx.audit
        users.create_role(s, log, "viewer")
        users.grant(s, log, "viewer", "contacts", ("read",), "all")
        users.field_rule(s, log, "viewer", "contacts", "phone", "hidden")
        users.field_rule(s, log, "viewer", "contacts", "email", "masked")
        users.create_user(s, log, "alice")
        users.assign_role(s, log, "alice", "viewer")
        record = tx.create("contacts", {"last_name": "Wang", "email": EMAIL, "phone": PHONES[0]})
        tx.update("contacts", record["id"], {"phone": PHONES[1]})
    return str(record["id"])


def _no_phone(*texts: str) -> None:
    for text in texts:
        assert "phone" not in text
        for phone in PHONES:
            assert phone not in text and phone[-8:] not in text


def test_audit_log_leaves_out_hidden_fields_and_masks_masked_ones(contact: str) -> None:
    code, out, err = _run("--as", "alice", "audit", "log", "contacts", contact)
    assert code == 0, err
    _no_phone(out, err)
    assert EMAIL not in out and json.dumps(mask(EMAIL), ensure_ascii=False) in out
    assert "last_name: ∅ -> \"Wang\"" in out
    code, out, err = _run("--as", "alice", "audit", "log", "contacts", contact, "--json")
    assert code == 0, err
    _no_phone(out, err)
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["action"] for e in events] == ["create", "update"]
    assert events[1]["changes"] == {}  # the update changed only the hidden phone (the version shows it anyway)
    assert events[0]["changes"] == {"email": [None, mask(EMAIL)], "last_name": [None, "Wang"]} | {
        k: v for k, v in events[0]["changes"].items() if k not in ("email", "last_name", "phone")}
    code, out, _ = _run("audit", "log", "contacts", contact)  # the system sees it all
    assert PHONES[0] in out and PHONES[1] in out and EMAIL in out


def test_lineage_leaves_out_hidden_fields(contact: str) -> None:
    code, out, err = _run("--as", "alice", "lineage", "contacts", contact)
    assert code == 0, err
    _no_phone(out, err)
    assert "email" in out and "last_name" in out
    code, out, _ = _run("lineage", "contacts", contact)
    assert "phone" in out


def _dead_letter(store: Store, record_id: str | None) -> uuid.UUID:
    letter_id = uuid.uuid4()
    payload = {"surname": "Wang", "tel": PHONES[1], "mail": EMAIL, "note": "kept"}
    with store.writing(Context.system("test")) as tx:
        mapping = versions.save(tx.session, SPEC, "test")
        tx.session.add(Route(instance="erp", stream="people", direction="inbound", module="contacts",
                             mapping="people"))
        tx.session.add(DeadLetter(
            id=letter_id, run_id=uuid.uuid4(), instance="erp", stream="people", direction="inbound",
            external_id="P-1", record_id=uuid.UUID(record_id) if record_id else None,
            payload=seal_payload(store.keyring, letter_id, payload), error_kind="validation",
            error=f"contacts.phone: {PHONES[1]!r} is not a phone number; mail was {EMAIL}",
            mapping="people", mapping_version=mapping.version))
    return letter_id


def test_a_dead_letter_shows_a_user_only_what_their_field_rules_allow(contact: str) -> None:
    store = Hub.from_settings().store
    letter = _dead_letter(store, contact)
    code, out, err = _run("--as", "alice", "deadletters", "show", str(letter))
    assert code == 0, err
    for phone in PHONES:
        assert phone not in out and phone[-8:] not in out
    assert '"tel"' not in out and EMAIL not in out
    assert f'"mail": "{mask(EMAIL)}"' in out and '"surname": "Wang"' in out and '"note": "kept"' in out
    code, out, _ = _run("deadletters", "show", str(letter))  # the operator sees it whole
    assert PHONES[1] in out and EMAIL in out


def test_a_dead_letter_without_a_record_is_shown_only_to_users_who_see_every_record(contact: str) -> None:
    store = Hub.from_settings().store
    letter = _dead_letter(store, None)
    with Session(store.engine) as session:
        assert session.get(DeadLetter, letter) is not None
    code, out, _ = _run("--as", "alice", "deadletters", "show", str(letter))
    assert code == 0  # alice's scope is "all"
    assert PHONES[1] not in out


def test_the_dead_letter_list_shows_a_user_only_letters_and_errors_their_rules_allow(contact: str) -> None:
    store = Hub.from_settings().store
    letter = _dead_letter(store, contact)
    code, out, err = _run("--as", "alice", "deadletters", "list")
    assert code == 0, err
    assert str(letter) in out and "(1 dead letters)" in err
    for phone in PHONES:
        assert phone not in out and phone[-8:] not in out
    assert EMAIL not in out
    with Hub.from_settings().store.writing(Context.system("test")) as tx:
        users.create_user(tx.session, tx.audit, "bob")  # no role: no read access to contacts
    code, out, _ = _run("--as", "bob", "deadletters", "list")
    assert code == 0 and str(letter) not in out
    code, out, _ = _run("deadletters", "list")  # the operator sees the error whole
    assert PHONES[1] in out and EMAIL in out
