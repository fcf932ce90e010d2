"""The audit trail (hub.core.audit): one event per change, field-level before/after, a verifiable chain."""

from __future__ import annotations

import io
import itertools
import json
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.core import audit, users
from hub.core.actor import Actor, Context
from hub.core.binding import ExternalRef
from hub.core.models import AuditEvent, AuditHead
from hub.core.store import Store
from hub.core.write import Row
from hub.errors import ValidationError
from hub.imports.csv_export import export_csv


def events(store: Store) -> list[AuditEvent]:
    with Session(store.engine) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def changes(event: AuditEvent) -> dict[str, Any]:
    return dict(json.loads(event.changes))


def verify(store: Store, expect_head: str | None = None, anchor: audit.Anchor | None = None,
           strict: bool = False) -> audit.Verdict:
    with Session(store.engine) as session:
        return audit.verify(session, store.keyring.audit_key, expect_head=expect_head, anchor=anchor, strict=strict)


def raw(store: Store, sql: str, **params: Any) -> None:
    """Tamper with the database behind the hub's back."""
    with store.engine.begin() as conn:
        conn.execute(text(sql), params)


def fill(store: Store, ctx: Context, n: int = 6) -> list[uuid.UUID]:
    ids = []
    for i in range(n):
        with store.writing(ctx) as tx:
            ids.append(tx.create("accounts", {"name": f"Account {i}"})["id"])
    return ids


# -- events of each write path --------------------------------------------------------------------


def test_create_update_delete_restore_each_write_one_event(store: Store) -> None:
    ctx = Context(Actor.system("importer"), "cli", request_id="req-1")
    with store.writing(ctx) as tx:
        li = tx.create(
            "contacts",
            {
                "last_name": "Li",
                "email": "li@example.cn",
                "birthday": "1990-01-02",
                "tags": ["vip"],
                "national_id": "110101199001021234",
            },
        )
    with store.writing(ctx) as tx:
        tx.update("contacts", li["id"], {"email": "wei@example.cn", "national_id": "X1", "city": "Tianjin"})
    with store.writing(ctx) as tx:
        tx.delete("contacts", li["id"])
    with store.writing(ctx) as tx:
        tx.restore("contacts", li["id"])
    evs = events(store)
    assert [e.action for e in evs] == ["create", "update", "delete", "restore"]
    for e in evs:
        assert (e.actor_kind, e.actor_name, e.actor_id) == ("system", "importer", None)
        assert (e.source, e.request_id, e.module, e.record_id) == ("cli", "req-1", "contacts", str(li["id"]))
    assert changes(evs[0]) == {
        "last_name": [None, "Li"],
        "email": [None, "li@example.cn"],
        "birthday": [None, "1990-01-02"],
        "tags": [None, ["vip"]],
        "national_id": [None, "***"],
        "do_not_email": [None, False],
    }
    assert changes(evs[1]) == {
        "email": ["li@example.cn", "wei@example.cn"],
        "national_id": ["***", "***"],
        "city": [None, "Tianjin"],
    }
    when = changes(evs[2])["deleted_at"]
    assert when[0] is None and when[1].endswith("Z")
    assert changes(evs[3]) == {"deleted_at": [when[1], None]}
    with Session(store.engine) as session:
        assert [e.seq for e in audit.history(session, "contacts", str(li["id"]))] == [1, 2, 3, 4]


def test_a_user_and_a_connector_are_recorded_as_actors(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        alice = users.create_user(tx.session, tx.audit, "alice", is_admin=True)
    with store.writing(Context(Actor.for_user(alice.id, "alice"), "api", request_id="r-42")) as tx:
        acme = tx.create("accounts", {"name": "Acme"})
    erp = Context(Actor.connector("erp-main"), "erp-main", request_id="run-7")
    with store.writing(erp) as tx:
        result = tx.upsert("accounts", {"name": "Acme AG"}, ref=ExternalRef("erp-main", "customers", "42"))
    evs = events(store)
    user_event, connector_event = evs[-2], evs[-1]
    assert (user_event.actor_kind, user_event.actor_id) == ("user", str(alice.id))
    assert user_event.actor_name == "alice"
    assert (user_event.source, user_event.request_id, user_event.action) == ("api", "r-42", "create")
    assert user_event.record_id == str(acme["id"])
    assert (connector_event.actor_kind, connector_event.actor_id, connector_event.actor_name) == (
        "connector",
        "erp-main",
        "erp-main",
    )
    assert (connector_event.source, connector_event.request_id) == ("erp-main", "run-7")
    assert (connector_event.action, connector_event.record_id) == ("create", str(result.id))
    assert changes(connector_event)["name"] == [None, "Acme AG"]
    # users.create_user is audited too, as the system
    assert (evs[0].module, evs[0].action, evs[0].actor_kind) == ("users", "create", "system")


def test_upsert_events_say_create_then_update(store: Store, ctx: Context) -> None:
    ref = ExternalRef("erp", "customers", "1")
    with store.writing(ctx) as tx:
        tx.upsert("accounts", {"name": "Acme", "city": "Köln"}, ref=ref)
        tx.upsert("accounts", {"name": "Acme", "city": "Bonn"}, ref=ref)
        tx.upsert("accounts", {"name": "Acme", "city": "Bonn"}, ref=ref)
        tx.upsert("contacts", {"last_name": "Li", "email": "li@example.cn"}, match="email")
        tx.upsert("contacts", {"last_name": "Lee", "email": "li@example.cn"}, match="email")
    evs = events(store)
    assert [(e.module, e.action) for e in evs] == [
        ("accounts", "create"),
        ("accounts", "update"),
        ("contacts", "create"),
        ("contacts", "update"),
    ]
    assert changes(evs[1]) == {"city": ["Köln", "Bonn"]}
    assert changes(evs[3]) == {"last_name": ["Li", "Lee"]}
    assert len({e.request_id for e in evs}) == 1


def test_a_batch_writes_one_event_per_changed_row(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        tx.create("contacts", {"last_name": "Old", "email": "old@example.cn"})
    with store.writing(ctx) as tx:
        result = tx.write_many(
            "contacts",
            [
                Row({"last_name": "A", "email": "a@example.cn"}, match="email"),
                Row({"last_name": "B", "email": "b@"}, match="email"),
                Row({"last_name": "Old", "email": "old@example.cn"}, match="email"),
                Row({"last_name": "Older", "email": "old@example.cn", "city": "Jinan"}, match="email"),
                Row({"last_name": "C", "email": "c@example.cn"}, match="email"),
            ],
        )
    assert [r.status for r in result.results] == ["created", "rejected", "unchanged", "updated", "created"]
    batch = events(store)[1:]
    assert [(e.action, e.record_id) for e in batch] == [
        ("create", str(result.results[0].id)),
        ("create", str(result.results[4].id)),
        ("update", str(result.results[3].id)),
    ]
    assert changes(batch[2]) == {"last_name": ["Old", "Older"], "city": [None, "Jinan"]}


def test_sensitive_values_never_reach_the_audit_trail(store: Store, ctx: Context) -> None:
    from hub.core.modules import define_custom_field

    with store.writing(ctx) as tx:
        define_custom_field(tx.session, "contacts", "passport", "text", sensitive=True)
    secrets = ["DE-SECRET-1", "SECRET-2", "PASSPORT-3", "PASSPORT-4", "IBAN-5"]
    with store.writing(ctx) as tx:
        a = tx.create("accounts", {"name": "Acme", "tax_id": secrets[0]})
        tx.update("accounts", a["id"], {"tax_id": secrets[1]})
        c = tx.create("contacts", {"last_name": "Li", "passport": secrets[2]})
        tx.update("contacts", c["id"], {"passport": secrets[3]})
        tx.update("contacts", c["id"], {"passport": None})
        tx.create("payments", {"amount": "10", "currency": "EUR", "bank_account": secrets[4]})
    trail = " ".join(e.changes for e in events(store))
    for secret in secrets:
        assert secret not in trail
    evs = events(store)
    assert changes(evs[1]) == {"tax_id": ["***", "***"]}
    assert changes(evs[3]) == {"passport": ["***", "***"]}
    assert changes(evs[4]) == {"passport": ["***", None]}


def test_an_export_is_audited(store: Store, ctx: Context) -> None:
    fill(store, ctx, 3)
    n = export_csv(store, ctx, "accounts", io.StringIO())
    last = events(store)[-1]
    assert (n, last.action, last.module, last.record_id) == (3, "export", "accounts", None)
    assert changes(last) == {"count": [None, 3], "where": [None, []]}


def test_a_failed_write_leaves_no_event(store: Store, ctx: Context) -> None:
    fill(store, ctx, 2)
    with pytest.raises(ValidationError), store.writing(ctx) as tx:
        tx.create("accounts", {"name": "Fine"})
        tx.create("accounts", {"name": "Bad", "email": "bad@"})
    assert [e.seq for e in events(store)] == [1, 2]
    assert verify(store).ok


# -- the chain ------------------------------------------------------------------------------------


def test_sequence_numbers_are_gap_free_and_hash_linked(store: Store, ctx: Context) -> None:
    fill(store, ctx, 4)
    with store.writing(ctx) as tx:
        tx.write_many("contacts", [Row({"last_name": f"L{i}"}) for i in range(5)])
    evs = events(store)
    assert [e.seq for e in evs] == list(range(1, 10))
    assert evs[0].prev_hash == audit.GENESIS
    for before, after in itertools.pairwise(evs):
        assert after.prev_hash == before.hash
    verdict = verify(store)
    assert verdict == audit.Verdict(True, 9, 9, evs[-1].hash)
    with Session(store.engine) as session:
        head = session.execute(select(AuditHead.seq, AuditHead.hash)).one()
    assert tuple(head) == (9, evs[-1].hash)


def test_events_chained_ahead_of_the_flush_link_like_the_rest(store: Store, ctx: Context) -> None:
    """A writer may chain the events it added so far while the database is busy (``prepare``), add more
    and flush: one linear chain, with the text given for an event's changes used as its changes."""
    fill(store, ctx, 1)
    with store.writing(ctx) as tx:
        tx.audit.add("accounts", "a", "update", {"name": ["x", "y"]})
        tx.audit.add("accounts", "b", "update", {"name": ["p", "q"]}, text='{"name":["p","q"]}')
        tx.audit.prepare()
        tx.audit.prepare()  # nothing new to chain
        tx.audit.add("accounts", "c", "update", {"name": ["r", "s"]})
    evs = events(store)
    assert [(e.seq, e.record_id) for e in evs] == [(1, evs[0].record_id), (2, "a"), (3, "b"), (4, "c")]
    assert changes(evs[2]) == {"name": ["p", "q"]}
    assert verify(store) == audit.Verdict(True, 4, 4, evs[-1].hash)


def test_nothing_is_chained_before_the_head_is_locked(store: Store, ctx: Context) -> None:
    with Session(store.engine) as session, session.begin():
        log = audit.AuditLog(session, ctx, store.keyring.audit_key)
        log.add("accounts", "a", "update", {"name": ["x", "y"]})
        log.prepare()  # the head is not locked: prepare must not take it (it may run during a COPY)
        assert len(log.pending) == 1
        assert log.flush() == 1
    assert verify(store).ok and [e.record_id for e in events(store)] == ["a"]


def test_an_empty_chain_verifies(store: Store) -> None:
    assert verify(store) == audit.Verdict(True, 0, 0, audit.GENESIS)


def test_a_changed_event_breaks_the_chain_at_its_seq(store: Store, ctx: Context) -> None:
    fill(store, ctx, 6)
    assert verify(store).ok
    raw(store, "UPDATE audit_events SET changes = :c WHERE seq = 3", c='{"name":[null,"Forged"]}')
    verdict = verify(store)
    assert (verdict.ok, verdict.broken_seq) == (False, 3)
    assert verdict.problem.startswith("event 3 was changed or forged after it was written")
    assert verdict.events == 2


@pytest.mark.parametrize("column", ["actor_name", "action", "record_id", "source"])
def test_any_changed_column_is_caught(store: Store, ctx: Context, column: str) -> None:
    fill(store, ctx, 4)
    raw(store, f"UPDATE audit_events SET {column} = 'forged' WHERE seq = 2")
    verdict = verify(store)
    assert (verdict.ok, verdict.broken_seq) == (False, 2)


def test_an_event_rehashed_with_the_key_still_breaks_the_chain_at_the_next_seq(store: Store, ctx: Context) -> None:
    """Even someone holding the key who rewrites one event's hash (and not the rest) is caught."""
    fill(store, ctx, 5)
    with Session(store.engine) as session:
        ev = session.get(AuditEvent, 2)
        assert ev is not None
        row = {c: getattr(ev, c) for c in ("seq", "at", "actor_kind", "actor_id", "actor_name", "source",
                                            "request_id", "module", "record_id", "action")}
        row["changes"] = '{"name":[null,"Forged"]}'
        forged_hash = audit.event_hash(store.keyring.audit_key, row, ev.prev_hash)
    raw(store, "UPDATE audit_events SET changes = :c, hash = :h WHERE seq = 2", c=row["changes"], h=forged_hash)
    verdict = verify(store)
    assert (verdict.ok, verdict.broken_seq) == (False, 3)
    assert verdict.problem == "event 3 does not follow 2"


def test_links_are_keyed_a_different_key_does_not_verify(store: Store, ctx: Context) -> None:
    fill(store, ctx, 2)
    with Session(store.engine) as session:
        assert not audit.verify(session, b"k" * 32).ok
        assert audit.verify(session, store.keyring.audit_key).ok


def test_a_deleted_event_is_caught_with_its_seq(store: Store, ctx: Context) -> None:
    fill(store, ctx, 6)
    raw(store, "DELETE FROM audit_events WHERE seq = 4")
    verdict = verify(store)
    assert (verdict.ok, verdict.broken_seq) == (False, 4)
    assert verdict.problem == "event 4 is missing (next present is 5)"


def test_a_deleted_first_event_is_caught(store: Store, ctx: Context) -> None:
    fill(store, ctx, 3)
    raw(store, "DELETE FROM audit_events WHERE seq = 1")
    verdict = verify(store)
    assert (verdict.ok, verdict.broken_seq) == (False, 1)


def test_a_cut_tail_is_caught_against_a_saved_head(store: Store, ctx: Context) -> None:
    fill(store, ctx, 6)
    saved = verify(store)
    assert saved.ok and saved.head_seq == 6
    older = events(store)[2].hash  # still there after the cut
    # Without fixing the head the cut is visible on its own.
    raw(store, "DELETE FROM audit_events WHERE seq > 4")
    cut = verify(store)
    assert (cut.ok, cut.broken_seq) == (False, 5)
    # An attacker who also rewinds the head hides the cut from a plain verify ...
    with Session(store.engine) as session:
        fourth = session.get(AuditEvent, 4)
        assert fourth is not None
        fourth_hash = fourth.hash
    raw(store, "UPDATE audit_head SET seq = 4, hash = :h WHERE id = 1", h=fourth_hash)
    assert verify(store).ok
    assert verify(store, expect_head=fourth_hash).ok
    assert verify(store, expect_head=older).ok
    # ... but not from a verify against the head hash saved before.
    verdict = verify(store, expect_head=saved.head_hash)
    assert (verdict.ok, verdict.broken_seq) == (False, 5)
    assert "expected head hash is not in the chain" in verdict.problem


def test_an_older_saved_head_passes_after_the_chain_grew(store: Store, ctx: Context) -> None:
    fill(store, ctx, 3)
    saved = verify(store).head_hash
    fill(store, ctx, 3)
    assert verify(store, expect_head=saved).ok
    assert verify(store, expect_head=audit.GENESIS).ok
    assert not verify(store, expect_head="f" * 64).ok


def test_writers_in_two_threads_keep_one_gap_free_chain(store: Store, ctx: Context) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(name: str) -> None:
        try:
            start.wait()
            for i in range(15):
                with store.writing(Context(Actor.system(name), "thread")) as tx:
                    tx.create("accounts", {"name": f"{name}-{i}"})
                    if i % 5 == 0:
                        tx.write_many("contacts", [Row({"last_name": f"{name}-{i}-{j}"}) for j in range(3)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    evs = events(store)
    assert [e.seq for e in evs] == list(range(1, 2 * (15 + 9) + 1))
    assert {e.actor_name for e in evs} == {"left", "right"}
    verdict = verify(store)
    assert verdict.ok and verdict.events == 48
