"""Selling: pipelines with ordered stages, deals moving through them, campaigns and their members."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.models.base import Record, rules

DEAL_STATUSES = ("open", "won", "lost")
CAMPAIGN_KINDS = ("email", "event", "webinar", "advertising", "other")
CAMPAIGN_STATUSES = ("planned", "active", "completed", "aborted")
MEMBER_STATUSES = ("planned", "sent", "opened", "clicked", "responded", "unsubscribed", "bounced")


class Pipeline(Record):
    """A sales pipeline. ``stages`` is the ordered list ``[{name, probability, outcome}]``."""

    __tablename__ = "pipelines"
    module = "pipelines"
    natural_key = "name"
    name: Mapped[str] = mapped_column(String(120), unique=True)
    stages: Mapped[list[Any]] = mapped_column(info=rules("json"))


class Deal(Record):
    """An opportunity in a pipeline stage, with amount, currency and expected close date."""

    __tablename__ = "deals"
    module = "deals"
    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, info=rules("reference", ref_module="accounts")
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id"), info=rules("reference", ref_module="contacts")
    )
    pipeline_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("pipelines.id"), index=True, info=rules("reference", ref_module="pipelines")
    )
    stage: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(8), default="open", info=rules("choice", choices=DEAL_STATUSES))
    amount: Mapped[Decimal | None] = mapped_column(info=rules("decimal"))
    currency: Mapped[str | None] = mapped_column(String(3), info=rules("currency"))
    probability: Mapped[int | None] = mapped_column(info=rules("integer"))
    expected_close_date: Mapped[dt.date | None] = mapped_column(info=rules("date"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(info=rules("datetime"))
    lost_reason: Mapped[str | None] = mapped_column(String(300))


class Campaign(Record):
    """A marketing campaign."""

    __tablename__ = "campaigns"
    module = "campaigns"
    natural_key = "name"
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="email", info=rules("choice", choices=CAMPAIGN_KINDS))
    status: Mapped[str] = mapped_column(
        String(16), default="planned", info=rules("choice", choices=CAMPAIGN_STATUSES)
    )
    start_date: Mapped[dt.date | None] = mapped_column(info=rules("date"))
    end_date: Mapped[dt.date | None] = mapped_column(info=rules("date"))
    budget: Mapped[Decimal | None] = mapped_column(info=rules("decimal"))
    currency: Mapped[str | None] = mapped_column(String(3), info=rules("currency"))


class CampaignMember(Record):
    """A contact or lead taking part in a campaign."""

    __tablename__ = "campaign_members"
    __table_args__ = (UniqueConstraint("campaign_id", "member_module", "member_id"),)
    module = "campaign_members"
    title_field = "member_id"
    polymorphic = ("member_module", "member_id")
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("campaigns.id"), index=True, info=rules("reference", ref_module="campaigns")
    )
    member_module: Mapped[str] = mapped_column(String(16), info=rules("choice", choices=("contacts", "leads")))
    member_id: Mapped[uuid.UUID] = mapped_column(info=rules("reference"))
    status: Mapped[str] = mapped_column(
        String(16), default="planned", info=rules("choice", choices=MEMBER_STATUSES)
    )
