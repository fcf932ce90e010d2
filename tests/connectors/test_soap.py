"""The SOAP connector (types soap and nav) over HTTP against a real SOAP service on loopback (no mocks).

The service is hub.testing.soap_server: a NAV-style Customer page with a real WSDL. The contract suite runs
against both types; then paging, incremental reads, writes and conflicts, faults (outages, resets, server
faults, malformed answers, timeouts), the hardening (DTDs, imports, internal addresses), and whole runs
through Hub's engine (Runner.execute) on SQLite and PostgreSQL with the shipped mapping.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import connectors.erp.soap as soap_module
from connectors.erp.soap import MAPPINGS, SoapConnector
from connectors.erp.soap_nav import NavConnector
from hub.core.actor import Context
from hub.core.store import Store
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
from hub.testing import ConnectorContract
from hub.testing.dns import FixedResolver
from hub.testing.http_listener import HttpListener
from hub.testing.nav_page import CONFLICT
from hub.testing.soap_server import SoapServer, serve

USERS = {"hub": "s3cret"}
TYPES: dict[str, type[Connector]] = {"soap": SoapConnector, "nav": NavConnector}
FAST = RetryPolicy(attempts=6, max_seconds=30, initial=0.2, cap=0.6)


@pytest.fixture
def server() -> Iterator[SoapServer]:
    srv, _ = serve(customers=30, users=USERS)
    yield srv
    srv.close()


def nav_config(server: SoapServer, **extra: Any) -> dict[str, Any]:
    return {"wsdl": server.url, "username": "hub", "password": "s3cret", "timeout": 5, "page_size": 7,
            "allow_internal": ["127.0.0.1"], "streams": {"customers": {"page": "Customer", "ref_field": "Hub_Ref"}},
            **extra}


def soap_config(server: SoapServer) -> dict[str, Any]:
    """The same service through the generic connector, spelt out."""
    return {"wsdl": server.url, "username": "hub", "password": "s3cret", "timeout": 5,
            "allow_internal": ["127.0.0.1"], "streams": {"customers": {
                "read": {"operation": "ReadMultiple", "result_path": "ReadMultiple_Result.Customer",
                         "args": {"filter": [{"Field": "No", "Criteria": ""},
                                             {"Field": "Last_Date_Modified", "Criteria": ">={since}"}]},
                         "paging": {"kind": "bookmark", "request_field": "bookmarkKey", "size_field": "setSize",
                                    "size": 8, "key_field": "Key"}},
                "write": {"create": "Create", "update": "Update", "entity": "Customer", "key_field": "Key",
                          "read": "Read", "ref_field": "Hub_Ref", "find": {
                              "operation": "ReadMultiple", "result_path": "ReadMultiple_Result.Customer",
                              "args": {"filter": [{"Field": "Hub_Ref", "Criteria": "{ref}"}], "setSize": 1}}},
                "id_field": "No", "version_field": "Key", "cursor_field": "Last_Date_Modified"}}}


def read(connector: Connector, state: Any = None) -> tuple[list[Record], Any]:
    items = list(connector.read("customers", state))
    assert isinstance(items[-1], Checkpoint)
    return [i for i in items if isinstance(i, Record)], json.loads(json.dumps(items[-1].state))


def ids(records: list[Record]) -> list[str]:
    return [r.external_id for r in records]


class TestNavContract(ConnectorContract):
    stream = "customers"
    write_stream = "customers"

    @pytest.fixture
    def connector(self, server: SoapServer) -> Connector:
        return NavConnector(nav_config(server))

    @pytest.fixture
    def broken_connector(self, server: SoapServer) -> Connector:
        return NavConnector({**nav_config(server), "password": "wrong"})

    def sample_records(self) -> list[Record]:
        return [Record("customers", "", {"Name": "Ada Trading Ltd", "City": "London"}),
                Record("customers", "", {"Name": "远航贸易", "Credit_Limit_LCY": "2500.50"})]


class TestSoapContract(TestNavContract):
    @pytest.fixture
    def connector(self, server: SoapServer) -> Connector:
        return SoapConnector(soap_config(server))

    @pytest.fixture
    def broken_connector(self, server: SoapServer) -> Connector:
        return SoapConnector({**soap_config(server), "password": "wrong"})


def test_the_documented_configs_are_valid() -> None:
    text = (Path(__file__).parents[2] / "docs" / "connectors" / "soap.md").read_text(encoding="utf-8")
    generic, nav = [json.loads(block.split("```", 1)[0]) for block in text.split("```json\n")[1:3]]
    assert SoapConnector(generic).specs["customers"].write is not None
    assert NavConnector(nav).specs["contacts"].write is None


def test_registered_through_the_hook() -> None:
    types = connector_types(plugin_manager([soap_module], entry_points=False))
    assert types["soap"] is SoapConnector and types["nav"] is NavConnector


# -- reading ------------------------------------------------------------------------------------------
def test_bookmark_paging_reads_every_record_once_in_order(server: SoapServer) -> None:
    server.page.seed(53)
    items = list(NavConnector(nav_config(server, page_size=10)).read("customers", None))
    records = [i for i in items if isinstance(i, Record)]
    assert ids(records) == [f"C{i:05d}" for i in range(1, 54)]
    assert server.calls("ReadMultiple") == 6  # 5 full pages and a short one
    assert sum(isinstance(i, Checkpoint) for i in items) == 6
    assert records[0].version == records[0].data["Key"] and records[0].data["Credit_Limit_LCY"] == "1000"


def test_incremental_reads_changes_since_the_checkpoint_ties_included(server: SoapServer) -> None:
    nav = NavConnector(nav_config(server))
    first, state = read(nav)
    assert len(first) == 30 and state["since"] == server.page.today.isoformat()
    assert read(nav, state)[0] == []  # records of the last day are remembered, not read again
    server.page.modify("C00003", Name="Changed the same day")  # the same date as the cursor: a tie
    server.page.create({"Name": "New Customer Ltd"})
    changed, state = read(nav, state)
    assert ids(changed) == ["C00003", "C00031"]
    assert changed[0].data["Name"] == "Changed the same day"
    assert read(nav, state)[0] == []


def test_resuming_in_the_middle_of_a_scan_loses_and_repeats_nothing(server: SoapServer) -> None:
    nav = NavConnector(nav_config(server, page_size=4))
    items = list(nav.read("customers", None))
    middle = [i for i in items if isinstance(i, Checkpoint)][3].state
    server.page.modify("C00002", City="Hamburg")  # before the bookmark: the next scan has it
    rest, end = read(nav, json.loads(json.dumps(middle)))
    assert ids(rest) == [f"C{i:05d}" for i in range(17, 31)]
    assert ids(read(nav, end)[0]) == ["C00002"]


def test_offset_paging_and_a_stream_without_cursor(server: SoapServer) -> None:
    conf = soap_config(server)
    conf["streams"]["customers"].update(read={
        "operation": "ReadPage", "result_path": "ReadPage_Result.Customer",
        "paging": {"kind": "offset", "request_field": "skip", "size_field": "setSize", "size": 7}})
    del conf["streams"]["customers"]["cursor_field"]
    generic = SoapConnector(conf)
    records, state = read(generic)
    assert ids(records) == [f"C{i:05d}" for i in range(1, 31)] and state["offset"] == 30
    server.page.create({"Name": "Appended Ltd"})
    server.page.modify("C00001", Name="Not seen without a cursor")
    assert ids(read(generic, state)[0]) == ["C00031"]


def test_a_record_that_does_not_parse_is_quarantined_and_the_page_goes_on(server: SoapServer) -> None:
    server.page.modify("C00005", Credit_Limit_LCY="12,5 EUR")  # today: at the cursor the read ends with
    nav = NavConnector(nav_config(server))
    records, state = read(nav)
    assert len(records) == 30
    bad = next(r for r in records if r.error)
    assert bad.external_id == "C00005" and "ReadMultiple" in (bad.error or "")
    assert "Credit_Limit_LCY: '12,5 EUR' is not a valid decimal" in (bad.error or "")
    assert "<No>C00005</No>" in bad.data["__raw__"]
    assert ids(read(nav, state)[0]) == []  # unchanged, the broken record is not quarantined again
    server.page.modify("C00005", Name="Still broken")
    assert ids(read(nav, state)[0]) == ["C00005"]


def test_a_client_fault_on_read_is_permanent(server: SoapServer) -> None:
    conf = nav_config(server)
    conf["streams"]["customers"]["filters"] = [{"Field": "No_Such_Field", "Criteria": "x"}]
    with pytest.raises(PermanentError, match=r"Soap:Client.*No_Such_Field"):
        read(NavConnector(conf))


# -- transport faults: each is a clear RetryableError ---------------------------------------------------
@pytest.mark.parametrize(("kind", "message"), [("reset", "reset by the server"), ("server_fault", "Soap:Server"),
                                               ("http500", "HTTP 500"), ("malformed", "malformed response")])
def test_transport_faults_are_retryable(server: SoapServer, kind: str, message: str) -> None:
    nav = NavConnector(nav_config(server))
    server.inject(kind, op="ReadMultiple", after=1)
    with pytest.raises(RetryableError, match=message):
        read(nav)
    assert len(read(nav)[0]) == 30  # the next attempt goes through


def test_every_call_has_a_timeout(server: SoapServer) -> None:
    nav = NavConnector(nav_config(server, timeout=0.5))
    nav.check()
    server.inject("slow", op="ReadMultiple", delay=2.0)
    started = time.monotonic()
    with pytest.raises(RetryableError, match=re.escape("did not answer within 0.5 s")):
        read(nav)
    assert time.monotonic() - started < 1.5


def test_a_stopped_service_is_retryable_and_the_same_port_serves_again(server: SoapServer) -> None:
    nav = NavConnector(nav_config(server))
    nav.check()
    server.stop()
    with pytest.raises(RetryableError, match="refused"):
        read(nav)
    server.start()
    assert len(read(nav)[0]) == 30


def test_wrong_credentials_are_an_auth_error(server: SoapServer) -> None:
    with pytest.raises(AuthError, match="401"):
        NavConnector({**nav_config(server), "password": "nope"}).check()


# -- hardening ----------------------------------------------------------------------------------------
def test_a_wsdl_with_a_dtd_is_refused_within_a_second(server: SoapServer) -> None:
    nav = NavConnector({**nav_config(server), "wsdl": server.variant_url("dtd")})
    started = time.monotonic()
    with pytest.raises(ConfigError, match="DTD or entity declaration"):
        nav.check()
    assert time.monotonic() - started < 1.0


def test_an_answer_with_a_dtd_is_refused_at_once(server: SoapServer) -> None:
    nav = NavConnector(nav_config(server))
    nav.check()
    server.inject("dtd", op="ReadMultiple")
    started = time.monotonic()
    with pytest.raises(PermanentError, match="refused an answer with a DTD"):
        read(nav)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("imports", ["none", "same_host"])
def test_a_wsdl_importing_from_another_host_is_refused(server: SoapServer, imports: str) -> None:
    nav = NavConnector({**nav_config(server), "wsdl": server.variant_url("import"), "wsdl_imports": imports})
    with pytest.raises(ConfigError, match=r"imports another document|refused to load 'http://localhost"):
        nav.check()
    assert not [r for r in server.requests if r[1].startswith("/other/")], "the import was fetched"


def test_an_internal_address_that_is_not_allowed_is_refused_without_a_connection(server: SoapServer) -> None:
    conf = {k: v for k, v in nav_config(server).items() if k != "allow_internal"}
    for call in (NavConnector(conf).check, NavConnector(conf).discover, lambda: read(NavConnector(conf))):
        with pytest.raises(ConfigError, match=re.escape("internal address 127.0.0.1")):
            call()
    with pytest.raises(ConfigError, match=re.escape("internal address 10.1.2.3")):
        NavConnector({**nav_config(server), "endpoint": "http://10.1.2.3/WS/Page/Customer"}).check()
    assert server.requests == [], "the connector connected anyway"


def test_a_wsdl_naming_another_service_address_is_refused_before_posting(server: SoapServer) -> None:
    with pytest.raises(ConfigError, match=re.escape("refused to post to 'http://10.255.255.1")):
        NavConnector({**nav_config(server), "wsdl": server.variant_url("elsewhere")}).check()
    assert [r[0] for r in server.requests] == ["GET"]


def by_name(server: SoapServer, guard: Guard) -> NavConnector:
    """The service reached as soap.test (a name only ``guard``'s resolver knows), WSDL and endpoint alike."""
    url = server.url.replace("127.0.0.1", "soap.test")
    nav = NavConnector(nav_config(server, wsdl=url, endpoint=url))
    nav.reach = dataclasses.replace(nav.reach, guard=guard)
    return nav


def test_each_connection_goes_to_the_address_the_guard_checked(server: SoapServer) -> None:
    resolve = FixedResolver("127.0.0.1")
    by_name(server, Guard(("127.0.0.1",), resolve=resolve)).check()
    assert [r[0] for r in server.requests][:2] == ["GET", "POST"] and set(resolve.calls) == {"soap.test"}


def test_a_name_that_rebinds_to_an_internal_address_is_refused(server: SoapServer) -> None:
    # the WSDL and endpoint URLs are checked (127.0.0.2, allowed), then the name rebinds to 127.0.0.1
    nav = by_name(server, Guard(("127.0.0.2",), resolve=FixedResolver("127.0.0.2", "127.0.0.2", "127.0.0.1")))
    with pytest.raises(ConfigError, match=r"internal address 127\.0\.0\.1"):
        nav.check()
    assert server.requests == []


def test_proxies_from_the_environment_are_not_used(server: SoapServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with HttpListener("127.0.0.1") as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy.url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.setenv(name, "")
        NavConnector(nav_config(server)).check()
        assert proxy.connections == 0 and server.requests


def test_a_bad_regular_expression_is_a_config_error(server: SoapServer) -> None:
    with pytest.raises(ConfigError, match="retryable_faults"):
        NavConnector({**nav_config(server), "retryable_faults": ["("]})


# -- writing ------------------------------------------------------------------------------------------
def test_create_and_update_by_key(server: SoapServer) -> None:
    nav = NavConnector(nav_config(server))
    old_key, city = server.page.rows["C00004"]["Key"], server.page.rows["C00004"]["City"]
    new, updated = nav.write("customers", [Record("customers", "", {"Name": "Neu GmbH", "City": "Berlin"}),
                                           Record("customers", "C00004", {"Name": "Renamed Ltd"})], "k1")
    assert new.ok and new.external_id == "C00031" and new.version == server.page.rows["C00031"]["Key"]
    assert server.page.rows["C00031"]["Hub_Ref"].startswith("hub-")
    assert updated.ok and updated.version != old_key and server.page.rows["C00004"]["Name"] == "Renamed Ltd"
    assert server.page.rows["C00004"]["City"] == city  # fields not written keep their values


def test_an_outdated_key_from_the_hub_is_a_permanent_conflict(server: SoapServer) -> None:
    nav = NavConnector(nav_config(server))
    seen = server.page.rows["C00002"]["Key"]
    server.page.modify("C00002", City="Changed in NAV")
    [result] = nav.write("customers", [Record("customers", "C00002", {"Name": "Hub Name"}, version=seen)], "k2")
    assert not result.ok and not result.retryable
    assert CONFLICT[:40] in (result.error or "") and "outdated" in (result.error or "")
    assert server.page.rows["C00002"]["Name"] != "Hub Name"


def test_a_conflict_after_the_connectors_own_read_is_retried_once(server: SoapServer) -> None:
    nav = NavConnector(nav_config(server))
    server.before("Update", lambda: server.page.modify("C00002", City="Changed meanwhile"))
    [ok] = nav.write("customers", [Record("customers", "C00002", {"Name": "Hub Name"})], "k3")
    assert ok.ok and server.page.rows["C00002"]["Name"] == "Hub Name"
    assert server.page.rows["C00002"]["City"] == "Changed meanwhile"
    assert server.calls("Update") == 2
    for _ in range(2):
        server.before("Update", lambda: server.page.modify("C00003", City="Again"))
    [failed] = nav.write("customers", [Record("customers", "C00003", {"Name": "Hub Name"})], "k4")
    assert not failed.ok and "changed again" in (failed.error or "")


def test_a_repeated_key_writes_nothing_again_even_in_a_new_process(server: SoapServer) -> None:
    batch = [Record("customers", "", {"Name": "Once Ltd"}), Record("customers", "C00006", {"City": "Xi'an"})]
    first = NavConnector(nav_config(server)).write("customers", batch, "key-1")
    calls = (server.calls("Create"), server.calls("Update"))
    again = NavConnector(nav_config(server)).write("customers", batch, "key-1")  # no memory of key-1
    assert [(r.ok, r.external_id, r.version) for r in again] == [(r.ok, r.external_id, r.version) for r in first]
    assert (server.calls("Create"), server.calls("Update")) == calls
    assert sum(1 for c in server.page.customers() if c["Name"] == "Once Ltd") == 1


def test_a_client_fault_fails_that_record_and_a_server_fault_the_batch(server: SoapServer) -> None:
    nav = NavConnector(nav_config(server))
    results = nav.write("customers", [Record("customers", "", {"Name": ""}),
                                      Record("customers", "C00007", {"Credit_Limit_LCY": "-1"}),
                                      Record("customers", "C00008", {"Name": "Fine Ltd"})], "k5")
    assert [r.ok for r in results] == [False, False, True]
    assert "Name must have a value" in (results[0].error or "") and not results[0].retryable
    server.inject("server_fault", op="Create", after=1)
    batch = [Record("customers", "", {"Name": "First Ltd"}), Record("customers", "", {"Name": "Second Ltd"})]
    with pytest.raises(RetryableError, match="Soap:Server"):
        nav.write("customers", batch, "k6")
    assert [r.ok for r in nav.write("customers", batch, "k6")] == [True, True]
    assert [c["Name"] for c in server.page.customers()].count("First Ltd") == 1


# -- through the engine (SQLite and PostgreSQL) ---------------------------------------------------------
def configure(store: Store, server: SoapServer, directions: tuple[str, ...] = ("inbound",), **extra: Any) -> None:
    spec = (MAPPINGS / "nav_customers.yaml").read_text(encoding="utf-8")
    with store.writing(Context.system("test")) as tx:
        versions.save(tx.session, spec, "test")
        instances.add_instance(tx.session, tx.audit, store.keyring, TYPES, "nav", "nav", nav_config(server, **extra))
        for direction in directions:
            instances.add_route(tx.session, tx.audit, "nav", "customers", direction, "accounts", "nav_customers",
                                batch_size=10, max_attempts=3)


def execute(store: Store, direction: str = "inbound", full: bool = False) -> SyncRun:
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        run, _ = runs.queue(session, "nav", "customers", direction, full=full)
    Runner(store, TYPES, lease_seconds=30, retry=FAST).execute(run.id)
    with Session(store.engine) as session:
        row = session.get(SyncRun, run.id)
        assert row is not None
        return row


def bound(store: Store) -> dict[str, str]:
    """NAV customer No -> hub account name, for every live account bound to the nav instance."""
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT b.external_id, a.name FROM bindings b JOIN accounts a ON a.id = "
                                    "b.record_id WHERE b.connector = 'nav' AND a.deleted_at IS NULL")).all()
    assert len(rows) == len({r[0] for r in rows}), "an external id is bound twice"
    return {r[0]: r[1] for r in rows}


def expected(server: SoapServer) -> dict[str, str]:
    return {c["No"]: c["Name"] for c in server.page.customers()}


def test_an_inbound_sync_lands_every_customer_once_and_again_changes_nothing(store: Store,
                                                                            server: SoapServer) -> None:
    configure(store, server)
    run = execute(store)
    assert (run.status, run.read, run.created, run.quarantined) == ("succeeded", 30, 30, 0), run.error
    assert bound(store) == expected(server)
    with store.reading(Context.system("test")) as tx:
        one = tx.get("accounts", next(iter(tx.query("accounts", [], limit=1)))["id"])
    assert one["account_type"] == "customer"
    again = execute(store)
    assert (again.status, again.read, again.created, again.updated) == ("succeeded", 0, 0, 0)
    full = execute(store, full=True)
    assert (full.status, full.read, full.unchanged, full.created, full.updated) == ("succeeded", 30, 30, 0, 0)


def test_a_service_outage_in_the_middle_of_a_run_resumes_without_loss_or_duplicates(store: Store,
                                                                                   server: SoapServer) -> None:
    server.page.seed(60)
    configure(store, server)
    server.inject("outage", op="ReadMultiple", after=3, delay=0.8)  # down for 0.8 s after three pages
    server.inject("reset", op="ReadMultiple", after=5)
    run = execute(store)
    assert run.status == "succeeded", run.error
    assert run.retries >= 2 and (run.read, run.created, run.unchanged) == (60, 60, 0)  # resumed, not restarted
    assert bound(store) == expected(server)


def test_a_malformed_answer_is_retried_and_a_bad_record_quarantined(store: Store, server: SoapServer) -> None:
    server.page.rows["C00009"]["Credit_Limit_LCY"] = "n/a"
    configure(store, server)
    server.inject("malformed", op="ReadMultiple", after=1)
    run = execute(store)
    assert (run.status, run.created, run.quarantined, run.retries) == ("succeeded", 29, 1, 1), run.error
    with Session(store.engine) as session:
        [letter] = session.scalars(sa.select(DeadLetter))
    assert letter.external_id == "C00009" and letter.error_kind == "source"
    assert "Credit_Limit_LCY: 'n/a' is not a valid decimal" in letter.error


def test_outbound_creates_and_updates_by_key_and_dead_letters_bad_data(store: Store, server: SoapServer) -> None:
    configure(store, server, directions=("inbound", "outbound"))
    assert execute(store).created == 30
    with store.writing(Context.system("test")) as tx:
        existing = tx.query("accounts", [], limit=1)[0]
        tx.update("accounts", existing["id"], {"name": "Renamed In Hub Ltd"})
        new = tx.create("accounts", {"name": "Hub Created Ltd", "email": "hello@hub-created.example.com"})
        tx.create("accounts", {"name": "X" * 150})  # NAV's Name holds 100 characters: a Client fault
        tx.create("accounts", {"name": "Prospect Ltd", "account_type": "prospect"})  # filtered out
    server.inject("server_fault", op="Create")  # retried with the same idempotency key
    out = execute(store, "outbound")
    assert (out.status, out.written, out.quarantined) == ("succeeded", 2, 1), out.error
    names = expected(server)
    assert "Renamed In Hub Ltd" in names.values() and list(names.values()).count("Hub Created Ltd") == 1
    created_no = next(no for no, name in names.items() if name == "Hub Created Ltd")
    with Session(store.engine) as session:
        [letter] = session.scalars(sa.select(DeadLetter).where(DeadLetter.direction == "outbound"))
        version = session.execute(sa.text("SELECT remote_version FROM bindings WHERE external_id = :e"),
                                  {"e": created_no}).scalar_one()
    assert "must be less than or equal to 100" in letter.error
    assert version == server.page.rows[created_no]["Key"]
    assert execute(store, "outbound").written == 0
    back = execute(store)  # NAV's changes come back bound to the hub's accounts: no duplicates
    assert (back.status, back.created) == ("succeeded", 0)
    assert bound(store)[created_no] == "Hub Created Ltd"
    assert new["id"] is not None and str(uuid.UUID(str(new["id"])))
