"""hub.services.mappings: versions saved, pinned, unpinned, rolled back with mappings.manage (audited, the
actor from the context), listed, shown and diffed with mappings.read."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.actor import Context
from hub.core.models.bookkeeping import AuditEvent
from hub.core.store import Store
from hub.errors import AccessDenied, NotFound
from hub.mappings.testcases import TestsFailed
from hub.mappings.versions import MappingPin, MappingVersion
from hub.services import mappings
from tests.services import auditing
from tests.services.auditing import chain_ok, changes

SPEC = """
mapping: erp_partner
source: {connector: odoo, stream: res.partner}
target: {module: accounts}
filter: is_company
fields:
  name:  {from: name, transform: [strip]}
  email: {from: email, transform: [strip, lower]}
tests:
  - name: company
    input:  {name: " Acme ", email: " INFO@ACME.DE", is_company: true}
    expect: {name: Acme, email: info@acme.de}
"""
V2 = SPEC.replace("[strip]}", "[strip, upper]}").replace("{name: Acme,", "{name: ACME,")
NAME = "erp_partner"


def person(store: Store, username: str, *permissions: str) -> Context:
    return auditing.person(store, username, permissions, source="test-src")


def events(store: Store, action: str) -> list[AuditEvent]:
    return auditing.events(store, "mapping_versions", action)


CALLS: dict[str, tuple[str, Callable[[Store, Context], object]]] = {
    "save": ("mappings.manage", lambda st, c: mappings.save(st, c, V2)),
    "pin": ("mappings.manage", lambda st, c: mappings.pin(st, c, NAME, 1)),
    "unpin": ("mappings.manage", lambda st, c: mappings.unpin(st, c, NAME)),
    "rollback": ("mappings.manage", lambda st, c: mappings.rollback(st, c, NAME, 1)),
    "names": ("mappings.read", lambda st, c: mappings.names(st, c)),
    "history": ("mappings.read", lambda st, c: mappings.history(st, c, NAME)),
    "show": ("mappings.read", lambda st, c: mappings.show(st, c, NAME)),
    "diff": ("mappings.read", lambda st, c: mappings.diff(st, c, NAME, 1, 1)),
}


@pytest.mark.parametrize("operation", list(CALLS))
def test_without_the_permission_is_refused_and_audited(store: Store, ctx: Context, operation: str) -> None:
    mappings.save(store, ctx, SPEC)
    permission, call = CALLS[operation]
    # a reader may look but not change; nobody may do either
    who = person(store, "reader", "mappings.read") if permission == "mappings.manage" else person(store, "nobody")
    with pytest.raises(AccessDenied, match=permission.replace(".", r"\.")):
        call(store, who)
    denied = [e for e in events(store, "denied") if e.actor_name == who.actor.name]
    assert [(e.source, changes(e)) for e in denied] == [("test-src", {"attempt": [None, permission]})]
    assert denied[0].record_id in (NAME, None)
    with Session(store.engine) as s:  # nothing changed
        assert [v.version for v in s.scalars(select(MappingVersion))] == [1]
        assert s.get(MappingPin, NAME) is None
    assert chain_ok(store)


def test_changes_are_audited_with_the_actor_from_the_context(store: Store) -> None:
    editor = person(store, "editor", "mappings.manage")

    first = mappings.save(store, editor, SPEC, comment="first cut")
    assert first.created and first.version.version == 1 and first.version.created_by == "editor"
    assert not mappings.save(store, editor, SPEC + "\n# a comment only\n").created  # unchanged: no event
    second = mappings.save(store, editor, V2)
    assert (second.created, second.version.version, second.pinned) == (True, 2, None)
    (s1, s2) = events(store, "save")
    assert changes(s1) == {"version": [None, 1], "spec_hash": [None, first.version.spec_hash],
                           "comment": [None, "first cut"]}
    assert changes(s2) == {"version": [1, 2], "spec_hash": [first.version.spec_hash, second.version.spec_hash]}

    assert mappings.pin(store, editor, NAME, 1) is None
    assert mappings.pin(store, editor, NAME, 2) == 1
    assert [changes(e) for e in events(store, "pin")] == [{"pinned": [None, 1]}, {"pinned": [1, 2]}]
    with Session(store.engine) as s:
        pin = s.get(MappingPin, NAME)
        assert pin is not None and pin.pinned_by == "editor"

    back = mappings.rollback(store, editor, NAME, 1)
    assert (back.created, back.version.version, back.pinned) == (True, 3, 2)
    assert back.version.spec_hash == first.version.spec_hash and back.version.comment == "rollback to v1"
    assert back.version.created_by == "editor"
    assert not mappings.rollback(store, editor, NAME, 1).created  # v3 is v1's content already: no event
    (rb,) = events(store, "rollback")
    assert changes(rb) == {"version": [2, 3], "spec_hash": [second.version.spec_hash, first.version.spec_hash],
                           "content_of": [None, 1]}

    assert mappings.unpin(store, editor, NAME) is True
    assert mappings.unpin(store, editor, NAME) is False  # not pinned: no event
    assert [changes(e) for e in events(store, "unpin")] == [{"pinned": [2, None]}]

    changed = [e for a in ("save", "pin", "rollback", "unpin") for e in events(store, a)]
    assert len(changed) == 6
    assert {(e.actor_name, e.actor_kind, e.source, e.record_id) for e in changed} == {
        ("editor", "user", "test-src", NAME)}
    assert chain_ok(store)


def test_reading_versions(store: Store, ctx: Context) -> None:
    mappings.save(store, ctx, SPEC)
    mappings.save(store, ctx, V2)
    mappings.pin(store, ctx, NAME, 1)
    reader = person(store, "reader", "mappings.read")

    assert mappings.names(store, reader) == [NAME]
    history = mappings.history(store, reader, NAME)
    assert [v.version for v in history.versions] == [1, 2] and history.pinned == 1
    assert {v.created_by for v in history.versions} == {ctx.actor.name}
    assert mappings.history(store, reader, "ghost").versions == []
    assert "upper" not in mappings.show(store, reader, NAME).spec  # the pinned one
    assert "upper" in mappings.show(store, reader, NAME, 2).spec
    text = mappings.diff(store, reader, NAME, 1, 2)
    assert "--- erp_partner v1" in text and "+    - upper" in text
    with pytest.raises(NotFound, match="did you mean erp_partner"):
        mappings.show(store, reader, "erp_partnr")
    assert events(store, "denied") == []
    assert chain_ok(store)


def test_a_refused_or_failed_save_stores_nothing(store: Store, ctx: Context) -> None:
    broken = SPEC.replace("[strip]}", "[strip, upper]}")
    with pytest.raises(TestsFailed):
        mappings.save(store, ctx, broken)
    with pytest.raises(NotFound):
        mappings.pin(store, ctx, NAME, 1)
    assert events(store, "save") == [] and events(store, "pin") == []
    forced = mappings.save(store, ctx, broken, force=True)
    assert forced.created and forced.version.created_by == ctx.actor.name
    (saved,) = events(store, "save")
    assert (saved.actor_name, saved.source) == (ctx.actor.name, ctx.source)
    assert chain_ok(store)
