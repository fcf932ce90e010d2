"""The module catalog: each CRM module's fields, built-in (from the model) and custom (from the database)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from sqlalchemy import Boolean, Date, Integer, Numeric, String, Text, Uuid, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import Column

from hub.core.fields import CUSTOM_KINDS, FieldDef
from hub.core.models import RECORD_MODELS, CustomField, Record
from hub.core.models.base import table_of
from hub.core.types import JSONType, UTCDateTime
from hub.errors import ValidationError

#: Columns every record has that callers never set directly.
SYSTEM_FIELDS = ("id", "created_at", "updated_at", "deleted_at", "version", "custom")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class ModuleDef:
    """One CRM module: its model, built-in fields and the custom fields defined for it."""

    name: str
    model: type[Record]
    builtin: Mapping[str, FieldDef]
    custom: Mapping[str, FieldDef]

    @cached_property
    def fields(self) -> dict[str, FieldDef]:
        """Built-in then custom fields, by name."""
        return {**self.builtin, **self.custom}

    @cached_property
    def writable(self) -> dict[str, FieldDef]:
        """Fields a caller may set."""
        return {n: f for n, f in self.fields.items() if not f.readonly}

    @cached_property
    def sensitive(self) -> tuple[str, ...]:
        """Fields stored encrypted."""
        return tuple(n for n, f in self.fields.items() if f.sensitive)

    @cached_property
    def references(self) -> dict[str, str]:
        """Reference fields and the module (or ``users``/``teams``) they point to."""
        refs = {n: f.ref_module for n, f in self.builtin.items() if f.kind == "reference" and f.ref_module}
        refs.update({n: "users" for n, f in self.builtin.items() if f.kind == "user"})
        refs.update({n: "teams" for n, f in self.builtin.items() if f.kind == "team"})
        return {n: m for n, m in refs.items() if m}

    def field(self, name: str) -> FieldDef:
        """The field called ``name``, or ValidationError naming the module."""
        try:
            return self.fields[name]
        except KeyError:
            raise ValidationError(f"{self.name}.{name}", "no such field") from None


def _kind_of(column: Column[Any]) -> str:
    t = column.type
    if isinstance(t, UTCDateTime):
        return "datetime"
    checks: tuple[tuple[type, str], ...] = (
        (Boolean, "boolean"), (Integer, "integer"), (Numeric, "decimal"), (Date, "date"),
        (Uuid, "reference"), (Text, "longtext"), (String, "text"),
    )
    for cls, kind in checks:
        if isinstance(t, cls):
            return kind
    if t is JSONType or "JSON" in type(t).__name__.upper():
        return "json"
    return "text"


@lru_cache(maxsize=16)
def builtin_fields(module: str, default_region: str | None = None) -> dict[str, FieldDef]:
    """The fields a module's model declares."""
    model = RECORD_MODELS[module]
    fields: dict[str, FieldDef] = {}
    for column in table_of(model).columns:
        info = dict(column.info)
        kind = info.pop("kind", None) or _kind_of(column)
        has_default = column.default is not None or column.server_default is not None
        length = getattr(column.type, "length", None)
        fields[column.name] = FieldDef(
            name=column.name,
            kind=kind,
            required=not column.nullable and not has_default and not column.primary_key,
            choices=tuple(info.pop("choices", ())),
            sensitive=bool(info.pop("sensitive", False)),
            max_length=info.pop("max_length", None) or (length if kind in ("text", "email", "phone") else None),
            ref_module=info.pop("ref_module", None),
            readonly=bool(info.pop("readonly", False)) or column.name == "id",
            default_region=default_region,
        )
    return fields


def custom_field_def(row: CustomField, default_region: str | None = None) -> FieldDef:
    """The FieldDef of a custom field row."""
    return FieldDef(
        name=row.name, kind=row.kind, required=row.required, choices=tuple(row.choices or ()),
        pattern=row.pattern, sensitive=row.sensitive, custom=True, label=row.label or "",
        max_length=255 if row.kind == "text" else None, default_region=default_region,
    )


def catalog(session: Session | None = None, default_region: str | None = None) -> dict[str, ModuleDef]:
    """Every module with its fields; with a session, custom fields are included."""
    custom: dict[str, dict[str, FieldDef]] = {name: {} for name in RECORD_MODELS}
    if session is not None:
        for row in session.scalars(select(CustomField).order_by(CustomField.module, CustomField.name)):
            if row.module in custom:
                custom[row.module][row.name] = custom_field_def(row, default_region)
    return {
        name: ModuleDef(name, model, builtin_fields(name, default_region), custom[name])
        for name, model in RECORD_MODELS.items()
    }


def module_def(name: str, session: Session | None = None, default_region: str | None = None) -> ModuleDef:
    """One module's definition, or ValidationError for an unknown module name."""
    if name not in RECORD_MODELS:
        raise ValidationError("module", f"{name!r} is not a module; modules: {', '.join(RECORD_MODELS)}")
    return catalog(session, default_region)[name]


def field_names(session: Session | None = None) -> dict[str, set[str]]:
    """Module name -> every field a mapping may target (built-in, custom; not system columns)."""
    return {
        name: {n for n in mod.fields if n not in SYSTEM_FIELDS}
        for name, mod in catalog(session).items()
    }


def define_custom_field(session: Session, module: str, name: str, kind: str, *, label: str | None = None,
                        required: bool = False, choices: list[str] | None = None, pattern: str | None = None,
                        sensitive: bool = False) -> CustomField:
    """Add a custom field to a module after checking its name and rules."""
    mod = module_def(module, session)
    if not FIELD_NAME.match(name):
        raise ValidationError(f"{module}.{name}", "a field name is lower case letters, digits and _ ")
    if name in mod.fields or name in SYSTEM_FIELDS:
        raise ValidationError(f"{module}.{name}", "the module already has a field of that name")
    if kind not in CUSTOM_KINDS:
        raise ValidationError(f"{module}.{name}", f"kind {kind!r} is not one of {', '.join(CUSTOM_KINDS)}")
    if kind == "choice" and not choices:
        raise ValidationError(f"{module}.{name}", "a choice field needs choices")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValidationError(f"{module}.{name}", f"pattern {pattern!r} is not a valid regex: {exc}") from None
    row = CustomField(module=module, name=name, kind=kind, label=label, required=required,
                      choices=list(choices or []), pattern=pattern, sensitive=sensitive)
    session.add(row)
    session.flush()
    return row

