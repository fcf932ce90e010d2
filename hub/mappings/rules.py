"""Field rules: parsing one ``fields:`` section (inbound or outbound) into FieldRule objects.

A field rule is ``target: {from | value, transform, lookup, when, only_create, description}``:
``from`` is a path, a list of paths (the value is a list) or a mapping ``label: path`` (the value is
an object); ``value`` is a constant instead. ``when`` is an expression on the record: when false the
field is left out of the result. ``only_create`` fields are written only when the record is created.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.mappings.expressions import Expression
from hub.mappings.model import DirectionName, FieldRule, Source
from hub.mappings.paths import Path, is_plain, parse_path
from hub.mappings.problems import Problems, did_you_mean, join_path
from hub.mappings.steps import StepBuilder

FIELD_KEYS = ("from", "value", "transform", "lookup", "when", "only_create", "description")

#: Called with (path text, parsed path, spec path) for each ``from`` path, to check it (or not).
SourceCheck = Callable[[str, Path, str], None]
#: Called with (target name, spec path) for each target, to check it against the catalog (or not).
TargetCheck = Callable[[str, str], None]


def parse_expression(raw: Any, path: str, problems: Problems) -> Expression | None:
    """An Expression from ``raw``, or None after reporting why it is not one."""
    try:
        return Expression(raw)
    except ValueError as exc:
        problems.add(path, str(exc))
        return None


def _source_path(raw: Any, path: str, problems: Problems, check: SourceCheck) -> Path | None:
    if not isinstance(raw, str):
        problems.add(path, f"a source path is text like 'country_id.code', got {type(raw).__name__}")
        return None
    try:
        parsed = parse_path(raw)
    except ValueError as exc:
        problems.add(path, str(exc))
        return None
    check(raw, parsed, path)
    return parsed


def parse_source(rule: Mapping[str, Any], path: str, problems: Problems, check: SourceCheck) -> Source | None:
    """The rule's ``from`` (or ``value``) as a Source."""
    if "from" in rule and "value" in rule:
        problems.add(path, "give either 'from' or 'value', not both")
        return None
    if "value" in rule:
        return Source("value", value=rule["value"])
    if "from" not in rule:
        problems.add(path, "missing 'from' (the source path), or 'value' for a constant")
        return None
    raw = rule["from"]
    from_path = join_path(path, "from")
    if isinstance(raw, list):
        if not raw:
            problems.add(from_path, "must list at least one path")
            return None
        parsed = [_source_path(item, join_path(from_path, i), problems, check) for i, item in enumerate(raw)]
        if any(p is None for p in parsed):
            return None
        return Source("list", tuple((str(text), p) for text, p in zip(raw, parsed, strict=True) if p))
    if isinstance(raw, Mapping):
        if not raw:
            problems.add(from_path, "must map at least one label to a path")
            return None
        labelled = {
            label: _source_path(p, join_path(from_path, str(label)), problems, check) for label, p in raw.items()
        }
        if any(p is None for p in labelled.values()):
            return None
        return Source("object", tuple((str(label), p) for label, p in labelled.items() if p))
    parsed_one = _source_path(raw, from_path, problems, check)
    return None if parsed_one is None else Source("path", ((raw, parsed_one),))


def _target_path(direction: DirectionName, target: str, path: str, problems: Problems) -> Path | None:
    if direction == "inbound":
        if not target or any(c.isspace() or c in ".[]" for c in target):
            problems.add(path, f"{target!r} is not a field name")
            return None
        return (target,)
    try:
        parsed = parse_path(target)
    except ValueError as exc:
        problems.add(path, str(exc))
        return None
    if not is_plain(parsed):
        problems.add(path, "an outbound target path cannot have list indexes")
        return None
    return parsed


def parse_rule(
    direction: DirectionName,
    target: str,
    raw: Any,
    path: str,
    builder: StepBuilder,
    check_source: SourceCheck,
) -> FieldRule | None:
    """One field rule; None (after reporting) when it has problems."""
    problems = builder.problems
    before = len(problems)
    if not isinstance(raw, Mapping):
        problems.add(path, "a field rule is a mapping with 'from' (and 'transform', 'lookup', ...)")
        return None
    for key in raw:
        if key not in FIELD_KEYS:
            problems.add(join_path(path, str(key)), f"unknown key{did_you_mean(str(key), FIELD_KEYS)}")
    target_path = _target_path(direction, target, path, problems)
    source = parse_source(raw, path, problems, check_source)
    steps = builder.chain(raw["transform"], join_path(path, "transform")) if "transform" in raw else []
    if "lookup" in raw:
        lookup = builder.lookup(raw["lookup"], join_path(path, "lookup"))
        if lookup is not None:
            steps.append(lookup)
    when = parse_expression(raw["when"], join_path(path, "when"), problems) if "when" in raw else None
    only_create = raw.get("only_create", False)
    if not isinstance(only_create, bool):
        problems.add(join_path(path, "only_create"), "must be true or false")
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        problems.add(join_path(path, "description"), "must be text")
    if len(problems) > before or source is None or target_path is None:
        return None
    return FieldRule(target, target_path, path, source, tuple(steps), when, bool(only_create))


def parse_fields(
    direction: DirectionName,
    raw: Any,
    path: str,
    builder: StepBuilder,
    check_target: TargetCheck,
    check_source: SourceCheck,
) -> list[FieldRule]:
    """Every rule of a ``fields:`` mapping (``target: rule``)."""
    problems = builder.problems
    if not isinstance(raw, Mapping) or not raw:
        problems.add(path, "must be a non-empty mapping of target field: rule")
        return []
    rules = []
    for target, rule_raw in raw.items():
        rule_path = join_path(path, str(target))
        if not isinstance(target, str):
            problems.add(rule_path, "a field name must be text")
            continue
        check_target(target, rule_path)
        rule = parse_rule(direction, target, rule_raw, rule_path, builder, check_source)
        if rule is not None:
            rules.append(rule)
    return rules
