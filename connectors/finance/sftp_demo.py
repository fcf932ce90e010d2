"""The finance demo: a real sshd on loopback with invoice exports and a bank statement, synced by ``demo-finance``.

``demo(store, var_dir)`` starts OpenSSH's sshd on 127.0.0.1 (hub.testing.sshd; needs root and
openssh-server), uploads an invoice export (UTF-8 with BOM, ``;``-separated) and a CAMT.053 statement (one
payment that pays an invoice, one that pays part of another, one without a usable reference, a bank fee)
plus a broken statement, creates three demo customer accounts, saves the three default mappings
(``sftp_mappings/*.yaml``) and configures the ``demo-finance`` instance with its routes: invoices and bank
transactions in (every minute), customer master CSV out. It returns what it did, in words. Running it
again reuses the server (same host key and port when free) and changes nothing else.

The sshd ends with the process that started it, however that ends; ``stop(var_dir)`` stops it before.

The sample builders (``camt053_document``, ``invoice_export``) are used by the tests too.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import select

from hub.core.actor import Context
from hub.core.read import Condition
from hub.core.store import Store

INSTANCE = "demo-finance"
MAPPINGS = Path(__file__).with_name("sftp_mappings")
MAPPING_NAMES = {"invoices": "sftp_finance_invoices", "bank_transactions": "sftp_finance_payments",
                 "customers": "sftp_finance_customers"}
CUSTOMERS = [("Nordlicht Handel GmbH (Finanz-Demo)", "DE", "EUR"), ("上海瑞丰贸易有限公司 (finance demo)", "CN", "CNY"),
             ("Elbe Logistik AG (Finanz-Demo)", "DE", "EUR")]


def mapping_specs() -> dict[str, str]:
    """The default mappings' YAML text by mapping name."""
    return {name: (MAPPINGS / f"{file}.yaml").read_text(encoding="utf-8")
            for name, file in (("sftp_finance_invoices", "invoices"), ("sftp_finance_payments", "payments"),
                               ("sftp_finance_customers", "customers"))}


def invoice_export(rows: Sequence[Mapping[str, Any]], delimiter: str = ";", encoding: str = "utf-8-sig",
                   columns: Sequence[str] = ("invoice_no", "customer_id", "invoice_date", "due_date", "currency",
                                             "total", "status")) -> bytes:
    """An invoice CSV export as the finance system writes it (header, CRLF lines)."""
    lines = [delimiter.join(columns)] + [delimiter.join(str(r.get(c, "")) for c in columns) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def camt053_document(entries: Sequence[Mapping[str, Any]], *, message_id: str = "MSG-0001",
                     statement_id: str = "STMT-0001", iban: str = "DE89370400440532013000",
                     version: str = "08") -> bytes:
    """A CAMT.053 statement; each entry: ref, amount, currency, cd (CRDT/DBIT), date, and optionally
    remittance, debtor, debtor_iban, e2e, status (BOOK), reversal."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"

    def el(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
        child = etree.SubElement(parent, f"{{{ns}}}{tag}", attrs)
        if text is not None:
            child.text = text
        return child

    root = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})
    body = el(root, "BkToCstmrStmt")
    head = el(body, "GrpHdr")
    el(head, "MsgId", message_id)
    el(head, "CreDtTm", "2024-05-31T18:00:00")
    stmt = el(body, "Stmt")
    el(stmt, "Id", statement_id)
    el(stmt, "CreDtTm", "2024-05-31T18:00:00")
    el(el(el(stmt, "Acct"), "Id"), "IBAN", iban)
    for e in entries:
        ntry = el(stmt, "Ntry")
        el(ntry, "NtryRef", e["ref"])
        el(ntry, "Amt", str(e["amount"]), Ccy=e.get("currency", "EUR"))
        el(ntry, "CdtDbtInd", e.get("cd", "CRDT"))
        if e.get("reversal"):
            el(ntry, "RvslInd", "true")
        status = e.get("status", "BOOK")
        if version in ("02", "03"):
            el(ntry, "Sts", status)
        else:
            el(el(ntry, "Sts"), "Cd", status)
        el(el(ntry, "BookgDt"), "Dt", e.get("date", "2024-05-31"))
        el(el(ntry, "ValDt"), "Dt", e.get("date", "2024-05-31"))
        el(ntry, "AcctSvcrRef", f"BANK-{e['ref']}")
        tx = el(el(ntry, "NtryDtls"), "TxDtls")
        el(el(tx, "Refs"), "EndToEndId", e.get("e2e", "NOTPROVIDED"))
        if e.get("debtor") or e.get("debtor_iban"):
            parties = el(tx, "RltdPties")
            if e.get("debtor"):
                el(el(parties, "Dbtr"), "Nm", e["debtor"])
            if e.get("debtor_iban"):
                el(el(el(parties, "DbtrAcct"), "Id"), "IBAN", e["debtor_iban"])
        if e.get("remittance"):
            el(el(tx, "RmtInf"), "Ustrd", e["remittance"])
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _server(base: Path) -> Any:
    """The demo's sshd: the one of an earlier demo if it still answers, else a new one (same keys)."""
    from hub.testing.sshd import SshServer, free_port, reachable

    location = base / "location"  # where the server lives: under var/, or in /tmp when var/ is private
    if location.exists():
        root = Path(location.read_text().strip())
    else:
        root = base if reachable(base) else Path(tempfile.mkdtemp(prefix="hub-demo-finance-"))
        base.mkdir(parents=True, exist_ok=True)
        location.write_text(str(root))
    os.chmod(root, 0o755)
    data, state = root / "sftp", root / "sshd"
    port_file = state / "port"
    port = int(port_file.read_text()) if port_file.exists() else None
    server = SshServer.create(base=state, data=data, port=port)
    pid_file = state / "sshd.pid"
    if port is not None and server.answers() and pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().split()[0]), 0)
            return server  # still running from an earlier demo
        except (OSError, ValueError):
            pass
    if port is None or server.answers():
        server.port = free_port()
    server.die_with_parent = True
    server.start()
    port_file.write_text(str(server.port))
    return server


def stop(var_dir: Path, timeout: float = 10.0) -> bool:
    """Stop the demo's sshd if it runs (SIGTERM, waiting up to ``timeout`` seconds); whether one ran."""
    import signal
    import time

    location = (var_dir / "demo-finance").resolve() / "location"
    if not location.exists():
        return False
    pid_file = Path(location.read_text().strip()) / "sshd" / "sshd.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError, IndexError):
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        with contextlib.suppress(ChildProcessError):  # our own child: reap it
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                break
        time.sleep(0.05)
    pid_file.unlink(missing_ok=True)
    return True


def _customers(store: Store) -> list[Any]:
    """The demo's three customer accounts (created once); their ids."""
    ids = []
    with store.writing(Context.system("demo")) as tx:
        for name, country, currency in CUSTOMERS:
            found = tx.query("accounts", [Condition("name", "=", name)], limit=1)
            if found:
                ids.append(found[0]["id"])
            else:
                ids.append(tx.create("accounts", {"name": name, "country": country, "currency": currency,
                                                  "account_type": "customer", "credit_limit": "25000"})["id"])
    return ids


def _upload_samples(server: Any, accounts: Sequence[Any]) -> None:
    a, b, c = (str(x) for x in accounts)
    files = {
        "invoices/invoices-2024-05.csv": invoice_export([
            {"invoice_no": "DEMO-2024-0001", "customer_id": a, "invoice_date": "2024-05-02", "due_date": "2024-06-01",
             "currency": "EUR", "total": "1190.00", "status": "offen"},
            {"invoice_no": "DEMO-2024-0002", "customer_id": b, "invoice_date": "2024-05-03", "due_date": "2024-06-02",
             "currency": "CNY", "total": "8800.50", "status": "未付"},
            {"invoice_no": "DEMO-2024-0003", "customer_id": c, "invoice_date": "2024-05-06", "due_date": "2024-06-05",
             "currency": "EUR", "total": "500.00", "status": "open"},
        ]),
        "statements/camt053-2024-05-31.xml": camt053_document([
            {"ref": "N1", "amount": "1190.00", "remittance": "Rechnung DEMO-2024-0001 vielen Dank",
             "debtor": "Nordlicht Handel GmbH", "debtor_iban": "DE02120300000000202051"},
            {"ref": "N2", "amount": "200.00", "remittance": "DEMO 2024 0003 Teilzahlung", "debtor": "Elbe Logistik AG"},
            {"ref": "N3", "amount": "75.00", "remittance": "Spende Sommerfest", "debtor": "Unbekannt"},
            {"ref": "N4", "amount": "12.50", "cd": "DBIT", "remittance": "Kontofuehrung Mai"},
        ]),
        "statements/camt053-2024-06-01-broken.xml": b"<?xml version='1.0'?><Document><BkToCstmrStmt><Stmt>",
    }
    for relative, content in files.items():
        folder, name = relative.split("/")
        done = [server.path(f"{folder}/{sub}/{name}") for sub in ("processed", "failed")]
        if not server.path(relative).exists() and not any(p.exists() for p in done):
            server.put(relative, content)
    server.mkdir("customers")


def demo(store: Store, var_dir: Path) -> str:
    """Start the demo finance SFTP server and configure ``demo-finance`` (idempotent); what happened, in words."""
    try:
        from hub.testing.sshd import SshdUnavailable
    except ImportError as e:  # hub.testing needs pytest
        return f"finance demo skipped: {e}"
    from connectors.finance.sftp import TYPE_NAME, SftpFinanceConnector
    from hub.mappings import versions
    from hub.sync import instances
    from hub.sync.connector_types import connector_types
    from hub.sync.models import ConnectorInstance

    base = (var_dir / "demo-finance").resolve()
    try:
        server = _server(base)
    except (SshdUnavailable, OSError) as e:
        return f"finance demo skipped: no SFTP server ({e})"
    types = {**connector_types(store.plugins), TYPE_NAME: SftpFinanceConnector}
    config = {"host": server.host, "port": server.port, "username": server.user, "private_key": server.private_key,
              "known_hosts": server.known_hosts, "allow_internal": [server.host], "stable_seconds": 1,
              "invoices": {"delimiter": ";", "encoding": "utf-8-sig"}}
    with store.writing(Context.system("demo")) as tx:
        for spec in mapping_specs().values():
            versions.save(tx.session, spec, tx.ctx.actor.name)
        exists = tx.session.scalar(select(ConnectorInstance.id).where(ConnectorInstance.name == INSTANCE))
        if exists is None:
            instances.add_instance(tx.session, tx.audit, store.keyring, types, INSTANCE, TYPE_NAME, config)
        else:
            instances.update_instance(tx.session, tx.audit, store.keyring, types, INSTANCE, config=config)
        for stream, module, direction in (("invoices", "invoices", "inbound"),
                                          ("bank_transactions", "payments", "inbound"),
                                          ("customers", "accounts", "outbound")):
            instances.add_route(tx.session, tx.audit, INSTANCE, stream, direction, module, MAPPING_NAMES[stream],
                                schedule="* * * * *", batch_size=500)
    accounts = _customers(store)  # after the outbound route: they enter the outbox and go out as CSV
    _upload_samples(server, accounts)
    matching = any(getattr(p, "TYPE_NAME", None) == TYPE_NAME for p in store.plugins.get_plugins())
    lines = [
        f"finance connector {INSTANCE}: OpenSSH sshd on {server.host}:{server.port} (user {server.user}, key auth, "
        f"host key pinned), files in {server.data}",
        "  invoices/     invoice CSV export (UTF-8 with BOM, ';')       -> invoices",
        "  statements/   CAMT.053 statement (+ a broken one: quarantined) -> payments, matched to invoices",
        "  customers/    customer master CSV files written by the outbound route (accounts)",
        f"  hub sync {INSTANCE} --wait        # read files move to processed/ (failed/ when unusable)",
        "  hub deadletters list              # the broken statement, with its reason",
    ]
    if not matching:
        lines.append("  note: register the module connectors.finance.sftp (HUB_PLUGINS) so payments are matched")
    lines.append(f"  the server runs while this process does (stop it sooner: kill $(cat {server.base / 'sshd.pid'}))")
    return "\n".join(lines)
