"""The finance-over-SFTP connector against a real OpenSSH sshd on loopback: the contract, invoices and bank
statements through the engine with payment matching, exactly-once file handling, faults, and the outbound CSV.

The sshd (hub.testing.sshd) is installed with apt-get when missing; without root or openssh-server the
tests are skipped, except with CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import connectors.finance.sftp as sftp_module
from connectors.finance import camt053
from connectors.finance.sftp import TYPE_NAME, SftpFinanceConnector
from connectors.finance.sftp_demo import camt053_document, demo, invoice_export, mapping_specs
from hub.core.actor import Context
from hub.core.store import Store
from hub.errors import AuthError, ConfigError, PermanentError
from hub.mappings import versions
from hub.plugins import plugin_manager
from hub.sync import instances, runs
from hub.sync.connector import Checkpoint, Connector, Record
from hub.sync.connector_types import connector_types
from hub.sync.models import DeadLetter, SyncRun
from hub.sync.retry import RetryPolicy
from hub.sync.runner import Runner
from hub.testing import ConnectorContract
from hub.testing.sshd import SshdUnavailable, SshServer, ensure_openssh, ensure_user
from tests.conftest import CI

TYPES: dict[str, type[Connector]] = {TYPE_NAME: SftpFinanceConnector}
FAST = RetryPolicy(attempts=12, max_seconds=40, initial=0.1, cap=0.8)
CTX = Context.system("test")
MAPPING = {"invoices": ("invoices", "sftp_finance_invoices"),
           "bank_transactions": ("payments", "sftp_finance_payments"),
           "customers": ("accounts", "sftp_finance_customers")}


# -- fixtures and helpers --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def openssh() -> None:
    try:
        ensure_openssh()
        ensure_user()
    except SshdUnavailable as e:
        if CI:
            pytest.fail(f"OpenSSH's sshd is not available (CI=true: this is a failure, not a skip): {e}")
        pytest.skip(f"OpenSSH's sshd is not available: {e}")


@pytest.fixture
def server(openssh: None) -> Iterator[SshServer]:
    s = SshServer.create()
    s.start()
    yield s
    s.close()


def config(server: SshServer, **extra: Any) -> dict[str, Any]:
    return {"host": server.host, "port": server.port, "username": server.user, "private_key": server.private_key,
            "known_hosts": server.known_hosts, "allow_internal": ["127.0.0.1"], "stable_seconds": 0,
            "timeout": 5, "invoices": {"delimiter": ";"}, **extra}


@pytest.fixture
def fstore(store: Store) -> Store:
    """The store with this connector's plugin registered (payments are matched as they land)."""
    pm = plugin_manager(entry_points=False)
    if not pm.is_registered(sftp_module):
        pm.register(sftp_module)
    return Store(store.engine, store.keyring, plugins=pm)


def configure(store: Store, name: str, conf: dict[str, Any], streams: tuple[str, ...], batch_size: int = 500) -> None:
    with store.writing(CTX) as tx:
        for spec in mapping_specs().values():
            versions.save(tx.session, spec, "test")
        instances.add_instance(tx.session, tx.audit, store.keyring, TYPES, name, TYPE_NAME, conf)
        for stream in streams:
            module, mapping = MAPPING[stream]
            direction = "outbound" if stream == "customers" else "inbound"
            instances.add_route(tx.session, tx.audit, name, stream, direction, module, mapping, batch_size=batch_size)


def run(store: Store, instance: str, stream: str, *, on_batch: Callable[..., None] | None = None) -> SyncRun:
    direction = "outbound" if stream == "customers" else "inbound"
    with Session(store.engine) as session, session.begin():
        run_id = runs.queue(session, instance, stream, direction)[0].id
    Runner(store, TYPES, retry=FAST, on_batch=on_batch).execute(run_id)
    with Session(store.engine) as session:
        row = session.get(SyncRun, run_id)
        assert row is not None
        return row


def records(store: Store, module: str) -> dict[str, dict[str, Any]]:
    key = {"invoices": "number", "payments": "reference", "accounts": "name"}[module]
    with store.reading(CTX) as tx:
        return {str(r[key]): r for r in tx.query(module)}


def dead_letters(store: Store) -> list[DeadLetter]:
    with Session(store.engine) as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.external_id)))


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def accounts(store: Store, *names_: str) -> list[str]:
    with store.writing(CTX) as tx:
        return [str(tx.create("accounts", {"name": n, "account_type": "customer"})["id"]) for n in names_]


def invoice_rows(acct: str, *specs: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"invoice_no": no, "customer_id": acct, "invoice_date": "2024-05-02", "due_date": "2024-06-01",
             "currency": cur, "total": total, "status": "open"} for no, total, cur in specs]


def read_all(connector: Connector, stream: str, state: Any = None) -> tuple[list[Record], Any]:
    items = list(connector.read(stream, state))
    assert isinstance(items[-1], Checkpoint)
    return [i for i in items if isinstance(i, Record)], items[-1].state


# -- the contract -----------------------------------------------------------------------------------------
class TestSftpFinanceContract(ConnectorContract):
    stream = "invoices"
    write_stream = "customers"

    @pytest.fixture
    def connector(self, server: SshServer) -> Iterator[SftpFinanceConnector]:
        server.put("invoices/2024-05-01.csv", invoice_export(invoice_rows("", ("A-1", "10.00", "EUR"),
                                                                          ("A-2", "20.00", "EUR"))))
        server.put("invoices/2024-05-02.csv", invoice_export(invoice_rows("", ("A-3", "5.00", "EUR")))
                   + b"A-4;;broken\r\n")
        server.mkdir("statements")
        connector = SftpFinanceConnector(config(server))
        yield connector
        connector.close()

    @pytest.fixture
    def broken_connector(self, server: SshServer) -> SftpFinanceConnector:
        conf = {k: v for k, v in config(server).items() if k != "private_key"}
        return SftpFinanceConnector({**conf, "password": "not-the-password"})

    def sample_records(self) -> list[Record]:
        return [Record("customers", "C-1", {"name": "Acme GmbH", "city": "Berlin"}),
                Record("customers", "", {"name": "上海瑞丰贸易有限公司", "city": "上海"})]

    def written_count(self, connector: Connector, stream: str) -> int:
        assert isinstance(connector, SftpFinanceConnector)
        sftp = connector._open()
        try:
            files = [f for f in sftp.listdir("customers") if f.endswith(".csv")]
        except FileNotFoundError:
            return 0
        return sum(len(sftp.open(f"customers/{f}").read().splitlines()) - 1 for f in files)


def test_registered_through_the_hook() -> None:
    pm = plugin_manager(entry_points=False)  # a built-in plugin
    assert connector_types(pm)[TYPE_NAME] is SftpFinanceConnector


@pytest.mark.parametrize(("change", "problem"), [
    ({"known_hosts": "not a key line"}, "known_hosts line 1"),
    ({"known_hosts": "@revoked * ssh-ed25519 AAAA"}, "markers"),
    ({"private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----"}, "private_key"),
    ({"private_key": None}, "password, private_key: give one of them"),
    ({"invoices": {"encoding": "utf-16"}}, "invoices.encoding"),
])
def test_bad_configs_are_config_errors_naming_the_field(change: dict[str, Any], problem: str) -> None:
    base = {"host": "sftp.example.com", "username": "hub", "known_hosts":
            "sftp.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBoS7A1SkS/sLn0n7semH13kqVSYd7mMtsjL2Y926FSp",
            "password": "secret-pw"}
    conf = {k: v for k, v in {**base, **change}.items() if v is not None}
    if change.get("private_key") is None and "private_key" in change:
        conf.pop("password")
    with pytest.raises(ConfigError, match=problem) as caught:
        SftpFinanceConnector(conf)
    assert "secret-pw" not in str(caught.value)


def test_password_authentication_and_a_wrong_password(server: SshServer) -> None:
    server.mkdir("invoices")
    server.mkdir("statements")
    conf = {k: v for k, v in config(server).items() if k != "private_key"}
    SftpFinanceConnector({**conf, "password": server.password}).check()
    with pytest.raises(AuthError, match="refused the credentials"):
        SftpFinanceConnector({**conf, "password": "wrong"}).check()


# -- through the engine -------------------------------------------------------------------------------------
def test_invoices_and_statements_land_once_and_payments_match_invoices(server: SshServer, fstore: Store) -> None:
    acme, shanghai = accounts(fstore, "Acme GmbH", "上海瑞丰贸易有限公司")
    eu = [*invoice_rows(acme, ("INV-2024-0001", "1190.00", "EUR"), ("INV-2024-0002", "500.00", "EUR")),
          {"invoice_no": "INV-2024-0003", "customer_id": acme, "currency": "EUR", "total": "80.00", "status": "offen"}]
    server.put("eu/invoices/2024-05-eu.csv", invoice_export(eu, encoding="utf-8-sig"))
    cn = [{"invoice_no": "FP-2024-0088", "customer_id": shanghai, "invoice_date": "2024/05/03", "currency": "CNY",
           "total": "8800.50", "status": "未付", "note": "上海发票"}]
    server.put("cn/invoices/2024-05-cn.csv", invoice_export(
        cn, encoding="gb18030", columns=("invoice_no", "customer_id", "invoice_date", "currency", "total", "status",
                                         "note")))
    server.put("eu/statements/camt053-2024-05-31.xml", camt053_document([
        {"ref": "N1", "amount": "1190.00", "remittance": "Rechnung INV-2024-0001 danke", "debtor_iban": "DE021203"},
        {"ref": "N2", "amount": "200.00", "remittance": "INV 2024 0002 Teilzahlung"},
        {"ref": "N3", "amount": "75.00", "remittance": "Spende ohne Rechnung"},
        {"ref": "N4", "amount": "99.00", "remittance": "INV-2024-0003"},  # more than is outstanding
        {"ref": "N5", "amount": "12.50", "cd": "DBIT", "remittance": "Gebuehren"},
        {"ref": "N6", "amount": "8800.50", "currency": "CNY", "remittance": "发票 FP-2024-0088"},
    ]))
    server.mkdir("cn/statements")
    configure(fstore, "fin-eu", config(server, invoices={"path": "eu/invoices", "delimiter": ";"},
                                       bank_transactions={"path": "eu/statements"}), ("invoices", "bank_transactions"))
    configure(fstore, "fin-cn", config(server, invoices={"path": "cn/invoices", "delimiter": ";",
                                                         "encoding": "gb18030"}, bank_transactions={"enabled": False}),
              ("invoices",))

    for instance, stream, counts in (("fin-eu", "invoices", (3, 3)), ("fin-cn", "invoices", (1, 1)),
                                     ("fin-eu", "bank_transactions", (6, 5))):
        done = run(fstore, instance, stream)
        assert (done.status, done.read, done.created, done.quarantined) == ("succeeded", counts[0], counts[1], 0), \
            done.error
    invoices, payments = records(fstore, "invoices"), records(fstore, "payments")
    fp = invoices["FP-2024-0088"]
    assert (fp["currency"], fp["total_amount"]) == ("CNY", Decimal("8800.50"))
    assert str(invoices["FP-2024-0088"]["account_id"]) == shanghai
    paid = payments["Rechnung INV-2024-0001 danke"]
    assert (paid["status"], paid["invoice_id"], str(paid["account_id"])) == \
        ("matched", invoices["INV-2024-0001"]["id"], acme)
    assert paid["bank_account"] == "DE021203"
    assert (invoices["INV-2024-0001"]["status"], invoices["INV-2024-0001"]["amount_paid"]) == ("paid", Decimal(1190))
    assert payments["INV 2024 0002 Teilzahlung"]["status"] == "matched"
    assert (invoices["INV-2024-0002"]["status"], invoices["INV-2024-0002"]["amount_paid"]) == \
        ("partially_paid", Decimal(200))
    assert payments["Spende ohne Rechnung"]["status"] == "unmatched"
    assert payments["INV-2024-0003"]["status"] == "unmatched"
    assert invoices["INV-2024-0003"]["status"] == "open" and not invoices["INV-2024-0003"]["amount_paid"]
    assert payments["发票 FP-2024-0088"]["status"] == "matched"
    assert invoices["FP-2024-0088"]["status"] == "paid"
    assert "Gebuehren" not in payments  # a debit is not a payment received

    from hub.finance.payment_matching import review_queue
    with fstore.reading(CTX) as tx:
        review = {r.payment["reference"]: r.reason for r in review_queue(tx)}
    assert review == {"Spende ohne Rechnung": "no open invoice is named in the reference 'Spende ohne Rechnung'",
                      "INV-2024-0003": "INV-2024-0003: pays 99.00, only 80.00 is outstanding"}

    assert names(server.path("eu/invoices")) == [] and names(server.path("cn/invoices")) == []
    assert names(server.path("eu/invoices/processed")) == ["2024-05-eu.csv"]
    assert names(server.path("eu/statements/processed")) == ["camt053-2024-05-31.xml"]
    for instance, stream in (("fin-eu", "invoices"), ("fin-cn", "invoices"), ("fin-eu", "bank_transactions")):
        again = run(fstore, instance, stream)
        assert (again.status, again.read) == ("succeeded", 0)
    assert len(records(fstore, "payments")) == 5 and len(records(fstore, "invoices")) == 4


def test_a_crash_between_read_and_commit_moves_nothing_and_the_next_run_lands_each_invoice_once(
        server: SshServer, fstore: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    acme, = accounts(fstore, "Acme GmbH")
    server.put("invoices/a.csv", invoice_export(invoice_rows(acme, ("INV-1", "10.00", "EUR"),
                                                             ("INV-2", "2.00", "EUR"))))
    server.put("invoices/b.csv", invoice_export(invoice_rows(acme, ("INV-3", "3.00", "EUR"))))
    configure(fstore, "fin", config(server), ("invoices",))
    import hub.sync.engine as engine

    real = engine.save_state
    monkeypatch.setattr(engine, "save_state", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("injected crash")))
    crashed = run(fstore, "fin", "invoices")
    assert crashed.status == "queued" and "injected crash" in (crashed.error or "")
    assert names(server.path("invoices")) == ["a.csv", "b.csv"], "a file was moved before its batch committed"
    assert not server.path("invoices/processed").exists()
    assert records(fstore, "invoices") == {}

    monkeypatch.setattr(engine, "save_state", real)
    done = run(fstore, "fin", "invoices")  # the same run, queued again
    assert (done.id, done.status, done.attempts, done.created) == (crashed.id, "succeeded", 2, 3)
    assert sorted(records(fstore, "invoices")) == ["INV-1", "INV-2", "INV-3"]
    assert names(server.path("invoices/processed")) == ["a.csv", "b.csv"]
    assert run(fstore, "fin", "invoices").read == 0


def test_a_file_still_being_uploaded_is_left_until_its_size_is_stable(server: SshServer) -> None:
    server.put("invoices/a.csv", invoice_export(invoice_rows("", ("A-1", "1.00", "EUR"))))
    growing = server.put("invoices/b.csv", invoice_export(invoice_rows("", ("B-1", "1.00", "EUR"))))
    connector = SftpFinanceConnector(config(server, stable_seconds=0.2))
    looks: list[float] = []

    def upload_goes_on(seconds: float) -> None:  # between the two looks, the uploader writes more
        looks.append(seconds)
        with open(growing, "ab") as fh:
            fh.write(b"B-2;;2024-05-02;2024-06-01;EUR;2.00;open\r\n")

    connector.sleep = upload_goes_on
    got, state = read_all(connector, "invoices")
    assert [r.external_id for r in got] == ["A-1"] and looks == [0.2]
    assert list(state["done"]) == ["a.csv"]

    connector.sleep = lambda seconds: None  # the upload has finished: nothing changes between the looks
    got, state = read_all(connector, "invoices", state)
    assert [r.external_id for r in got] == ["B-1", "B-2"]
    assert read_all(connector, "invoices", state)[0] == []
    connector.close()


# -- faults --------------------------------------------------------------------------------------------------
FILES = 6  # a run reads two batches ahead of its commits: the fault must still find reads to hit


def _files(server: SshServer, acct: str) -> None:
    for n in range(FILES):
        server.put(f"invoices/2024-05-0{n + 1}.csv", invoice_export(invoice_rows(
            acct, (f"INV-{n}-A", "10.00", "EUR"), (f"INV-{n}-B", "20.00", "EUR"))))


@pytest.mark.parametrize("fault", ["sshd stopped and restarted", "connection reset"])
def test_a_run_survives_the_server_going_away_mid_run_without_loss_or_duplicates(
        server: SshServer, fstore: Store, fault: str) -> None:
    acme, = accounts(fstore, "Acme GmbH")
    _files(server, acme)
    configure(fstore, "fin", config(server, timeout=3), ("invoices",), batch_size=2)
    timers: list[threading.Timer] = []

    def strike(run_row: SyncRun, tally: Any) -> None:
        if timers:
            return
        if fault == "connection reset":
            assert server.drop_sessions() > 0
            timers.append(threading.Timer(0, lambda: None))
        else:
            server.stop()
            timers.append(threading.Timer(1.0, server.start))
        timers[0].start()

    try:
        done = run(fstore, "fin", "invoices", on_batch=strike)
    finally:
        for t in timers:
            t.join()
    assert done.status == "succeeded", done.error
    sessions = server.log_text().count("Accepted publickey")
    if fault == "connection reset":  # the connector may notice the dead session first and simply reconnect
        assert done.retries >= 1 or sessions >= 2, "the run did not need a new connection: the fault missed it"
    else:
        assert done.retries >= 1 and sessions >= 2, "the run did not retry while sshd was down"
    assert (done.created, done.quarantined) == (2 * FILES, 0)
    assert len(records(fstore, "invoices")) == 2 * FILES and dead_letters(fstore) == []
    assert names(server.path("invoices")) == []
    assert len(names(server.path("invoices/processed"))) == FILES


def test_malformed_files_are_quarantined_with_their_reason_and_the_others_land(server: SshServer,
                                                                                fstore: Store) -> None:
    acme, = accounts(fstore, "Acme GmbH")
    server.put("invoices/1-good.csv", invoice_export(invoice_rows(acme, ("INV-1", "10.00", "EUR")))
               + b"INV-X;only;three\r\n")
    server.put("invoices/2-bad-bytes.csv", b"invoice_no;total\r\nINV-9;1\r\n\xff\xfe;2\r\n")
    server.put("invoices/3-no-key.csv", b"number;total\r\nINV-8;1\r\n")
    server.put("statements/1-good.xml", camt053_document([{"ref": "N1", "amount": "10.00", "remittance": "INV-1"}]))
    server.put("statements/2-truncated.xml", camt053_document([{"ref": "N2", "amount": "1.00"}])[:-40])
    server.put("statements/3-xxe.xml", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               b"<Document>&x;</Document>")
    server.put("statements/4-not-camt.xml", b"<invoice><total>1</total></invoice>")
    configure(fstore, "fin", config(server), ("invoices", "bank_transactions"))

    inv, pay = run(fstore, "fin", "invoices"), run(fstore, "fin", "bank_transactions")
    assert (inv.status, inv.created, inv.quarantined) == ("succeeded", 1, 3)
    assert (pay.status, pay.created, pay.quarantined) == ("succeeded", 1, 3)
    reasons = {d.external_id: d.error for d in dead_letters(fstore)}
    assert reasons == {
        "1-good.csv:3": "file 1-good.csv line 3: 3 cells, the header has 7",
        "2-bad-bytes.csv": "file 2-bad-bytes.csv: line 3: cannot decode as utf-8-sig (invalid start byte at byte 27)",
        "3-no-key.csv": "file 3-no-key.csv: the header has no key column 'invoice_no' (columns: number, total)",
        "2-truncated.xml": reasons["2-truncated.xml"],
        "3-xxe.xml": "file 3-xxe.xml: the document has a DOCTYPE; DTDs are not allowed",
        "4-not-camt.xml": "file 4-not-camt.xml: not a CAMT.053 document: the root is 'invoice'",
    }
    assert reasons["2-truncated.xml"].startswith("file 2-truncated.xml: not well-formed XML:")
    assert records(fstore, "payments")["INV-1"]["status"] == "matched"
    assert names(server.path("invoices/processed")) == ["1-good.csv"]
    assert names(server.path("invoices/failed")) == ["2-bad-bytes.csv", "3-no-key.csv"]
    assert names(server.path("statements/failed")) == ["2-truncated.xml", "3-xxe.xml", "4-not-camt.xml"]


def test_a_changed_host_key_is_refused_with_a_clear_error_and_nothing_is_read(server: SshServer,
                                                                               fstore: Store) -> None:
    server.put("invoices/a.csv", invoice_export(invoice_rows("", ("INV-1", "1.00", "EUR"))))
    server.mkdir("statements")
    configure(fstore, "fin", config(server), ("invoices",))
    SftpFinanceConnector(config(server)).check()
    pinned = server.known_hosts
    server.regenerate_host_keys()
    with pytest.raises(AuthError, match=r"host key has CHANGED.*pins SHA256:.*Nothing was read"):
        SftpFinanceConnector(config(server, known_hosts=pinned)).check()
    failed = run(fstore, "fin", "invoices")
    assert failed.status == "failed" and "host key has CHANGED" in (failed.error or "")
    assert (failed.read, records(fstore, "invoices")) == (0, {})
    assert names(server.path("invoices")) == ["a.csv"]
    other = server.known_hosts.replace(f"[{server.host}]:{server.port}", "[elsewhere.example]:22")
    with pytest.raises(AuthError, match="not pinned in known_hosts"):
        SftpFinanceConnector(config(server, known_hosts=other)).check()


def test_an_internal_host_not_allowed_is_refused_before_connecting(server: SshServer) -> None:
    before = server.log_text().count("Connection from")
    with pytest.raises(ConfigError, match=r"internal address 127\.0\.0\.1; list it in allow_internal"):
        SftpFinanceConnector({**config(server), "allow_internal": []}).check()
    with pytest.raises(ConfigError, match="not in allowed_hosts"):
        list(SftpFinanceConnector({**config(server), "allowed_hosts": ["sftp.example.com"]}).read("invoices", None))
    assert server.log_text().count("Connection from") == before


# -- outbound -------------------------------------------------------------------------------------------------
def test_customer_master_data_is_pushed_as_csv_once_per_batch(server: SshServer, fstore: Store,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    configure(fstore, "fin", config(server, customers={"path": "in/customers", "delimiter": ";",
                                                       "columns": ["customer_id", "name", "city", "credit_limit"]}),
              ("customers",))
    with fstore.writing(CTX) as tx:
        ids = [tx.create("accounts", {"name": n, "city": c, "account_type": t, "credit_limit": "12500"})["id"]
               for n, c, t in (("Acme GmbH", "Berlin", "customer"), ("上海瑞丰贸易有限公司", "上海", "customer"),
                               ("Lieferant AG", "Hamburg", "vendor"))]
    import hub.sync.outbound as outbound

    real = outbound.save_state
    monkeypatch.setattr(outbound, "save_state", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash")))
    assert run(fstore, "fin", "customers").status == "queued"  # written, then died before committing
    monkeypatch.setattr(outbound, "save_state", real)
    done = run(fstore, "fin", "customers")
    assert (done.status, done.written, done.skipped) == ("succeeded", 2, 1), done.error

    files = names(server.path("in/customers"))
    assert len(files) == 1 and files[0].startswith("customers-"), "the retried batch was uploaded twice"
    text = server.path(f"in/customers/{files[0]}").read_bytes().decode("utf-8-sig")
    assert text.splitlines() == ["customer_id;name;city;credit_limit", f"{ids[0]};Acme GmbH;Berlin;12500.00",
                                 f"{ids[1]};上海瑞丰贸易有限公司;上海;12500.00"]
    assert not [p for p in server.path("in/customers").iterdir() if p.name.endswith(".part")]
    with fstore.writing(CTX) as tx:
        tx.update("accounts", ids[0], {"city": "München"})
    assert run(fstore, "fin", "customers").written == 1
    assert len(names(server.path("in/customers"))) == 2


def test_a_repeated_idempotency_key_uploads_nothing_again(server: SshServer) -> None:
    connector = SftpFinanceConnector(config(server))
    batch = [Record("customers", "", {"name": "Acme"}), Record("customers", "C-9", {"name": "Old"}, deleted=True)]
    first = connector.write("customers", batch, "run-1:batch-1")
    (name,) = names(server.path("customers"))
    server.path(f"customers/{name}").unlink()  # the finance system picked the file up
    assert connector.write("customers", batch, "run-1:batch-1") == first
    assert names(server.path("customers")) == []
    assert first[1].external_id == "C-9" and first[0].external_id not in ("", "C-9")
    with pytest.raises(PermanentError, match="read-only"):
        connector.write("invoices", batch, "k")
    connector.close()


# -- parsing and matching details -------------------------------------------------------------------------------
def test_camt053_versions_batch_bookings_and_unsafe_xml() -> None:
    for version in ("02", "08", "13"):
        (item,) = camt053.parse(camt053_document([{"ref": "N1", "amount": "5.5", "remittance": "INV-1"}],
                                                 version=version)).items
        assert item.data is not None and (item.data["amount"], item.data["status"], item.data["remittance"]) == \
            ("5.5", "BOOK", "INV-1")
        assert item.id == "DE89370400440532013000/BANK-N1"
    bomb = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><l>&b;</l>'
    for doc in (bomb, bomb.decode().replace('<?xml version="1.0"?>', "").encode("utf-16")):
        with pytest.raises(camt053.CamtError, match="DTDs are not allowed"):
            camt053.parse(doc)
    (bad,) = camt053.parse(camt053_document([{"ref": "N4", "amount": "1,5"}])).items
    assert (bad.data, bad.error) == (None, "entry 1 (BANK-N4): amount '1,5' is not an amount")
    with pytest.raises(camt053.CamtError, match="more than the limit"):
        camt053.parse(b"<a/>" * 10, max_bytes=20)
    batch = camt053_document([{"ref": "N1", "amount": "30.00"}])  # one entry, two transactions (10 + 20)
    doc = batch.replace(b"<TxDtls>", b'<TxDtls><Amt Ccy="EUR">10.00</Amt>').replace(
        b"</NtryDtls>", b'<TxDtls><Amt Ccy="EUR">20</Amt></TxDtls></NtryDtls>')
    items = camt053.parse(doc).items
    assert [(i.id, i.data["amount"] if i.data else i.error) for i in items] == [
        ("DE89370400440532013000/BANK-N1/1", "10.00"), ("DE89370400440532013000/BANK-N1/2", "20")]


def test_matching_needs_the_whole_number_and_an_amount_that_fits(store: Store) -> None:
    from hub.core.models.bookkeeping import AuditEvent
    from hub.finance.payment_matching import match_payments, reference_keys

    assert "INV1" not in reference_keys("Payment INV-10") and "INV10" in reference_keys("Payment INV-10")
    pm = plugin_manager(entry_points=False)
    if pm.is_registered(sftp_module):
        pm.unregister(sftp_module)
    plain = Store(store.engine, store.keyring, plugins=pm)  # no hook: match by hand, to see each outcome
    with plain.writing(CTX) as tx:
        for number, total in (("INV-1", "100.00"), ("INV-10", "50.00"), ("A-7", "10.00"), ("B-7", "10.00"),
                              ("C-3", "100.00")):
            tx.create("invoices", {"number": number, "currency": "EUR", "total_amount": total, "status": "open"})
        made = [tx.create("payments", {"reference": ref, "amount": amount, "currency": cur,
                                       "paid_on": f"2024-05-{day:02d}"})["id"]
                for day, (ref, amount, cur) in enumerate((
                    ("INV-10", "50.00", "EUR"), ("INV 1", "60.00", "EUR"), ("INV-1 rest", "40.00", "EUR"),
                    ("A-7 B-7", "10.00", "EUR"), ("INV-1", "1.00", "USD"), ("c 3", "99.97", "EUR")), 1)]
    with plain.writing(CTX) as tx:
        outcomes = {o.payment_id: o for o in match_payments(tx, made, tolerance=Decimal("0.05"))}
        assert match_payments(tx, made) == []  # nothing pending is left
    states = [(outcomes[p].status, outcomes[p].invoice_status) for p in made]
    assert states == [("matched", "paid"), ("matched", "partially_paid"), ("matched", "paid"), ("unmatched", None),
                      ("unmatched", None), ("matched", "paid")]
    assert "ambiguous" in outcomes[made[3]].reason
    assert "INV-1 is in EUR, the payment in USD" in outcomes[made[4]].reason
    with Session(store.engine) as session:
        audited = session.scalars(select(AuditEvent.record_id).where(
            AuditEvent.module == "payments", AuditEvent.action == "update")).all()
    assert sorted(map(str, audited)) == sorted(map(str, made)), "matching bypassed the audited write path"


def test_demo_configures_a_working_finance_connector(fstore: Store, tmp_path: Path, openssh: None) -> None:
    text = demo(fstore, tmp_path / "var")
    assert "demo-finance" in text and "sshd on 127.0.0.1" in text, text
    pid_file = Path(text.rsplit("kill $(cat ", 1)[1].rstrip(")"))
    try:
        assert demo(fstore, tmp_path / "var").splitlines()[0] == text.splitlines()[0]  # idempotent
        for stream in ("invoices", "bank_transactions", "customers"):
            done = run(fstore, "demo-finance", stream)
            assert done.status == "succeeded", done.error
        payments = records(fstore, "payments")
        assert sorted(p["status"] for p in payments.values()) == ["matched", "matched", "unmatched"]
        assert [d.external_id for d in dead_letters(fstore)] == ["camt053-2024-06-01-broken.xml"]
        assert records(fstore, "invoices")["DEMO-2024-0003"]["status"] == "partially_paid"
    finally:
        os.kill(int(pid_file.read_text().split()[0]), signal.SIGTERM)
        shutil.rmtree(pid_file.parents[1], ignore_errors=True)
