"""The write path (hub.core.write, hub.core.store): create, update, upsert, delete, restore, batches."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.core.actor import Context
from hub.core.binding import ExternalRef
from hub.core.models import Binding
from hub.core.read import Condition
from hub.core.store import Store
from hub.core.write import Row
from hub.errors import ConflictError, NotFound, ValidationError
from tests.core.writes import count, events

# -- helpers --------------------------------------------------------------------------------------


def bindings(store: Store) -> list[Binding]:
    with Session(store.engine) as session:
        return list(session.scalars(select(Binding).order_by(Binding.created_at)))


# -- create ---------------------------------------------------------------------------------------


def test_create_cleans_values_and_returns_the_stored_record(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        acme = tx.create(
            "accounts",
            {
                "name": "Acme",
                "email": "info@ACME.EXAMPLE.COM",
                "country": "de",
                "currency": "eur",
                "phone": "+49 30 1234567",
                "website": "acme.example.com",
                "credit_limit": "1000.5",
                "account_type": "partner",
            },
        )
    assert acme["email"] == "info@acme.example.com"
    assert acme["country"] == "DE"
    assert acme["currency"] == "EUR"
    assert acme["phone"] == "+49301234567"
    assert acme["website"] == "https://acme.example.com"
    assert acme["credit_limit"] == Decimal("1000.5")
    assert acme["account_type"] == "partner"
    assert acme["status"] == "active"  # the column default
    assert acme["version"] == 1
    assert acme["deleted_at"] is None
    assert acme["created_at"] == acme["updated_at"]
    assert isinstance(acme["id"], uuid.UUID)
    with store.reading(ctx) as tx:
        assert tx.get("accounts", acme["id"]) == acme
        assert tx.get("accounts", str(acme["id"])) == acme


def test_invalid_values_are_rejected_with_module_field_and_problem(
    store: Store, ctx: Context, subtests: pytest.Subtests
) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("contacts", {"last_name": "Li", "email": "foo@"}, "contacts.email: 'foo@' is not a valid e-mail address"),
        ("contacts", {"first_name": "Wei"}, "contacts.last_name: is required"),
        ("contacts", {"last_name": "Li", "shoe_size": 42}, "contacts.shoe_size: no such field"),
        ("contacts", {"last_name": "Li", "version": 3}, "contacts.version: is read-only"),
        ("contacts", {"last_name": "Li", "created_at": "2024-01-01T00:00:00Z"}, "contacts.created_at: is read-only"),
        (
            "contacts",
            {"last_name": "Li", "birthday": "2021-02-30"},
            "contacts.birthday: '2021-02-30' is not a date (YYYY-MM-DD)",
        ),
        (
            "contacts",
            {"last_name": "Li", "language": "xx"},
            "contacts.language: 'xx' is not a language code (ISO 639-1, e.g. en or zh-CN)",
        ),
        (
            "contacts",
            {"last_name": "Li", "do_not_email": "perhaps"},
            "contacts.do_not_email: 'perhaps' is not yes or no",
        ),
        (
            "accounts",
            {"name": "Acme", "account_type": "alien"},
            "accounts.account_type: 'alien' is not one of customer, prospect, partner, vendor, other",
        ),
        ("accounts", {"name": "Acme", "country": "XX"}, "accounts.country: 'XX' is not an ISO 3166 country code"),
        ("accounts", {"name": "Acme", "currency": "EUX"}, "accounts.currency: 'EUX' is not an ISO 4217 currency code"),
        ("accounts", {"name": "Acme", "phone": "call me"}, "accounts.phone: 'call me' is not a phone number"),
        ("accounts", {"name": "A" * 201}, "accounts.name: is 201 characters long; at most 200"),
        (
            "tickets",
            {"subject": "Broken", "priority": "meh"},
            "tickets.priority: 'meh' is not one of low, normal, high, urgent",
        ),
        (
            "activities",
            {"kind": "chat", "subject": "Hi"},
            "activities.kind: 'chat' is not one of call, email, meeting, note, task",
        ),
        ("order_lines", {"quantity": "1"}, "order_lines.order_id: is required"),
        ("pipelines", {"name": "Empty", "stages": []}, "pipelines.stages: needs at least one stage"),
        ("nonsense", {"name": "x"}, "module: 'nonsense' is not a module"),
    ]
    for module, data, message in cases:
        with subtests.test(module=module, data=data):
            with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
                tx.create(module, data)
            assert str(err.value).startswith(message)
            if module != "nonsense":
                assert str(err.value) == message
    for module in ("contacts", "accounts", "tickets", "activities", "order_lines", "pipelines"):
        assert count(store, ctx, module) == 0
    assert events(store) == []


def test_a_reference_to_a_missing_record_names_field_and_target(
    store: Store, ctx: Context, pipeline: dict[str, Any], subtests: pytest.Subtests
) -> None:
    ghost = uuid.uuid4()
    cases: list[tuple[str, dict[str, Any], str]] = [
        (
            "contacts",
            {"last_name": "Li", "account_id": ghost},
            f"contacts.account_id: no accounts record with id {ghost}",
        ),
        (
            "tickets",
            {"subject": "S", "assignee_id": str(ghost)},
            f"tickets.assignee_id: no users record with id {ghost}",
        ),
        ("order_lines", {"order_id": ghost, "quantity": 1}, f"order_lines.order_id: no orders record with id {ghost}"),
        ("contacts", {"last_name": "Li", "team_id": ghost}, f"contacts.team_id: no teams record with id {ghost}"),
        (
            "activities",
            {"kind": "call", "subject": "S", "related_module": "accounts", "related_id": ghost},
            f"activities.related_id: no accounts record with id {ghost}",
        ),
        (
            "contacts",
            {"last_name": "Li", "account_id": "not-an-id"},
            "contacts.account_id: 'not-an-id' is not a record id",
        ),
    ]
    for module, data, message in cases:
        with subtests.test(module=module, data=data):
            with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
                tx.create(module, data)
            assert str(err.value) == message


def test_a_deal_in_a_missing_pipeline_names_the_pipeline_reference(store: Store, ctx: Context) -> None:
    ghost = uuid.uuid4()
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.create("deals", {"name": "Big one", "pipeline_id": ghost, "stage": "lead"})
    assert str(err.value) == f"deals.pipeline_id: no pipelines record with id {ghost}"


# -- update ---------------------------------------------------------------------------------------


def test_update_changes_only_given_fields_and_bumps_the_version(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        li = tx.create("contacts", {"first_name": "Wei", "last_name": "Li", "email": "li@example.cn"})
    with store.writing(ctx) as tx:
        after = tx.update("contacts", li["id"], {"email": "wei.li@example.cn", "city": "上海"})
    assert after["email"] == "wei.li@example.cn"
    assert after["city"] == "上海"
    assert (after["first_name"], after["last_name"]) == ("Wei", "Li")
    assert after["version"] == 2
    assert after["updated_at"] > li["updated_at"]
    assert after["created_at"] == li["created_at"]
    update = events(store, "update")
    assert len(update) == 1
    assert json.loads(update[0].changes) == {"email": ["li@example.cn", "wei.li@example.cn"], "city": [None, "上海"]}


def test_an_update_that_changes_nothing_writes_nothing(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        li = tx.create("contacts", {"last_name": "Li", "email": "li@example.cn", "birthday": "1990-05-04"})
    before = events(store)
    with store.writing(ctx) as tx:
        same = tx.update(
            "contacts", li["id"], {"last_name": "Li", "email": "li@EXAMPLE.cn", "birthday": dt.date(1990, 5, 4)}
        )
    assert same["version"] == 1
    assert same["updated_at"] == li["updated_at"]
    assert [e.seq for e in events(store)] == [e.seq for e in before]


def test_updating_a_missing_record_is_not_found(store: Store, ctx: Context) -> None:
    ghost = uuid.uuid4()
    with pytest.raises(NotFound) as err, store.writing(ctx) as tx:
        tx.update("contacts", ghost, {"last_name": "X"})
    assert str(err.value) == f"contacts: no record with id {ghost}"
    with pytest.raises(NotFound), store.writing(ctx) as tx:
        tx.update("contacts", "not-a-uuid", {"last_name": "X"})


def test_a_required_field_cannot_be_emptied(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        li = tx.create("contacts", {"last_name": "Li"})
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.update("contacts", li["id"], {"last_name": None})
    assert str(err.value) == "contacts.last_name: is required"


def test_a_stale_expected_version_is_a_conflict(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        li = tx.create("contacts", {"last_name": "Li"})
        tx.update("contacts", li["id"], {"city": "Beijing"}, expected_version=1)
    with pytest.raises(ConflictError) as err, store.writing(ctx) as tx:
        tx.update("contacts", li["id"], {"city": "Shanghai"}, expected_version=1)
    assert str(err.value) == f"contacts: record {li['id']} is at version 2, not 1"
    with store.writing(ctx) as tx:
        assert tx.get("contacts", li["id"])["city"] == "Beijing"
        assert tx.update("contacts", li["id"], {"city": "Shanghai"}, expected_version=2)["version"] == 3


# -- upsert ---------------------------------------------------------------------------------------


def test_upsert_by_external_id_creates_then_updates_through_the_binding(store: Store, ctx: Context) -> None:
    ref1 = ExternalRef("erp-1", "customers", "C-100", remote_version="v1", content_hash="h1")
    with store.writing(ctx) as tx:
        created = tx.upsert("accounts", {"name": "Acme"}, ref=ref1)
    assert created.status == "created"
    [b] = bindings(store)
    assert (b.connector, b.stream, b.external_id, b.module, b.record_id) == (
        "erp-1",
        "customers",
        "C-100",
        "accounts",
        created.id,
    )
    assert (b.inbound_hash, b.remote_version, b.outbound_hash) == ("h1", "v1", None)

    ref2 = ExternalRef("erp-1", "customers", "C-100", remote_version="v2", content_hash="h2")
    with store.writing(ctx) as tx:
        updated = tx.upsert("accounts", {"name": "Acme GmbH"}, ref=ref2)
        assert tx.get("accounts", str(created.id))["name"] == "Acme GmbH"
    assert (updated.status, updated.id) == ("updated", created.id)
    [b] = bindings(store)
    assert (b.record_id, b.inbound_hash, b.remote_version) == (created.id, "h2", "v2")

    # Same data, new remote version: the record is unchanged, the binding notes the version.
    ref3 = ExternalRef("erp-1", "customers", "C-100", remote_version="v3", content_hash="h2")
    n = len(events(store))
    with store.writing(ctx) as tx:
        same = tx.upsert("accounts", {"name": "Acme GmbH"}, ref=ref3)
    assert (same.status, same.id) == ("unchanged", created.id)
    assert len(events(store)) == n
    [b] = bindings(store)
    assert b.remote_version == "v3"

    # The same external id in another stream or connector is another record.
    with store.writing(ctx) as tx:
        other = tx.upsert("accounts", {"name": "Acme Ltd"}, ref=ExternalRef("erp-2", "customers", "C-100"))
    assert other.status == "created" and other.id != created.id
    assert count(store, ctx, "accounts") == 2
    assert len(bindings(store)) == 2


def test_upsert_by_external_id_without_a_content_hash_compares_the_data(store: Store, ctx: Context) -> None:
    ref = ExternalRef("erp-1", "customers", "C-8")
    with store.writing(ctx) as tx:
        first = tx.upsert("accounts", {"name": "Acme", "city": "Graz"}, ref=ref)
    n = len(events(store))
    with store.writing(ctx) as tx:
        same = tx.upsert("accounts", {"city": "Graz", "name": "Acme"}, ref=ref)
    assert (same.status, same.id) == ("unchanged", first.id)
    assert len(events(store)) == n
    with store.writing(ctx) as tx:
        moved = tx.upsert("accounts", {"name": "Acme", "city": "Linz"}, ref=ref)
        assert tx.get("accounts", str(first.id))["city"] == "Linz"
    assert (moved.status, moved.id) == ("updated", first.id)
    assert len(events(store)) == n + 1
    [b] = bindings(store)
    assert b.inbound_hash is not None and len(b.inbound_hash) == 64


def test_a_ref_the_caller_found_unbound_is_not_looked_up_and_a_binding_made_since_rolls_the_write_back(
        store: Store, ctx: Context) -> None:
    """``ExternalRef.unbound``: the caller (a sync run's check) found no binding, so the write path does not
    look again. If one was made in between, the new binding breaks the unique key: nothing is written."""
    with store.writing(ctx) as tx:
        first = tx.upsert("accounts", {"name": "Acme"}, ref=ExternalRef("erp-1", "customers", "C-5"))
    n = len(events(store))
    with pytest.raises(IntegrityError), store.writing(ctx) as tx:
        tx.write_many("accounts", [Row({"name": "Acme AG"}, ref=ExternalRef("erp-1", "customers", "C-5", unbound=True)),
                                   Row({"name": "Beta"}, ref=ExternalRef("erp-1", "customers", "C-6", unbound=True))])
    assert count(store, ctx, "accounts") == 1 and len(events(store)) == n
    assert [(b.external_id, b.record_id) for b in bindings(store)] == [("C-5", first.id)]
    with store.writing(ctx) as tx:  # looked up: the bound record is updated
        again = tx.upsert("accounts", {"name": "Acme AG"}, ref=ExternalRef("erp-1", "customers", "C-5"))
    assert (again.status, again.id) == ("updated", first.id)


def test_a_ref_marked_unbound_twice_in_one_batch_is_looked_up_in_the_later_wave(store: Store, ctx: Context) -> None:
    ref = ExternalRef("erp-1", "customers", "C-11", unbound=True)
    with store.writing(ctx) as tx:
        result = tx.write_many("accounts", [Row({"name": "Acme"}, ref=ref), Row({"name": "Acme AG"}, ref=ref)])
        assert tx.get("accounts", str(result.results[0].id))["name"] == "Acme AG"
    assert [r.status for r in result.results] == ["created", "updated"]
    assert result.results[0].id == result.results[1].id
    assert len(bindings(store)) == 1


def test_upsert_with_the_last_content_hash_is_unchanged(store: Store, ctx: Context) -> None:
    ref = ExternalRef("erp-1", "customers", "C-9", content_hash="abc")
    with store.writing(ctx) as tx:
        first = tx.upsert("accounts", {"name": "Acme"}, ref=ref)
    n = len(events(store))
    with store.writing(ctx) as tx:
        again = tx.upsert("accounts", {"name": "Acme"}, ref=ref)
        assert tx.get("accounts", str(first.id))["version"] == 1
    assert (again.status, again.id) == ("unchanged", first.id)
    assert len(events(store)) == n


def test_upsert_by_external_id_restores_a_soft_deleted_record(store: Store, ctx: Context) -> None:
    ref = ExternalRef("erp-1", "customers", "C-7")
    with store.writing(ctx) as tx:
        first = tx.upsert("accounts", {"name": "Acme"}, ref=ref)
        assert first.id is not None
        tx.delete("accounts", first.id)
    with store.writing(ctx) as tx:
        again = tx.upsert("accounts", {"name": "Acme AG"}, ref=ref)
    assert (again.status, again.id) == ("updated", first.id)
    with store.reading(ctx) as tx:
        assert tx.get("accounts", first.id)["deleted_at"] is None
    assert len(bindings(store)) == 1


def test_upsert_by_match_field(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        first = tx.upsert("contacts", {"last_name": "Li", "email": "li@example.cn"}, match="email")
        second = tx.upsert("contacts", {"last_name": "Li", "email": "li@EXAMPLE.CN", "city": "Xi'an"}, match="email")
        third = tx.upsert("contacts", {"last_name": "Li", "email": "li@example.cn", "city": "Xi'an"}, match="email")
    assert first.status == "created"
    assert (second.status, second.id) == ("updated", first.id)
    assert (third.status, third.id) == ("unchanged", first.id)
    assert count(store, ctx, "contacts") == 1
    assert bindings(store) == []

    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.upsert("contacts", {"last_name": "Wang"}, match="email")
    assert str(err.value) == "contacts.email: is empty, so it cannot be matched on"

    with store.writing(ctx) as tx:
        tx.create("contacts", {"last_name": "Li", "email": "twin@example.cn"})
        tx.create("contacts", {"last_name": "Li", "email": "twin@example.cn"})
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.upsert("contacts", {"last_name": "Li", "email": "twin@example.cn"}, match="email")
    assert str(err.value).startswith("contacts.email: ")
    assert "'twin@example.cn' matches 2 records; cannot tell which to update" in str(err.value)

    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.upsert("contacts", {"last_name": "Li", "email": "x@example.cn"}, match="shoe_size")
    assert str(err.value) == "contacts.shoe_size: no such field"


# -- batches --------------------------------------------------------------------------------------

BATCH = [
    Row({"last_name": "Zhang", "email": "zhang@example.cn"}),
    Row({"last_name": "Wang", "email": "wang@"}),
    Row({"last_name": "Chen", "email": "chen@example.cn"}),
    Row({"last_name": "Liu", "hobby": "go"}),
    Row({"last_name": "Yang", "account_id": "00000000-0000-0000-0000-000000000001"}),
    Row({"last_name": "Zhao", "email": "zhao@example.cn"}),
]


def test_a_batch_reports_each_failure_and_commits_the_rest(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        result = tx.write_many("contacts", BATCH)
    assert [r.index for r in result.results] == [0, 1, 2, 3, 4, 5]
    assert [r.status for r in result.results] == ["created", "rejected", "created", "rejected", "rejected", "created"]
    assert [(r.index, r.error) for r in result.rejected] == [
        (1, "contacts.email: 'wang@' is not a valid e-mail address"),
        (3, "contacts.hobby: no such field"),
        (4, "contacts.account_id: no accounts record with id 00000000-0000-0000-0000-000000000001"),
    ]
    assert result.counts == {"created": 3, "rejected": 3}
    with store.reading(ctx) as tx:
        stored = tx.query("contacts", order_by="last_name")
    assert [c["last_name"] for c in stored] == ["Chen", "Zhang", "Zhao"]
    assert {r.id for r in result.results if r.status == "created"} == {c["id"] for c in stored}
    assert len(events(store, "create")) == 3


def test_all_or_nothing_commits_nothing_when_one_row_fails(store: Store, ctx: Context) -> None:
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.write_many("contacts", BATCH, all_or_nothing=True)
    assert str(err.value) == "contacts.email: 'wang@' is not a valid e-mail address"
    assert count(store, ctx, "contacts") == 0
    assert events(store) == []

    # A row the database refuses (a duplicate order number) also undoes the whole batch, even when the
    # caller catches the error and carries on with the transaction.
    with store.writing(ctx) as tx:
        tx.create("orders", {"number": "SO-1"})
    with store.writing(ctx) as tx:
        with pytest.raises(ValidationError) as err:
            tx.write_many("orders", [Row({"number": n}) for n in ("SO-2", "SO-1", "SO-3")], all_or_nothing=True)
        assert str(err.value).startswith("orders: the database refused the row: ")
        tx.create("orders", {"number": "SO-4"})
    with store.reading(ctx) as tx:
        assert sorted(o["number"] for o in tx.query("orders")) == ["SO-1", "SO-4"]
    assert [json.loads(e.changes)["number"][1] for e in events(store, "create")] == ["SO-1", "SO-4"]


def test_a_database_refusal_rejects_only_that_row(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        tx.create("orders", {"number": "SO-1"})
    with store.writing(ctx) as tx:
        result = tx.write_many("orders", [Row({"number": n}) for n in ("SO-2", "SO-1", "SO-3")])
    assert [r.status for r in result.results] == ["created", "rejected", "created"]
    assert (result.results[1].error or "").startswith("orders: the database refused the row: ")
    with store.reading(ctx) as tx:
        assert sorted(o["number"] for o in tx.query("orders")) == ["SO-1", "SO-2", "SO-3"]
    assert len(events(store, "create")) == 3


def test_rewriting_the_same_rows_is_unchanged_without_events_or_versions(store: Store, ctx: Context) -> None:
    rows = [
        Row(
            {"last_name": f"L{i}", "email": f"p{i}@example.cn", "national_id": f"ID-{i}", "tags": ["a", "b"]},
            match="email",
        )
        for i in range(20)
    ]
    with store.writing(ctx) as tx:
        first = tx.write_many("contacts", rows)
    assert first.counts == {"created": 20}
    n = len(events(store))
    with store.writing(ctx) as tx:
        again = tx.write_many("contacts", rows)
    assert again.counts == {"unchanged": 20}
    assert [r.id for r in again.results] == [r.id for r in first.results]
    assert len(events(store)) == n
    with store.reading(ctx) as tx:
        assert {c["version"] for c in tx.query("contacts")} == {1}
    changed = [*rows[:5], Row({**rows[5].data, "city": "Hangzhou"}, match="email"), *rows[6:]]
    with store.writing(ctx) as tx:
        third = tx.write_many("contacts", changed)
    assert third.counts == {"unchanged": 19, "updated": 1}
    assert third.results[5].status == "updated"
    assert len(events(store)) == n + 1


def test_the_same_external_id_twice_in_a_batch_is_one_record(store: Store, ctx: Context) -> None:
    ref_a = ExternalRef("erp-1", "customers", "A", content_hash="1")
    ref_a2 = ExternalRef("erp-1", "customers", "A", content_hash="2")
    ref_b = ExternalRef("erp-1", "customers", "B", content_hash="b")
    with store.writing(ctx) as tx:
        result = tx.write_many(
            "accounts",
            [
                Row({"name": "Alpha"}, ref=ref_a),
                Row({"name": "Beta"}, ref=ref_b),
                Row({"name": "Alpha AG", "city": "Bern"}, ref=ref_a2),
            ],
        )
    assert [r.status for r in result.results] == ["created", "created", "updated"]
    assert result.results[0].id == result.results[2].id
    with store.reading(ctx) as tx:
        alpha = tx.get("accounts", str(result.results[0].id))
        assert tx.count("accounts") == 2
    assert (alpha["name"], alpha["city"], alpha["version"]) == ("Alpha AG", "Bern", 2)
    assert sorted((b.external_id, b.inbound_hash) for b in bindings(store)) == [("A", "2"), ("B", "b")]


def test_the_same_match_value_twice_in_a_batch_is_one_record(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        result = tx.write_many(
            "contacts",
            [
                Row({"last_name": "Li", "email": "li@example.cn"}, match="email"),
                Row({"last_name": "Li", "email": "li@example.cn", "city": "Wuhan"}, match="email"),
            ],
        )
    assert [r.status for r in result.results] == ["created", "updated"]
    assert count(store, ctx, "contacts") == 1


def test_batches_use_set_based_sql(store: Store, ctx: Context) -> None:
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    rows = [
        Row({"last_name": f"L{i}", "email": f"p{i}@example.cn", "national_id": f"N{i}", "tags": ["t"]}, match="email")
        for i in range(500)
    ]
    event.listen(store.engine, "before_cursor_execute", note)
    try:
        with store.writing(ctx) as tx:
            created = tx.write_many("contacts", rows)
        created_statements = len(statements)
        statements.clear()
        with store.writing(ctx) as tx:
            changed = [
                Row({**r.data, "city": "Suzhou", "national_id": f"X{i}"}, match="email") for i, r in enumerate(rows)
            ]
            updated = tx.write_many("contacts", changed)
        updated_statements = len(statements)
    finally:
        event.remove(store.engine, "before_cursor_execute", note)
    assert created.counts == {"created": 500}
    assert updated.counts == {"updated": 500}
    assert created_statements < 30, created_statements
    assert updated_statements < 30, updated_statements
    assert count(store, ctx, "contacts") == 500
    assert len(events(store)) == 1000


# -- delete and restore ---------------------------------------------------------------------------


def test_a_soft_deleted_record_is_hidden_but_restorable(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        li = tx.create("contacts", {"last_name": "Li", "email": "li@example.cn"})
        tx.create("contacts", {"last_name": "Wang"})
    with store.writing(ctx) as tx:
        tx.delete("contacts", li["id"])
    with store.reading(ctx) as tx:
        with pytest.raises(NotFound):
            tx.get("contacts", li["id"])
        assert [c["last_name"] for c in tx.query("contacts")] == ["Wang"]
        assert tx.count("contacts") == 1
        assert tx.query("contacts", [Condition("email", "=", "li@example.cn")]) == []
        assert tx.search("contacts", "li") == []
        gone = tx.get("contacts", li["id"], include_deleted=True)
        assert gone["deleted_at"] is not None and gone["version"] == 2
        assert len(tx.query("contacts", include_deleted=True)) == 2
    # Deleting again changes nothing.
    n = len(events(store))
    with store.writing(ctx) as tx:
        tx.delete("contacts", li["id"])
    assert len(events(store)) == n
    with store.writing(ctx) as tx:
        tx.restore("contacts", li["id"])
    with store.reading(ctx) as tx:
        back = tx.get("contacts", li["id"])
    assert back["deleted_at"] is None
    assert back["version"] == 3
    assert back["email"] == "li@example.cn"
    assert [e.action for e in events(store) if e.action in ("delete", "restore")] == ["delete", "restore"]
    with store.writing(ctx) as tx:
        assert tx.delete_many("contacts", [li["id"]]) == 1
    with pytest.raises(NotFound), store.writing(ctx) as tx:
        tx.delete("contacts", uuid.uuid4())


def test_reads_in_a_reading_transaction_cannot_write(store: Store, ctx: Context) -> None:
    from hub.errors import HubError

    with pytest.raises(HubError) as err, store.reading(ctx) as tx:
        tx.create("contacts", {"last_name": "Li"})
    assert "read-only transaction" in str(err.value)
    assert count(store, ctx, "contacts") == 0


@pytest.mark.parametrize(("module", "data", "field"), [
    ("accounts", {"name": "Ac\x00me"}, "name"),
    ("activities", {"kind": "note", "subject": "s", "body": "line\x00two"}, "body"),
    ("contacts", {"last_name": "Li", "national_id": "1101\x00"}, "national_id"),
    ("contacts", {"last_name": "Li", "tags": ["vip", "n\x00ew"]}, "tags"),
    ("contacts", {"last_name": "Li", "email": "li\x00@example.cn"}, "email"),
])
def test_a_nul_character_is_refused_on_every_database_naming_the_field(
        store: Store, ctx: Context, module: str, data: dict[str, Any], field: str) -> None:
    """PostgreSQL cannot store U+0000 in text or JSON and SQLite can: the write path refuses it on both, as a
    ValidationError naming the field, before the database sees it."""
    with store.writing(ctx) as tx:
        result = tx.write_many(module, [Row(data), Row({**data, field: data[field]})])
    for r in result.results:
        assert r.status == "rejected"
        assert r.error == f"{module}.{field}: contains a NUL character (U+0000), which cannot be stored"
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.create(module, data)
    assert err.value.field == f"{module}.{field}"
    with store.reading(ctx) as tx:
        assert tx.count(module) == 0
