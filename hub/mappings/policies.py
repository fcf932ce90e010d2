"""Match rules (how an incoming record finds its hub record) and the per-field conflict policy.

``match:`` is an ordered list; the sync engine tries each rule in turn: ``binding`` (the external-id
binding), ``{field: f}`` or ``{fields: [f, g]}`` (equal values of mapped fields), each with an optional
``normalize:`` chain applied to both sides. ``conflict:`` says who owns each field on update:
``hub`` (never overwritten by the source), ``source`` (always overwritten), or ``newest`` (the
most recently changed side wins); ``default`` covers the fields not listed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from hub.mappings.problems import Problems, did_you_mean, join_path
from hub.mappings.registry import Transform
from hub.mappings.steps import Step, StepBuilder, run_chain

OWNERS = ("hub", "source", "newest")
Owner = Literal["hub", "source", "newest"]
_MATCH_KEYS = ("field", "fields", "normalize")
_CONFLICT_KEYS = ("default", "fields")


@dataclass(frozen=True)
class MatchRule:
    """``kind`` is ``binding`` or ``fields``; ``normalize`` is applied to values on both sides."""

    kind: Literal["binding", "fields"]
    fields: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()

    @cached_property
    def _chain(self) -> list[tuple[Transform, bool]]:
        return [(step.bind("match", None), step.handles_null) for step in self.steps]

    def normalize(self, value: Any) -> Any:
        """``value`` through the rule's ``normalize:`` chain (null stays null)."""
        return run_chain(self._chain, value)

    def key(self, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The normalised values of the rule's fields, or None when one is empty (no match possible)."""
        if self.kind == "binding":
            return None
        out = []
        for name in self.fields:
            value = self.normalize(values.get(name))
            if value is None or value == "":
                return None
            out.append(value)
        return tuple(out)


@dataclass(frozen=True)
class ConflictPolicy:
    """Who owns each field on update; ``default`` for fields not in ``fields``."""

    default: Owner = "source"
    fields: Mapping[str, Owner] = field(default_factory=dict)

    def owner(self, name: str) -> Owner:
        return self.fields.get(name, self.default)

    def owned_by(self, owner: Owner, names: Collection[str]) -> frozenset[str]:
        return frozenset(name for name in names if self.owner(name) == owner)

    def changes(
        self,
        current: Mapping[str, Any],
        incoming: Mapping[str, Any],
        *,
        source_newer: bool = True,
        only_create: Collection[str] = (),
    ) -> dict[str, Any]:
        """The fields of ``incoming`` to write over the existing hub record ``current``.

        Skipped: ``only_create`` fields, hub-owned fields, ``newest`` fields when the source is not
        newer, and values equal to what the hub already holds.
        """
        out: dict[str, Any] = {}
        for name, value in incoming.items():
            if name in only_create:
                continue
            owner = self.owner(name)
            if owner == "hub" or (owner == "newest" and not source_newer):
                continue
            if name in current and current[name] == value:
                continue
            out[name] = value
        return out


def parse_match(raw: Any, mapped: Collection[str], builder: StepBuilder, problems: Problems) -> tuple[MatchRule, ...]:
    """Parse ``match:``; every field named must be one the mapping writes."""
    if raw is None:
        return (MatchRule("binding"),)
    if not isinstance(raw, list) or not raw:
        problems.add("match", "must be a non-empty list of rules, e.g. [binding, {field: email}]")
        return ()
    rules: list[MatchRule] = []
    for index, item in enumerate(raw):
        path = join_path("match", index)
        if item == "binding":
            rules.append(MatchRule("binding"))
            continue
        if not isinstance(item, Mapping):
            problems.add(path, "a rule is 'binding' or a mapping with 'field' or 'fields'")
            continue
        bad = [key for key in item if key not in _MATCH_KEYS]
        for key in bad:
            problems.add(join_path(path, str(key)), f"unknown key{did_you_mean(str(key), _MATCH_KEYS)}")
        if ("field" in item) == ("fields" in item):
            problems.add(path, "give exactly one of 'field' or 'fields'")
            continue
        names = [item["field"]] if "field" in item else item["fields"]
        key_path = join_path(path, "field" if "field" in item else "fields")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            problems.add(key_path, "must name fields of the target module")
            continue
        unmapped = [n for n in names if n not in mapped]
        for name in unmapped:
            problems.add(key_path, f"{name!r} is not a field this mapping writes{did_you_mean(name, mapped)}")
        steps = builder.chain(item["normalize"], join_path(path, "normalize")) if "normalize" in item else []
        if not unmapped and not bad:
            rules.append(MatchRule("fields", tuple(names), tuple(steps)))
    return tuple(rules)


def _owner(raw: Any, path: str, problems: Problems) -> Owner | None:
    if raw in OWNERS:
        return raw
    problems.add(path, f"must be one of {', '.join(OWNERS)}{did_you_mean(str(raw), OWNERS)}")
    return None


def parse_conflict(raw: Any, mapped: Collection[str], problems: Problems) -> ConflictPolicy:
    """Parse ``conflict: {default: owner, fields: {name: owner}}``."""
    if raw is None:
        return ConflictPolicy()
    if not isinstance(raw, Mapping):
        problems.add("conflict", "must be a mapping with 'default' and/or 'fields'")
        return ConflictPolicy()
    for key in raw:
        if key not in _CONFLICT_KEYS:
            problems.add(join_path("conflict", str(key)), f"unknown key{did_you_mean(str(key), _CONFLICT_KEYS)}")
    default = _owner(raw.get("default", "source"), "conflict.default", problems) or "source"
    owners: dict[str, Owner] = {}
    fields = raw.get("fields", {})
    if not isinstance(fields, Mapping):
        problems.add("conflict.fields", "must be a mapping of field: owner")
        fields = {}
    for name, owner_raw in fields.items():
        path = join_path("conflict.fields", str(name))
        if name not in mapped:
            problems.add(path, f"not a field this mapping writes{did_you_mean(str(name), mapped)}")
            continue
        owner = _owner(owner_raw, path, problems)
        if owner is not None:
            owners[name] = owner
    return ConflictPolicy(default, owners)
