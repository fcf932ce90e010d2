"""Customer service: tickets and the knowledge base."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.models.base import Record, rules

TICKET_STATUSES = ("new", "open", "pending", "resolved", "closed")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
ARTICLE_STATUSES = ("draft", "published", "archived")


class Ticket(Record):
    """A customer service request with status, priority, assignee and due time."""

    __tablename__ = "tickets"
    module = "tickets"
    title_field = "subject"
    subject: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text, info=rules("longtext"))
    status: Mapped[str] = mapped_column(String(16), default="new", info=rules("choice", choices=TICKET_STATUSES))
    priority: Mapped[str] = mapped_column(
        String(16), default="normal", info=rules("choice", choices=TICKET_PRIORITIES)
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True, info=rules("user"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, info=rules("reference", ref_module="accounts")
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id"), info=rules("reference", ref_module="contacts")
    )
    channel: Mapped[str | None] = mapped_column(String(32))
    due_at: Mapped[dt.datetime | None] = mapped_column(info=rules("datetime"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(info=rules("datetime"))


class KnowledgeArticle(Record):
    """An article of the knowledge base."""

    __tablename__ = "knowledge_articles"
    module = "knowledge_articles"
    title_field = "title"
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text, info=rules("longtext"))
    status: Mapped[str] = mapped_column(String(16), default="draft", info=rules("choice", choices=ARTICLE_STATUSES))
    category: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str | None] = mapped_column(String(16), info=rules("language"))
    published_at: Mapped[dt.datetime | None] = mapped_column(info=rules("datetime"))
