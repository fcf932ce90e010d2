"""hub.services.custom_fields: defined with custom_fields.manage (audited with before/after), listed with
custom_fields.read; `hub fields add` goes through the service."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.cli import cli
from hub.core.actor import Context
from hub.core.models import CustomField
from hub.core.models.bookkeeping import AuditEvent
from hub.core.store import Store
from hub.errors import AccessDenied, ValidationError
from hub.services import custom_fields
from tests.services import auditing
from tests.services.auditing import chain_ok
from tests.services.test_mappings import person


def events(store: Store, action: str) -> list[AuditEvent]:
    return auditing.events(store, "custom_fields", action)


@pytest.mark.parametrize(("operation", "permission"), [("define", "custom_fields.manage"),
                                                         ("list", "custom_fields.read")])
def test_without_the_permission_is_refused_and_audited(store: Store, operation: str, permission: str) -> None:
    who = person(store, "reader", "custom_fields.read") if operation == "define" else person(store, "nobody")
    with pytest.raises(AccessDenied, match=permission.replace(".", r"\.")):
        if operation == "define":
            custom_fields.define(store, who, "contacts", "segment", "text")
        else:
            custom_fields.list_fields(store, who)
    denied = [e for e in events(store, "denied") if e.actor_name == who.actor.name]
    assert [(e.source, json.loads(e.changes)) for e in denied] == [("test-src", {"attempt": [None, permission]})]
    if operation == "define":
        assert denied[0].record_id == "contacts.segment"
    with Session(store.engine) as s:
        assert s.scalars(select(CustomField)).first() is None
    assert chain_ok(store)


def test_define_is_audited_and_listed(store: Store) -> None:
    admin = person(store, "admin", "custom_fields.manage")
    segment = custom_fields.define(store, admin, "contacts", "segment", "choice", label="Segment", required=True,
                                   choices=["retail", "wholesale"])
    custom_fields.define(store, admin, "accounts", "region", "text", pattern="[A-Z]{2}", sensitive=True)
    assert (segment.module, segment.name, segment.kind, segment.choices) == ("contacts", "segment", "choice",
                                                                              ["retail", "wholesale"])
    with pytest.raises(ValidationError, match="already has a field"):
        custom_fields.define(store, admin, "contacts", "segment", "text")

    first, second = events(store, "create")
    assert json.loads(first.changes) == {"field": [None, "contacts.segment"], "kind": [None, "choice"],
                                         "label": [None, "Segment"], "required": [None, True],
                                         "choices": [None, ["retail", "wholesale"]]}
    assert json.loads(second.changes) == {"field": [None, "accounts.region"], "kind": [None, "text"],
                                          "pattern": [None, "[A-Z]{2}"], "sensitive": [None, True]}
    with Session(store.engine) as s:
        ids = {str(r.id) for r in s.scalars(select(CustomField))}
    assert {e.record_id for e in (first, second)} == ids
    assert {(e.actor_name, e.source) for e in (first, second)} == {("admin", "test-src")}

    reader = person(store, "reader", "custom_fields.read")
    assert [(f.module, f.name) for f in custom_fields.list_fields(store, reader)] == [("accounts", "region"),
                                                                                      ("contacts", "segment")]
    assert [f.name for f in custom_fields.list_fields(store, admin, "contacts")] == ["segment"]
    assert chain_ok(store)


def test_fields_add_command_uses_the_service(store: Store, hub_env: str) -> None:
    result = CliRunner().invoke(cli, ["fields", "add", "contacts", "wechat_id", "--kind", "text", "--label", "WeChat"])
    assert result.exit_code == 0, result.output
    assert "added contacts.wechat_id (text)" in result.stdout
    (event,) = events(store, "create")
    assert json.loads(event.changes) == {"field": [None, "contacts.wechat_id"], "kind": [None, "text"],
                                         "label": [None, "WeChat"]}
    assert event.source == "cli" and event.actor_name.startswith("cli:")
    person(store, "nobody")
    refused = CliRunner().invoke(cli, ["--as", "nobody", "fields", "add", "contacts", "x", "--kind", "text"])
    assert isinstance(refused.exception, AccessDenied)  # `hub` (hub.cli.__main__) reports it, exit status 1
    (denied,) = events(store, "denied")
    assert (denied.actor_name, denied.source, denied.record_id) == ("nobody", "cli", "contacts.x")
    assert chain_ok(store)


def test_system_context_may_define(store: Store, ctx: Context) -> None:
    custom_fields.define(store, ctx, "contacts", "nickname", "text")
    (event,) = events(store, "create")
    assert (event.actor_name, event.source) == (ctx.actor.name, ctx.source)
    assert chain_ok(store)
