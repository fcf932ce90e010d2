"""The SCIM 2.0 HR connector: employees (Users) and org units (Groups), read incrementally over HTTPS.

    {"url": "https://hr.example.com/scim/v2", "token": "...",          # bearer token (secret)
     "timeout": 30, "page_size": 100,
     "user_filter": "userType eq \\"Employee\\"",                       # optional: which Users are employees
     "group_filter": "displayName sw \\"OU \\"",                        # optional: which Groups are org units
     "org_unit_separator": " / ",                                      # optional: "Sales / China" is under "Sales"
     "proxy": "http://proxy.example:3128",                             # optional; checked by the guard too
     "allow_internal": ["10.0.0.0/8"]}                                 # the SSRF guard (hub.sync.net)

**Streams.** ``employees`` are SCIM Users (RFC 7643 section 4.1) with the enterprise extension
(``employeeNumber``, ``department``, ``organization``, ``manager``) and, where the system has one, an
employment extension (``hireDate``, ``terminationDate``, ``employmentStatus``). ``org_units`` are SCIM
Groups; an org unit's parent and manager come from the org-unit extension (``parent.value``,
``manager.value``) or, with ``org_unit_separator``, from the name. Extension attributes are moved under
short keys (``extensions``: ``enterprise``, ``employment``, ``unit``) so mapping paths can reach them
(``enterprise.employeeNumber``). The connector adds ``primaryEmail``, ``primaryPhone``, ``orgUnit`` (the
user's first direct group) and ``manager.employeeNumber`` (the manager's number, looked up once per
manager), and for org units ``parent`` and ``manager`` at the top level.

**Reading** is incremental by ``(meta.lastModified, id)``: the filter ``meta.lastModified ge "<last>"``
sorted by ``meta.lastModified``, always from ``startIndex=1`` (keyset paging: changes during a read cannot
shift records past the cursor). Within a page only timestamps that are complete are taken, and records
sharing a timestamp are ordered by id here, because SCIM sorts by one attribute and leaves ties in any
order; a page that holds a single timestamp is read in full (``eq``, paged by ``startIndex``) before the
read moves on with ``gt``. A checkpoint ``{"lastModified": ..., "id": ...}`` follows every record. With
``sorting: client`` (servers that cannot sort) each read collects every changed record and sorts them
here. A resource without an id or a usable ``meta.lastModified`` is a failed record (quarantined).
SCIM has no feed of deletions: mark leavers inactive or terminated in the HR system instead.

**Errors.** HTTP statuses and transport failures are translated as every HTTP connector does
(hub.sync.http_errors): connection failures, timeouts, 408, 425, 429 and 5xx are RetryableError (with the
server's Retry-After); 401/403 AuthError; a missing endpoint or a refused TLS certificate ConfigError; other 4xx
PermanentError with the SCIM ``detail``. Redirects are not followed (they could lead past the guard).
Every connection, to the server or to the ``proxy``, is made through the SSRF guard to an address it
checked (hub.sync.guarded_http); environment proxies (HTTP(S)_PROXY) are never used.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from hub.errors import AuthError, ConfigError, PermanentError, RetryableError
from hub.hookspecs import hookimpl
from hub.sync import net
from hub.sync.connector import Checkpoint, Connector, Record, Stream
from hub.sync.demo import DemoSystem
from hub.sync.guarded_http import guarded_session
from hub.sync.http_errors import error_class, status_error, transport_error

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
EMPLOYMENT = "urn:hub:params:scim:schemas:extension:employment:2.0:User"
ORG_UNIT = "urn:hub:params:scim:schemas:extension:orgunit:2.0:Group"
EXTENSIONS = {"enterprise": ENTERPRISE, "employment": EMPLOYMENT, "unit": ORG_UNIT}
#: stream -> (SCIM resource endpoint, config key of its extra filter)
RESOURCES = {"employees": ("Users", "user_filter"), "org_units": ("Groups", "group_filter")}
CURSOR = "meta.lastModified"

EMPLOYEE_FIELDS = {
    "id": "string", "externalId": "string", "userName": "string", "active": "boolean", "displayName": "string",
    "name": "object", "title": "string", "userType": "string", "emails": "array", "phoneNumbers": "array",
    "groups": "array", "primaryEmail": "string", "primaryPhone": "string", "orgUnit": "object",
    "enterprise": "object", "employment": "object", "meta": "object",
}
ORG_UNIT_FIELDS = {"id": "string", "externalId": "string", "displayName": "string", "parent": "object",
                   "manager": "object", "unit": "object", "meta": "object"}


@dataclass(frozen=True, order=True)
class _Key:
    """Where a resource sorts in the change order: (lastModified, id)."""

    at: dt.datetime
    id: str


@dataclass(frozen=True)
class _Item:
    """A resource as read: its key and raw lastModified (None when unusable) or why it cannot be read."""

    key: _Key | None
    raw: Any
    resource: Any
    error: str | None = None


class ScimConnector(Connector):
    """An HR system (or identity source) speaking SCIM 2.0: employees and org units, read by lastModified."""

    type_name = "scim"
    title = "HR over SCIM 2.0 (Users and Groups)"
    config_schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["url", "token"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "pattern": r"^https?://[^\s/?#]+[^\s?#]*$",
                    "description": "the SCIM base URL, e.g. https://hr.example.com/scim/v2"},
            "token": {"type": "string", "minLength": 1, "secret": True, "description": "the bearer token"},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 30,
                        "description": "seconds to wait for the connection and for each answer"},
            "page_size": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
            "verify_tls": {"type": "boolean", "default": True},
            "ca_bundle": {"type": "string", "minLength": 1,
                          "description": "a CA bundle file to verify the server's certificate with"},
            "proxy": {"type": "string", "pattern": r"^https?://\S+$",
                      "description": "an HTTP(S) proxy, checked by the SSRF guard like the url; "
                               "environment proxies are not used"},
            "sorting": {"enum": ["server", "client"], "default": "server",
                        "description": "client: the server cannot sort by meta.lastModified; sort each read here"},
            "resolve_managers": {"type": "boolean", "default": True,
                                 "description": "look up each manager's employeeNumber (manager.employeeNumber)"},
            "user_filter": {"type": "string", "minLength": 1, "description": "SCIM filter: which Users to read"},
            "group_filter": {"type": "string", "minLength": 1, "description": "SCIM filter: which Groups to read"},
            "org_unit_separator": {"type": "string", "minLength": 1,
                                   "description": "org units named 'Parent<sep>Child' are under 'Parent'"},
            "extensions": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^urn:"},
                           "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_]*$"},
                           "description": "short key -> schema URN, added to the defaults"},
            **net.SCHEMA_PROPERTIES,
        },
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        self.base = str(self.config["url"]).rstrip("/")
        self.timeout = float(self.config.get("timeout", 30))
        self.page_size = int(self.config.get("page_size", 100))
        self.extensions = {**EXTENSIONS, **self.config.get("extensions", {})}
        self._session: requests.Session | None = None
        self._numbers: dict[str, str | None] = {}  # SCIM user id -> employeeNumber (manager look-ups)

    # -- the contract ---------------------------------------------------------------------------------
    def check(self) -> None:
        """The guard allows the URL, the token is accepted, /Users answers; sorting is supported if needed."""
        self._get("/Users", {"startIndex": "1", "count": "1"})
        if self.config.get("sorting", "server") == "server":
            spc = self._get("/ServiceProviderConfig", missing_ok=True)
            if isinstance(spc, dict) and (spc.get("sort") or {}).get("supported") is False:
                raise ConfigError("scim: the server cannot sort (ServiceProviderConfig sort.supported is false); "
                                  "set sorting: client")

    def discover(self) -> list[Stream]:
        return [
            Stream("employees", EMPLOYEE_FIELDS, key="id", cursor=CURSOR,
                   description="SCIM Users with the enterprise and employment extensions"),
            Stream("org_units", ORG_UNIT_FIELDS, key="id", cursor=CURSOR,
                   description="SCIM Groups as org units, with parent and manager"),
        ]

    def read(self, stream: str, state: Mapping[str, Any] | None) -> Iterator[Record | Checkpoint]:
        """Resources changed after ``state`` in (lastModified, id) order, a checkpoint after each."""
        if stream not in RESOURCES:
            raise ConfigError(f"scim: no stream {stream!r}; streams: {', '.join(RESOURCES)}")
        kind, filter_key = RESOURCES[stream]
        position = _position(state)
        current, pending = dict(state or {}), True
        for item in self._changes(kind, self.config.get(filter_key), position):
            if item.error is not None or item.key is None:
                rid = str(item.resource.get("id")) if isinstance(item.resource, dict) and item.resource.get("id") \
                    else f"{kind}:unreadable"
                yield Record.failed(stream, rid, f"scim {kind}: {item.error}", json.dumps(item.resource, default=str))
                pending = True
                continue
            yield self._record(stream, item)
            current = {"lastModified": item.raw, "id": item.key.id}
            yield Checkpoint(current)
            pending = False
        if pending:  # nothing read, or unreadable resources last: end with the position as it stands
            yield Checkpoint(current)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- the change order -----------------------------------------------------------------------------
    def _changes(self, kind: str, extra: str | None, position: tuple[_Key, Any] | None) -> Iterator[_Item]:
        """Every resource after ``position`` in key order (see the module docstring for how)."""
        if self.config.get("sorting") == "client":
            items = self._collect(kind, _filter(extra, position, "ge"))
            yield from (i for i in items if i.key is None)
            yield from sorted((i for i in items if i.key is not None and _after(i.key, position)),
                              key=_key_of)
            return
        op, first = "ge", True  # "ge" first: the rest of the saved position's timestamp; then always "gt"
        while True:
            resources, more = self._page(kind, _filter(extra, position, op), 1)
            items = [_item(r) for r in resources]
            if first and position is None:
                yield from (i for i in items if i.key is None)
            first = False
            keyed = sorted((i for i in items if i.key is not None), key=_key_of)
            if not more:
                yield from (i for i in keyed if i.key is not None and _after(i.key, position))
                return
            if not keyed:
                raise PermanentError(f"scim: /{kind}: a whole page of resources without a usable meta.lastModified")
            newest = keyed[-1]
            assert newest.key is not None
            # The page is sorted, so every timestamp older than its newest one is wholly inside it.
            complete = [i for i in keyed if i.key is not None and i.key.at < newest.key.at]
            done = complete[-1] if complete else newest
            if not complete:  # one timestamp fills the page: read all of it (paged), then move past it
                complete = sorted((i for i in self._collect(kind, _filter(extra, (newest.key, newest.raw), "eq"))
                                   if i.key is not None), key=_key_of)
            for i in complete:
                assert i.key is not None
                if _after(i.key, position):
                    yield i
                    position = (i.key, i.raw)
            assert done.key is not None
            if position is None or position[0].at < done.key.at:
                position = (_Key(done.key.at, ""), done.raw)
            op = "gt"

    def _page(self, kind: str, flt: str | None, start: int) -> tuple[list[Any], bool]:
        """One page of ``kind`` sorted by lastModified: the resources and whether more follow."""
        params = {"sortBy": CURSOR, "sortOrder": "ascending", "startIndex": str(start), "count": str(self.page_size)}
        if flt:
            params["filter"] = flt
        if kind == "Groups":
            params["excludedAttributes"] = "members"
        body = self._get(f"/{kind}", params)
        if not isinstance(body, dict) or not isinstance(body.get("Resources", []), list):
            raise PermanentError(f"scim: /{kind} did not answer with a SCIM ListResponse")
        resources = list(body.get("Resources") or [])
        try:
            total = int(body.get("totalResults", len(resources)))
        except (TypeError, ValueError):
            raise PermanentError(f"scim: /{kind}: totalResults is not a number") from None
        return resources, bool(resources) and start - 1 + len(resources) < total

    def _collect(self, kind: str, flt: str | None) -> list[_Item]:
        """Every resource matching ``flt``, paged by startIndex."""
        out: list[_Item] = []
        start, more = 1, True
        while more:
            resources, more = self._page(kind, flt, start)
            out.extend(_item(r) for r in resources)
            start += len(resources)
        return out

    # -- records --------------------------------------------------------------------------------------
    def _record(self, stream: str, item: _Item) -> Record:
        resource = item.resource
        data: dict[str, Any] = {}
        urns = {urn.lower(): short for short, urn in self.extensions.items()}
        for key, value in resource.items():
            if key != "schemas":
                data[urns.get(key.lower(), key)] = value
        if stream == "employees":
            self._employees(data)
        else:
            self._org_unit(data)
        assert item.key is not None
        return Record(stream, item.key.id, data, version=str(item.raw))

    def _employees(self, data: dict[str, Any]) -> None:
        data["primaryEmail"] = _primary(data.get("emails"))
        data["primaryPhone"] = _primary(data.get("phoneNumbers"))
        groups = [g for g in data.get("groups") or [] if isinstance(g, dict)]
        direct = [g for g in groups if g.get("type", "direct") == "direct"] or groups
        data["orgUnit"] = {"value": direct[0].get("value"), "display": direct[0].get("display")} if direct else None
        enterprise = data.get("enterprise")
        if isinstance(enterprise, dict):
            self._numbers[str(data.get("id"))] = enterprise.get("employeeNumber")
            if isinstance(enterprise.get("manager"), dict):
                enterprise["manager"] = self._with_number(enterprise["manager"])

    def _org_unit(self, data: dict[str, Any]) -> None:
        unit: dict[str, Any] = data["unit"] if isinstance(data.get("unit"), dict) else {}
        parent = unit.get("parent")
        separator = self.config.get("org_unit_separator")
        name = str(data.get("displayName") or "")
        if not isinstance(parent, dict) and separator and separator in name:
            parent = {"value": None, "display": name.rsplit(separator, 1)[0].strip()}
        data["parent"] = parent if isinstance(parent, dict) else None
        manager = unit.get("manager")
        data["manager"] = self._with_number(manager) if isinstance(manager, dict) else None

    def _with_number(self, ref: dict[str, Any]) -> dict[str, Any]:
        """A manager reference with the manager's employeeNumber (looked up once per id and connector)."""
        out = dict(ref)
        uid = ref.get("value")
        if uid and self.config.get("resolve_managers", True):
            uid = str(uid)
            if uid not in self._numbers:
                user = self._get(f"/Users/{uid}", missing_ok=True)
                ext = _extension(user, self.extensions["enterprise"]) if isinstance(user, dict) else {}
                self._numbers[uid] = ext.get("employeeNumber")
            out["employeeNumber"] = self._numbers[uid]
        return out

    # -- HTTP -----------------------------------------------------------------------------------------
    def _http(self) -> requests.Session:
        if self._session is None:
            guard = net.Guard.from_config(dict(self.config))
            guard.check_url(self.base)
            session = guarded_session(guard, self.config.get("proxy"))  # the proxy is checked like the url
            session.headers.update({"Authorization": f"Bearer {self.config['token']}",
                                    "Accept": "application/scim+json, application/json",
                                    "User-Agent": "hub-scim-connector/1"})
            session.verify = self.config.get("ca_bundle") or bool(self.config.get("verify_tls", True))
            self._session = session
        return self._session

    def _get(self, path: str, params: Mapping[str, str] | None = None, *, missing_ok: bool = False) -> Any:
        """The JSON answer of GET ``path``; Hub errors for everything that goes wrong."""
        session = self._http()
        try:
            response = session.get(self.base + path, params=params, timeout=self.timeout, allow_redirects=False)
        except requests.exceptions.SSLError as e:
            raise ConfigError(f"scim: TLS with {self.base} failed: {e}") from e
        except requests.RequestException as e:
            raise transport_error(f"scim: GET {path}", e, self.timeout) from e
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 300:
            _raise_for(response, path, params)
        try:
            return response.json()
        except ValueError as e:
            raise RetryableError(f"scim: GET {path}: the answer is not JSON ({e})") from e


def _raise_for(response: requests.Response, path: str, params: Mapping[str, str] | None) -> None:
    status = response.status_code
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            detail = " ".join(str(body[k]) for k in ("scimType", "detail") if body.get(k))
    except ValueError:
        detail = response.text[:200]
    where = f"scim: GET {path}: HTTP {status}" + (f": {detail}" if detail else "")
    kind = error_class(status)
    if kind is AuthError:
        raise AuthError(f"{where} (the bearer token was refused)")
    if kind is RetryableError:
        raise status_error(status, where, response.headers.get("Retry-After"))
    if status == 404 and path.count("/") == 1:
        raise ConfigError(f"{where} (is the url the SCIM base URL, ending in /scim/v2 or similar?)")
    if status < 400:
        raise PermanentError(f"{where}: redirected to {response.headers.get('Location')!r}; redirects are not "
                             "followed, configure the final url")
    if status == 400 and params and "filter" in params:
        raise PermanentError(f"{where} (filter {params['filter']!r}; the server must filter and sort by "
                             f"{CURSOR}, or set sorting: client)")
    raise PermanentError(where)


def _timestamp(value: Any) -> dt.datetime | None:
    """A lastModified as an aware UTC datetime: ISO 8601 text, or epoch seconds from lax servers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _key_of(item: _Item) -> _Key:
    assert item.key is not None
    return item.key


def _item(resource: Any) -> _Item:
    if not isinstance(resource, dict):
        return _Item(None, None, resource, "a resource is not a JSON object")
    rid = resource.get("id")
    if not isinstance(rid, str | int) or isinstance(rid, bool) or str(rid) == "":
        return _Item(None, None, resource, "a resource has no id")
    meta = resource.get("meta")
    raw = meta.get("lastModified") if isinstance(meta, dict) else None
    at = _timestamp(raw)
    if at is None:
        return _Item(None, None, resource, f"resource {rid}: meta.lastModified {raw!r} is not a dateTime")
    return _Item(_Key(at, str(rid)), raw, resource)


def _position(state: Mapping[str, Any] | None) -> tuple[_Key, Any] | None:
    if not state:
        return None
    raw, rid = state.get("lastModified"), state.get("id")
    at = _timestamp(raw)
    if at is None or not isinstance(rid, str):
        raise PermanentError(f"scim: the saved cursor {dict(state)!r} is not a (lastModified, id) position; "
                             "read the stream in full to reset it")
    return _Key(at, rid), raw


def _after(key: _Key, position: tuple[_Key, Any] | None) -> bool:
    return position is None or key > position[0]


def _filter(extra: str | None, position: tuple[_Key, Any] | None, op: str) -> str | None:
    parts = [f"({extra})"] if extra else []
    if position is not None:
        parts.append(f"{CURSOR} {op} {json.dumps(position[1])}")
    return " and ".join(parts) or None


def _primary(values: Any) -> Any:
    """The primary value of a multi-valued attribute (emails, phoneNumbers), else the first."""
    items = [v for v in values or [] if isinstance(v, dict) and v.get("value")] if isinstance(values, list) else []
    chosen = next((v for v in items if v.get("primary") is True), items[0] if items else None)
    return None if chosen is None else chosen["value"]


def _extension(resource: Mapping[str, Any], urn: str) -> dict[str, Any]:
    for key, value in resource.items():
        if key.lower() == urn.lower() and isinstance(value, dict):
            return value
    return {}


@hookimpl
def register_connectors() -> Mapping[str, Any]:
    """The SCIM HR connector, registered like any plugin connector."""
    return {"scim": ScimConnector}


def _demo(store: Any, var_dir: Path) -> str:
    from connectors.hr.scim_demo import demo

    return demo(store, var_dir)


@hookimpl
def register_demo_systems() -> list[DemoSystem]:
    """The sample HR system (a SCIM server on loopback) behind ``demo-hr``."""
    return [DemoSystem("HR (SCIM)", "demo-hr", _demo, order=40)]
