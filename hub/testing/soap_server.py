"""A NAV-style SOAP page web service on loopback, for tests and the demo: a real WSDL, SOAP 1.1, faults on demand.

    server, wsdl_url = serve()                  # http://127.0.0.1:<port>/WS/CRONUS/Page/Customer
    server.page.seed(250)                       # customers C00001 ... C00250
    server.inject("reset", op="ReadMultiple")   # the next ReadMultiple: the connection is reset
    server.stop(); server.start()               # down and up again on the same port; the data stays
    server.close()

The service is shaped like a Dynamics NAV / Business Central page web service for ``Customer``:
``Read(No)``, ``ReadMultiple(filter[], bookmarkKey, setSize)`` (records in ``No`` order; a page starts
after the record the bookmark names; ``ReadPage(filter[], skip, setSize)`` pages by offset instead),
``Create(Customer)`` and ``Update(Customer)``. Every record has a
``Key`` that changes with each modification; an ``Update`` with an outdated Key is refused with a SOAP
Client fault "Another user has modified the record ...", as NAV does. Bad data (an empty name, a negative
credit limit, an unknown ``Blocked`` value, a string longer than its field) is a Client fault; injected
server errors are Server faults. Filters understand NAV's criteria: ``>=X``, ``>X``, ``<=X``, ``<X``,
``<>X``, ``X..Y``, ``A|B``, ``''`` (empty) and ``*`` wildcards.

Faults (``inject(kind, op=None, times=1, delay=0.0, after=0)``; ``op`` None matches any SOAP call,
``"wsdl"`` the WSDL download): ``reset`` (the connection is reset, no answer), ``server_fault`` (HTTP 500
with a SOAP Server fault), ``http500`` (HTTP 500, an HTML page), ``malformed`` (HTTP 200, broken XML),
``dtd`` (HTTP 200, an answer with a billion-laughs DTD),
``slow`` (answers after ``delay`` seconds), ``outage`` (reset, then the server is down for ``delay``
seconds and comes back on the same port). ``after`` lets that many matching calls through first.
``before(op, hook)`` calls ``hook`` just before the next ``op`` runs (a concurrent edit, for races).

WSDL variants for the hardening tests: ``variant_url("dtd")`` (a DOCTYPE with a billion-laughs entity
expansion), ``variant_url("import")`` (imports a document from another host name) and
``variant_url("elsewhere")`` (its service address is an internal address). ``requests`` lists every
request the server received: (method, path, operation). The page's data, Keys, filters and validation
live in ``hub.testing.nav_page``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer
from xml.sax.saxutils import escape

from lxml import etree

from hub.testing.nav_page import BLOCKED, FIELDS, CustomerPage, SoapFault, typed

NS = "urn:microsoft-dynamics-schemas/page/customer"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PATH = "/WS/CRONUS/Page/Customer"
FAULTS = ("reset", "server_fault", "http500", "malformed", "dtd", "slow", "outage")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


# -- SOAP and WSDL -----------------------------------------------------------------------------------
def _xml_value(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _customer_xml(row: dict[str, Any], tag: str = "Customer") -> str:
    inner = "".join(f"<{k}>{escape(_xml_value(row[k]))}</{k}>" for k in FIELDS if row.get(k) is not None)
    return f"<{tag}>{inner}</{tag}>"


def _envelope(body: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><Soap:Envelope xmlns:Soap="{SOAP_ENV}"><Soap:Body>'
            f"{body}</Soap:Body></Soap:Envelope>").encode()


def _fault(code: str, message: str) -> bytes:
    return _envelope(f"<Soap:Fault><faultcode>Soap:{code}</faultcode><faultstring>{escape(message)}</faultstring>"
                     "<detail><string xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/\">"
                     f"{escape(message)}</string></detail></Soap:Fault>")


def _local(el: Any) -> str:
    return str(etree.QName(el).localname)


def _customer_of(el: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in el:
        name = _local(child)
        if name not in FIELDS:
            raise SoapFault(f"The element {name!r} is not a field of Customer")
        out[name] = typed(name, child.text or "")
    return out


def _element(parent: Any, name: str) -> Any:
    for child in parent:
        if _local(child) == name:
            return child
    raise SoapFault(f"The element {name!r} is missing")


def _laughs(root: str) -> bytes:
    """A DOCTYPE whose entity &lol9; expands to 10^9 "lol"s (billion laughs)."""
    levels = "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, 10))
    return f'<!DOCTYPE {root} [<!ENTITY lol0 "lol">{levels}]>'.encode()


def wsdl(address: str, variant: str = "", other: str = "") -> bytes:
    """The page's WSDL, with ``address`` as its service location; ``variant`` dtd or import for the attacks."""
    fields = "".join(f'<xsd:element minOccurs="0" maxOccurs="1" name="{k}" type="'
                     f'{t if t.startswith("tns:") else "xsd:" + t}"/>' for k, (t, _) in FIELDS.items())
    blocked = "".join(f'<xsd:enumeration value="{v}"/>' for v in BLOCKED)
    names = "".join(f'<xsd:enumeration value="{k}"/>' for k in FIELDS if k != "Key")

    def pair(op: str, inner: str, result: str) -> str:
        return (f'<xsd:element name="{op}"><xsd:complexType><xsd:sequence>{inner}</xsd:sequence></xsd:complexType>'
                f'</xsd:element><xsd:element name="{op}_Result"><xsd:complexType><xsd:sequence>{result}'
                "</xsd:sequence></xsd:complexType></xsd:element>")

    one = '<xsd:element minOccurs="1" maxOccurs="1" name="Customer" type="tns:Customer"/>'
    elements = (
        pair("Read", '<xsd:element minOccurs="1" maxOccurs="1" name="No" type="xsd:string"/>',
             '<xsd:element minOccurs="0" maxOccurs="1" name="Customer" type="tns:Customer"/>')
        + pair("ReadMultiple", '<xsd:element minOccurs="1" maxOccurs="unbounded" name="filter" '
               'type="tns:Customer_Filter"/><xsd:element minOccurs="0" maxOccurs="1" name="bookmarkKey" '
               'type="xsd:string"/><xsd:element minOccurs="1" maxOccurs="1" name="setSize" type="xsd:int"/>',
               '<xsd:element minOccurs="0" maxOccurs="1" name="ReadMultiple_Result" type="tns:Customer_List"/>')
        + pair("ReadPage", '<xsd:element minOccurs="0" maxOccurs="unbounded" name="filter" '
               'type="tns:Customer_Filter"/><xsd:element minOccurs="1" maxOccurs="1" name="skip" type="xsd:int"/>'
               '<xsd:element minOccurs="1" maxOccurs="1" name="setSize" type="xsd:int"/>',
               '<xsd:element minOccurs="0" maxOccurs="1" name="ReadPage_Result" type="tns:Customer_List"/>')
        + pair("Create", one, one) + pair("Update", one, one))
    ops = ("Read", "ReadMultiple", "ReadPage", "Create", "Update")
    messages = "".join(f'<message name="{o}{s}"><part name="parameters" element="tns:{o}{s}"/></message>'
                       for o in ops for s in ("", "_Result"))
    port_ops = "".join(f'<operation name="{o}"><input name="{o}" message="tns:{o}"/>'
                       f'<output name="{o}_Result" message="tns:{o}_Result"/></operation>' for o in ops)
    binding_ops = "".join(f'<operation name="{o}"><operation soapAction="{NS}:{o}" style="document" '
                          f'xmlns="http://schemas.xmlsoap.org/wsdl/soap/"/><input name="{o}"><body use="literal" '
                          f'xmlns="http://schemas.xmlsoap.org/wsdl/soap/"/></input><output name="{o}_Result">'
                          f'<body use="literal" xmlns="http://schemas.xmlsoap.org/wsdl/soap/"/></output></operation>'
                          for o in ops)
    doctype, doc, imports = "", "", ""
    if variant == "dtd":
        doctype, doc = _laughs("definitions").decode(), "<documentation>&lol9;</documentation>"
    elif variant == "import":
        imports = f'<import namespace="urn:other" location="{other}"/>'
    return (f'<?xml version="1.0" encoding="utf-8"?>{doctype}<definitions targetNamespace="{NS}" '
            f'xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="{NS}" '
            f'xmlns:xsd="http://www.w3.org/2001/XMLSchema">{doc}{imports}<types>'
            f'<xsd:schema elementFormDefault="qualified" targetNamespace="{NS}">'
            f'<xsd:simpleType name="Blocked"><xsd:restriction base="xsd:string">{blocked}</xsd:restriction>'
            f'</xsd:simpleType><xsd:complexType name="Customer"><xsd:sequence>{fields}</xsd:sequence>'
            '</xsd:complexType><xsd:complexType name="Customer_List"><xsd:sequence><xsd:element minOccurs="1" '
            'maxOccurs="unbounded" name="Customer" type="tns:Customer"/></xsd:sequence></xsd:complexType>'
            f'<xsd:simpleType name="Customer_Fields"><xsd:restriction base="xsd:string">{names}</xsd:restriction>'
            '</xsd:simpleType><xsd:complexType name="Customer_Filter"><xsd:sequence><xsd:element minOccurs="1" '
            'maxOccurs="1" name="Field" type="tns:Customer_Fields"/><xsd:element minOccurs="1" maxOccurs="1" '
            f'name="Criteria" type="xsd:string"/></xsd:sequence></xsd:complexType>{elements}</xsd:schema></types>'
            f'{messages}<portType name="Customer_Port">{port_ops}</portType><binding name="Customer_Binding" '
            'type="tns:Customer_Port"><binding transport="http://schemas.xmlsoap.org/soap/http" '
            f'xmlns="http://schemas.xmlsoap.org/wsdl/soap/"/>{binding_ops}</binding><service name="Customer_Service">'
            '<port name="Customer_Port" binding="tns:Customer_Binding"><address '
            f'location="{escape(address)}" xmlns="http://schemas.xmlsoap.org/wsdl/soap/"/></port></service>'
            "</definitions>").encode()


# -- the server --------------------------------------------------------------------------------------
@dataclass
class Injected:
    kind: str
    op: str | None
    times: int
    delay: float
    after: int


class _Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False
    owner: SoapServer


class _Handler(WSGIRequestHandler):
    """Reads the whole request, then lets the owner's fault plan decide: reset, stall, or answer."""

    server: _Threading

    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline or not self.parse_request():
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        owner = self.server.owner
        action = (self.headers.get("SOAPAction") or "").strip('"').rsplit(":", 1)[-1]
        op = "wsdl" if self.command == "GET" else action or "?"
        owner.requests.append((self.command, self.path, op))
        fault = owner.take_fault(op)
        if fault is not None and fault.kind in ("reset", "outage"):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            if fault.kind == "outage":
                threading.Thread(target=owner.bounce, args=(fault.delay,), daemon=True).start()
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        environ = self.get_environ()
        environ["soap_server.fault"] = fault.kind if fault is not None else None
        handler = ServerHandler(io.BytesIO(body), self.wfile, io.StringIO(), environ,  # type: ignore[arg-type]
                                multithread=True)
        handler.request_handler = self  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):  # the client gave up (timed out) before the answer
            handler.run(owner.app)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class SoapServer:
    """The service on 127.0.0.1 in a thread; stop and start again on the same port, inject faults."""

    port: int = 0
    host: str = "127.0.0.1"
    page: CustomerPage = field(default_factory=CustomerPage)
    users: dict[str, str] | None = None
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    faults: list[Injected] = field(default_factory=list)
    hooks: list[tuple[str, Callable[[], object]]] = field(default_factory=list)
    _httpd: _Threading | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The WSDL URL (also the SOAP address)."""
        return self.base + PATH

    def variant_url(self, variant: str) -> str:
        return f"{self.base}/variants/{variant}.wsdl"

    def start(self) -> SoapServer:
        with self._lock:
            if self._httpd is not None:
                return self
            httpd = _Threading((self.host, self.port), _Handler)
            httpd.owner = self
            httpd.set_app(self.app)
            self.port = httpd.server_address[1]
            self._httpd = httpd
            self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are then refused); the data stays for ``start``."""
        with self._lock:
            httpd, thread, self._httpd, self._thread = self._httpd, self._thread, None, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(5)

    def bounce(self, down: float) -> None:
        """Down for ``down`` seconds, then up again on the same port (unless closed meanwhile)."""
        self.stop()
        time.sleep(down)
        if not self._closed:
            self.start()

    def close(self) -> None:
        self._closed = True
        self.stop()

    def inject(self, kind: str, op: str | None = None, times: int = 1, delay: float = 0.0, after: int = 0) -> None:
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; faults: {', '.join(FAULTS)}")
        with self._lock:
            self.faults.append(Injected(kind, op, times, delay, after))

    def before(self, op: str, hook: Callable[[], object]) -> None:
        """Call ``hook`` once, just before the next ``op`` is carried out (e.g. a NAV user's edit: a race)."""
        with self._lock:
            self.hooks.append((op, hook))

    def take_fault(self, op: str) -> Injected | None:
        with self._lock:
            for f in self.faults:
                if (f.op is None and op == "wsdl") or (f.op is not None and f.op != op):
                    continue
                if f.after > 0:
                    f.after -= 1
                    return None
                f.times -= 1
                if f.times <= 0:
                    self.faults.remove(f)
                return f
        return None

    def calls(self, op: str | None = None) -> int:
        return sum(1 for _, _, o in self.requests if (op is None and o != "wsdl") or o == op)

    # -- the WSGI application ---------------------------------------------------------------------------
    def app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def answer(status: str, body: bytes, kind: str = "text/xml; charset=utf-8",
                   extra: Iterable[tuple[str, str]] = ()) -> list[bytes]:
            start_response(status, [("Content-Type", kind), ("Content-Length", str(len(body))), *extra])
            return [body]

        if not self._authorized(environ.get("HTTP_AUTHORIZATION", "")):
            return answer("401 Unauthorized", b"unauthorized", "text/plain",
                          [("WWW-Authenticate", 'Basic realm="NAV"')])
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        fault = environ.get("soap_server.fault")
        if fault == "http500":
            return answer("500 Internal Server Error", b"<html><body>Service Unavailable</body></html>", "text/html")
        if fault == "malformed":
            return answer("200 OK", _envelope("<ReadMultiple_Result><Customer><No>C1</No>")[:-40])
        if fault == "dtd":  # an answer with a billion-laughs DTD
            return answer("200 OK", b"<?xml version='1.0'?>" + _laughs("Envelope") + _envelope("&lol9;")[38:])
        if fault == "server_fault":
            return answer("500 Internal Server Error", _fault("Server", "The server is busy (injected)"))
        if method == "GET":
            if path == PATH:
                return answer("200 OK", wsdl(self.url))
            if path.startswith("/variants/"):
                variant = path.rsplit("/", 1)[-1].removesuffix(".wsdl")
                address = "http://10.255.255.1" + PATH if variant == "elsewhere" else self.url
                return answer("200 OK", wsdl(address, variant, f"http://localhost:{self.port}/other/types.wsdl"))
            return answer("404 Not Found", b"not found", "text/plain")
        if method != "POST" or path != PATH:
            return answer("405 Method Not Allowed", b"", "text/plain")
        try:
            result = self._dispatch(environ["wsgi.input"].read())
        except SoapFault as e:
            return answer("500 Internal Server Error", _fault(e.code, str(e)))
        return answer("200 OK", _envelope(result))

    def _authorized(self, header: str) -> bool:
        if self.users is None:
            return True
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return self.users.get(user) == password

    def _dispatch(self, body: bytes) -> str:
        try:
            doc = etree.fromstring(body, _PARSER)
        except etree.XMLSyntaxError as e:
            raise SoapFault(f"The request is not XML: {e}") from e
        if doc.getroottree().docinfo.doctype:
            raise SoapFault("A DTD is not allowed in a request")
        request = next(iter(_element(doc, "Body")), None)
        if request is None:
            raise SoapFault("The SOAP body is empty")
        op = _local(request)
        with self._lock:
            due = next((h for h in self.hooks if h[0] == op), None)
            if due is not None:
                self.hooks.remove(due)
        if due is not None:
            due[1]()
        if op == "Read":
            row = self.page.read(_element(request, "No").text or "")
            return f'<Read_Result xmlns="{NS}">{_customer_xml(row) if row else ""}</Read_Result>'
        if op in ("ReadMultiple", "ReadPage"):
            filters = [(_element(f, "Field").text or "", _element(f, "Criteria").text or "")
                       for f in request if _local(f) == "filter"]
            marks = [c.text for c in request if _local(c) == "bookmarkKey"]
            size = int(_element(request, "setSize").text or 0)
            if op == "ReadPage":  # paged by offset: skip records, then setSize of them
                skip = int(_element(request, "skip").text or 0)
                rows = self.page.read_multiple(filters, None, 0)[skip:skip + size if size else None]
            else:
                rows = self.page.read_multiple(filters, marks[0] if marks and marks[0] else None, size)
            inner = "".join(_customer_xml(r) for r in rows)
            return (f'<{op}_Result xmlns="{NS}">{f"<{op}_Result>{inner}</{op}_Result>" if rows else ""}'
                    f"</{op}_Result>")
        if op in ("Create", "Update"):
            values = _customer_of(_element(request, "Customer"))
            row = self.page.create(values) if op == "Create" else self.page.update(values)
            return f'<{op}_Result xmlns="{NS}">{_customer_xml(row)}</{op}_Result>'
        raise SoapFault(f"The operation {op!r} is not supported")


def serve(port: int = 0, *, customers: int = 0, users: dict[str, str] | None = None) -> tuple[SoapServer, str]:
    """Start the sample service on 127.0.0.1 (``port`` 0: any free port); the server and its WSDL URL."""
    server = SoapServer(port=port, users=users)
    if customers:
        server.page.seed(customers)
    server.start()
    return server, server.url

