"""Rules of particular modules that field validation alone cannot express, checked in the write path.

Rules come from the ``register_module_rules`` hook; the built-in ones (pipelines' stages, deals' stage and
probability) are declared here through that same hook, so the write path special-cases no module.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.models import Pipeline
from hub.errors import ConfigError, ValidationError
from hub.hookspecs import hookimpl


@dataclass(frozen=True)
class Edit:
    """What the writer did to the row a rule checks: the fields it gave, and (on update) those that changed."""

    given: frozenset[str]
    changed: frozenset[str] | None = None  # None: the record is being created


#: A rule: (session, the full new row, a cache its calls share in one transaction, the edit) -> None. It may
#: set values of the row (a deal's status follows its stage) and raises ValidationError naming the field.
Rule = Callable[[Session, dict[str, Any], dict[Any, Any], Edit], None]

OUTCOMES = ("open", "won", "lost")


def check_pipeline(session: Session, row: dict[str, Any]) -> None:
    """Stages are an ordered, non-empty list of ``{name, probability 0-100, outcome open|won|lost}``."""
    stages = row.get("stages")
    if not isinstance(stages, list) or not stages:
        raise ValidationError("pipelines.stages", "needs at least one stage")
    seen: set[str] = set()
    for i, stage in enumerate(stages):
        where = f"pipelines.stages[{i}]"
        if not isinstance(stage, dict) or not isinstance(stage.get("name"), str) or not stage["name"].strip():
            raise ValidationError(where, "a stage is an object with a name")
        unknown = set(stage) - {"name", "probability", "outcome"}
        if unknown:
            raise ValidationError(where, f"unknown keys {', '.join(sorted(unknown))}")
        if stage["name"] in seen:
            raise ValidationError(where, f"stage {stage['name']!r} appears twice")
        seen.add(stage["name"])
        p = stage.get("probability", 0)
        if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p <= 100:
            raise ValidationError(f"{where}.probability", f"{p!r} is not a whole number from 0 to 100")
        if stage.get("outcome", "open") not in OUTCOMES:
            raise ValidationError(f"{where}.outcome", f"{stage.get('outcome')!r} is not one of open, won, lost")


def check_deal(session: Session, row: dict[str, Any], cache: dict[uuid.UUID, list[Any] | None], edit: Edit
               ) -> None:
    """The stage belongs to the deal's pipeline; probability and status follow the stage unless given."""
    if edit.changed is not None and "stage" in edit.changed and "probability" not in edit.given:
        row["probability"] = None  # a new stage brings its probability unless the writer set one
    pid = row.get("pipeline_id")
    if pid is None:
        return
    if pid not in cache:
        cache[pid] = session.scalar(select(Pipeline.stages).where(Pipeline.id == pid))
    if cache[pid] is None:
        raise ValidationError("deals.pipeline_id", f"no pipelines record with id {pid}")
    stages = {s["name"]: s for s in cache[pid] or []}
    stage = stages.get(row.get("stage") or "")
    if stage is None:
        raise ValidationError("deals.stage", f"{row.get('stage')!r} is not a stage of the pipeline; "
                              f"stages: {', '.join(stages)}")
    if row.get("probability") is None:
        row["probability"] = stage.get("probability", 0)
    row["status"] = stage.get("outcome", "open")
    p = row["probability"]
    if not 0 <= p <= 100:
        raise ValidationError("deals.probability", f"{p} is not from 0 to 100")
    amount = row.get("amount")
    if isinstance(amount, Decimal) and amount < 0:
        raise ValidationError("deals.amount", f"{amount} is negative")


def _check_pipeline(session: Session, row: dict[str, Any], _cache: dict[Any, Any], _edit: Edit) -> None:
    check_pipeline(session, row)


@hookimpl
def register_module_rules() -> Mapping[str, Rule | Sequence[Rule]]:
    return {"pipelines": _check_pipeline, "deals": check_deal}


_merged: weakref.WeakKeyDictionary[Any, dict[str, tuple[Rule, ...]]] = weakref.WeakKeyDictionary()


def module_rules(plugins: Any) -> dict[str, tuple[Rule, ...]]:
    """Every module's rules, from each ``register_module_rules`` implementation of ``plugins``, worked out
    once per plugin manager."""
    found = _merged.get(plugins)
    if found is None:
        merged: dict[str, list[Rule]] = {}
        for declared in reversed(plugins.hook.register_module_rules()):  # in registration order
            for module, rules in (declared or {}).items():
                for rule in (rules if isinstance(rules, Sequence) else [rules]):
                    if not callable(rule):
                        raise ConfigError(f"module rule for {module!r}: {rule!r} is not callable")
                    merged.setdefault(module, []).append(rule)
        found = _merged[plugins] = {m: tuple(r) for m, r in merged.items()}
    return found
