"""Loading a mapping spec: parse YAML or JSON, check every section, collect ALL problems, build a Spec.

Every problem names its place in the spec (``fields.country.lookup.table: unknown table
'countrys' (did you mean 'countries'?)``) and they are raised together as one SpecError. Target field
names are checked against a catalog ``{module: {field, ...}}`` (custom fields included) when one is
given; ``catalog=None`` skips that check. Named lookup tables come from the spec's ``tables:`` and from
the caller's ``tables=`` (the spec's own win on a clash).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path as FilePath
from typing import Any

import pluggy
import yaml

from hub.mappings.lookups import LookupTable
from hub.mappings.model import Direction, DirectionName, Spec, TestCase
from hub.mappings.outbound import derive, merge
from hub.mappings.paths import Path
from hub.mappings.policies import parse_conflict, parse_match
from hub.mappings.problems import Problem, Problems, SpecError, did_you_mean, join_path
from hub.mappings.registry import TransformRegistry, resolve_registry
from hub.mappings.rules import parse_expression, parse_fields
from hub.mappings.steps import StepBuilder

Catalog = Mapping[str, "set[str] | frozenset[str]"]
TOP_KEYS = ("mapping", "description", "source", "target", "filter", "tables", "fields", "outbound",
            "match", "conflict", "tests")  # fmt: skip
_OUTBOUND_KEYS = ("derive", "filter", "fields")
_TEST_KEYS = ("name", "direction", "input", "expect", "skipped", "error")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses duplicate keys instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict) or key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate or unusable key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def parse_text(text: str) -> dict[str, Any]:
    """The spec document in ``text``, JSON or YAML; SpecError when it is unreadable."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no Python objects
    except yaml.YAMLError as exc:
        if text.lstrip().startswith("{"):  # JSON-looking: JSON's own message says more
            try:
                json.loads(text, object_pairs_hook=_no_duplicates)
            except json.JSONDecodeError as jexc:
                problem = f"not valid JSON: {jexc.msg} at line {jexc.lineno} column {jexc.colno}"
                raise SpecError([Problem("", problem)]) from None
            except ValueError as jexc:
                raise SpecError([Problem("", f"not valid JSON: {jexc}")]) from None
        raise SpecError([Problem("", f"not valid YAML/JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise SpecError([Problem("", "a spec is a mapping with 'mapping', 'source', 'target' and 'fields'")])
    return data


def canonical_text(data: Mapping[str, Any]) -> str:
    """The spec as canonical YAML: what the version store keeps and hashes."""
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: Columns every hub record has that outbound rules may read but inbound rules never write.
RECORD_COLUMNS = ("id", "created_at", "updated_at", "deleted_at", "version")


class _Checker:
    """Catalog checks for target fields and for the hub fields outbound rules read."""

    def __init__(self, catalog: Catalog | None, module: str | None, problems: Problems) -> None:
        self.fields = None if catalog is None or module is None else catalog.get(module)
        self.problems = problems

    def target(self, name: str, path: str) -> None:
        if self.fields is not None and name not in self.fields:
            self.problems.add(path, f"unknown target field {name!r}{did_you_mean(name, self.fields)}")

    def hub_source(self, text: str, parsed: Path, path: str) -> None:
        first = parsed[0]
        readable = None if self.fields is None else set(self.fields) | set(RECORD_COLUMNS)
        if readable is not None and isinstance(first, str) and first not in readable:
            self.problems.add(path, f"unknown hub field {first!r}{did_you_mean(first, readable)}")

    @staticmethod
    def any_source(text: str, parsed: Path, path: str) -> None:
        """Source-system fields are not known in advance; any well-formed path is accepted."""


def _section(data: Mapping[str, Any], key: str, problems: Problems, required: tuple[str, ...]) -> dict[str, str]:
    raw = data.get(key)
    if not isinstance(raw, Mapping):
        problems.add(key, f"missing or not a mapping: give {{{', '.join(f'{k}: ...' for k in required)}}}")
        return {}
    out: dict[str, str] = {}
    for name in raw:
        if name not in required:
            problems.add(join_path(key, str(name)), f"unknown key{did_you_mean(str(name), required)}")
    for name in required:
        value = raw.get(name)
        if not isinstance(value, str) or not value:
            problems.add(join_path(key, name), "missing or not text")
        else:
            out[name] = value
    return out


def _tables(data: Mapping[str, Any], given: Mapping[str, Any] | None, problems: Problems) -> dict[str, LookupTable]:
    tables: dict[str, LookupTable] = {}
    for name, entries in (given or {}).items():
        found = LookupTable.problems(entries)
        for problem in found:
            problems.add(f"tables (given by the caller).{name}", problem)
        if not found:
            tables[name] = LookupTable(name, dict(entries))
    raw = data.get("tables", {})
    if not isinstance(raw, Mapping):
        problems.add("tables", "must be a mapping of table name: {key: value}")
        return tables
    for name, entries in raw.items():
        found = LookupTable.problems(entries)
        for problem in found:
            problems.add(join_path("tables", str(name)), problem)
        if not found:
            tables[str(name)] = LookupTable(str(name), dict(entries))
    return tables


def _tests(raw: Any, targets: Mapping[DirectionName, tuple[str, ...]], problems: Problems) -> list[TestCase]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add("tests", "must be a list of {input, expect}")
        return []
    cases = []
    for index, item in enumerate(raw):
        path = join_path("tests", index)
        if not isinstance(item, Mapping):
            problems.add(path, "a test is a mapping with 'input' and 'expect' (or 'skipped' / 'error')")
            continue
        before = len(problems)
        for key in item:
            if key not in _TEST_KEYS:
                problems.add(join_path(path, str(key)), f"unknown key{did_you_mean(str(key), _TEST_KEYS)}")
        direction = item.get("direction", "inbound")
        if direction not in ("inbound", "outbound"):
            problems.add(join_path(path, "direction"), "must be inbound or outbound")
            continue
        names = targets[direction]
        if not isinstance(item.get("input"), Mapping):
            problems.add(join_path(path, "input"), "missing or not a mapping (the record to map)")
        outcomes = [key for key in ("expect", "skipped", "error") if key in item]
        if len(outcomes) != 1:
            problems.add(path, "give exactly one of 'expect', 'skipped: true' or 'error: <field>'")
        expect = item.get("expect")
        if "expect" in item:
            if not isinstance(expect, Mapping):
                problems.add(join_path(path, "expect"), "must be a mapping of field: expected value")
            else:
                for name in expect:
                    if name not in names:
                        hint = did_you_mean(str(name), names)
                        problems.add(
                            join_path(path, f"expect.{name}"),
                            f"not a field the {direction} mapping writes{hint}",
                        )
        if "skipped" in item and item["skipped"] is not True:
            problems.add(join_path(path, "skipped"), "must be true (or leave it out)")
        error = item.get("error")
        if "error" in item and error not in names:
            problems.add(join_path(path, "error"), f"must name a field the {direction} mapping writes")
        name = item.get("name", f"test {index + 1}")
        if len(problems) == before:
            cases.append(TestCase(str(name), path, direction, dict(item["input"]), expect, "skipped" in item, error))
    return cases


def validate(
    spec: Mapping[str, Any] | str | Spec,
    *,
    catalog: Catalog | None = None,
    tables: Mapping[str, Mapping[Any, Any]] | None = None,
    plugins: pluggy.PluginManager | TransformRegistry | None = None,
) -> Spec:
    """The validated Spec for a spec document (or its text); SpecError listing every problem found."""
    if isinstance(spec, Spec):
        return spec
    data = parse_text(spec) if isinstance(spec, str) else dict(spec)
    problems = Problems()
    for key in data:
        if key not in TOP_KEYS:
            problems.add(str(key), f"unknown key{did_you_mean(str(key), TOP_KEYS)}")
    name = data.get("mapping")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add("mapping", "missing or not a name (letters, digits, '_', '.', '-'; up to 200)")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        problems.add("description", "must be text")
    source = _section(data, "source", problems, ("connector", "stream"))
    target = _section(data, "target", problems, ("module",))
    module = target.get("module")
    if catalog is not None and module is not None and module not in catalog:
        problems.add("target.module", f"unknown module {module!r}{did_you_mean(module, catalog)}")
    checker = _Checker(catalog, module, problems)
    builder = StepBuilder(resolve_registry(plugins), _tables(data, tables, problems), problems)

    inbound_rules = parse_fields("inbound", data.get("fields"), "fields", builder, checker.target, checker.any_source)
    inbound_filter = parse_expression(data["filter"], "filter", problems) if "filter" in data else None
    inbound = Direction("inbound", tuple(inbound_rules), inbound_filter)
    outbound = _outbound(data.get("outbound"), inbound_rules, builder, checker)
    # Names as declared (not only the rules that parsed), so one bad rule does not cascade.
    fields_raw = data.get("fields")
    mapped = tuple(str(k) for k in fields_raw) if isinstance(fields_raw, Mapping) else inbound.targets
    match = parse_match(data.get("match"), mapped, builder, problems)
    conflict = parse_conflict(data.get("conflict"), mapped, problems)
    tests = _tests(data.get("tests"), {"inbound": mapped, "outbound": outbound.targets}, problems)
    problems.raise_if_any()
    text = canonical_text(data)
    return Spec(
        name=str(name), description=description, connector=source["connector"], stream=source["stream"],
        module=str(module), inbound=inbound, outbound=outbound, match=match, conflict=conflict,
        tables=builder.tables, tests=tuple(tests), data=data, text=text, hash=text_hash(text),
    )  # fmt: skip


def _outbound(raw: Any, inbound_rules: list[Any], builder: StepBuilder, checker: _Checker) -> Direction:
    problems = builder.problems
    section: Mapping[str, Any] = {} if raw is None else raw
    if not isinstance(section, Mapping):
        problems.add("outbound", "must be a mapping with 'derive', 'filter' and/or 'fields'")
        section = {}
    for key in section:
        if key not in _OUTBOUND_KEYS:
            problems.add(join_path("outbound", str(key)), f"unknown key{did_you_mean(str(key), _OUTBOUND_KEYS)}")
    derive_flag = section.get("derive", True)
    if not isinstance(derive_flag, bool):
        problems.add("outbound.derive", "must be true or false")
        derive_flag = False
    derived, not_derived = derive(inbound_rules) if derive_flag else ([], {})
    explicit = []
    if "fields" in section:
        explicit = parse_fields(
            "outbound",
            section["fields"],
            "outbound.fields",
            builder,
            lambda name, path: None,
            checker.hub_source,
        )
    flt = parse_expression(section["filter"], "outbound.filter", problems) if "filter" in section else None
    return Direction("outbound", tuple(merge(derived, explicit, not_derived)), flt, not_derived)


def load(
    path: str | FilePath,
    *,
    catalog: Catalog | None = None,
    tables: Mapping[str, Mapping[Any, Any]] | None = None,
    plugins: pluggy.PluginManager | TransformRegistry | None = None,
) -> Spec:
    """Read, parse and validate the spec file at ``path``."""
    text = FilePath(path).read_text(encoding="utf-8")
    return validate(text, catalog=catalog, tables=tables, plugins=plugins)
