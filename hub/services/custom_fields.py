"""Custom fields: define one (``custom_fields.manage``), list them (``custom_fields.read``).

``hub.core.modules.define_custom_field`` checks and stores the field but does not audit; ``define`` audits
it here: module ``custom_fields``, record id the field row's id, action ``create``, changes
``{"field": [None, "module.name"], "kind": [None, kind], ...}`` with every rule the field was given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from hub.core.actor import Context
from hub.core.models import CustomField
from hub.core.modules import define_custom_field
from hub.core.store import Store
from hub.services.operation import admin_change, admin_view

TARGET = "custom_fields"


@dataclass(frozen=True)
class CustomFieldInfo:
    module: str
    name: str
    kind: str
    label: str | None
    required: bool
    choices: list[str]
    pattern: str | None
    sensitive: bool
    created_at: dt.datetime


def _info(row: CustomField) -> CustomFieldInfo:
    return CustomFieldInfo(row.module, row.name, row.kind, row.label, bool(row.required), list(row.choices or []),
                           row.pattern, bool(row.sensitive), row.created_at)


def define(store: Store, ctx: Context, module: str, name: str, kind: str, *, label: str | None = None,
           required: bool = False, choices: list[str] | None = None, pattern: str | None = None,
           sensitive: bool = False) -> CustomFieldInfo:
    """Add custom field ``name`` to ``module`` (ValidationError for a bad name, kind, choice list or pattern,
    or a name the module has)."""
    with admin_change(store, ctx, "custom_fields.manage", TARGET, f"{module}.{name}") as tx:
        row = define_custom_field(tx.session, module, name, kind, label=label, required=required, choices=choices,
                                  pattern=pattern, sensitive=sensitive)
        changes: dict[str, list[object]] = {"field": [None, f"{module}.{name}"], "kind": [None, kind]}
        rules = {"label": label, "required": required or None, "choices": list(choices) if choices else None,
                 "pattern": pattern, "sensitive": sensitive or None}
        changes.update({key: [None, value] for key, value in rules.items() if value is not None})
        tx.audit.add(TARGET, row.id, "create", changes)
        return _info(row)


def list_fields(store: Store, ctx: Context, module: str | None = None) -> list[CustomFieldInfo]:
    """The custom fields of every module, or of ``module``, by module and name."""
    with admin_view(store, ctx, "custom_fields.read", TARGET, module) as tx:
        query = select(CustomField).order_by(CustomField.module, CustomField.name)
        if module is not None:
            query = query.where(CustomField.module == module)
        return [_info(row) for row in tx.session.scalars(query)]
