"""The declarative base, the naming convention, and the columns every CRM record carries."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, ClassVar, cast

from sqlalchemy import ForeignKey, Integer, MetaData, Numeric, Table, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from hub.core.types import JSONType, UTCDateTime, new_id, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table in Hub."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        uuid.UUID: Uuid(),
        Decimal: Numeric(18, 4),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


class Record(Base):
    """Columns shared by every CRM module: identity, ownership, timestamps, soft deletion, extras.

    Subclasses set ``module`` (the public module name, e.g. ``"contacts"``), may set ``natural_key``
    (the field CSV import matches on by default) and ``title_field`` (what names a record to people).
    Field rules (kind, choices, sensitivity) live in each column's ``info`` (see hub.core.fields).
    """

    __abstract__ = True
    module: ClassVar[str]
    natural_key: ClassVar[str | None] = None
    title_field: ClassVar[str] = "name"
    #: A reference to a record of any module, as (module field, id field): both given or neither, and the
    #: id must name a record of that module (activities link to anything, campaign members to a contact
    #: or a lead).
    polymorphic: ClassVar[tuple[str, str] | None] = None

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)

    @declared_attr
    def owner_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("users.id"), index=True, info={"kind": "user"})

    @declared_attr
    def team_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("teams.id"), index=True, info={"kind": "team"})

    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, info={"readonly": True})
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, info={"readonly": True})
    deleted_at: Mapped[dt.datetime | None] = mapped_column(info={"readonly": True})
    version: Mapped[int] = mapped_column(Integer, default=1, info={"readonly": True})
    tags: Mapped[list[Any]] = mapped_column(default=list, info={"kind": "tags"})
    custom: Mapped[dict[str, Any]] = mapped_column(default=dict, info={"readonly": True})


def rules(kind: str = "text", **extra: Any) -> dict[str, Any]:
    """The ``info`` of a column: its field kind plus choices, sensitive, ref_module, max_length..."""
    return {"kind": kind, **extra}


def table_of(model: type[Base]) -> Table:
    """The Table of a mapped class (typed as such, for Core statements)."""
    return cast(Table, model.__table__)
