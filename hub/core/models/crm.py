"""Customer records: accounts, contacts, leads and the activities linked to any record."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.models.base import Record, rules

ACCOUNT_TYPES = ("customer", "prospect", "partner", "vendor", "other")
ACCOUNT_STATUSES = ("active", "inactive", "blocked")
LEAD_STATUSES = ("new", "contacted", "qualified", "unqualified", "converted")
ACTIVITY_KINDS = ("call", "email", "meeting", "note", "task")
ACTIVITY_STATUSES = ("planned", "done", "cancelled")


class Account(Record):
    """A company or customer."""

    __tablename__ = "accounts"
    module = "accounts"
    natural_key = "name"
    name: Mapped[str] = mapped_column(String(200), index=True)
    legal_name: Mapped[str | None] = mapped_column(String(200))
    account_type: Mapped[str] = mapped_column(
        String(16), default="customer", info=rules("choice", choices=ACCOUNT_TYPES)
    )
    status: Mapped[str] = mapped_column(String(16), default="active", info=rules("choice", choices=ACCOUNT_STATUSES))
    industry: Mapped[str | None] = mapped_column(String(100))
    website: Mapped[str | None] = mapped_column(String(300), info=rules("url"))
    email: Mapped[str | None] = mapped_column(String(254), index=True, info=rules("email"))
    phone: Mapped[str | None] = mapped_column(String(32), info=rules("phone"))
    tax_id: Mapped[str | None] = mapped_column(Text, info=rules("text", sensitive=True, max_length=64))
    street: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2), info=rules("country"))
    currency: Mapped[str | None] = mapped_column(String(3), info=rules("currency"))
    credit_limit: Mapped[Decimal | None] = mapped_column(info=rules("decimal"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), info=rules("reference", ref_module="accounts")
    )


class Contact(Record):
    """A person, usually at an account."""

    __tablename__ = "contacts"
    module = "contacts"
    natural_key = "email"
    title_field = "last_name"
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, info=rules("reference", ref_module="accounts")
    )
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), index=True, info=rules("email"))
    phone: Mapped[str | None] = mapped_column(String(32), info=rules("phone"))
    mobile: Mapped[str | None] = mapped_column(String(32), info=rules("phone"))
    job_title: Mapped[str | None] = mapped_column(String(120))
    department: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str | None] = mapped_column(String(16), info=rules("language"))
    birthday: Mapped[dt.date | None] = mapped_column(info=rules("date"))
    national_id: Mapped[str | None] = mapped_column(Text, info=rules("text", sensitive=True, max_length=64))
    do_not_email: Mapped[bool] = mapped_column(Boolean, default=False, info=rules("boolean"))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2), info=rules("country"))


class Lead(Record):
    """A prospective customer not yet qualified into an account, contact and deal."""

    __tablename__ = "leads"
    module = "leads"
    natural_key = "email"
    title_field = "last_name"
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), index=True, info=rules("email"))
    phone: Mapped[str | None] = mapped_column(String(32), info=rules("phone"))
    source: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="new", info=rules("choice", choices=LEAD_STATUSES))
    rating: Mapped[int | None] = mapped_column(info=rules("integer"))
    converted_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), info=rules("reference", ref_module="accounts")
    )
    converted_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id"), info=rules("reference", ref_module="contacts")
    )


class Activity(Record):
    """A call, e-mail, meeting, note or task, linked to any record by module and id."""

    __tablename__ = "activities"
    module = "activities"
    title_field = "subject"
    polymorphic = ("related_module", "related_id")
    kind: Mapped[str] = mapped_column(String(16), info=rules("choice", choices=ACTIVITY_KINDS))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text, info=rules("longtext"))
    status: Mapped[str] = mapped_column(
        String(16), default="planned", info=rules("choice", choices=ACTIVITY_STATUSES)
    )
    related_module: Mapped[str | None] = mapped_column(String(64), index=True)
    related_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    due_at: Mapped[dt.datetime | None] = mapped_column(info=rules("datetime"))
    done_at: Mapped[dt.datetime | None] = mapped_column(info=rules("datetime"))
    duration_minutes: Mapped[int | None] = mapped_column(info=rules("integer"))
