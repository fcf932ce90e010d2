"""A real SCIM 2.0 service provider on loopback (RFC 7643/7644), for tests and the demo: /Users and /Groups.

    with ScimServer() as server:             # seeded: CEO -> Sales (China, Europe) and Support -> people
        server.url                           # http://127.0.0.1:PORT/scim/v2 ; bearer token server.token
        server.update_user("E1004", title="Senior Sales Representative")
        server.terminate("E1005", "2024-06-30")
        server.fail("429", retry_after=1)    # the next request gets 429 with Retry-After: 1
        server.fail("stop", path="/Users", after=2, restart_after=0.3)   # goes down mid-read, comes back
        server.stop(); server.start()        # the same port again

It speaks HTTP (stdlib ``http.server``, one thread per request, ``Connection: close``) and implements
``GET /Users``, ``GET /Groups`` with ``filter`` (``eq ne co sw ew gt ge lt le pr``, ``and or not``,
parentheses; dates compare as dates), ``sortBy``/``sortOrder``, ``startIndex``/``count`` paging and
``excludedAttributes=members``; ``GET /Users/{id}``, ``/Groups/{id}``, ``/ServiceProviderConfig``; and
``DELETE /Users/{id}``. Every answer but a success is a SCIM error (``urn:...:2.0:Error``, ``status``,
``scimType``, ``detail``); a missing or wrong bearer token is 401.

Users carry the enterprise extension (employeeNumber, department, organization, manager) and an
employment extension (hireDate, terminationDate, employmentStatus); groups are org units with a parent
and a manager in an org-unit extension. Every change stamps ``meta.lastModified`` from a clock that
ticks one second per change; inside ``same_time()`` changes share one timestamp (as a bulk import does),
so clients must break ties themselves. Ties keep insertion order, which is not id order.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hub.testing.scim_filter import ScimError, parse_filter, sort_key, values_at

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
EMPLOYMENT = "urn:hub:params:scim:schemas:extension:employment:2.0:User"
ORG_UNIT = "urn:hub:params:scim:schemas:extension:orgunit:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
BASE = "/scim/v2"
EPOCH = dt.datetime(2024, 1, 8, 9, 0, 0, tzinfo=dt.UTC)
MAX_RESULTS = 200
#: Ids are derived from employee numbers and unit names, so a restarted (or re-seeded) server keeps them.
IDS = uuid.UUID("3f0c2a9e-5d1b-4c7e-8a2f-6b9d0e1c4a57")

#: The seeded org units: name, parent, manager (employee number), external id.
SEED_UNITS = [
    ("Executive Board", None, "E1001", "OU-EXEC"),
    ("Sales", "Executive Board", "E1002", "OU-SALES"),
    ("Sales China", "Sales", "E1003", "OU-SALES-CN"),
    ("Sales Europe", "Sales", "E1006", "OU-SALES-EU"),
    ("Support", "Executive Board", "E1009", "OU-SUPPORT"),
]
#: The seeded people: number, family name, given name, display name, login, title, unit, manager, hired.
#: Logins match the users of ``hub demo`` (``wang.fang@hub.example``...), so the demo links them.
SEED_PEOPLE = [
    ("E1001", "赵", "磊", "赵磊 Zhao Lei", "zhao.lei", "Chief Executive Officer", "Executive Board", None,
     "2012-03-01"),
    ("E1002", "陈", "静", "陈静 Chen Jing", "chen.jing", "VP Sales", "Sales", "E1001", "2015-06-15"),
    ("E1003", "王", "芳", "王芳 Wang Fang", "wang.fang", "Head of Sales China", "Sales China", "E1002", "2016-09-01"),
    ("E1004", "李", "伟", "李伟 Li Wei", "li.wei", "Sales Representative", "Sales China", "E1003", "2019-04-01"),
    ("E1005", "张", "敏", "张敏 Zhang Min", "zhang.min", "Sales Representative", "Sales China", "E1003", "2021-02-15"),
    ("E1006", "Miller", "James", "James Miller", "james.miller", "Head of Sales Europe", "Sales Europe", "E1002",
     "2017-01-09"),
    ("E1007", "Schmidt", "Emma", "Emma Schmidt", "emma.schmidt", "Sales Representative", "Sales Europe", "E1006",
     "2020-07-01"),
    ("E1008", "Weber", "Lucas", "Lucas Weber", "lucas.weber", "Sales Representative", "Sales Europe", "E1006",
     "2023-03-01"),
    ("E1009", "Brown", "Olivia", "Olivia Brown", "olivia.brown", "Support Lead", "Support", "E1001", "2018-11-05"),
    ("E1010", "刘", "洋", "刘洋 Liu Yang", "liu.yang", "Support Agent", "Support", "E1009", "2022-08-22"),
]
DOMAIN = "hub.example"


@dataclass
class Fault:
    """What the server does to a matching request instead of answering it normally."""

    kind: str  # reset | status | 429 | 500 | malformed | slow | stop
    times: int = 1
    after: int = 0
    path: str | None = None
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0
    restart_after: float | None = None


@dataclass
class Hit:
    """One request the server received: when (monotonic), method, path with query, answer status."""

    at: float
    method: str
    target: str
    status: int = 0


@dataclass
class ScimServer:
    """The server, its data and its test controls (thread-safe)."""

    token: str = "hr-demo-token"
    seed: bool = True
    host: str = "127.0.0.1"
    port: int = 0
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _ticks: int = 0
    _frozen: dt.datetime | None = None
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        if self.seed:
            seed(self)

    # -- lifecycle ------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{BASE}"

    def start(self) -> ScimServer:
        """Listen (on the same port as before after a stop) and serve in a daemon thread."""
        with self._lock:
            if self._httpd is not None:
                return self
            httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
            httpd.daemon_threads = True
            httpd.scim = self  # type: ignore[attr-defined]
            self.port = httpd.server_address[1]
            self._httpd = httpd
            self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"scim-server-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; connections are refused until ``start()``."""
        with self._lock:
            httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def __enter__(self) -> ScimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls --------------------------------------------------------------------------------
    def fail(self, kind: str, *, times: int = 1, after: int = 0, path: str | None = None, status: int = 500,
             retry_after: float | str | None = None, delay: float = 0.0, restart_after: float | None = None) -> None:
        """Make the next ``times`` requests (whose path contains ``path``, after skipping ``after`` of them) fail.

        Kinds: ``reset`` (connection reset, no answer), ``500``/``429``/``status`` (a SCIM error with that
        status and ``Retry-After`` when given), ``malformed`` (200 with broken JSON), ``slow`` (answer after
        ``delay`` seconds), ``stop`` (the server goes down; back after ``restart_after`` seconds if given).
        """
        if kind in ("429", "500"):
            kind, status = "status", int(kind)
        with self._lock:
            self._faults.append(Fault(kind, times, after, path, status,
                                      None if retry_after is None else str(retry_after), delay, restart_after))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.path is not None and f.path not in path:
                    continue
                if f.after > 0:
                    f.after -= 1
                    return None
                f.times -= 1
                if f.times <= 0:
                    self._faults.remove(f)
                return f
        return None

    @contextmanager
    def same_time(self) -> Iterator[None]:
        """Changes inside the block share one lastModified (ties, as a bulk import makes)."""
        with self._lock:
            self._frozen = self._tick()
            try:
                yield
            finally:
                self._frozen = None

    def _tick(self) -> dt.datetime:
        if self._frozen is not None:
            return self._frozen
        self._ticks += 1
        return EPOCH + dt.timedelta(seconds=self._ticks)

    # -- data -----------------------------------------------------------------------------------------
    def user_id(self, number: str) -> str:
        with self._lock:
            for uid, u in self.users.items():
                if u[ENTERPRISE].get("employeeNumber") == number:
                    return uid
        raise KeyError(f"no user with employee number {number}")

    def group_id(self, name: str) -> str:
        with self._lock:
            for gid, g in self.groups.items():
                if g["displayName"] == name:
                    return gid
        raise KeyError(f"no group called {name}")

    def _stamp(self, resource: dict[str, Any], kind: str) -> None:
        now = _iso(self._tick())
        meta = resource.setdefault("meta", {"resourceType": kind, "created": now})
        meta["lastModified"] = now
        count = int(str(meta.get("version", 'W/"0"'))[3:-1]) + 1
        meta["version"] = f'W/"{count}"'

    def add_group(self, name: str, parent: str | None = None, manager: str | None = None,
                  external_id: str | None = None) -> str:
        """A new org unit under ``parent`` (a group name), led by ``manager`` (an employee number)."""
        with self._lock:
            gid = str(uuid.uuid5(IDS, f"group:{name}"))
            group: dict[str, Any] = {"schemas": [GROUP, ORG_UNIT], "id": gid, "displayName": name, "members": [],
                                     ORG_UNIT: {}}
            if external_id:
                group["externalId"] = external_id
            self.groups[gid] = group
            self._set_group(group, parent=parent, manager=manager)
            self._stamp(group, "Group")
            return gid

    def update_group(self, name: str, **changes: Any) -> None:
        """Change an org unit: ``display_name``, ``parent`` (a group name or None), ``manager`` (a number)."""
        with self._lock:
            group = self.groups[self.group_id(name)]
            if "display_name" in changes:
                group["displayName"] = changes.pop("display_name")
            self._set_group(group, **changes)
            self._stamp(group, "Group")

    def _set_group(self, group: dict[str, Any], **changes: Any) -> None:
        ext = group[ORG_UNIT]
        if "parent" in changes:
            parent = changes["parent"]
            ext["parent"] = None if parent is None else {"value": self.group_id(parent), "display": parent}
        if "manager" in changes:
            number = changes["manager"]
            ext["manager"] = None if number is None else self._ref(number)
        for key in [k for k, v in ext.items() if v is None]:
            del ext[key]

    def _ref(self, number: str) -> dict[str, Any]:
        uid = self.user_id(number)
        return {"value": uid, "displayName": self.users[uid]["displayName"]}

    def add_user(self, number: str, family: str, given: str, *, display: str | None = None, login: str | None = None,
                 title: str | None = None, unit: str | None = None, manager: str | None = None,
                 hired: str | None = None, phone: str | None = None) -> str:
        """A new employee (in org unit ``unit``, reporting to the employee numbered ``manager``)."""
        with self._lock:
            uid = str(uuid.uuid5(IDS, f"user:{number}"))
            login = login or f"{given}.{family}".lower()
            user: dict[str, Any] = {
                "schemas": [USER, ENTERPRISE, EMPLOYMENT], "id": uid, "externalId": number,
                "userName": f"{login}@{DOMAIN}", "name": {"familyName": family, "givenName": given,
                                                         "formatted": display or f"{given} {family}"},
                "displayName": display or f"{given} {family}", "active": True,
                "emails": [{"value": f"{login}@{DOMAIN}", "type": "work", "primary": True}],
                ENTERPRISE: {"employeeNumber": number, "organization": "Acme Group"},
                EMPLOYMENT: {"employmentStatus": "Active"},
            }
            if phone:
                user["phoneNumbers"] = [{"value": phone, "type": "work", "primary": True}]
            if hired:
                user[EMPLOYMENT]["hireDate"] = hired
            self.users[uid] = user
            self._set_user(user, title=title, unit=unit, manager=manager)
            self._stamp(user, "User")
            return uid

    def update_user(self, number: str, **changes: Any) -> None:
        """Change an employee: ``title``, ``unit``, ``manager``, ``email``, ``active``, ``status``,
        ``termination_date``, ``family``, ``given``."""
        with self._lock:
            self._set_user(self.users[self.user_id(number)], **changes)
            self._stamp(self.users[self.user_id(number)], "User")

    def terminate(self, number: str, on: str) -> None:
        """The employee leaves on ``on`` (an ISO date): status Terminated, inactive."""
        self.update_user(number, status="Terminated", termination_date=on, active=False)

    def _set_user(self, user: dict[str, Any], **changes: Any) -> None:
        ent, emp = user[ENTERPRISE], user[EMPLOYMENT]
        simple = {"title": (user, "title"), "status": (emp, "employmentStatus"),
                  "termination_date": (emp, "terminationDate"), "active": (user, "active"),
                  "family": (user["name"], "familyName"), "given": (user["name"], "givenName")}
        for key, value in changes.items():
            if key in simple:
                target, name = simple[key]
                if value is None:
                    target.pop(name, None)
                else:
                    target[name] = value
            elif key == "email":
                user["emails"] = [{"value": value, "type": "work", "primary": True}]
            elif key == "manager":
                if value is None:
                    ent.pop("manager", None)
                else:
                    ent["manager"] = self._ref(value)
            elif key == "unit":
                for g in self.groups.values():
                    if any(m["value"] == user["id"] for m in g["members"]):
                        g["members"] = [m for m in g["members"] if m["value"] != user["id"]]
                        self._stamp(g, "Group")
                ent.pop("department", None)
                if value is not None:
                    group = self.groups[self.group_id(value)]
                    group["members"].append({"value": user["id"], "display": user["displayName"], "type": "User"})
                    self._stamp(group, "Group")
                    ent["department"] = value
            else:
                raise TypeError(f"update_user: unknown change {key!r}")

    def delete_user(self, uid: str) -> None:
        with self._lock:
            if self.users.pop(uid, None) is None:
                raise ScimError(404, f"no User {uid}")
            for g in self.groups.values():
                g["members"] = [m for m in g["members"] if m["value"] != uid]

    # -- rendering ------------------------------------------------------------------------------------
    def render_user(self, uid: str) -> dict[str, Any]:
        user = json.loads(json.dumps(self.users[uid]))
        user["groups"] = [{"value": gid, "display": g["displayName"], "type": "direct",
                           "$ref": f"{self.url}/Groups/{gid}"}
                          for gid, g in self.groups.items() if any(m["value"] == uid for m in g["members"])]
        user["meta"]["location"] = f"{self.url}/Users/{uid}"
        if "manager" in user[ENTERPRISE]:
            user[ENTERPRISE]["manager"]["$ref"] = f"{self.url}/Users/{user[ENTERPRISE]['manager']['value']}"
        return user

    def render_group(self, gid: str, members: bool = True) -> dict[str, Any]:
        group = json.loads(json.dumps(self.groups[gid]))
        if not members:
            group.pop("members", None)
        group["meta"]["location"] = f"{self.url}/Groups/{gid}"
        return group

    def query(self, kind: str, params: dict[str, str]) -> dict[str, Any]:
        """A ListResponse of Users or Groups for the request's query parameters."""
        with self._lock:
            if kind == "Users":
                items = [self.render_user(uid) for uid in self.users]
            else:
                members = "members" not in params.get("excludedAttributes", "")
                items = [self.render_group(gid, members) for gid in self.groups]
        if params.get("filter"):
            test = parse_filter(params["filter"])
            items = [r for r in items if test(r)]
        if params.get("sortBy"):
            path = params["sortBy"]
            present = [r for r in items if values_at(r, path) and sort_key(path, values_at(r, path)[0]) is not None]
            sortable = {id(r) for r in present}
            missing = [r for r in items if id(r) not in sortable]
            present.sort(key=lambda r: sort_key(path, values_at(r, path)[0]),
                         reverse=params.get("sortOrder", "ascending").lower() == "descending")
            items = present + missing
        try:
            start = max(1, int(params.get("startIndex", "1")))
            count = max(0, min(MAX_RESULTS, int(params.get("count", "100"))))
        except ValueError:
            raise ScimError(400, "startIndex and count are integers", "invalidValue") from None
        page = items[start - 1:start - 1 + count]
        return {"schemas": [LIST], "totalResults": len(items), "startIndex": start, "itemsPerPage": len(page),
                "Resources": page}


def seed(server: ScimServer) -> None:
    """The demo org: units first (without managers), people in bulk imports per unit, then unit managers."""
    for name, parent, _, external in SEED_UNITS:
        server.add_group(name, parent=parent, external_id=external)
    by_unit: dict[str, list[tuple[Any, ...]]] = {}
    for person in SEED_PEOPLE:
        by_unit.setdefault(person[6], []).append(person)
    for people in by_unit.values():
        with server.same_time():  # one import per unit: its people share a timestamp
            for number, family, given, display, login, title, unit, manager, hired in people:
                server.add_user(number, family, given, display=display, login=login, title=title, unit=unit,
                                manager=manager, hired=hired)
    with server.same_time():
        for name, _, manager, _ in SEED_UNITS:
            server.update_group(name, manager=manager)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- HTTP -----------------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    """One request: faults first, then the bearer token, then the SCIM endpoint."""

    protocol_version = "HTTP/1.0"
    server_version = "HubScimTest/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._dispatch(self.command)

    do_DELETE = do_POST = do_PUT = do_PATCH = do_GET

    @property
    def scim(self) -> ScimServer:
        return self.server.scim  # type: ignore[attr-defined]

    def _dispatch(self, method: str) -> None:
        hit = Hit(time.monotonic(), method, self.path)
        with self.scim._lock:
            self.scim.hits.append(hit)
        parts = urlsplit(self.path)
        fault = self.scim._take_fault(parts.path)
        if fault is not None and fault.kind != "slow":
            self._fault(fault, hit)
            return
        if fault is not None:
            time.sleep(fault.delay)
        try:
            if self.headers.get("Authorization", "") != f"Bearer {self.scim.token}":
                raise ScimError(401, "the bearer token is missing or not valid")
            status, body = self._route(method, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()})
        except ScimError as exc:
            status, body = exc.status, {"schemas": [ERROR], "status": str(exc.status), "detail": exc.detail}
            if exc.scim_type:
                body["scimType"] = exc.scim_type
        self._send(hit, status, json.dumps(body, ensure_ascii=False).encode(),
                   {"WWW-Authenticate": 'Bearer realm="scim"'} if status == 401 else {})

    def _route(self, method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if not path.startswith(BASE):
            raise ScimError(404, f"no endpoint {path}")
        rest = path[len(BASE):].strip("/").split("/")
        kind = rest[0]
        if kind == "ServiceProviderConfig" and method == "GET":
            return 200, {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                         "filter": {"supported": True, "maxResults": MAX_RESULTS}, "sort": {"supported": True},
                         "patch": {"supported": False}, "bulk": {"supported": False, "maxOperations": 0,
                                                                 "maxPayloadSize": 0},
                         "changePassword": {"supported": False}, "etag": {"supported": False},
                         "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
                                                    "description": "Authentication with a bearer token"}]}
        if kind not in ("Users", "Groups"):
            raise ScimError(404, f"no endpoint {path}")
        if method == "GET" and len(rest) == 1:
            return 200, self.scim.query(kind, params)
        if len(rest) != 2:
            raise ScimError(404, f"no endpoint {path}")
        with self.scim._lock:
            found = (self.scim.users if kind == "Users" else self.scim.groups).get(rest[1])
            if found is None:
                raise ScimError(404, f"no {kind[:-1]} {rest[1]}")
            if method == "GET":
                return 200, (self.scim.render_user(rest[1]) if kind == "Users" else self.scim.render_group(rest[1]))
            if method == "DELETE" and kind == "Users":
                self.scim.delete_user(rest[1])
                return 204, None
        raise ScimError(501, f"{method} {kind} is not implemented by this test server")

    def _fault(self, fault: Fault, hit: Hit) -> None:
        if fault.kind in ("reset", "stop"):
            if fault.kind == "stop":
                threading.Thread(target=_stop_then_restart, args=(self.scim, fault.restart_after), daemon=True).start()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault.kind == "malformed":
            self._send(hit, 200, b'{"schemas": ["' + LIST.encode() + b'"], "totalResults": 3, "Resources": [{"id": ')
            return
        body = {"schemas": [ERROR], "status": str(fault.status), "detail": "injected fault"}
        self._send(hit, fault.status, json.dumps(body).encode(),
                   {"Retry-After": fault.retry_after} if fault.retry_after is not None else {})

    def _send(self, hit: Hit, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        hit.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/scim+json; charset=utf-8")
        self.send_header("Content-Length", str(len(body) if status != 204 else 0))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if status != 204:
            self.wfile.write(body)


def _stop_then_restart(server: ScimServer, after: float | None) -> None:
    server.stop()
    if after is not None:
        time.sleep(after)
        server.start()
