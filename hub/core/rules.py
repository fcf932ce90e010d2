"""Rules of particular modules that field validation alone cannot express (checked in the write path)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.models import Pipeline
from hub.errors import ValidationError

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


def check_deal(session: Session, row: dict[str, Any], cache: dict[uuid.UUID, list[Any] | None]) -> None:
    """The stage belongs to the deal's pipeline; probability and status follow the stage unless given."""
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


def module_check(module: str) -> Callable[[Session, dict[str, Any], dict[Any, Any]], None] | None:
    """The extra check for ``module``'s full new row, if it has one."""
    if module == "pipelines":
        return lambda session, row, _cache: check_pipeline(session, row)
    if module == "deals":
        return check_deal
    return None
