"""Employees, as an HR system knows them."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.core.models.base import Record, rules

EMPLOYEE_STATUSES = ("active", "leave", "terminated")


class Employee(Record):
    """An employee; ``user_id`` links the one who signs in to the hub, ``manager_id`` the reporting line."""

    __tablename__ = "employees"
    module = "employees"
    natural_key = "employee_number"
    title_field = "last_name"
    employee_number: Mapped[str] = mapped_column(String(64), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), info=rules("email"))
    phone: Mapped[str | None] = mapped_column(String(32), info=rules("phone"))
    department: Mapped[str | None] = mapped_column(String(120))
    job_title: Mapped[str | None] = mapped_column(String(120))
    manager_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("employees.id"), info=rules("reference", ref_module="employees")
    )
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), info=rules("user"))
    hire_date: Mapped[dt.date | None] = mapped_column(info=rules("date"))
    termination_date: Mapped[dt.date | None] = mapped_column(info=rules("date"))
    status: Mapped[str] = mapped_column(String(16), default="active", info=rules("choice", choices=EMPLOYEE_STATUSES))
    national_id: Mapped[str | None] = mapped_column(Text, info=rules("text", sensitive=True, max_length=64))
    bank_account: Mapped[str | None] = mapped_column(Text, info=rules("text", sensitive=True, max_length=64))
