"""The Odoo connector against the fake Odoo on loopback (real XML-RPC, no mocks): the contract, the
incremental cursor, faults, writes, and whole runs through the engine on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import connectors.erp.odoo as odoo_module
from connectors.erp.odoo import DEFAULT_ROUTES, OdooConnector, default_mappings
from hub.core.actor import Context
from hub.core.store import Store
from hub.core.write import Row
from hub.errors import AuthError, ConfigError, PermanentError, RetryableError
from hub.mappings import versions
from hub.plugins import plugin_manager
from hub.sync import instances, runs
from hub.sync.connector import Checkpoint, Connector, Record
from hub.sync.connector_types import connector_types
from hub.sync.models import DeadLetter, SyncRun
from hub.sync.net import Guard
from hub.sync.retry import RetryPolicy
from hub.sync.runner import Runner
from hub.testing import ConnectorContract, odoo_server
from hub.testing.dns import FixedResolver
from hub.testing.odoo_server import OdooServer, serve

TYPES: dict[str, type[Connector]] = {"odoo": OdooConnector}
FAST = RetryPolicy(attempts=20, initial=0.05, cap=0.5)
SEEDED = {"companies": 10, "people": 11, "products": 8, "orders": 9, "invoices": 7}


@pytest.fixture
def server() -> Iterator[OdooServer]:
    srv, _ = serve()
    yield srv
    srv.stop()


def config(srv: OdooServer, **extra: Any) -> dict[str, Any]:
    return {"url": srv.url, "db": "odoo", "username": "hub", "password": "s3cret", "allow_internal": ["127.0.0.1"],
            "timeout": 5, **extra}


def odoo(srv: OdooServer, **extra: Any) -> OdooConnector:
    return OdooConnector(config(srv, **extra))


def read(connector: Connector, stream: str, state: Any = None) -> tuple[list[Record], Any]:
    items = list(connector.read(stream, state))
    assert isinstance(items[-1], Checkpoint)
    return [i for i in items if isinstance(i, Record)], json.loads(json.dumps(items[-1].state))


def ids(records: list[Record]) -> list[int]:
    return [int(r.external_id) for r in records]


def partners(srv: OdooServer, names: list[str], **vals: Any) -> list[int]:
    return [int(srv.odoo.rpc_create("res.partner", {}, 2, {"name": n, "is_company": True, **vals}))  # type: ignore[arg-type]
            for n in names]


class TestOdooContract(ConnectorContract):
    stream = "companies"
    write_stream = "companies"

    @pytest.fixture
    def connector(self, server: OdooServer) -> OdooConnector:
        return odoo(server, page_size=3)

    @pytest.fixture
    def broken_connector(self, server: OdooServer) -> OdooConnector:
        return OdooConnector({**config(server), "password": "wrong"})

    def sample_records(self) -> list[Record]:
        return [Record("companies", "", {"name": "Contract Test Co", "country_code": "DE"}),
                Record("companies", "", {"name": "合同测试有限公司", "email": None})]


# -- configuration, registration, discovery -------------------------------------------------------------
def test_registered_through_the_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_PLUGINS", "connectors.erp.odoo")
    assert connector_types(plugin_manager(entry_points=False))["odoo"] is OdooConnector
    assert odoo_module.register_connectors() == {"odoo": OdooConnector}


def test_discover_types_fields_from_fields_get(server: OdooServer) -> None:
    streams = {s.name: s for s in odoo(server).discover()}
    assert list(streams) == ["companies", "people", "products", "orders", "invoices"]
    assert streams["companies"].writable and not streams["orders"].writable
    assert streams["companies"].fields["parent_id"] == "array"
    assert streams["orders"].fields["amount_total"] == "number"
    assert streams["orders"].fields["order_lines"] == "array"


def test_check_names_a_missing_extra_field(server: OdooServer) -> None:
    with pytest.raises(ConfigError, match=r"streams\.people\.fields: res\.partner has no field 'x_nope'"):
        odoo(server, streams={"people": {"fields": ["x_nope"]}}).check()


# -- the incremental cursor -------------------------------------------------------------------------------
def test_ties_on_write_date_across_page_boundaries_lose_and_repeat_nothing(server: OdooServer) -> None:
    server.odoo.freeze("2024-06-01 12:00:00")
    tied = partners(server, [f"Tie {n}" for n in range(7)])
    server.odoo.freeze("2024-06-01 12:00:01")
    later = partners(server, ["After 1", "After 2"])
    connector = odoo(server, page_size=3)
    records, state = read(connector, "companies")
    assert ids(records) == list(range(1, 11)) + tied + later
    points = [i for i in connector.read("companies", None) if isinstance(i, Checkpoint)]
    for cut in range(1, len(records)):  # resuming after any record of a tie reads exactly the rest
        again, _ = read(connector, "companies", points[cut - 1].state)
        assert ids(again) == ids(records)[cut:]
    assert read(connector, "companies", state)[0] == []


def test_microsecond_write_dates_within_one_second_are_paged_by_id(server: OdooServer) -> None:
    """Odoo keeps microseconds but shows seconds: a page cut inside a second must not skip or loop."""
    new = partners(server, [f"Micro {n}" for n in range(12)])
    for n, rid in enumerate(new):  # later ids changed earlier within the second
        server.odoo.touch("res.partner", [rid], f"2024-06-02 09:30:00.{999_000 - n * 1000:06d}")
    same = partners(server, [f"Same {n}" for n in range(5)])
    server.odoo.touch("res.partner", same, "2024-06-02 09:30:01.250000")  # one transaction: equal stamps
    records, _ = read(odoo(server, page_size=5), "companies")
    assert ids(records) == list(range(1, 11)) + sorted(new) + same
    assert all(r.version == "2024-06-02 09:30:00" for r in records[10:22])


def test_a_record_changed_during_a_read_comes_again_at_the_end(server: OdooServer) -> None:
    connector = odoo(server, page_size=2)
    stream = connector.read("companies", None)
    first = [next(stream) for _ in range(4)]  # two records, two checkpoints
    assert ids([r for r in first if isinstance(r, Record)]) == [1, 2]
    server.odoo.rpc_write("res.partner", {}, 2, [1, 5], {"city": "Suzhou"})
    rest = [i for i in stream if isinstance(i, Record)]
    assert ids(rest) == [3, 4, 6, 7, 8, 9, 10, 1, 5]
    assert rest[-1].data["city"] == "Suzhou"


def test_values_archived_records_and_order_lines(server: OdooServer) -> None:
    companies, _ = read(odoo(server), "companies")
    archived = [r for r in companies if r.deleted]
    assert [r.data["name"] for r in archived] == ["Old Partner GmbH"]
    first = companies[0]
    assert first.data["country_id"] == [1, "China"] and first.data["vat"] is None and first.data["is_company"] is True
    assert first.version == first.data["write_date"]
    orders, _ = read(odoo(server), "orders")
    lines = orders[2].data["order_lines"]
    assert [line["sequence"] for line in lines] == [10, 20, 30]
    assert round(sum(line["price_subtotal"] for line in lines), 2) == orders[2].data["amount_untaxed"]
    invoices, _ = read(odoo(server), "invoices")
    assert len(invoices) == 7, "vendor bills are not customer invoices"


def test_a_malformed_value_is_quarantined_and_the_read_goes_on(server: OdooServer) -> None:
    server.odoo.corrupt("res.partner", 4, "country_id", "garbage")
    records, _ = read(odoo(server, page_size=3), "companies")
    bad = [r for r in records if r.error]
    assert [r.external_id for r in bad] == ["4"]
    assert "res.partner 4: field country_id: many2one expected, got 'garbage'" in (bad[0].error or "")
    assert len(records) == 10


def test_a_record_without_a_usable_write_date_stops_the_read(server: OdooServer) -> None:
    server.odoo.corrupt("res.partner", 4, "write_date", "yesterday")
    with pytest.raises(PermanentError, match="cursor cannot pass it"):
        read(odoo(server), "companies")


def test_a_corrupt_checkpoint_is_a_permanent_error(server: OdooServer) -> None:
    with pytest.raises(PermanentError, match="corrupt checkpoint"):
        read(odoo(server), "companies", {"write_date": "soon", "id": 1})


# -- faults -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "arg", "message"), [
    ("reset", None, "ConnectionResetError"), ("500", None, "HTTP 500"), ("malformed", None, "malformed response"),
    ("slow", 1.5, "timed out"),
])
def test_transient_faults_are_retryable(server: OdooServer, kind: str, arg: Any, message: str) -> None:
    connector = odoo(server, timeout=0.5)
    connector.check()
    server.inject(kind, arg=arg)
    with pytest.raises(RetryableError, match=message):
        read(connector, "companies")
    assert len(read(connector, "companies")[0]) == 10, "the next call works again"


def test_429_carries_retry_after(server: OdooServer) -> None:
    server.inject("429", arg=7)
    with pytest.raises(RetryableError, match="HTTP 429") as caught:
        odoo(server).check()
    assert caught.value.retry_after == 7


def test_a_stopped_server_is_retryable_and_a_restarted_one_serves_again(server: OdooServer) -> None:
    connector = odoo(server)
    connector.check()
    server.stop()
    with pytest.raises(RetryableError, match=r"Connection refused|ConnectionRefusedError"):
        connector.check()
    server.start()
    connector.check()


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"password": "wrong"}, AuthError, "login 'hub' refused"),
    ({"db": "nodb"}, ConfigError, 'database "nodb" does not exist'),
    ({"url_path": "/odoo"}, ConfigError, "HTTP 404"),
])
def test_bad_settings_fail_check_cleanly(server: OdooServer, change: dict[str, str], error: type[Exception],
                                         message: str) -> None:
    conf = config(server, **{k: v for k, v in change.items() if k != "url_path"})
    conf["url"] += change.get("url_path", "")
    with pytest.raises(error, match=message):
        OdooConnector(conf).check()


def test_a_password_changed_after_login_and_access_rights_are_auth_errors(server: OdooServer) -> None:
    connector = odoo(server)
    connector.check()
    server.odoo.deny("account.move")
    with pytest.raises(AuthError, match="lacks access rights"):
        read(connector, "invoices")
    server.odoo.users["hub"] = (6, "rotated")
    with pytest.raises(AuthError, match="access denied"):
        read(connector, "companies")


@pytest.mark.parametrize(("url", "extra"), [
    ("http://127.0.0.1:{port}", {}), ("http://10.255.255.1:8069", {}),
    ("http://127.0.0.1:{port}", {"allow_internal": ["127.0.0.1"], "allowed_hosts": ["erp.example.com"]}),
])
def test_an_internal_url_is_refused_without_connecting(server: OdooServer, url: str, extra: dict[str, Any]) -> None:
    conf = {**config(server), "url": url.format(port=server.port), **extra}
    if "allow_internal" not in extra:
        conf.pop("allow_internal")
    with pytest.raises(ConfigError, match=r"refused|not in allowed_hosts"):
        OdooConnector(conf).check()
    with pytest.raises(ConfigError):
        read(OdooConnector(conf), "companies")
    assert server.requests == 0


def test_each_connection_goes_to_the_address_the_guard_checked(server: OdooServer) -> None:
    connector = OdooConnector(config(server, url=f"http://odoo.test:{server.port}"))  # unknown to the system
    resolve = FixedResolver("127.0.0.1")
    connector.guard = Guard(("127.0.0.1",), resolve=resolve)
    connector.check()
    assert server.requests > 0 and set(resolve.calls) == {"odoo.test"}


def test_a_name_that_rebinds_to_an_internal_address_is_refused(server: OdooServer) -> None:
    connector = OdooConnector(config(server, url=f"http://odoo.test:{server.port}"))
    connector.guard = Guard(("127.0.0.2",), resolve=FixedResolver("127.0.0.2", "127.0.0.1"))  # checked, then rebound
    with pytest.raises(ConfigError, match=r"internal address 127\.0\.0\.1"):
        connector.check()
    assert server.requests == 0


# -- writes -----------------------------------------------------------------------------------------------
def test_write_creates_updates_archives_and_fails_per_record(server: OdooServer) -> None:
    connector = odoo(server)
    created = connector.write("people", [
        Record("people", "", {"name": "Lena Hoffmann", "email": "lena@example.de", "country_code": "de"}),
        Record("people", "", {"name": "Bad VAT", "vat": "DE12"}),
        Record("people", "", {"name": "Nowhere", "country_code": "XX"}),
    ], "batch-1")
    assert [r.ok for r in created] == [True, False, False]
    assert "VAT number [DE12]" in (created[1].error or "") and "no country with code 'XX'" in (created[2].error or "")
    rid = int(created[0].external_id or 0)
    row = server.odoo.rpc_read("res.partner", {}, 2, [rid], ["is_company", "country_code", "x_hub_key"])[0]
    assert row == {"id": rid, "is_company": False, "country_code": "DE", "x_hub_key": "batch-1:0"}
    updated = connector.write("people", [Record("people", str(rid), {"function": "Einkauf", "mobile": None}),
                                         Record("people", "99999", {"name": "Gone"})], "batch-2")
    assert updated[0].ok and updated[0].external_id == str(rid)
    assert not updated[1].ok and "Record does not exist or has been deleted" in (updated[1].error or "")
    assert connector.write("people", [Record("people", str(rid), {}, deleted=True)], "batch-3")[0].ok
    assert server.odoo.tables["res.partner"][rid]["active"] is False
    with pytest.raises(PermanentError, match="read-only"):
        connector.write("orders", [Record("orders", "", {"name": "x"})], "batch-4")


def test_a_batch_retried_after_a_reset_lands_once(server: OdooServer) -> None:
    connector = odoo(server)
    connector.check()
    batch = [Record("companies", "", {"name": f"Retry Co {n}"}) for n in range(3)]
    before = len(server.odoo.tables["res.partner"])
    server.inject("drop", after=3)  # key search, two creates, then the third create's reply is lost
    with pytest.raises(RetryableError):
        connector.write("companies", batch, "retry-1")
    assert len(server.odoo.tables["res.partner"]) == before + 3, "the third create was carried out"
    results = connector.write("companies", batch, "retry-1")
    assert all(r.ok for r in results) and len({r.external_id for r in results}) == 3
    assert len(server.odoo.tables["res.partner"]) == before + 3


def test_a_missing_key_field_is_a_config_error(server: OdooServer) -> None:
    with pytest.raises(ConfigError, match="no field 'x_nope' to hold idempotency keys"):
        odoo(server, key_field="x_nope").write("companies", [Record("companies", "", {"name": "A"})], "k")


# -- whole runs through the engine ------------------------------------------------------------------------
def configure(store: Store, srv: OdooServer, name: str = "odoo", batch_size: int = 4, **extra: Any) -> None:
    with store.writing(Context.system("test")) as tx:
        for text in default_mappings().values():
            versions.save(tx.session, text, "test")
        instances.add_instance(tx.session, tx.audit, store.keyring, TYPES, name, "odoo", config(srv, **extra))
        for stream, module, mapping, directions in DEFAULT_ROUTES:
            for direction in directions:
                instances.add_route(tx.session, tx.audit, name, stream, direction, module, mapping,
                                    batch_size=batch_size)


def sync(store: Store, stream: str, direction: str = "inbound", *, full: bool = False,
         name: str = "odoo") -> SyncRun:
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        run, _ = runs.queue(session, name, stream, direction, full=full)
    Runner(store, TYPES, retry=FAST).execute(run.id)
    with Session(store.engine) as session:
        done = session.get(SyncRun, run.id)
        assert done is not None
        return done


def count(store: Store, sql: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def counts(run: SyncRun) -> tuple[int, ...]:
    return (run.read, run.created, run.updated, run.unchanged, run.quarantined)


def test_a_full_inbound_sync_with_the_default_mappings(store: Store, server: OdooServer) -> None:
    configure(store, server, page_size=3)
    done = {stream: sync(store, stream) for stream in SEEDED}
    assert all(r.status == "succeeded" for r in done.values()), {s: r.error for s, r in done.items()}
    assert counts(done["companies"]) == (10, 9, 0, 1, 0)  # the archived one has nothing to delete
    assert counts(done["people"]) == (11, 10, 0, 0, 1)  # li.na@ is not an e-mail address
    assert [counts(done[s]) for s in ("products", "orders", "invoices")] == [(8, 8, 0, 0, 0), (9, 9, 0, 0, 0),
                                                                            (7, 7, 0, 0, 0)]
    for module, n in (("accounts", 9), ("contacts", 10), ("products", 8), ("orders", 9), ("invoices", 7)):
        assert count(store, f"SELECT count(*) FROM {module}") == n, module
    with Session(store.engine) as session:
        (letter,) = session.scalars(sa.select(DeadLetter))
    assert letter.external_id == "15" and "li.na@" in letter.error
    assert count(store, "SELECT count(*) FROM contacts WHERE last_name = '王芳' AND first_name IS NULL") == 1
    assert count(store, "SELECT count(*) FROM orders WHERE total_amount = 189.84 AND status = 'confirmed'") == 1
    assert count(store, "SELECT count(*) FROM invoices WHERE status = 'partially_paid'") == 2

    events = count(store, "SELECT count(*) FROM audit_events")
    again = {stream: sync(store, stream) for stream in SEEDED}
    assert all(r.read == 0 and r.status == "succeeded" for r in again.values())
    full = {stream: sync(store, stream, full=True) for stream in SEEDED}
    assert all(r.created == r.updated == 0 and r.unchanged == r.read - r.quarantined for r in full.values())
    assert count(store, "SELECT count(*) FROM audit_events") == events


def test_a_run_survives_an_outage_resets_and_a_malformed_reply(store: Store, server: OdooServer) -> None:
    configure(store, server, page_size=2, batch_size=3)
    server.outage(after=2, seconds=0.6)  # the server goes away after the second page, then comes back
    server.inject("reset", count=2, after=9)
    server.inject("malformed", after=2)
    run = sync(store, "companies")
    assert run.status == "succeeded", run.error
    assert run.retries >= 4 and server.bounces == 1
    assert count(store, "SELECT count(*) FROM accounts") == 9
    assert count(store, "SELECT count(DISTINCT external_id) FROM bindings WHERE stream = 'companies'") == 9
    assert count(store, "SELECT count(*) FROM audit_events WHERE module = 'accounts' AND action = 'create'") == 9


def test_a_malformed_record_is_quarantined_in_a_run(store: Store, server: OdooServer) -> None:
    configure(store, server)
    server.odoo.corrupt("res.partner", 5, "phone", 12345)
    run = sync(store, "companies")
    assert (run.status, run.created, run.quarantined) == ("succeeded", 8, 1)
    with Session(store.engine) as session:
        (letter,) = session.scalars(sa.select(DeadLetter))
    assert (letter.external_id, letter.error_kind) == ("5", "source")
    assert "field phone: char expected, got 12345" in letter.error


def test_bad_credentials_and_an_internal_url_fail_the_run_cleanly(store: Store, server: OdooServer) -> None:
    configure(store, server, password="wrong")
    run = sync(store, "companies")
    assert (run.status, run.attempts, run.read) == ("failed", 1, 0)
    assert "AuthError" in (run.error or "")
    requests = server.requests
    conf = {k: v for k, v in config(server).items() if k != "allow_internal"}
    with store.writing(Context.system("test")) as tx:
        instances.add_instance(tx.session, tx.audit, store.keyring, TYPES, "inside", "odoo", conf)
        instances.add_route(tx.session, tx.audit, "inside", "companies", "inbound", "accounts", "odoo_companies")
    run = sync(store, "companies", name="inside")
    assert run.status == "failed" and "ConfigError" in (run.error or "") and "internal address" in (run.error or "")
    assert server.requests == requests, "the refused URL was contacted"


def test_hub_records_go_to_odoo_and_their_echo_changes_nothing(store: Store, server: OdooServer) -> None:
    configure(store, server)
    assert sync(store, "companies").created == 9 and sync(store, "people").created == 10
    with store.writing(Context.system("test")) as tx:
        account = tx.write_many("accounts", [Row({
            "name": "北京中关村科技有限公司", "email": "hello@zgc-tech.cn", "phone": "+86 10 8888 6666", "city": "北京",
            "street": "海淀区中关村大街1号", "postal_code": "100080", "country": "CN",
            "website": "https://www.zgc-tech.cn"})]).results[0].id
        contact = tx.write_many("contacts", [Row({
            "first_name": "Lena", "last_name": "Hoffmann", "email": "lena.hoffmann@example.de",
            "mobile": "+49 151 11112222", "job_title": "Einkäuferin", "city": "Köln", "country": "DE"})]).results[0].id
    out = {stream: sync(store, stream, "outbound") for stream in ("companies", "people")}
    assert all((r.status, r.written) == ("succeeded", 1) for r in out.values()), {s: r.error for s, r in out.items()}
    table = server.odoo.tables["res.partner"]
    (company,) = [r for r in table.values() if r["name"] == "北京中关村科技有限公司"]
    (person,) = [r for r in table.values() if r["name"] == "Lena Hoffmann"]
    assert (company["is_company"], company["phone"], company["zip"]) == (True, "+861088886666", "100080")
    assert (person["is_company"], person["function"], person["mobile"]) == (False, "Einkäuferin", "+4915111112222")
    assert server.odoo.tables["res.country"][person["country_id"]]["code"] == "DE"

    events = count(store, "SELECT count(*) FROM audit_events")
    back = {stream: sync(store, stream) for stream in ("companies", "people")}
    assert all(counts(r) == (1, 0, 0, 1, 0) for r in back.values()), {s: counts(r) for s, r in back.items()}
    assert count(store, "SELECT count(*) FROM audit_events") == events, "the echo made audit events"
    assert count(store, "SELECT count(*) FROM accounts") == 10 and count(store, "SELECT count(*) FROM contacts") == 11
    assert all(sync(store, stream, "outbound").written == 0 for stream in ("companies", "people"))

    with store.writing(Context.system("test")) as tx:  # a change in the hub updates the same Odoo partner
        assert account is not None
        tx.update("accounts", account, {"city": "Beijing"})
    assert sync(store, "companies", "outbound").written == 1
    assert company["id"] in table and table[company["id"]]["city"] == "Beijing"
    assert len([r for r in table.values() if r["name"] == "北京中关村科技有限公司"]) == 1
    assert contact is not None


def test_demo_configures_an_instance_that_syncs(store: Store, tmp_path: Any) -> None:
    odoo_server.demo(store, tmp_path)
    again = odoo_server.demo(store, tmp_path)  # idempotent: the instance follows the new server
    assert again.startswith("http://127.0.0.1:")
    with Session(store.engine) as session:
        inst = instances.get_instance(session, "demo-odoo")
        assert inst.config["url"] == again and inst.config["allow_internal"] == ["127.0.0.1"]
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        run, _ = runs.queue(session, "demo-odoo", "companies")
    assert Runner(store, TYPES, retry=FAST).execute(run.id) == "succeeded"


def test_the_fake_serves_concurrent_clients(server: OdooServer) -> None:
    errors: list[Exception] = []

    def reader() -> None:
        try:
            assert len(read(odoo(server, page_size=2), "people")[0]) == 11
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors and time.monotonic() - started < 30
