"""The write path's module rules: deals in pipelines, activities, tickets, campaign members, order lines."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from hub.core.actor import Context
from hub.core.read import Condition
from hub.core.store import Store
from hub.core.write import Row
from hub.errors import ValidationError
from tests.core.writes import count, events

# -- module rules: deals in pipelines -------------------------------------------------------------


def test_deal_stage_must_belong_to_its_pipeline(store: Store, ctx: Context, pipeline: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.create("deals", {"name": "Big one", "pipeline_id": pipeline["id"], "stage": "negotiation"})
    assert str(err.value) == (
        "deals.stage: 'negotiation' is not a stage of the pipeline; stages: lead, proposal, won, lost"
    )
    with store.writing(ctx) as tx:
        deal = tx.create("deals", {"name": "Big one", "pipeline_id": pipeline["id"], "stage": "lead"})
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.update("deals", deal["id"], {"stage": "closed"})
    assert str(err.value).startswith("deals.stage: 'closed' is not a stage of the pipeline")
    with store.reading(ctx) as tx:
        assert tx.get("deals", deal["id"])["stage"] == "lead"


def test_deal_probability_and_status_default_from_the_stage(
    store: Store, ctx: Context, pipeline: dict[str, Any]
) -> None:
    with store.writing(ctx) as tx:
        pid = pipeline["id"]
        lead = tx.create("deals", {"name": "A", "pipeline_id": pid, "stage": "lead", "amount": "5000"})
        given = tx.create("deals", {"name": "B", "pipeline_id": pid, "stage": "lead", "probability": 35})
        won = tx.create("deals", {"name": "C", "pipeline_id": pid, "stage": "won"})
    assert (lead["probability"], lead["status"], lead["amount"]) == (10, "open", Decimal("5000"))
    assert (given["probability"], given["status"]) == (35, "open")
    assert (won["probability"], won["status"]) == (100, "won")
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.create("deals", {"name": "D", "pipeline_id": pipeline["id"], "stage": "lead", "probability": 150})
    assert str(err.value) == "deals.probability: 150 is not from 0 to 100"
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.create("deals", {"name": "E", "pipeline_id": pipeline["id"], "stage": "lead", "amount": "-1"})
    assert str(err.value) == "deals.amount: -1 is negative"


def test_moving_a_deal_to_another_stage_updates_status_and_probability(
    store: Store, ctx: Context, pipeline: dict[str, Any]
) -> None:
    with store.writing(ctx) as tx:
        deal = tx.create("deals", {"name": "A", "pipeline_id": pipeline["id"], "stage": "lead"})
    with store.writing(ctx) as tx:
        moved = tx.update("deals", deal["id"], {"stage": "won"})
    assert moved["status"] == "won"
    # The probability was never given: it followed the first stage, so it follows the new one.
    assert moved["probability"] == 100
    update = events(store, "update")[-1]
    assert json.loads(update.changes)["probability"] == [10, 100]


# -- other modules --------------------------------------------------------------------------------


def test_activity_links_to_any_record_by_module_and_id(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        acme = tx.create("accounts", {"name": "Acme"})
        li = tx.create("contacts", {"last_name": "Li", "account_id": acme["id"]})
        call = tx.create(
            "activities",
            {
                "kind": "call",
                "subject": "Intro",
                "related_module": "accounts",
                "related_id": acme["id"],
                "due_at": "2024-05-01T09:30:00+02:00",
            },
        )
        tx.create(
            "activities", {"kind": "note", "subject": "Met", "related_module": "contacts", "related_id": str(li["id"])}
        )
    assert call["related_id"] == acme["id"]
    assert call["status"] == "planned"
    assert call["due_at"] == dt.datetime(2024, 5, 1, 7, 30, tzinfo=dt.UTC)
    with store.reading(ctx) as tx:
        on_acme = tx.query(
            "activities", [Condition("related_module", "=", "accounts"), Condition("related_id", "=", str(acme["id"]))]
        )
        assert [a["subject"] for a in on_acme] == ["Intro"]
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.create("activities", {"kind": "call", "subject": "Half", "related_module": "accounts"})
    assert str(err.value) == "activities.related_id: give both related_module and related_id"
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.create(
            "activities", {"kind": "call", "subject": "Wrong", "related_module": "contacts", "related_id": acme["id"]}
        )
    assert str(err.value) == f"activities.related_id: no contacts record with id {acme['id']}"


def test_tickets_have_defaults_and_references(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        acme = tx.create("accounts", {"name": "Acme"})
        ticket = tx.create("tickets", {"subject": "Printer on fire", "account_id": acme["id"]})
        assert (ticket["status"], ticket["priority"]) == ("new", "normal")
        updated = tx.update("tickets", ticket["id"], {"status": "resolved", "priority": "urgent"})
    assert (updated["status"], updated["priority"], updated["version"]) == ("resolved", "urgent", 2)
    assert updated["account_id"] == acme["id"]


def test_campaign_members_reference_a_contact_or_lead_once(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        camp = tx.create("campaigns", {"name": "Spring"})
        li = tx.create("contacts", {"last_name": "Li"})
        lead = tx.create("leads", {"last_name": "Wang"})
        member = tx.create(
            "campaign_members", {"campaign_id": camp["id"], "member_module": "contacts", "member_id": li["id"]}
        )
    assert (member["status"], member["member_id"]) == ("planned", li["id"])
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.create("campaign_members", {"campaign_id": camp["id"], "member_module": "leads", "member_id": li["id"]})
    assert str(err.value) == f"campaign_members.member_id: no leads record with id {li['id']}"
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.create("campaign_members", {"campaign_id": camp["id"], "member_module": "accounts", "member_id": li["id"]})
    assert str(err.value) == "campaign_members.member_module: 'accounts' is not one of contacts, leads"
    # The same member twice: the database refuses the duplicate, the batch goes on.
    with store.writing(ctx) as tx:
        result = tx.write_many(
            "campaign_members",
            [
                Row({"campaign_id": camp["id"], "member_module": "contacts", "member_id": li["id"]}),
                Row({"campaign_id": camp["id"], "member_module": "leads", "member_id": lead["id"]}),
            ],
        )
    assert [r.status for r in result.results] == ["rejected", "created"]
    assert (result.results[0].error or "").startswith("campaign_members: the database refused the row: ")
    assert count(store, ctx, "campaign_members") == 2


def test_order_lines_belong_to_an_order(store: Store, ctx: Context) -> None:
    with store.writing(ctx) as tx:
        order = tx.create("orders", {"number": "SO-1", "order_date": "2024-03-01"})
        sku = tx.create("products", {"sku": "P-1", "name": "Widget", "unit_price": "9.99"})
        line = tx.create(
            "order_lines",
            {
                "order_id": order["id"],
                "product_id": sku["id"],
                "position": "1",
                "quantity": "2.5",
                "unit_price": "9.99",
                "discount": "0.123456",
            },
        )
    assert line["order_id"] == order["id"]
    assert line["position"] == 1
    assert line["quantity"] == Decimal("2.5")
    assert line["discount"] == Decimal("0.1235")
    assert order["status"] == "draft"
    assert order["order_date"] == dt.date(2024, 3, 1)
    with pytest.raises(ValidationError) as err, store.writing(ctx) as tx:
        tx.create("order_lines", {"order_id": order["id"], "quantity": "two"})
    assert str(err.value) == "order_lines.quantity: 'two' is not a number"
    with store.reading(ctx) as tx:
        lines = tx.query("order_lines", [Condition("order_id", "=", order["id"])])
    assert [r["id"] for r in lines] == [line["id"]]
