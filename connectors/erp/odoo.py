"""The Odoo connector: Odoo's external XML-RPC API, read incrementally by (write_date, id); partners written back.

    {"url": "https://erp.example.com", "db": "prod", "username": "hub@example.com",
     "password": "<password or API key>", "timeout": 30, "page_size": 200, "key_field": "x_hub_key",
     "streams": {"companies": {"fields": ["x_segment"], "domain": [["customer_rank", ">", 0]]}}}

**Streams.** ``companies`` and ``people`` (res.partner told apart by ``is_company``; both writable),
``products`` (product.product), ``orders`` (sale.order, each with its lines under ``order_lines``) and
``invoices`` (account.move of type out_invoice). Values are Odoo's, except that ``False`` for an empty
non-boolean field becomes null. Archived partners and products are read as deletions.

**Reading** pages by the cursor ``(write_date, id)``, ordered ``write_date asc, id asc``, without
offsets: each page asks for what comes after the last record of the one before, so records changed
while a run pages move to its end instead of shifting the pages. Odoo stores write_date with
microseconds but shows it to the second, so the cursor compares whole seconds: after ``(d, i)`` comes
``write_date >= d + 1s``, or ``d <= write_date < d + 1s`` and ``id > i`` (with second-precision dates,
the same as ``write_date > d or (write_date = d and id > i)``). Within one second a full page is not
trusted to be a prefix in id order: the page stops before its last second, and a page that is all
one second is paged through by id. A checkpoint follows every record; ``Record.version`` is write_date.

**Errors.** HTTP statuses and transport failures are translated as every HTTP connector does
(hub.sync.http_errors). Timeouts, refused and reset connections, HTTP 408, 425, 429 and 5xx (with
Retry-After), a response that is not XML-RPC, and transaction conflicts are RetryableError (the engine
reads the page again); HTTP 401/403 and AccessDenied and AccessError faults are AuthError; other
faults (ValidationError, MissingError, an invalid field) are PermanentError, per record when writing.
A record whose fields do not have the types Odoo gives them is quarantined with the reason
(Record.failed); one without a usable id or write_date makes the cursor unusable: PermanentError.

**Writing** (companies, people): a record with an external id is ``write([id], vals)``, one without is
``create(vals)``, a deletion archives (``active: False``). ``country_code`` is looked up as country_id;
null values are sent as False. Each record carries its idempotency key (``<key>:<index>``) in
``key_field`` (a Char field to add to res.partner, e.g. ``x_hub_key``); records already carrying their
key are found before writing and not written again, so a repeated batch lands once.
"""

from __future__ import annotations

import datetime as dt
import decimal
import http.client
import json
import re
import socket
import ssl
import uuid
import xmlrpc.client
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from xml.parsers.expat import ExpatError

from hub.errors import AuthError, ConfigError, HubError, PermanentError, RetryableError
from hub.hookspecs import hookimpl
from hub.sync import net
from hub.sync.connector import Checkpoint, Connector, Record, Stream, WriteResult
from hub.sync.demo import DemoSystem
from hub.sync.http_errors import status_error, transport_error

T = TypeVar("T")
DATETIME = "%Y-%m-%d %H:%M:%S"
WRITE_DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
ALL = {"active_test": False}
MAPPINGS_DIR = Path(__file__).with_name("odoo_mappings")
#: (stream, hub module, default mapping, directions): what `hub connector route` sets up for Odoo.
DEFAULT_ROUTES = (("companies", "accounts", "odoo_companies", ("inbound", "outbound")),
                  ("people", "contacts", "odoo_people", ("inbound", "outbound")),
                  ("products", "products", "odoo_products", ("inbound",)),
                  ("orders", "orders", "odoo_orders", ("inbound",)),
                  ("invoices", "invoices", "odoo_invoices", ("inbound",)))
JSON_TYPES = {"boolean": "boolean", "integer": "integer", "float": "number", "monetary": "number",
              "many2one": "array", "one2many": "array", "many2many": "array"}


def _fields(spec: str) -> dict[str, str]:
    return dict(item.split(":") for item in spec.split())


PARTNER = _fields(
    "name:char display_name:char is_company:boolean parent_id:many2one type:selection ref:char vat:char email:char "
    "phone:char mobile:char website:char function:char street:char street2:char city:char zip:char "
    "country_id:many2one country_code:char lang:selection active:boolean customer_rank:integer "
    "supplier_rank:integer create_date:datetime write_date:datetime")
LINE = _fields("order_id:many2one sequence:integer product_id:many2one name:text product_uom_qty:float "
               "price_unit:float discount:float price_subtotal:monetary price_tax:monetary price_total:monetary")


@dataclass(frozen=True)
class StreamSpec:
    """A stream: the Odoo model, the domain selecting its records, the fields read (name -> Odoo type)."""

    name: str
    model: str
    domain: tuple[Any, ...]
    fields: Mapping[str, str]
    description: str
    writable: bool = False
    fixed: Mapping[str, Any] = field(default_factory=dict)  # values every write sets
    extra: tuple[str, ...] = ()

    @property
    def archivable(self) -> bool:
        return "active" in self.fields

    def configured(self, conf: Mapping[str, Any]) -> StreamSpec:
        extra = tuple(f for f in conf.get("fields", ()) if f not in self.fields)
        return StreamSpec(self.name, self.model, self.domain + tuple(conf.get("domain", ())), self.fields,
                          self.description, self.writable, self.fixed, extra)


STREAMS = {s.name: s for s in (
    StreamSpec("companies", "res.partner", (("is_company", "=", True),), PARTNER,
               "res.partner with is_company set: companies (archived ones are deletions)", True, {"is_company": True}),
    StreamSpec("people", "res.partner", (("is_company", "=", False),), PARTNER,
               "res.partner without is_company: people, linked to their company by parent_id", True,
               {"is_company": False}),
    StreamSpec("products", "product.product", (), _fields(
        "name:char display_name:char default_code:char barcode:char list_price:float standard_price:float "
        "currency_id:many2one uom_id:many2one type:selection sale_ok:boolean active:boolean description_sale:text "
        "create_date:datetime write_date:datetime"), "product.product: product variants"),
    StreamSpec("orders", "sale.order", (), _fields(
        "name:char partner_id:many2one date_order:datetime state:selection currency_id:many2one "
        "client_order_ref:char amount_untaxed:monetary amount_tax:monetary amount_total:monetary "
        "order_line:one2many create_date:datetime write_date:datetime"),
        "sale.order: quotations and sales orders, each with its lines under order_lines"),
    StreamSpec("invoices", "account.move", (("move_type", "=", "out_invoice"),), _fields(
        "name:char move_type:selection partner_id:many2one invoice_date:date invoice_date_due:date "
        "invoice_origin:char ref:char currency_id:many2one amount_untaxed:monetary amount_tax:monetary "
        "amount_total:monetary amount_residual:monetary state:selection payment_state:selection "
        "create_date:datetime write_date:datetime"), "account.move of type out_invoice: customer invoices"),
)}


@dataclass
class Cursor:
    """Where a read stands: after the record (write_date to the second, id); nothing read yet when None."""

    when: str | None = None
    id: int = 0

    @classmethod
    def of(cls, state: Mapping[str, Any] | None) -> Cursor:
        if not state:
            return cls()
        when, rid = state.get("write_date"), state.get("id")
        if not (isinstance(rid, int) and not isinstance(rid, bool) and rid >= 0
                and (when is None or (isinstance(when, str) and WRITE_DATE.match(when)))):
            raise PermanentError(f"odoo: corrupt checkpoint {dict(state)!r}: reset the stream's state")
        return cls(when, rid)

    @property
    def state(self) -> dict[str, Any]:
        return {"write_date": self.when, "id": self.id}

    def after(self) -> list[Any]:
        """The domain of the records after this cursor (see the module docstring)."""
        if self.when is None:
            return []
        nxt = _next_second(self.when)
        return ["|", ("write_date", ">=", nxt),
                "&", "&", ("write_date", ">=", self.when), ("write_date", "<", nxt), ("id", ">", self.id)]


def _next_second(when: str) -> str:
    return (dt.datetime.strptime(when, DATETIME) + dt.timedelta(seconds=1)).strftime(DATETIME)


class _Transport(xmlrpc.client.Transport):
    """HTTP with a socket timeout, every new connection made through the SSRF guard to an address it
    checked (no second DNS lookup), and no silent resend (xmlrpc.client resends a request once on a
    reset connection, which could create a record twice). xmlrpc.client uses no proxies."""

    def __init__(self, timeout: float, guard: net.Guard, url: str) -> None:
        super().__init__()
        self.timeout, self.guard, self.url = timeout, guard, url

    def make_connection(self, host: Any) -> Any:  # an HTTPConnection (HTTPSConnection for https)
        conn = super().make_connection(host)
        conn.timeout = self.timeout
        conn._create_connection = self._connect  # type: ignore[attr-defined]  # http.client's connect step
        return conn

    def _connect(self, address: tuple[str, int], timeout: Any = None, source_address: Any = None) -> socket.socket:
        return self.guard.connect(address[0], address[1], timeout, what=self.url,
                                  open_socket=lambda a: socket.create_connection(a, timeout, source_address))

    def request(self, host: Any, handler: str, request_body: Any, verbose: bool = False) -> Any:
        return self.single_request(host, handler, request_body, verbose)


class _SafeTransport(_Transport, xmlrpc.client.SafeTransport):
    """HTTPS, with the same limits."""


def _summary(fault: xmlrpc.client.Fault) -> str:
    """A fault's message in one line: the exception line of a traceback, else the text itself."""
    text = str(fault.faultString or fault.faultCode).strip()
    if "Traceback (most recent call last)" in text:
        text = [line for line in text.splitlines() if line.strip()][-1]
    return " ".join(text.split())[:500]


def _translate(exc: Exception, what: str) -> HubError:
    """A library exception as the hub error the engine acts on."""
    if isinstance(exc, xmlrpc.client.Fault):
        text, summary = str(exc.faultString), _summary(exc)
        if exc.faultCode == 3 or "AccessDenied" in str(exc.faultCode):
            return AuthError(f"odoo: {what}: access denied (check the login and the password or API key)")
        if exc.faultCode == 4 or "AccessError" in text:
            return AuthError(f"odoo: {what}: the user lacks access rights: {summary}")
        if any(s in text for s in ("could not serialize access", "concurrent update", "deadlock detected")):
            return RetryableError(f"odoo: {what}: transaction conflict: {summary}", retry_after=1.0)
        if "database" in summary and "does not exist" in summary:
            return ConfigError(f"odoo: {what}: {summary}")
        return PermanentError(f"odoo: {what}: {summary}")
    if isinstance(exc, xmlrpc.client.ProtocolError):
        status = f"HTTP {exc.errcode} {exc.errmsg}"
        if exc.errcode == 404:
            return ConfigError(f"odoo: {what}: {status} at {exc.url}: is this an Odoo server (XML-RPC enabled)?")
        headers = exc.headers or {}
        return status_error(exc.errcode, f"odoo: {what}: {status}",
                            headers.get("Retry-After") or headers.get("retry-after"))
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConfigError(f"odoo: {what}: the server's TLS certificate is not trusted: {exc.verify_message}")
    if isinstance(exc, ExpatError | xmlrpc.client.ResponseError):
        return RetryableError(f"odoo: {what}: malformed response: {exc}")
    return transport_error(f"odoo: {what}", exc)


_LIBRARY_ERRORS = (xmlrpc.client.Error, ExpatError, OSError, http.client.HTTPException)


class OdooConnector(Connector):
    """Odoo over its external XML-RPC API: partners, products, orders and invoices in; partners out."""

    type_name = "odoo"
    title = "Odoo (XML-RPC)"
    config_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["url", "db", "username", "password"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "pattern": r"^https?://[^/\s]+(/[^\s]*)?$",
                    "description": "the Odoo server, e.g. https://erp.example.com"},
            "db": {"type": "string", "minLength": 1, "description": "the database name"},
            "username": {"type": "string", "minLength": 1, "description": "the login of the user Hub acts as"},
            "password": {"type": "string", "minLength": 1, "secret": True,
                         "description": "that user's password or, better, an API key"},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600, "default": 30,
                        "description": "seconds any socket operation of a call may take"},
            "page_size": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 200},
            "key_field": {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$", "default": "x_hub_key",
                          "description": "a Char field of res.partner that holds idempotency keys of writes"},
            "streams": {"type": "object", "default": {}, "propertyNames": {"enum": list(STREAMS)},
                        "additionalProperties": {
                            "type": "object", "additionalProperties": False,
                            "properties": {"fields": {"type": "array", "items": {"type": "string",
                                                                                "pattern": "^[a-z_][a-z0-9_]*$"}},
                                           "domain": {"type": "array"}}}},
            **net.SCHEMA_PROPERTIES,
        },
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        self.url = str(self.config["url"]).rstrip("/")
        self.db, self.username = str(self.config["db"]), str(self.config["username"])
        self.timeout = float(self.config.get("timeout", 30))
        self.page_size = int(self.config.get("page_size", 200))
        self.key_field = str(self.config.get("key_field", "x_hub_key"))
        self.guard = net.Guard.from_config(dict(self.config))
        conf = self.config.get("streams") or {}
        self.specs = {name: spec.configured(conf.get(name, {})) for name, spec in STREAMS.items()}
        self._uid: int | None = None
        self._proxies: dict[str, xmlrpc.client.ServerProxy] = {}
        self._countries: dict[str, int] = {}

    # -- calls ------------------------------------------------------------------------------------------
    def _proxy(self, endpoint: str) -> xmlrpc.client.ServerProxy:
        proxy = self._proxies.get(endpoint)
        if proxy is None:
            url = f"{self.url}/xmlrpc/2/{endpoint}"
            self.guard.check_url(url)  # ConfigError before any connection
            transport = (_SafeTransport if url.startswith("https:") else _Transport)(self.timeout, self.guard, url)
            proxy = self._proxies[endpoint] = xmlrpc.client.ServerProxy(url, transport=transport)
        return proxy

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except _LIBRARY_ERRORS as exc:
            raise _translate(exc, what) from exc

    def _login(self) -> int:
        if self._uid is None:
            password = str(self.config["password"])
            uid = self._call("authenticate", lambda: self._proxy("common").authenticate(
                self.db, self.username, password, {}))
            if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
                raise AuthError(f"odoo: login {self.username!r} refused by database {self.db!r} at {self.url}")
            self._uid = uid
        return self._uid

    def execute(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """``execute_kw`` of ``model.method`` as the configured user, errors translated."""
        uid, password = self._login(), str(self.config["password"])
        return self._call(f"{model}.{method}", lambda: self._proxy("object").execute_kw(
            self.db, uid, password, model, method, list(args), kwargs))

    def _spec(self, stream: str) -> StreamSpec:
        spec = self.specs.get(stream)
        if spec is None:
            raise ConfigError(f"odoo: no stream {stream!r}; streams: {', '.join(self.specs)}")
        return spec

    # -- the contract -----------------------------------------------------------------------------------
    def check(self) -> None:
        """The server answers, the login is accepted, partners can be read, configured extra fields exist."""
        self._call("version", lambda: self._proxy("common").version())
        self._uid = None
        self._login()
        self.execute("res.partner", "search_count", [("id", "=", 0)])
        for spec in self.specs.values():
            if spec.extra:
                known = self.execute(spec.model, "fields_get", list(spec.extra), attributes=["type"])
                missing = [f for f in spec.extra if f not in known]
                if missing:
                    raise ConfigError(f"odoo: streams.{spec.name}.fields: {spec.model} has no field "
                                      f"{', '.join(map(repr, missing))}")

    def discover(self) -> list[Stream]:
        """Every stream whose model the server has, with its fields typed by ``fields_get``."""
        remote: dict[str, dict[str, Any] | None] = {}
        streams = []
        for spec in self.specs.values():
            if spec.model not in remote:
                try:
                    remote[spec.model] = self.execute(spec.model, "fields_get", attributes=["type"])
                except AuthError:
                    raise
                except PermanentError:  # the model's module is not installed
                    remote[spec.model] = None
            known = remote[spec.model]
            if known is None:
                continue
            names = [*spec.fields, *spec.extra]
            fields = {n: JSON_TYPES.get(str(known[n].get("type")), "string") for n in names if n in known}
            fields["id"] = "integer"
            if spec.model == "sale.order":
                fields["order_lines"] = "array"
            streams.append(Stream(spec.name, fields, key="id", cursor="write_date", writable=spec.writable,
                                  description=spec.description))
        return streams

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        spec = self._spec(stream)
        cursor = Cursor.of(state)
        while True:
            rows = self._page(spec, [*spec.domain, *cursor.after()], "write_date asc, id asc")
            keyed = sorted(((self._key(spec, row), row) for row in rows), key=lambda pair: pair[0])
            if len(rows) < self.page_size:
                yield from self._emit(spec, [row for _, row in keyed], cursor)
                break
            last = max(second for (second, _), _ in keyed)
            if all(second == last for (second, _), _ in keyed):
                yield from self._second(spec, last, cursor)
            else:
                yield from self._emit(spec, [row for (second, _), row in keyed if second != last], cursor)
        yield Checkpoint(cursor.state)

    def _second(self, spec: StreamSpec, when: str, cursor: Cursor) -> Iterator[Record | Checkpoint]:
        """Every record after ``cursor`` whose write_date is within the second ``when``, by id."""
        after = cursor.id if cursor.when == when else 0
        nxt = _next_second(when)
        while True:
            rows = self._page(spec, [*spec.domain, ("write_date", ">=", when), ("write_date", "<", nxt),
                                     ("id", ">", after)], "id asc")
            for row in rows:
                self._key(spec, row)
            yield from self._emit(spec, rows, cursor)
            if len(rows) < self.page_size:
                return
            after = cursor.id

    def _page(self, spec: StreamSpec, domain: list[Any], order: str) -> list[dict[str, Any]]:
        rows = self.execute(spec.model, "search_read", domain, fields=[*spec.fields, *spec.extra],
                            limit=self.page_size, order=order, context=ALL)
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise RetryableError(f"odoo: {spec.model}.search_read: malformed response: not a list of records")
        return rows

    def _key(self, spec: StreamSpec, row: dict[str, Any]) -> tuple[str, int]:
        """A record's place: (write_date, id); PermanentError when it has none (the cursor cannot pass it)."""
        rid, when = row.get("id"), row.get("write_date")
        if isinstance(rid, bool) or not (isinstance(rid, int) and isinstance(when, str) and WRITE_DATE.match(when)):
            raise PermanentError(f"odoo: {spec.model} record {rid!r} has no usable id and write_date "
                                 f"(write_date {when!r}); the cursor cannot pass it")
        return when, rid

    def _emit(self, spec: StreamSpec, rows: list[dict[str, Any]], cursor: Cursor) -> Iterator[Record | Checkpoint]:
        lines = self._lines([r["id"] for r in rows]) if spec.model == "sale.order" and rows else {}
        for row in rows:
            cursor.when, cursor.id = row["write_date"], row["id"]
            yield self._record(spec, row, lines.get(row["id"], []))
            yield Checkpoint(cursor.state)

    def _lines(self, order_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        rows = self.execute("sale.order.line", "search_read", [("order_id", "in", order_ids)], fields=list(LINE),
                            order="order_id, sequence, id", context=ALL)
        by_order: dict[int, list[dict[str, Any]]] = {}
        for row in rows if isinstance(rows, list) else []:
            parent = row.get("order_id") if isinstance(row, dict) else None
            if isinstance(parent, list) and parent and isinstance(parent[0], int):
                by_order.setdefault(parent[0], []).append(row)
        return by_order

    def _record(self, spec: StreamSpec, row: dict[str, Any], lines: list[dict[str, Any]]) -> Record:
        """The row as a Record: values checked against their Odoo types and False-for-empty made null."""
        try:
            data = _normalise(row, spec.fields)
            if spec.model == "sale.order":
                data["order_lines"] = [_normalise(line, LINE, f"line {line.get('id')!r}: ") for line in lines]
        except ValueError as exc:
            raw = json.dumps(row, ensure_ascii=False, default=str)
            return Record.failed(spec.name, str(row["id"]), f"{spec.model} {row['id']}: {exc}", raw)
        deleted = spec.archivable and row.get("active") is False
        return Record(spec.name, str(row["id"]), data, version=row["write_date"], deleted=deleted)

    def write(self, stream: str, records: Sequence[Record], idempotency_key: str) -> list[WriteResult]:
        spec = self._spec(stream)
        if not spec.writable:
            raise PermanentError(f"odoo: stream {stream!r} is read-only")
        keys = [f"{idempotency_key}:{n}" for n in range(len(records))]
        try:
            found = self.execute(spec.model, "search_read", [(self.key_field, "in", keys)],
                                 fields=[self.key_field, "write_date"], context=ALL)
        except PermanentError as exc:
            if isinstance(exc, AuthError) or self.key_field not in str(exc):
                raise
            raise ConfigError(f"odoo: {spec.model} has no field {self.key_field!r} to hold idempotency keys: add a "
                              "Char field of that name (Settings > Technical > Fields) or set key_field") from exc
        done = {row[self.key_field]: row for row in found}
        results: list[WriteResult | None] = []
        written: dict[int, int] = {}
        for n, (record, key) in enumerate(zip(records, keys, strict=True)):
            if key in done:
                results.append(WriteResult(str(done[key]["id"]), version=done[key].get("write_date") or None))
                continue
            try:
                rid = self._write_one(spec, record, key)
            except AuthError:
                raise
            except PermanentError as exc:
                results.append(WriteResult(record.external_id or None, ok=False, error=str(exc)))
                continue
            if rid is None:
                results.append(WriteResult(record.external_id or None))
            else:
                written[n] = rid
                results.append(None)
        versions = {row["id"]: row.get("write_date") or None for row in self.execute(
            spec.model, "read", sorted(set(written.values())), ["write_date"])} if written else {}
        for n, rid in written.items():
            results[n] = WriteResult(str(rid), version=versions.get(rid))
        return [r for r in results if r is not None]

    def _write_one(self, spec: StreamSpec, record: Record, key: str) -> int | None:
        """Create, update or archive one record; its Odoo id (None: a deletion of nothing)."""
        rid = None
        if record.external_id:
            if not record.external_id.isdigit():
                raise PermanentError(f"odoo: {record.external_id!r} is not an Odoo record id")
            rid = int(record.external_id)
        if record.deleted:
            if rid is None:
                return None
            self.execute(spec.model, "write", [rid], {"active": False, self.key_field: key})
            return rid
        vals = {**self._values(record.data), **spec.fixed, self.key_field: key}
        if rid is None:
            return int(self.execute(spec.model, "create", vals))
        self.execute(spec.model, "write", [rid], vals)
        return rid

    def _values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Hub values as Odoo takes them: null is False, decimals floats, dates text; country_code an id."""
        vals = {k: _to_odoo(v) for k, v in data.items() if k != "country_code"}
        if "country_code" in data:
            vals["country_id"] = self._country(data["country_code"]) if data["country_code"] else False
        return vals

    def _country(self, code: str) -> int:
        code = str(code).strip().upper()
        if code not in self._countries:
            ids = self.execute("res.country", "search", [("code", "=", code)], limit=1)
            if not ids:
                raise PermanentError(f"odoo: no country with code {code!r}")
            self._countries[code] = int(ids[0])
        return self._countries[code]

    def close(self) -> None:
        for proxy in self._proxies.values():
            proxy("close")()
        self._proxies.clear()
        self._uid = None


def _normalise(row: Mapping[str, Any], types: Mapping[str, str], where: str = "") -> dict[str, Any]:
    """``row`` with False as null for non-boolean fields; ValueError naming a value of the wrong type."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        kind = types.get(name, "integer" if name == "id" else "")
        if value is False and kind not in ("boolean", ""):
            out[name] = None
            continue
        if kind and not _fits(kind, value):
            raise ValueError(f"{where}field {name}: {kind} expected, got {value!r}")
        out[name] = value
    return out


def _fits(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int)
    if kind in ("float", "monetary"):
        return isinstance(value, int | float)
    if kind == "many2one":
        return isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str)
    if kind in ("one2many", "many2many"):
        return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if kind == "date":
        return isinstance(value, str) and DATE.match(value) is not None
    if kind == "datetime":
        return isinstance(value, str) and WRITE_DATE.match(value) is not None
    return isinstance(value, str)


def _to_odoo(value: Any) -> Any:
    if value is None:
        return False
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        return moment.strftime(DATETIME)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_to_odoo(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_odoo(v) for k, v in value.items()}
    return value


def default_mappings() -> dict[str, str]:
    """The shipped mapping specs (name -> YAML text): companies, people, products, orders, invoices."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(MAPPINGS_DIR.glob("*.yaml"))}


@hookimpl
def register_connectors() -> Mapping[str, Any]:
    return {"odoo": OdooConnector}


def _demo(store: Any, var_dir: Path) -> str:
    from hub.testing.odoo_server import demo

    return demo(store, var_dir)


@hookimpl
def register_demo_systems() -> list[DemoSystem]:
    """The sample Odoo (an XML-RPC server on loopback) behind ``demo-odoo``."""
    return [DemoSystem("Odoo (XML-RPC)", "demo-odoo", _demo, order=10)]
