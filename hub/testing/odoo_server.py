"""A fake Odoo on loopback for tests and the demo: the fake database of hub.testing.odoo_orm served over
HTTP as Odoo's external XML-RPC API (``/xmlrpc/2/common``, ``/xmlrpc/2/object``), with sample data and faults.

    server, url = serve()                     # seeded, on 127.0.0.1 and a free port
    server.inject("reset", count=2)           # the next 2 requests: connection reset (also "drop": reset
                                              # after the call, 500, 429, "malformed" XML, "slow")
    server.outage(after=3, seconds=1.0)       # after the 3rd search_read: down for 1 s, then back
    server.stop(); server.start()             # restart on the same port; the data stays
    server.odoo.corrupt("res.partner", 7, "country_id", "garbage")   # a malformed value in reads

The sample data (``seed_sample``) is the same every time: Chinese and English companies and people,
products, sales orders with lines, customer invoices and vendor bills, stamped three records to a second
(so cursors meet ties on write_date); one company is archived, and one person has an e-mail address the
hub refuses (a dead letter). ``demo(store, var_dir)`` serves it and configures the ``demo-odoo`` instance.
"""

from __future__ import annotations

import datetime as dt
import itertools
import socket
import socketserver
import struct
import threading
import time
from pathlib import Path
from typing import Any, cast
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

from hub.testing.odoo_orm import DB, Odoo

__all__ = ["DB", "Odoo", "OdooServer", "demo", "seed_sample", "serve"]

BASE = dt.datetime(2024, 3, 1, 8, 0, 0)
COUNTRIES = [("China", "CN"), ("Germany", "DE"), ("United Kingdom", "GB"), ("United States", "US"),
             ("Singapore", "SG")]
CURRENCIES = {"CN": "CNY", "DE": "EUR", "GB": "EUR", "US": "USD", "SG": "USD"}
LANGS = {"CN": "zh_CN", "DE": "de_DE"}
#: name, street, city, zip, country, phone, e-mail domain, VAT
COMPANIES = [
    ("上海华信贸易有限公司", "浦东新区世纪大道100号", "上海", "200120", "CN", "+86 21 6888 1234", "huaxin.cn", False),
    ("深圳远航科技有限公司", "南山区科技园南路8号", "深圳", "518057", "CN", "+86 755 8666 2288", "yuanhang.com.cn",
     False),
    ("北京东方电子有限公司", "朝阳区建国路88号", "北京", "100022", "CN", "+86 10 6552 9988", "dongfang-e.cn", False),
    ("杭州瑞丰纺织有限公司", "西湖区文三路90号", "杭州", "310012", "CN", "+86 571 8702 6610", "ruifeng.cn", False),
    ("Nordlicht Handel GmbH", "Friedrichstraße 68", "Berlin", "10117", "DE", "+49 30 1234567", "nordlicht.de",
     "DE123456788"),
    ("Elbe Maschinenbau AG", "Am Sandtorkai 5", "Hamburg", "20457", "DE", "+49 40 3398 2210", "elbe-mb.de", False),
    ("Acme Widgets Ltd", "12 Baker Street", "London", "NW1 6XE", "GB", "+44 20 7946 0958", "acme-widgets.co.uk",
     False),
    ("Blue Harbor Trading Inc.", "200 Atlantic Ave", "Boston", "02110", "US", "+1 617 555 0142", "blueharbor.com",
     False),
    ("Lion City Supplies Pte Ltd", "1 Raffles Place", "Singapore", "048616", "SG", "+65 6123 4567", "lioncity.sg",
     False),
    ("Old Partner GmbH", "Alte Gasse 1", "Berlin", "10115", "DE", False, "old-partner.de", False),  # archived
]
#: name, e-mail, job, company (index into COMPANIES, or None), mobile
PEOPLE = [
    ("王芳", "wang.fang@huaxin.cn", "采购经理", 0, "+86 138 0013 8000"),
    ("李伟", "li.wei@huaxin.cn", "总经理", 0, False),
    ("张敏", "zhang.min@yuanhang.com.cn", "财务主管", 1, "+86 139 2233 4455"),
    ("陈静", "chen.jing@dongfang-e.cn", "销售总监", 2, False),
    ("刘洋", "li.na@", "工程师", 3, False),  # an address the hub refuses
    ("Anna Schmidt", "anna.schmidt@nordlicht.de", "Einkauf", 4, "+49 151 23456789"),
    ("Jonas Weber", "jonas.weber@elbe-mb.de", "Geschäftsführer", 5, False),
    ("Emily Clarke", "emily.clarke@acme-widgets.co.uk", "Buyer", 6, "+44 7911 123456"),
    ("Michael Brown", "m.brown@blueharbor.com", "CFO", 7, False),
    ("Sarah Tan", "sarah.tan@lioncity.sg", "Procurement Lead", 8, False),
    ("周杰", "zhou.jie@example.cn", False, None, "+86 186 1234 5678"),
]
#: default code, name, price, currency, unit
PRODUCTS = [
    ("CN-TEA-01", "西湖龙井茶 250g", 168.0, "CNY", "Units"), ("SILK-SC-02", "真丝围巾", 420.0, "CNY", "Units"),
    ("SEN-S200", "Industrial Sensor S200", 349.0, "EUR", "Units"),
    ("BOLT-M8-100", "Steel Bolts M8 (100 pcs)", 12.5, "EUR", "Units"),
    ("PCB-CTRL-7", "Controller Board PCB-7", 89.9, "USD", "Units"), ("COTTON-KG", "有机棉纱", 36.8, "CNY", "kg"),
    ("SRV-CONSULT", "Consulting (hour)", 150.0, "EUR", "Hours"), (False, "Sample Kit", 0.0, "EUR", "Units"),
]
ORDER_STATES = ["sale", "done", "sale", "draft", "sent", "sale", "cancel", "sale", "done"]
PAYMENTS = ["paid", "not_paid", "partial", "in_payment", "paid", "not_paid"]


def seed_sample(odoo: Odoo) -> None:
    """Fill ``odoo`` with the sample data (stamped 2024-03-01 onwards), then let the real clock run."""
    ticks = itertools.count()
    odoo.clock = lambda: BASE + dt.timedelta(seconds=next(ticks) // 3)

    def create(model: str, vals: dict[str, Any]) -> int:
        return int(odoo.rpc_create(model, {}, 2, vals))  # type: ignore[arg-type]

    country = {code: create("res.country", {"name": name, "code": code}) for name, code in COUNTRIES}
    currency = {c: create("res.currency", {"name": c, "symbol": {"CNY": "¥", "EUR": "€"}.get(c, "$")})
                for c in ("CNY", "EUR", "USD")}
    uom = {u: create("uom.uom", {"name": u}) for u in ("Units", "kg", "Hours")}
    companies = []
    for n, (name, street, city, zipcode, cc, phone, domain, vat) in enumerate(COMPANIES):
        companies.append(create("res.partner", {
            "name": name, "is_company": True, "street": street, "city": city, "zip": zipcode,
            "country_id": country[cc], "phone": phone, "email": f"info@{domain}", "website": f"https://www.{domain}",
            "vat": vat, "lang": LANGS.get(cc, "en_US"), "customer_rank": 1, "ref": f"C{1000 + n}",
            "active": name != "Old Partner GmbH"}))
    for name, email, job, company, mobile in PEOPLE:
        parent = COMPANIES[company] if company is not None else None
        create("res.partner", {
            "name": name, "email": email, "function": job, "mobile": mobile,
            "parent_id": companies[company] if company is not None else False,
            "city": parent[2] if parent else "上海", "country_id": country[parent[4] if parent else "CN"],
            "lang": LANGS.get(parent[4] if parent else "CN", "en_US")})
    products = [create("product.product", {
        "default_code": code, "name": name, "list_price": price, "currency_id": currency[cur], "uom_id": uom[unit],
        "type": "service" if unit == "Hours" else "consu", "description_sale": f"{name} ({unit})"})
        for code, name, price, cur, unit in PRODUCTS]
    for n, state in enumerate(ORDER_STATES):
        partner, cc = companies[n % 9], COMPANIES[n % 9][4]
        lines = [[0, 0, {"product_id": products[(n + k) % len(products)], "name": PRODUCTS[(n + k) % 8][1],
                         "product_uom_qty": float(k + 1 + n % 3), "price_unit": PRODUCTS[(n + k) % 8][2],
                         "discount": 5.0 if k == 1 else 0.0, "sequence": 10 * (k + 1)}] for k in range(1 + n % 3)]
        order = create("sale.order", {"partner_id": partner, "currency_id": currency[CURRENCIES[cc]], "state": state,
                                      "date_order": (BASE + dt.timedelta(days=n)).strftime("%Y-%m-%d %H:%M:%S"),
                                      "client_order_ref": f"PO-{2024000 + n}", "order_line": lines})
        if state not in ("sale", "done"):
            continue
        amounts = odoo.tables["sale.order"][order]
        paid = PAYMENTS[n % len(PAYMENTS)]
        residual = {"paid": 0.0, "in_payment": 0.0, "partial": round(amounts["amount_total"] / 2, 2)}.get(
            paid, amounts["amount_total"])
        day = BASE.date() + dt.timedelta(days=n + 1)
        create("account.move", {
            "move_type": "out_invoice", "name": f"INV/2024/{n + 1:05d}", "partner_id": partner, "state": "posted",
            "payment_state": paid, "invoice_date": day.isoformat(), "invoice_origin": f"S{order:05d}",
            "invoice_date_due": (day + dt.timedelta(days=30)).isoformat(), "currency_id": amounts["currency_id"],
            "amount_untaxed": amounts["amount_untaxed"], "amount_tax": amounts["amount_tax"],
            "amount_total": amounts["amount_total"], "amount_residual": residual})
    create("account.move", {"move_type": "out_invoice", "partner_id": companies[4], "currency_id": currency["EUR"],
                            "amount_untaxed": 100.0, "amount_tax": 19.0, "amount_total": 119.0,
                            "amount_residual": 119.0})  # a draft: no number yet
    for n in range(2):  # vendor bills: not customer invoices
        create("account.move", {"move_type": "in_invoice", "name": f"BILL/2024/{n + 1:05d}", "state": "posted",
                                "partner_id": companies[5 + n], "invoice_date": "2024-03-05",
                                "currency_id": currency["EUR"], "amount_total": 500.0, "amount_residual": 500.0})
    odoo.freeze(None)


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")

    def do_POST(self) -> None:
        owner: OdooServer = self.server.owner  # type: ignore[attr-defined]
        owner.requests += 1
        fault = owner.take_fault()
        if fault is None:
            return super().do_POST()
        kind, arg = fault
        if kind == "slow":
            time.sleep(float(arg or 1.0))
            return super().do_POST()
        data = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.close_connection = True
        if kind == "drop":  # the call is carried out, but its reply is lost
            self.server._marshaled_dispatch(data, None, self.path)  # type: ignore[attr-defined]
        if kind in ("reset", "drop"):
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.request.close()
            return None
        status, body, headers = {
            "500": (500, b"<html><body>Internal Server Error</body></html>", {"Content-Type": "text/html"}),
            "429": (429, b"Too Many Requests", {"Retry-After": str(arg or 1)}),
            "malformed": (200, b"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array>"
                               b"<data>\n<value><struct>\n<member>\n<name>id</name>\n<value><int>1",
                          {"Content-Type": "text/xml"}),
        }[kind]
        self.send_response(status)
        for k, v in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        return None

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class _HTTPServer(socketserver.ThreadingMixIn, MultiPathXMLRPCServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # resets and timeouts are on purpose
        pass


class OdooServer:
    """The fake Odoo served over HTTP on loopback, with controls for faults and outages."""

    def __init__(self, odoo: Odoo | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.odoo = odoo or Odoo()
        self.host, self.port = host, port
        self.requests = self.bounces = 0
        self._faults: list[list[Any]] = []
        self._outages: list[list[Any]] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> OdooServer:
        """Listen (again, on the same port after a stop)."""
        if self._httpd is not None:
            return self
        httpd = _HTTPServer((self.host, self.port), requestHandler=_Handler, logRequests=False, allow_none=False)
        httpd.owner = self  # type: ignore[attr-defined]
        common, obj = (SimpleXMLRPCDispatcher(allow_none=False), SimpleXMLRPCDispatcher(allow_none=False))
        common.register_function(self.odoo.version, "version")
        common.register_function(cast(Any, self.odoo.authenticate), "authenticate")
        obj.register_function(self._execute_kw, "execute_kw")
        httpd.add_dispatcher("/xmlrpc/2/common", common)
        httpd.add_dispatcher("/xmlrpc/2/object", obj)
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                                        name=f"fake-odoo-{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused until ``start``); the data stays."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OdooServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(self, kind: str, count: int = 1, arg: Any = None, after: int = 0) -> None:
        """The next ``count`` requests (after ``after`` good ones) fail: ``reset`` (connection reset before the
        call), ``drop`` (the call is carried out, then the connection is reset), ``500``, ``429`` (Retry-After
        ``arg`` s), ``malformed`` (a truncated XML body) or ``slow`` (``arg`` s late)."""
        if kind not in ("reset", "drop", "500", "429", "malformed", "slow"):
            raise ValueError(f"unknown fault {kind!r}")
        with self._guard:
            self._faults.append([kind, count, arg, after])

    def take_fault(self) -> tuple[str, Any] | None:
        with self._guard:
            if not self._faults:
                return None
            fault = self._faults[0]
            if fault[3] > 0:
                fault[3] -= 1
                return None
            fault[1] -= 1
            if fault[1] <= 0:
                self._faults.pop(0)
            return fault[0], fault[2]

    def outage(self, after: int, seconds: float, method: str = "search_read") -> None:
        """After the ``after``-th call of ``method`` from now, stop for ``seconds``, then start again."""
        with self._guard:
            self._outages.append([method, after, seconds])

    def _execute_kw(self, *args: Any) -> Any:
        result = self.odoo.execute_kw(*args)
        method = args[4] if len(args) > 4 else None
        with self._guard:
            for outage in list(self._outages):
                if outage[0] == method:
                    outage[1] -= 1
                    if outage[1] <= 0:
                        self._outages.remove(outage)
                        threading.Thread(target=self._bounce, args=(outage[2],), daemon=True).start()
        return result

    def _bounce(self, seconds: float) -> None:
        self.bounces += 1
        self.stop()
        time.sleep(seconds)
        self.start()


def serve(port: int = 0, seed: bool = True, host: str = "127.0.0.1") -> tuple[OdooServer, str]:
    """A started fake Odoo (seeded with sample data unless ``seed`` is false) and its URL; ``server.stop()``."""
    odoo = Odoo()
    if seed:
        seed_sample(odoo)
    server = OdooServer(odoo, host, port).start()
    return server, server.url


def demo(store: Any, var_dir: Path) -> str:
    """Serve the sample Odoo on loopback and configure the ``demo-odoo`` instance (``allow_internal:
    ["127.0.0.1"]``) with the default mappings and routes of connectors.erp.odoo; returns the server's URL.

    Idempotent: run again, it points the instance at the new server. The server lives in a daemon thread
    of this process for as long as the process does; ``var_dir`` is not used (the data is in memory).
    """
    from connectors.erp.odoo import DEFAULT_ROUTES, OdooConnector, default_mappings
    from hub.core.actor import Context
    from hub.errors import ConfigError
    from hub.mappings import versions
    from hub.sync import instances
    from hub.sync.connector_types import connector_types

    _, url = serve()
    types = {**connector_types(store.plugins), "odoo": OdooConnector}
    config = {"url": url, "db": DB, "username": "hub", "password": "s3cret", "allow_internal": ["127.0.0.1"],
              "page_size": 50}
    with store.writing(Context.system("demo")) as tx:
        for text in default_mappings().values():
            versions.save(tx.session, text, tx.ctx.actor.name)
        try:
            instances.update_instance(tx.session, tx.audit, store.keyring, types, "demo-odoo", config=config)
        except ConfigError:
            instances.add_instance(tx.session, tx.audit, store.keyring, types, "demo-odoo", "odoo", config)
        for stream, module, mapping, directions in DEFAULT_ROUTES:
            for direction in directions:
                instances.add_route(tx.session, tx.audit, "demo-odoo", stream, direction, module, mapping,
                                    batch_size=100)
    return url
