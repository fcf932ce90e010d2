"""Commerce: products, orders with lines, invoices and payments."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.models.base import Record, rules

ORDER_STATUSES = ("draft", "confirmed", "shipped", "done", "cancelled")
INVOICE_STATUSES = ("draft", "open", "partially_paid", "paid", "cancelled")
PAYMENT_METHODS = ("bank_transfer", "card", "cash", "direct_debit", "other")
PAYMENT_STATUSES = ("pending", "matched", "unmatched", "refunded")


class Product(Record):
    """Something sold, identified by its SKU."""

    __tablename__ = "products"
    module = "products"
    natural_key = "sku"
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, info=rules("longtext"))
    unit_price: Mapped[Decimal | None] = mapped_column(info=rules("decimal"))
    currency: Mapped[str | None] = mapped_column(String(3), info=rules("currency"))
    unit: Mapped[str | None] = mapped_column(String(16))
    tax_rate: Mapped[Decimal | None] = mapped_column(info=rules("decimal"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, info=rules("boolean"))


class Order(Record):
    """A sales order of an account."""

    __tablename__ = "orders"
    module = "orders"
    natural_key = "number"
    title_field = "number"
    number: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, info=rules("reference", ref_module="accounts")
    )
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id"), info=rules("reference", ref_module="contacts")
    )
    order_date: Mapped[dt.date | None] = mapped_column(info=rules("date"))
    status: Mapped[str] = mapped_column(String(16), default="draft", info=rules("choice", choices=ORDER_STATUSES))
    currency: Mapped[str | None] = mapped_column(String(3), info=rules("currency"))
    total_amount: Mapped[Decimal | None] = mapped_column(info=rules("decimal"))


class OrderLine(Record):
    """One line of an order."""

    __tablename__ = "order_lines"
    module = "order_lines"
    title_field = "description"
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id"), index=True, info=rules("reference", ref_module="orders")
    )
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("products.id"), info=rules("reference", ref_module="products")
    )
    position: Mapped[int | None] = mapped_column(info=rules("integer"))
    description: Mapped[str | None] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(info=rules("decimal"))
    unit_price: Mapped[Decimal | None] = mapped_column(info=rules("decimal"))
    discount: Mapped[Decimal | None] = mapped_column(info=rules("decimal"))
    line_total: Mapped[Decimal | None] = mapped_column(info=rules("decimal"))


class Invoice(Record):
    """A customer invoice."""

    __tablename__ = "invoices"
    module = "invoices"
    natural_key = "number"
    title_field = "number"
    number: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), index=True, info=rules("reference", ref_module="accounts")
    )
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("orders.id"), info=rules("reference", ref_module="orders")
    )
    issue_date: Mapped[dt.date | None] = mapped_column(info=rules("date"))
    due_date: Mapped[dt.date | None] = mapped_column(info=rules("date"))
    currency: Mapped[str | None] = mapped_column(String(3), info=rules("currency"))
    total_amount: Mapped[Decimal | None] = mapped_column(info=rules("decimal"))
    amount_paid: Mapped[Decimal | None] = mapped_column(info=rules("decimal"))
    status: Mapped[str] = mapped_column(String(16), default="open", info=rules("choice", choices=INVOICE_STATUSES))


class Payment(Record):
    """Money received, matched to an invoice when it can be."""

    __tablename__ = "payments"
    module = "payments"
    natural_key = "reference"
    title_field = "reference"
    reference: Mapped[str | None] = mapped_column(String(140), index=True)
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("invoices.id"), index=True, info=rules("reference", ref_module="invoices")
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id"), info=rules("reference", ref_module="accounts")
    )
    amount: Mapped[Decimal] = mapped_column(info=rules("decimal"))
    currency: Mapped[str] = mapped_column(String(3), info=rules("currency"))
    paid_on: Mapped[dt.date | None] = mapped_column(info=rules("date"))
    method: Mapped[str] = mapped_column(
        String(16), default="bank_transfer", info=rules("choice", choices=PAYMENT_METHODS)
    )
    status: Mapped[str] = mapped_column(String(16), default="pending", info=rules("choice", choices=PAYMENT_STATUSES))
    bank_account: Mapped[str | None] = mapped_column(Text, info=rules("text", sensitive=True, max_length=64))
