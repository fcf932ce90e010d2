"""The SOAP connector: any WSDL-described service (type ``soap``) and Dynamics NAV / Business Central pages (``nav``).

A ``soap`` instance names a WSDL and, per stream, the operation that reads records (with how it pages and
where the records sit in the answer) and the operations that create and update them::

    {"wsdl": "https://erp.example.com/WS/Page/Customer", "username": "hub", "password": "...",
     "streams": {"customers": {
         "read": {"operation": "ReadMultiple", "result_path": "ReadMultiple_Result.Customer",
                  "args": {"filter": [{"Field": "Last_Date_Modified", "Criteria": ">={since}"}]},
                  "paging": {"kind": "bookmark", "request_field": "bookmarkKey", "size_field": "setSize",
                             "size": 100, "key_field": "Key"}},
         "write": {"create": "Create", "update": "Update", "entity": "Customer", "key_field": "Key",
                   "read": "Read"},
         "id_field": "No", "version_field": "Key", "cursor_field": "Last_Date_Modified"}}}

A ``nav`` instance says the same in a few words: ``{"wsdl": ..., "streams": {"customers": {"page": "Customer"}}}``
(``connectors.erp.soap_nav``). docs/connectors/soap.md has every option; the zeep client and its hardened
transport are in ``soap_client`` and ``soap_transport``.

**Reading.** A read is a *scan*: page after page of the records whose ``cursor_field`` is at or after the
cursor (``{since}`` in ``args``; items holding ``{since}`` are left out before there is a cursor), in the
service's order. A checkpoint follows every page: ``{"since", "seen", "bookmark", "offset", "scan"}``. When
a scan ends, the cursor becomes the highest ``cursor_field`` value it saw, and ``seen`` holds short digests
of (id, version) of the records at exactly that value, so the next scan (``>= since``) skips those unless
they changed: ties on a coarse modification date are neither lost nor read twice. Without a
``cursor_field`` a scan continues after the last bookmark (or offset): records appended since are read.
A record element that does not parse is yielded as a failed record (quarantined with the reason and its
XML); an answer that is not XML at all is a RetryableError (the page is asked for again).

**Writing.** A record without an external id is created (``create``); with one it is updated: the current
record is read (``read``), fields that already hold the wanted values are not sent (a record already so
is not written at all), and ``update`` goes with the record's Key. Conflicts (the service's "Another user
has modified the record" fault): when the Key came from the hub (the record's ``version``), that record
fails permanently (it changed in the service since the hub saw it: a person decides); when the connector
read the Key itself, it reads again and retries once, then fails permanently. Client faults fail that
record (PermanentError: dead-lettered); Server faults, timeouts and resets raise RetryableError (the
batch is retried with the same idempotency key). A key's results are remembered per process, and with
``ref_field`` a created record carries a reference derived from the key, looked up before creating, so
a batch retried after a crash creates nothing twice. Deletions are not written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, ClassVar

from connectors.erp.soap_client import Options, Service, child_text, plain, raw_text
from hub.errors import AuthError, ConfigError, PermanentError
from hub.hookspecs import hookimpl
from hub.sync import net
from hub.sync.connector import Checkpoint, Connector, Record, Stream, WriteResult
from hub.sync.demo import DemoSystem

CONFLICT = r"(?i)another user has modified the record|modified by another user|has been changed since"
NAV_RETRYABLE = [r"(?i)deadlock", r"(?i)locked by another user", r"(?i)being updated in a transaction",
                 r"(?i)timed? ?out"]
JSON_TYPES = ["string", "integer", "number", "boolean", "object", "array", "null"]
MAPPINGS = Path(__file__).with_name("soap_mappings")
STREAM_NAME = "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
URL: dict[str, Any] = {"type": "string", "pattern": "^https?://[^\\s/]+", "description": "http(s) URL"}
_MEMO = 256

COMMON: dict[str, Any] = {
    "wsdl": {**URL, "description": "URL of the WSDL (fetched through the instance's guard)"},
    "service": {**TEXT, "description": "the WSDL service to use (default: the first)"},
    "port": {**TEXT, "description": "the service's port to use (default: the first)"},
    "endpoint": {**URL, "description": "post here instead of the address the WSDL names"},
    "username": {"type": "string", "description": "HTTP Basic user"},
    "password": {"type": "string", "secret": True, "description": "HTTP Basic password (web service access key)"},
    "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 30,
                "description": "seconds each request (WSDL or call) may take"},
    "max_response_mb": {"type": "number", "exclusiveMinimum": 0, "maximum": 1024, "default": 64},
    "wsdl_imports": {"enum": ["none", "same_host"], "default": "none",
                     "description": "whether the WSDL may import documents from its own host"},
    "retryable_faults": {"type": "array", "items": TEXT,
                         "description": "regular expressions on 'faultcode: message' of faults worth retrying"},
    "conflict_fault": {**TEXT, "description": "regular expression recognising an outdated-key fault"},
    **net.SCHEMA_PROPERTIES,
}
_PAGING: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["kind"],
    "properties": {"kind": {"enum": ["bookmark", "offset", "none"]}, "request_field": TEXT, "size_field": TEXT,
                   "size": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 100}, "key_field": TEXT},
}
_CALL: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["operation", "result_path"],
    "properties": {"operation": TEXT, "args": {"type": "object"}, "result_path": TEXT, "paging": _PAGING},
}
_WRITE: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["entity"],
    "properties": {"create": TEXT, "update": TEXT, "entity": TEXT, "key_field": TEXT, "read": TEXT,
                   "read_arg": TEXT, "ref_field": TEXT, "find": _CALL},
}
FIELDS_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": {"enum": JSON_TYPES}}
_STREAM: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["read", "id_field"],
    "properties": {"wsdl": URL, "read": _CALL, "write": _WRITE, "id_field": TEXT, "version_field": TEXT,
                   "cursor_field": TEXT, "fields": FIELDS_SCHEMA, "description": {"type": "string"}},
}


@dataclass(frozen=True)
class Call:
    """An operation, its fixed arguments (``{since}``/``{ref}`` placeholders), where its records are, paging."""

    operation: str
    args: Mapping[str, Any]
    path: tuple[str, ...]
    paging: str = "none"
    request_field: str | None = None
    size_field: str | None = None
    size: int = 100
    key_field: str | None = None

    @classmethod
    def of(cls, conf: Mapping[str, Any], where: str) -> Call:
        paging = conf.get("paging") or {"kind": "none"}
        kind = paging["kind"]
        needs = {"bookmark": ("request_field", "size_field", "key_field"), "offset": ("request_field",)}
        for need in needs.get(kind, ()):
            if need not in paging:
                raise ConfigError(f"soap config: {where}.paging.{need}: required for {kind} paging")
        return cls(conf["operation"], dict(conf.get("args") or {}), tuple(conf["result_path"].split(".")), kind,
                   paging.get("request_field"), paging.get("size_field"), paging.get("size", 100),
                   paging.get("key_field"))


@dataclass(frozen=True)
class Write:
    """How a stream's records are created and updated."""

    entity: str
    create: str | None = None
    update: str | None = None
    key_field: str | None = None
    read: str | None = None
    read_arg: str | None = None
    ref_field: str | None = None
    find: Call | None = None


@dataclass(frozen=True)
class Spec:
    """One configured stream, defaults applied."""

    name: str
    wsdl: str
    read: Call
    id_field: str
    write: Write | None = None
    version_field: str | None = None
    cursor_field: str | None = None
    fields: Mapping[str, str] | None = None
    description: str = ""


@dataclass
class Position:
    """Where a read stands (see the module docstring): the cursor, its tie set, and the scan in progress."""

    since: Any = None
    seen: list[str] = field(default_factory=list)
    bookmark: str | None = None
    offset: int = 0
    scanning: bool = False
    top: Any = None
    top_seen: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, state: Mapping[str, Any] | None) -> Position:
        if not state:
            return cls()
        try:
            scan = state.get("scan")
            pos = cls(state.get("since"), list(state.get("seen") or []), state.get("bookmark"),
                      int(state.get("offset") or 0), scan is not None,
                      (scan or {}).get("top"), list((scan or {}).get("top_seen") or []))
        except (AttributeError, TypeError, ValueError) as e:
            raise PermanentError(f"soap: not a soap read state: {dict(state)!r}") from e
        if not all(isinstance(s, str) for s in pos.seen + pos.top_seen) or pos.offset < 0:
            raise PermanentError(f"soap: not a soap read state: {dict(state)!r}")
        return pos

    def state(self) -> dict[str, Any]:
        scan = {"top": self.top, "top_seen": sorted(set(self.top_seen))} if self.scanning else None
        return {"since": self.since, "seen": self.seen, "bookmark": self.bookmark, "offset": self.offset,
                "scan": scan}


class SoapConnector(Connector):
    """A SOAP service described by its WSDL: streams read by an operation with paging, written by others."""

    type_name = "soap"
    title = "SOAP web service (WSDL)"
    config_schema: ClassVar[dict[str, Any]] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["wsdl", "streams"],
        "additionalProperties": False,
        "properties": {**COMMON, "streams": {"type": "object", "minProperties": 1, "additionalProperties": _STREAM,
                                             "propertyNames": {"pattern": STREAM_NAME}}},
    }
    default_retryable: ClassVar[list[str]] = []

    def __post_init__(self) -> None:
        super().__post_init__()
        conf = self.config
        patterns = {"retryable_faults": conf.get("retryable_faults", self.default_retryable),
                    "conflict_fault": [conf.get("conflict_fault", CONFLICT)]}
        compiled: dict[str, list[re.Pattern[str]]] = {}
        for key, items in patterns.items():
            try:
                compiled[key] = [re.compile(p) for p in items]
            except re.error as e:
                raise ConfigError(f"{self.type_name} config: {key}: not a regular expression: {e}") from None
        user = conf.get("username")
        self.reach = Options(net.Guard.from_config(dict(conf)), float(conf.get("timeout", 30)),
                             int(float(conf.get("max_response_mb", 64)) * 1024 * 1024),
                             (user, conf.get("password") or "") if user else None, conf.get("service"),
                             conf.get("port"), conf.get("endpoint"), conf.get("wsdl_imports", "none"),
                             compiled["retryable_faults"])
        self.conflict = compiled["conflict_fault"][0]
        self.specs = self._specs()
        self._services: dict[str, Service] = {}
        self._done: OrderedDict[tuple[str, str], dict[int, WriteResult]] = OrderedDict()

    def _specs(self) -> dict[str, Spec]:
        specs = {}
        for name, conf in self.config["streams"].items():
            w = conf.get("write")
            write = None if w is None else Write(
                w["entity"], w.get("create"), w.get("update"), w.get("key_field"), w.get("read"),
                w.get("read_arg", conf["id_field"]), w.get("ref_field"),
                Call.of(w["find"], f"streams.{name}.write.find") if "find" in w else None)
            specs[name] = Spec(name, conf.get("wsdl", self.config["wsdl"]),
                               Call.of(conf["read"], f"streams.{name}.read"), conf["id_field"], write,
                               conf.get("version_field"), conf.get("cursor_field"), conf.get("fields"),
                               conf.get("description", ""))
        return specs

    # -- the contract -----------------------------------------------------------------------------------
    def check(self) -> None:
        """Load every WSDL, find every configured operation, and read one record of the first stream."""
        for spec in self.specs.values():
            service = self._service(spec)
            ops = [spec.read.operation]
            if spec.write:
                ops += [o for o in (spec.write.create, spec.write.update, spec.write.read) if o]
                ops += [spec.write.find.operation] if spec.write.find else []
            for op in ops:
                service.operation(op)
        first = next(iter(self.specs.values()))
        if first.read.paging != "none":
            probe = replace(first.read, size=1)
            self._service(first).records(probe.operation, self._read_args(first, probe, Position()), probe.path)

    def discover(self) -> list[Stream]:
        out = []
        for spec in self.specs.values():
            fields = dict(spec.fields) if spec.fields else self._service(spec).fields(spec.read.operation,
                                                                                      spec.read.path)
            out.append(Stream(spec.name, fields, key=spec.id_field, cursor=spec.cursor_field,
                              writable=spec.write is not None and bool(spec.write.create or spec.write.update),
                              description=spec.description))
        return out

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        spec = self._spec(stream)
        service = self._service(spec)
        pos = Position.of(state)
        call = spec.read
        if not pos.scanning:
            if spec.cursor_field:
                pos.bookmark, pos.offset = None, 0
            pos.scanning, pos.top, pos.top_seen = True, pos.since, []
        seen, since = set(pos.seen), _order(pos.since)
        while True:
            nodes, element = service.records(call.operation, self._read_args(spec, call, pos), call.path)
            before = pos.bookmark
            for index, node in enumerate(nodes):
                record = self._record(spec, service, node, element, pos, index)
                if call.paging == "bookmark":
                    pos.bookmark = child_text(node, call.key_field or "") or pos.bookmark
                pos.offset += 1
                if spec.cursor_field:
                    value, digest = _marks(spec, record, node)
                    if pos.since is not None and _order(value) < since:
                        continue  # older than the cursor: the service did not apply the filter
                    if _order(value) > _order(pos.top):
                        pos.top, pos.top_seen = value, [digest]
                    elif _order(value) == _order(pos.top):
                        pos.top_seen.append(digest)
                    if pos.since is not None and _order(value) == since and digest in seen:
                        continue  # read by an earlier scan and unchanged since
                yield record
            if call.paging == "bookmark" and nodes and pos.bookmark == before:
                raise PermanentError(f"soap: {stream}: cannot page on: the last record of a page has no "
                                     f"{call.key_field!r} (bookmark {before!r})")
            if call.paging == "none" or len(nodes) < call.size:
                break
            yield Checkpoint(pos.state())
        if spec.cursor_field:
            pos.since, pos.seen = pos.top, sorted(set(pos.top_seen))
            pos.bookmark, pos.offset = None, 0
        pos.scanning, pos.top, pos.top_seen = False, None, []
        yield Checkpoint(pos.state())

    def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
        """Create or update each record (see the module docstring); a repeated key writes nothing again."""
        spec = self._spec(stream)
        if spec.write is None:
            raise PermanentError(f"{self.type_name}: stream {stream!r} is not writable (its config has no write)")
        service = self._service(spec)
        done = self._done.setdefault((stream, idempotency_key), {})
        self._done.move_to_end((stream, idempotency_key))
        while len(self._done) > _MEMO:
            self._done.popitem(last=False)
        for index, record in enumerate(records):
            if index not in done:
                ref = "hub-" + hashlib.sha256(f"{stream}\n{idempotency_key}\n{index}".encode()).hexdigest()[:16]
                done[index] = self._write_one(spec, service, record, ref)
        return [done[i] for i in range(len(records))]

    def close(self) -> None:
        for service in self._services.values():
            service.close()
        self._services.clear()

    # -- reading ----------------------------------------------------------------------------------------
    def _spec(self, stream: str) -> Spec:
        if stream not in self.specs:
            raise ConfigError(f"{self.type_name}: no stream {stream!r}; streams: {', '.join(self.specs)}")
        return self.specs[stream]

    def _service(self, spec: Spec) -> Service:
        if spec.wsdl not in self._services:
            self._services[spec.wsdl] = Service.load(spec.wsdl, self.reach)
        return self._services[spec.wsdl]

    def _read_args(self, spec: Spec, call: Call, pos: Position) -> dict[str, Any]:
        """The call's arguments: placeholders filled (or their items left out), the page's position."""
        since = pos.since if spec.cursor_field else None
        args = {k: v for k, v in ((k, _fill(v, "{since}", since)) for k, v in call.args.items()) if v is not _DROP}
        if call.paging == "bookmark" and pos.bookmark:
            args[call.request_field or ""] = pos.bookmark
        elif call.paging == "offset":
            args[call.request_field or ""] = pos.offset
        if call.paging != "none" and call.size_field:
            args[call.size_field] = call.size
        return args

    def _record(self, spec: Spec, service: Service, node: Any, element: Any, pos: Position, index: int) -> Record:
        at = f"{spec.read.operation} after {pos.bookmark!r}" if spec.read.paging == "bookmark" else \
            f"{spec.read.operation} at {pos.offset}"
        ident = child_text(node, spec.id_field)
        try:
            data = service.parse(node, element)
        except ValueError as e:
            return Record.failed(spec.name, ident or f"{at}#{index}", f"{at}, record {index + 1}: {e}",
                                 raw_text(node))
        key = data.get(spec.id_field)
        if key in (None, "") or isinstance(key, dict | list):
            return Record.failed(spec.name, ident or f"{at}#{index}",
                                 f"{at}, record {index + 1}: no {spec.id_field!r}", raw_text(node))
        version = data.get(spec.version_field) if spec.version_field else None
        return Record(spec.name, str(key), data, None if version is None else str(version))

    # -- writing ----------------------------------------------------------------------------------------
    def _write_one(self, spec: Spec, service: Service, record: Record, ref: str) -> WriteResult:
        assert spec.write is not None
        try:
            if record.deleted:
                raise PermanentError(f"{self.type_name}: {spec.name}: deletions are not written (record "
                                     f"{record.external_id!r})")
            if not record.external_id:
                return self._create(spec, spec.write, service, record, ref)
            return self._update(spec, spec.write, service, record)
        except AuthError:
            raise
        except PermanentError as e:
            return WriteResult(record.external_id or None, ok=False, error=str(e))

    def _values(self, spec: Spec, w: Write, record: Record) -> dict[str, Any]:
        drop = {w.key_field, spec.version_field} - {None}
        return {k: v for k, v in record.data.items() if k not in drop and v is not None}

    def _create(self, spec: Spec, w: Write, service: Service, record: Record, ref: str) -> WriteResult:
        if not w.create:
            raise PermanentError(f"{self.type_name}: {spec.name}: records are not created (no write.create)")
        values = self._values(spec, w, record)
        if w.ref_field:
            found = self._find(spec, w, service, ref)
            if found is not None:
                return self._result(spec, found)
            values[w.ref_field] = ref
        return self._result(spec, self._entity(spec, w, service.call(w.create, {w.entity: values}), w.create))

    def _update(self, spec: Spec, w: Write, service: Service, record: Record) -> WriteResult:
        if not w.update:
            raise PermanentError(f"{self.type_name}: {spec.name}: records are not updated (no write.update)")
        wanted = self._values(spec, w, record)
        for attempt in (1, 2):
            current = self._current(spec, w, service, record.external_id) if w.read else None
            changes = {k: v for k, v in wanted.items() if current is None or not _same(current.get(k), v)}
            if current is not None and not changes:
                return self._result(spec, current)  # already so (e.g. our own earlier write): nothing to send
            ours = attempt == 1 and bool(record.version) and w.key_field is not None \
                and w.key_field == spec.version_field
            if w.key_field is None:
                entity = {spec.id_field: record.external_id, **changes}
            else:
                key = record.version if ours else (current or {}).get(w.key_field)
                if not key:
                    raise PermanentError(f"{self.type_name}: {spec.name}: no {w.key_field} for record "
                                         f"{record.external_id!r} (configure write.read)")
                entity = {**changes, w.key_field: key}
            try:
                answer = service.call(w.update, {w.entity: entity})
            except AuthError:
                raise
            except PermanentError as e:
                if not self.conflict.search(str(e)):
                    raise
                if ours:
                    raise PermanentError(f"{e} (conflict: the record changed in the service since the hub read "
                                         "it; the hub's version is outdated)") from e
                if attempt == 2 or not w.read:
                    raise PermanentError(f"{e} (conflict: it changed again after a fresh read)") from e
                continue
            return self._result(spec, self._entity(spec, w, answer, w.update))
        raise AssertionError("unreachable")

    def _current(self, spec: Spec, w: Write, service: Service, external_id: str) -> dict[str, Any]:
        assert w.read is not None
        answer = service.call(w.read, {w.read_arg or spec.id_field: external_id})
        found = _unwrap(answer, w.entity, spec.id_field)
        if found is None:
            raise PermanentError(f"{self.type_name}: {spec.name}: no record {external_id!r} in the service "
                                 "(deleted there?)")
        return found

    def _find(self, spec: Spec, w: Write, service: Service, ref: str) -> dict[str, Any] | None:
        find = w.find
        if find is None:
            return None
        args = {k: _fill(v, "{ref}", ref) for k, v in find.args.items()}
        if find.size_field:
            args[find.size_field] = 1
        nodes, element = service.records(find.operation, args, find.path)
        for node in nodes:
            try:
                return service.parse(node, element)
            except ValueError:
                continue
        return None

    def _entity(self, spec: Spec, w: Write, answer: Any, op: str) -> dict[str, Any]:
        found = _unwrap(answer, w.entity, spec.id_field)
        if found is None:
            raise PermanentError(f"{self.type_name}: {spec.name}: the answer of {op} names no {spec.id_field}")
        return found

    def _result(self, spec: Spec, entity: Mapping[str, Any]) -> WriteResult:
        version = entity.get(spec.version_field) if spec.version_field else None
        return WriteResult(str(entity[spec.id_field]), version=None if version is None else str(version))


class _Drop:
    """Marks an argument left out because its placeholder has no value yet."""


_DROP = _Drop()


def _fill(value: Any, placeholder: str, with_: Any) -> Any:
    """``value`` with ``placeholder`` replaced in its strings; None: the innermost object or list item holding
    it is left out (a filter {Field, Criteria} whole)."""
    if isinstance(value, str):
        if placeholder not in value:
            return value
        return _DROP if with_ is None else value.replace(placeholder, str(with_))
    if isinstance(value, Mapping):
        out = {k: _fill(v, placeholder, with_) for k, v in value.items()}
        return _DROP if any(v is _DROP for v in out.values()) else out
    if isinstance(value, list):
        return [v for v in (_fill(v, placeholder, with_) for v in value) if v is not _DROP]
    return value


def _unwrap(answer: Any, entity: str, id_field: str) -> dict[str, Any] | None:
    """The record in an operation's answer: the answer itself, or its ``entity`` part."""
    from zeep.helpers import serialize_object

    data = plain(serialize_object(answer, dict))
    if isinstance(data, dict) and isinstance(data.get(entity), dict):
        data = data[entity]
    if isinstance(data, dict) and data.get(id_field) not in (None, ""):
        return data
    return None


def _marks(spec: Spec, record: Record, node: Any) -> tuple[Any, str]:
    """A record's cursor value and a short digest of its id and version (or content): "this record, as it
    was". A record that did not parse is marked by its raw text, so it is not quarantined again unchanged."""
    if record.error is None:
        value = record.data.get(spec.cursor_field or "")
        version = record.version if record.version is not None else \
            json.dumps(record.data, sort_keys=True, default=str)
    else:
        value = child_text(node, spec.cursor_field or "")
        version = (child_text(node, spec.version_field) if spec.version_field else None) or raw_text(node)
    return value, hashlib.sha256(f"{record.external_id}\x1f{version}".encode()).hexdigest()[:12]


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _order(value: Any) -> tuple[int, Any]:
    """A sort key for cursor values: numbers by value, ISO dates and times in time, other text as text."""
    if value is None or value == "":
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float | Decimal):
        return (1, Decimal(str(value)))
    text = str(value)
    if _NUMBER.fullmatch(text):
        return (1, Decimal(text))
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return (3, text)
    return (2, (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp())


def _same(current: Any, wanted: Any) -> bool:
    """Whether the service's value already is the wanted one (numbers by value, empty = null)."""
    if current == wanted or (current in (None, "") and wanted in (None, "")):
        return True
    if isinstance(current, bool) or isinstance(wanted, bool):
        return str(current).lower() == str(wanted).lower()
    try:
        return Decimal(str(current)) == Decimal(str(wanted))
    except (InvalidOperation, ValueError):
        return str(plain(current)) == str(plain(wanted))


@hookimpl
def register_connectors() -> Mapping[str, Any]:
    """The generic SOAP connector and its NAV / Business Central profile."""
    from connectors.erp.soap_nav import NavConnector

    return {"soap": SoapConnector, "nav": NavConnector}


def demo(store: Any, var_dir: Path) -> str:
    """Start the sample NAV service on loopback and configure ``demo-nav`` with its routes; what was done."""
    from connectors.erp.soap_demo import set_up

    return set_up(store, var_dir)


@hookimpl
def register_demo_systems() -> list[DemoSystem]:
    """The sample NAV / Business Central SOAP service behind ``demo-nav``."""
    return [DemoSystem("NAV / Business Central (SOAP)", "demo-nav", demo, order=20)]
