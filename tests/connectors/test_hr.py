"""The SCIM HR connector against a real SCIM 2.0 server on loopback: the contract, incremental reads with
ties and paging, errors at the boundary, and faults during runs of the sync engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import connectors.hr.scim as scim_module
from connectors.hr.scim import ScimConnector
from connectors.hr.scim_demo import configure, sync_employees, with_hr_plugins
from hub.core.models import Binding, Employee
from hub.core.store import Store
from hub.errors import AuthError, ConfigError, PermanentError, RetryableError
from hub.plugins import plugin_manager
from hub.sync import net
from hub.sync.connector import Checkpoint, Record
from hub.sync.connector_types import connector_types
from hub.sync.retry import RETRY_AFTER_CAP, RetryPolicy
from hub.testing import ConnectorContract
from hub.testing.dns import FixedResolver
from hub.testing.http_listener import HttpListener
from hub.testing.scim_server import SEED_PEOPLE, ScimServer

FAST = RetryPolicy(attempts=8, max_seconds=30, initial=0.05, cap=1.0)


@pytest.fixture
def scim() -> Iterator[ScimServer]:
    with ScimServer() as server:
        yield server


def hr_connector(server: ScimServer, **config: Any) -> ScimConnector:
    return ScimConnector({"url": server.url, "token": server.token, "allow_internal": ["127.0.0.1"], **config})


def read(connector: ScimConnector, stream: str = "employees", state: Any = None) -> tuple[list[Record], Any]:
    items = list(connector.read(stream, state))
    assert isinstance(items[-1], Checkpoint)
    return [i for i in items if isinstance(i, Record)], json.loads(json.dumps(items[-1].state))


def numbers(records: list[Record]) -> list[str]:
    return [r.data["enterprise"]["employeeNumber"] for r in records]


class TestScimEmployeesContract(ConnectorContract):
    stream = "employees"

    @pytest.fixture
    def connector(self, scim: ScimServer) -> ScimConnector:
        return hr_connector(scim, page_size=2)  # small pages: ties and paging on every resume

    @pytest.fixture
    def broken_connector(self, scim: ScimServer) -> ScimConnector:
        return hr_connector(scim, token="not-the-token")


class TestScimOrgUnitsContract(TestScimEmployeesContract):
    stream = "org_units"


# -- reading ----------------------------------------------------------------------------------------------
def test_registered_through_the_hook() -> None:
    pm = plugin_manager(entry_points=False)
    if not pm.is_registered(scim_module):
        pm.register(scim_module)
    assert connector_types(pm)["scim"] is ScimConnector


@pytest.mark.parametrize("stream", ["employees", "org_units"])
def test_every_page_size_and_client_sorting_read_the_same_order(scim: ScimServer, stream: str) -> None:
    reference, _ = read(hr_connector(scim, page_size=100), stream)
    keys = [(r.version, r.external_id) for r in reference]
    assert keys == sorted(keys), "records come in (lastModified, id) order, ties broken by id"
    assert len({v for v, _ in keys}) < len(keys), "the seed has ties (bulk imports share a timestamp)"
    for config in ({"page_size": 1}, {"page_size": 2}, {"page_size": 3}, {"sorting": "client", "page_size": 2}):
        records, _ = read(hr_connector(scim, **config), stream)
        assert [(r.external_id, r.data) for r in records] == [(r.external_id, r.data) for r in reference], config


def test_incremental_reads_yield_only_what_changed(scim: ScimServer) -> None:
    connector = hr_connector(scim, page_size=3)
    first, state = read(connector)
    assert sorted(numbers(first)) == sorted(p[0] for p in SEED_PEOPLE)
    assert read(connector, state=state)[0] == []
    scim.update_user("E1004", title="Senior Sales Representative")
    with scim.same_time():
        scim.update_user("E1008", title="Key Account Manager")
        scim.update_user("E1002", title="Chief Sales Officer")
    changed, state = read(connector, state=state)
    assert numbers(changed)[0] == "E1004" and sorted(numbers(changed)[1:]) == ["E1002", "E1008"]
    assert changed[0].data["title"] == "Senior Sales Representative"
    assert read(connector, state=state)[0] == []


def test_a_change_during_a_paged_read_is_neither_lost_nor_stale(scim: ScimServer) -> None:
    seen: dict[str, Record] = {}
    for n, item in enumerate(hr_connector(scim, page_size=2).read("employees", None)):
        if isinstance(item, Record):
            seen[item.data["enterprise"]["employeeNumber"]] = item
        if n == 4:  # two records in: change one already read and one not read yet
            scim.update_user("E1001", title="Chair")
            scim.update_user("E1010", title="Support Engineer")
    assert sorted(seen) == sorted(p[0] for p in SEED_PEOPLE)
    assert seen["E1001"].data["title"] == "Chair" and seen["E1010"].data["title"] == "Support Engineer"


def test_records_carry_manager_numbers_org_units_and_short_extension_keys(scim: ScimServer) -> None:
    records, _ = read(hr_connector(scim))
    li = next(r for r in records if r.data["enterprise"]["employeeNumber"] == "E1004")
    assert li.data["enterprise"]["manager"]["employeeNumber"] == "E1003"
    assert li.data["orgUnit"]["display"] == "Sales China"
    assert li.data["primaryEmail"] == "li.wei@hub.example"
    assert li.data["name"] == {"familyName": "李", "givenName": "伟", "formatted": "李伟 Li Wei"}
    assert li.data["employment"]["hireDate"] == "2019-04-01" and "schemas" not in li.data
    units, _ = read(hr_connector(scim), "org_units")
    china = next(u for u in units if u.data["displayName"] == "Sales China")
    assert china.data["parent"]["display"] == "Sales" and china.data["manager"]["employeeNumber"] == "E1003"
    assert "members" not in china.data


def test_org_unit_parents_from_names(scim: ScimServer) -> None:
    scim.add_group("Sales / Japan")
    units, _ = read(hr_connector(scim, org_unit_separator=" / "), "org_units")
    japan = next(u for u in units if u.data["displayName"] == "Sales / Japan")
    assert japan.data["parent"] == {"value": None, "display": "Sales"}


def test_a_user_filter_limits_the_employees(scim: ScimServer) -> None:
    records, _ = read(hr_connector(scim, user_filter='title eq "Sales Representative"', page_size=2))
    assert sorted(numbers(records)) == ["E1004", "E1005", "E1007", "E1008"]


def test_a_resource_without_a_usable_timestamp_is_a_failed_record(scim: ScimServer) -> None:
    scim.users[scim.user_id("E1010")]["meta"]["lastModified"] = "last tuesday"  # the server sorts it last
    records, _ = read(hr_connector(scim, page_size=100))
    assert records[0].error is not None and "last tuesday" in records[0].error
    assert sorted(numbers(records[1:])) == sorted(p[0] for p in SEED_PEOPLE if p[0] != "E1010")


# -- errors at the boundary ------------------------------------------------------------------------------
def test_a_bad_token_is_an_auth_error_that_does_not_show_the_token(scim: ScimServer) -> None:
    connector = hr_connector(scim, token="s3cr3t-wrong-token")
    with pytest.raises(AuthError, match="401") as caught:
        connector.check()
    assert "s3cr3t" not in str(caught.value)
    with pytest.raises(AuthError):
        list(connector.read("employees", None))


def test_internal_addresses_are_refused_unless_allowed(scim: ScimServer) -> None:
    connector = ScimConnector({"url": scim.url, "token": scim.token})
    with pytest.raises(ConfigError, match="internal address"):
        connector.check()
    with pytest.raises(ConfigError, match="allowed_hosts"):
        hr_connector(scim, allowed_hosts=["hr.example.com"]).check()
    assert not [h for h in scim.hits], "nothing was sent to the refused address"


@pytest.mark.parametrize(("kind", "options", "match"), [
    ("429", {"retry_after": 7}, "HTTP 429"),
    ("status", {"status": 408}, "HTTP 408"),
    ("status", {"status": 425}, "HTTP 425"),
    ("status", {"status": 503, "retry_after": "Fri, 01 Jan 2100 00:00:00 GMT"}, "HTTP 503"),
    ("500", {}, "HTTP 500"),
    ("reset", {}, "reset by the server"),
    ("malformed", {}, "not JSON"),
    ("slow", {"delay": 1.0}, "timed out: did not answer within 0.3 s"),
    ("stop", {}, "ConnectionError|reset|refused"),
])
def test_transient_failures_are_retryable(scim: ScimServer, kind: str, options: dict[str, Any], match: str) -> None:
    scim.fail(kind, path="/Users", **options)
    with pytest.raises(RetryableError, match=match) as caught:
        list(hr_connector(scim, timeout=0.3).read("employees", None))
    if kind == "429":
        assert caught.value.retry_after == 7
    if options.get("status") == 503:  # an HTTP date far ahead waits at most RETRY_AFTER_CAP
        assert caught.value.retry_after == RETRY_AFTER_CAP


@pytest.fixture
def hr_on_127_0_0_2() -> Iterator[ScimServer]:
    """The SCIM server on 127.0.0.2, so 127.0.0.1 can stand for an internal address that is not allowed."""
    with ScimServer(host="127.0.0.2") as server:
        yield server


def test_an_internal_proxy_is_refused_before_any_byte_reaches_it(hr_on_127_0_0_2: ScimServer) -> None:
    scim = hr_on_127_0_0_2
    with HttpListener("127.0.0.1") as proxy:
        conf = {"url": scim.url, "token": scim.token, "allow_internal": ["127.0.0.2"], "proxy": proxy.url}
        for call in (ScimConnector(conf).check, lambda: list(ScimConnector(conf).read("employees", None))):
            with pytest.raises(ConfigError, match=r"^proxy: refused: 127\.0\.0\.1 resolves to the internal address"):
                call()
        assert proxy.connections == 0 and scim.hits == []
        allowed = ScimConnector({**conf, "allow_internal": ["127.0.0.2", "127.0.0.1"]})
        records, _ = read(allowed)
        assert records and proxy.saw(f"GET {scim.url}/Users") and proxy.saw(f"Bearer {scim.token}")


def test_a_redirect_to_an_internal_address_is_not_followed(hr_on_127_0_0_2: ScimServer) -> None:
    with HttpListener("127.0.0.1") as internal, \
            HttpListener("127.0.0.2", redirect=f"{internal.url}/scim/v2/Users") as redirector:
        conf = {"url": f"{redirector.url}/scim/v2", "token": "t0ken", "allow_internal": ["127.0.0.2"]}
        with pytest.raises(PermanentError, match="redirects are not followed"):
            ScimConnector(conf).check()
        assert redirector.connections == 1 and internal.connections == 0


def test_each_connection_goes_to_the_address_the_guard_checked(scim: ScimServer) -> None:
    connector = hr_connector(scim, url=scim.url.replace("127.0.0.1", "hr.test"))  # unknown to the system
    resolve = FixedResolver("127.0.0.1")
    connector_guard = net.Guard(("127.0.0.1",), resolve=resolve)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(net.Guard, "from_config", classmethod(lambda cls, config: connector_guard))
        connector.check()
    assert scim.hits and set(resolve.calls) == {"hr.test"}


def test_a_name_that_rebinds_to_an_internal_address_is_refused(scim: ScimServer) -> None:
    connector = hr_connector(scim, url=scim.url.replace("127.0.0.1", "hr.test"))
    rebinding = net.Guard(("127.0.0.2",), resolve=FixedResolver("127.0.0.2", "127.0.0.1"))  # checked, then rebound
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(net.Guard, "from_config", classmethod(lambda cls, config: rebinding))
        with pytest.raises(ConfigError, match=r"internal address 127\.0\.0\.1"):
            connector.check()
    assert scim.hits == []


def test_refusals_are_permanent_or_config_errors(scim: ScimServer) -> None:
    with pytest.raises(ConfigError, match="404"):
        ScimConnector({"url": scim.url.replace("/scim/v2", "/nope"), "token": scim.token,
                       "allow_internal": ["127.0.0.1"]}).check()
    with pytest.raises(PermanentError, match="invalidFilter"):
        list(hr_connector(scim, user_filter="title eq").read("employees", None))
    with pytest.raises(PermanentError, match="cursor"):
        list(hr_connector(scim).read("employees", {"lastModified": "not a date", "id": "x"}))


# -- faults during runs of the sync engine --------------------------------------------------------------
@pytest.fixture
def hr_store(store: Store) -> Store:
    return with_hr_plugins(store)


def employee_numbers(store: Store) -> list[str]:
    with Session(store.engine) as session:
        return sorted(session.scalars(select(Employee.employee_number)))


def test_a_server_that_goes_down_mid_run_is_resumed_from_the_checkpoint(hr_store: Store, scim: ScimServer) -> None:
    configure(hr_store, scim.url, scim.token, instance="hr", config={"allow_internal": ["127.0.0.1"], "page_size": 2},
              batch_size=2)
    scim.fail("stop", path="/Users", after=3, restart_after=0.3)
    run = sync_employees(hr_store, "hr", retry=FAST)
    assert run.status == "succeeded", run.error
    assert run.retries >= 1
    assert (run.created, run.updated) == (len(SEED_PEOPLE), 0), "nothing lost, nothing written twice"
    assert employee_numbers(hr_store) == sorted(p[0] for p in SEED_PEOPLE)
    with Session(hr_store.engine) as session:
        assert session.scalar(select(func.count()).select_from(Binding).where(Binding.stream == "employees")) == 10
    down = next(i for i, h in enumerate(scim.hits) if h.status == 0)
    resumed = next(h for h in scim.hits[down + 1:] if h.status == 200 and "/Users?" in h.target)
    assert "filter=meta.lastModified" in resumed.target, "the retry read on from the committed checkpoint"


def test_retry_after_is_honoured_by_the_engine(hr_store: Store, scim: ScimServer) -> None:
    configure(hr_store, scim.url, scim.token, instance="hr", config={"allow_internal": ["127.0.0.1"]})
    scim.fail("429", path="/Users", retry_after=1.5)
    run = sync_employees(hr_store, "hr", retry=RetryPolicy(attempts=4, max_seconds=30, initial=0.01, cap=1.0))
    assert run.status == "succeeded" and run.retries == 1
    refused = next(h for h in scim.hits if h.status == 429)
    after = next(h for h in scim.hits if h.at > refused.at)
    assert after.at - refused.at >= 1.5, "the retry waited at least Retry-After (backoff alone is at most 1.01 s)"
    assert len(employee_numbers(hr_store)) == len(SEED_PEOPLE)


def test_a_bad_token_fails_the_run_with_an_auth_error(hr_store: Store, scim: ScimServer) -> None:
    configure(hr_store, scim.url, "wrong-token", instance="hr", config={"allow_internal": ["127.0.0.1"]})
    run = sync_employees(hr_store, "hr", retry=FAST)
    assert run.status == "failed" and run.error is not None and run.error.startswith("AuthError")
    assert run.retries == 0 and employee_numbers(hr_store) == []


def test_an_internal_url_is_refused_by_the_engine(hr_store: Store, scim: ScimServer) -> None:
    configure(hr_store, scim.url, scim.token, instance="hr")
    run = sync_employees(hr_store, "hr", retry=FAST)
    assert run.status == "failed" and run.error is not None and "internal address" in run.error
    assert scim.hits == [] and employee_numbers(hr_store) == []


def test_the_demo_syncs_and_offboards(store: Store, tmp_path: Any) -> None:
    from connectors.hr import scim_demo
    from hub.core import users
    from hub.core.actor import Context

    with store.writing(Context.system("test")) as tx:
        for name in ("wang.fang", "zhang.min"):
            users.create_user(tx.session, tx.audit, name, email=f"{name}@hub.example")
        zhang = users.user_by_name(tx.session, "zhang.min").id
        account = tx.create("accounts", {"name": "Zhang's account", "owner_id": zhang})["id"]
    try:
        text = scim_demo.demo(store, tmp_path)
    finally:
        while scim_demo._servers:
            scim_demo._servers.pop().stop()
    assert "user zhang.min disabled" in text and "demo-hr" in text
    with store.reading(Context.system("test")) as tx:
        owner = tx.get("accounts", account)["owner_id"]
        assert owner == users.user_by_name(tx.session, "wang.fang").id
    assert json.loads((tmp_path / "demo-hr.json").read_text())["instance"] == "demo-hr"
