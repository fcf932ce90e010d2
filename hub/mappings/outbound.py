"""The outbound direction (hub record -> source fields): derived from the inbound rules, or written out.

Derivation reverses the rules that are plain renames and lookups: ``status: {from: state, lookup:
...}`` gives ``state: {from: status, lookup: <inverted table>}``. A rule with any other transform, a
``when:``, several sources, a constant, or a list index in its path is not derived; the reason is kept
in ``Direction.not_derived`` so tools can show it. Rules written under ``outbound.fields`` replace
derived rules for the same source field.
"""

from __future__ import annotations

from hub.mappings.model import FieldRule, Source
from hub.mappings.paths import format_path, is_plain
from hub.mappings.registry import OptionError
from hub.mappings.steps import Step


def _reason(rule: FieldRule) -> str | None:
    """Why ``rule`` cannot be reversed, or None when it can."""
    if rule.source.kind == "value":
        return "it writes a constant"
    if rule.source.kind != "path":
        return "it reads several source fields"
    if not is_plain(rule.source.paths[0][1]):
        return "its source path has a list index"
    if rule.when is not None:
        return "it has a 'when' condition"
    for step in rule.steps:
        if step.lookup is None:
            return f"transform {step.name!r} cannot be reversed"
    return None


def derive(inbound: list[FieldRule]) -> tuple[list[FieldRule], dict[str, str]]:
    """Reverse rules for the inbound rules that allow it, and ``{hub field: reason}`` for the rest."""
    derived: list[FieldRule] = []
    not_derived: dict[str, str] = {}
    written: dict[str, str] = {}
    for rule in inbound:
        reason = _reason(rule)
        source_path = rule.source.paths[0][1] if rule.source.paths else ()
        target = format_path(source_path) if source_path else ""
        if reason is None and target in written:
            reason = f"source field {target!r} is already written from {written[target]!r}"
        steps: list[Step] = []
        if reason is None:
            try:
                steps = [
                    Step("lookup", f"{step.path} (inverted)", lookup=step.lookup.inverted())
                    for step in reversed(rule.steps)
                    if step.lookup is not None
                ]
            except OptionError as exc:
                reason = f"its lookup table cannot be inverted: {exc}"
        if reason is not None:
            not_derived[rule.target] = reason
            continue
        written[target] = rule.target
        derived.append(
            FieldRule(
                target=target,
                target_path=source_path,
                path=f"{rule.path} (reversed)",
                source=Source("path", ((rule.target, (rule.target,)),)),
                steps=tuple(steps),
                only_create=rule.only_create,
            )
        )
    return derived, not_derived


def merge(derived: list[FieldRule], explicit: list[FieldRule], not_derived: dict[str, str]) -> list[FieldRule]:
    """Explicit rules replace derived ones for the same source field; hub fields they read are covered."""
    explicit_targets = {rule.target for rule in explicit}
    covered = {path[0] for rule in explicit for _, path in rule.source.paths if path and isinstance(path[0], str)}
    for name in covered:
        not_derived.pop(name, None)
    return [rule for rule in derived if rule.target not in explicit_targets] + explicit
