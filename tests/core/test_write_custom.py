"""The write path with custom fields: validation, definitions, storage, matching, types, sensitivity."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.actor import Context
from hub.core.fields import to_json
from hub.core.models import Contact
from hub.core.modules import define_custom_field
from hub.core.read import Condition
from hub.core.store import Store
from hub.core.write import Row
from hub.errors import ValidationError
from tests.core.writes import count, events


def raw_custom(store: Store, record_id: uuid.UUID) -> dict[str, Any]:
    """The stored ``custom`` column of a contact, as the database holds it."""
    with Session(store.engine) as session:
        table = Contact.__table__
        value = session.execute(select(table.c.custom).where(table.c.id == record_id)).scalar()
    return dict(value or {})


@pytest.fixture
def custom_fields(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        s = tx.session
        define_custom_field(s, "contacts", "segment", "choice", choices=["retail", "wholesale"])
        define_custom_field(s, "contacts", "score", "integer")
        define_custom_field(s, "contacts", "rate", "decimal")
        define_custom_field(s, "contacts", "since", "date")
        define_custom_field(s, "contacts", "code", "text", pattern=r"[A-Z]{2}-\d{3}")
        define_custom_field(s, "contacts", "passport", "text", sensitive=True)
        define_custom_field(s, "accounts", "region", "text", required=True)


# -- custom fields --------------------------------------------------------------------------------


def test_custom_fields_are_validated_with_clear_messages(
    store: Store, ctx: Context, custom_fields: None, subtests: pytest.Subtests
) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("contacts", {"segment": "platinum"}, "contacts.segment: 'platinum' is not one of retail, wholesale"),
        ("contacts", {"score": "lots"}, "contacts.score: 'lots' is not a whole number"),
        ("contacts", {"score": "1.5"}, "contacts.score: '1.5' is not a whole number"),
        ("contacts", {"rate": "cheap"}, "contacts.rate: 'cheap' is not a number"),
        ("contacts", {"since": "2020-02-30"}, "contacts.since: '2020-02-30' is not a date (YYYY-MM-DD)"),
        ("contacts", {"code": "ab-123"}, "contacts.code: 'ab-123' does not match the pattern '[A-Z]{2}-\\\\d{3}'"),
        ("accounts", {"name": "Acme"}, "accounts.region: is required"),
        ("accounts", {"name": "Acme", "region": ""}, "accounts.region: is required"),
    ]
    for module, data, message in cases:
        with subtests.test(data=data):
            row = {"last_name": "Li", **data} if module == "contacts" else data
            with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
                tx.create(module, row)
            assert str(err.value) == message
    assert count(store, ctx, "contacts") == 0
    with store.writing(ctx) as tx:
        acme = tx.create("accounts", {"name": "Acme", "region": "EMEA"})
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.update("accounts", acme["id"], {"region": None})
    assert str(err.value) == "accounts.region: is required"


def test_custom_field_definitions_are_checked(store: Store, ctx: Context, custom_fields: None) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "email", "kind": "text"}, "contacts.email: the module already has a field of that name"),
        ({"name": "score", "kind": "text"}, "contacts.score: the module already has a field of that name"),
        ({"name": "Bad Name", "kind": "text"}, "contacts.Bad Name: a field name is lower case letters, digits and _"),
        ({"name": "ref", "kind": "reference"}, "contacts.ref: kind 'reference' is not one of"),
        ({"name": "tier", "kind": "choice"}, "contacts.tier: a choice field needs choices"),
        ({"name": "pat", "kind": "text", "pattern": "("}, "contacts.pat: pattern '(' is not a valid regex"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
            define_custom_field(tx.session, "contacts", **kwargs)
        assert str(err.value).startswith(message)


def test_custom_fields_are_stored_flattened_and_queryable(store: Store, ctx: Context, custom_fields: None) -> None:
    with store.writing(ctx) as tx:
        li = tx.create(
            "contacts",
            {
                "last_name": "Li",
                "segment": "retail",
                "score": "5",
                "rate": "12.50",
                "since": "2020-01-31",
                "code": "AB-123",
                "passport": "E1234567",
            },
        )
        wang = tx.create(
            "contacts",
            {
                "last_name": "Wang",
                "segment": "wholesale",
                "score": 12,
                "rate": 3,
                "since": dt.date(2023, 6, 1),
                "code": "CD-456",
            },
        )
        tx.create("contacts", {"last_name": "Zhao"})
    assert {k: to_json(li[k]) for k in ("segment", "score", "rate", "since", "code", "passport")} == {
        "segment": "retail",
        "score": 5,
        "rate": "12.50",
        "since": "2020-01-31",
        "code": "AB-123",
        "passport": "E1234567",
    }
    assert "custom" not in li
    assert wang["score"] == 12
    stored = raw_custom(store, li["id"])
    assert {k: v for k, v in stored.items() if k != "passport"} == {
        "segment": "retail",
        "score": 5,
        "rate": "12.50",
        "since": "2020-01-31",
        "code": "AB-123",
    }
    assert stored["passport"].startswith("enc:v1:dev1:")

    def names(*where: Condition) -> list[str]:
        with store.reading(ctx) as tx:
            return sorted(c["last_name"] for c in tx.query("contacts", list(where)))

    assert names(Condition("segment", "=", "retail")) == ["Li"]
    assert names(Condition("score", "=", "5")) == ["Li"]
    assert names(Condition("score", ">", 6)) == ["Wang"]
    assert names(Condition("score", "<", 6)) == ["Li"]
    assert names(Condition("score", ">=", 5), Condition("score", "<=", 12)) == ["Li", "Wang"]
    assert names(Condition("rate", ">", "4.5")) == ["Li"]
    assert names(Condition("since", "<", "2021-01-01")) == ["Li"]
    assert names(Condition("code", "~", "cd-")) == ["Wang"]
    assert names(Condition("passport", "=", "e1234567")) == ["Li"]
    assert names(Condition("segment", "=", "")) == ["Zhao"]
    with pytest.raises(ValidationError) as err, store.reading(ctx) as tx:
        tx.query("contacts", [Condition("segment", "=", "gold")])
    assert str(err.value) == "contacts.segment: 'gold' is not one of retail, wholesale"


def test_a_custom_field_is_a_match_field(store: Store, ctx: Context, custom_fields: None) -> None:
    with store.writing(ctx) as tx:
        first = tx.upsert("contacts", {"last_name": "Li", "code": "AB-123"}, match="code")
        second = tx.upsert("contacts", {"last_name": "Li", "code": "AB-123", "score": 7}, match="code")
        third = tx.upsert("contacts", {"last_name": "Li", "code": "AB-123", "score": 7}, match="code")
        by_score = tx.upsert("contacts", {"last_name": "Lee", "score": 7}, match="score")
        by_passport = tx.upsert("contacts", {"last_name": "Li", "passport": "P-1"}, match="passport")
        by_passport_again = tx.upsert("contacts", {"last_name": "Li", "passport": "p 1"}, match="passport")
    assert first.status == "created"
    assert (second.status, second.id) == ("updated", first.id)
    assert (third.status, third.id) == ("unchanged", first.id)
    assert (by_score.status, by_score.id) == ("updated", first.id)
    assert by_passport.status == "created"
    assert by_passport_again.id == by_passport.id and by_passport_again.status == "updated"
    assert count(store, ctx, "contacts") == 2


def test_custom_values_are_returned_in_their_field_type(store: Store, ctx: Context, custom_fields: None) -> None:
    with store.writing(ctx) as tx:
        define_custom_field(tx.session, "contacts", "pin", "integer", sensitive=True)
    with store.writing(ctx) as tx:
        li = tx.create(
            "contacts", {"last_name": "Li", "score": "5", "rate": "12.50", "since": "2020-01-31", "pin": "1234"}
        )
    # As built-in fields are: a whole number is an int, a decimal a Decimal, a date a date.
    assert (li["score"], li["rate"], li["since"], li["pin"]) == (5, Decimal("12.50"), dt.date(2020, 1, 31), 1234)


def test_an_unchanged_sensitive_custom_value_is_unchanged(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        define_custom_field(tx.session, "contacts", "pin", "integer", sensitive=True)
        define_custom_field(tx.session, "contacts", "passport", "text", sensitive=True)
    with store.writing(ctx) as tx:
        li = tx.create("contacts", {"last_name": "Li", "pin": 1234, "passport": "E1"})
    n = len(events(store))
    with store.writing(ctx) as tx:
        same_text = tx.write_many("contacts", [Row({"passport": "E1"}, id=li["id"])])
        same_number = tx.write_many("contacts", [Row({"pin": 1234}, id=li["id"])])
    assert same_text.results[0].status == "unchanged"
    assert same_number.results[0].status == "unchanged"
    assert len(events(store)) == n


def test_tags_filter(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        tx.create("contacts", {"last_name": "A", "tags": ["vip", "b2b"]})
        tx.create("contacts", {"last_name": "B", "tags": "new; vip"})
        tx.create("contacts", {"last_name": "C", "tags": ["vipx", "b2c"]})
        tx.create("contacts", {"last_name": "D"})
    with store.reading(ctx) as tx:
        vip = tx.query("contacts", [Condition("tags", "=", "vip")])
        assert sorted(c["last_name"] for c in vip) == ["A", "B"]
        assert [c["last_name"] for c in tx.query("contacts", [Condition("tags", "=", "b2c")])] == ["C"]
        assert tx.count("contacts", [Condition("tags", "=", "vip")]) == 2
        [b] = tx.query("contacts", [Condition("last_name", "=", "B")])
        assert b["tags"] == ["new", "vip"]


def test_validated_rows_are_placed_by_field_and_still_refused_for_unknown_fields(
        store: Store, ctx: Context, custom_fields: None) -> None:
    """Values a sync run's mapping stage already cleaned skip validation, never the other checks."""
    rows = [
        Row({"last_name": "Li", "segment": "retail", "score": 5}, validated=True),
        Row({"last_name": "Wang", "no_such": 1}, validated=True),
        Row({"last_name": "Zhao", "id": uuid.uuid4()}, validated=True),
    ]
    with store.writing(ctx) as tx:
        results = tx.write_many("contacts", rows).results
    assert [r.status for r in results] == ["created", "rejected", "rejected"]
    assert results[1].error == "contacts.no_such: no such field"
    assert results[2].error == "contacts.id: is read-only"
    assert results[0].id is not None
    assert raw_custom(store, results[0].id) == {"segment": "retail", "score": 5}
    with store.reading(ctx) as tx:
        li = tx.get("contacts", results[0].id)
    assert (li["last_name"], li["segment"], li["score"]) == ("Li", "retail", 5)
