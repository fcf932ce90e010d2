"""The demo's sample connector: an "ERP" that exports customers as JSON Lines files, synced both ways.

``set_up`` writes the export (a few hundred customers, Chinese and English, one with a bad country code
so a dead letter shows), saves the mapping, and configures the ``demo-erp`` files connector with an
inbound route (customers -> accounts, every minute) and an outbound route (accounts changed in the hub
go back to the ERP's outbox folder). Running it again changes nothing.

``sample_systems`` starts the sample servers of the real-protocol connectors for the demo's own runs and
leaves their instances paused, because the servers end with the demo; ``stop_sample_systems`` stops the
one that is a child process (sshd). The connectors bring their sample systems through the
``register_demo_systems`` hook (``DemoSystem`` items), so this module names none of them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.core.actor import Context
from hub.core.store import Store
from hub.sync import instances
from hub.sync.connector_types import connector_types
from hub.sync.models import ConnectorInstance

INSTANCE = "demo-erp"
MAPPING = "demo_erp_customers"
SPEC = """\
mapping: demo_erp_customers
description: ERP customer master (JSON Lines export) to hub accounts, and hub edits back
source: {connector: demo-erp, stream: customers}
target: {module: accounts}
filter: "active"
fields:
  name:         {from: company, transform: [strip]}
  email:        {from: mail, transform: [strip, lower]}
  phone:        {from: tel, transform: [{phone: {region: CN}}]}
  country:      {from: land, transform: [strip, upper]}
  city:         {from: ort}
  credit_limit: {from: kreditlimit, transform: [{decimal: {thousands: ","}}]}
  currency:     {from: waehrung}
  tags:         {from: segmente, transform: [{split: ";"}]}
  status:       {from: sperre, lookup: {table: {"N": active, "J": blocked}, default: active}}
  legal_name:   {from: rechtsform_name, only_create: true}
match: [binding, {field: email}]
conflict:
  default: source
  fields: {credit_limit: hub}
outbound:
  fields:
    company: {from: name}
    mail: {from: email}
    kreditlimit: {from: credit_limit, transform: [{format_number: {places: 2}}]}
    land: {from: country}
tests:
  - input: {company: " Acme GmbH ", mail: "INFO@ACME.DE", tel: "+49 30 1234567", land: "de", ort: Berlin,
            kreditlimit: "12,500.00", waehrung: EUR, segmente: "vip;eu", sperre: N, active: true}
    expect: {name: "Acme GmbH", email: "info@acme.de", country: DE, status: active}
"""
CITIES = [("上海", "CN", "+86 21 {n:08d}", "CNY"), ("深圳", "CN", "+86 755 {n:08d}", "CNY"),
          ("Berlin", "DE", "+49 30 {n:07d}", "EUR"), ("Hamburg", "DE", "+49 40 {n:07d}", "EUR")]
WORDS = ["华信", "远航", "Nordlicht", "Elbe", "东方", "Spree", "瑞丰", "Hanse"]


@dataclass
class DemoSync:
    folder: Path
    customers: int


def write_export(folder: Path, customers: int = 200, seed: int = 11) -> None:
    """The ERP's export file (rewritten identically each time, so syncing it again changes nothing)."""
    rnd = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(1, customers + 1):
        city, land, tel, cur = CITIES[i % len(CITIES)]
        word = WORDS[i % len(WORDS)]
        digits = rnd.randrange(2 * 10**7, 9 * 10**7) if land == "CN" else rnd.randrange(2 * 10**6, 9 * 10**6)
        company = f"{city}{word}贸易有限公司 ERP-{i:04d}" if land == "CN" else f"{word} Handel GmbH ERP-{i:04d}"
        lines.append({
            "id": 50000 + i, "company": company, "mail": f"Einkauf{i}@erp-kunde{i}.example.com",
            "tel": tel.format(n=digits),
            "land": land.lower() if i % 3 else land, "ort": city,
            "kreditlimit": f"{rnd.randrange(1, 200) * 500:,}.00", "waehrung": cur,
            "segmente": rnd.choice(["vip;eu", "wholesale", "", "key-account;cn"]),
            "sperre": "J" if i % 37 == 0 else "N",
            "rechtsform_name": company, "active": i % 50 != 0,
        })
    lines[41]["land"] = "XX"  # a record the hub rejects: it becomes a dead letter with its reason
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines)
    target = folder / "customers-0001.jsonl"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def set_up(store: Store, var_dir: Path, customers: int = 200) -> DemoSync:
    """Write the export and configure the demo connector, mapping and routes (idempotent)."""
    from hub.mappings import versions

    folder = (var_dir / "demo-erp").resolve()
    write_export(folder, customers)
    ctx = Context.system("demo")
    with store.writing(ctx) as tx:
        versions.save(tx.session, SPEC, tx.ctx.actor.name)
        if tx.session.scalar(select(ConnectorInstance.id).where(ConnectorInstance.name == INSTANCE)) is None:
            types = connector_types(store.plugins)
            instances.add_instance(tx.session, tx.audit, store.keyring, types, INSTANCE, "files", {
                "path": str(folder),
                "streams": {"customers": {"pattern": "customers-*.jsonl", "format": "jsonl", "key": "id"}},
            })
        instances.add_route(tx.session, tx.audit, INSTANCE, "customers", "inbound", "accounts", MAPPING,
                            schedule="* * * * *", batch_size=500)
        instances.add_route(tx.session, tx.audit, INSTANCE, "customers", "outbound", "accounts", MAPPING,
                            schedule="* * * * *", batch_size=500)
    return DemoSync(folder, customers)


@dataclass(frozen=True)
class DemoSystem:
    """A sample system a connector brings to ``hub demo``: its sample server on loopback and its instance.

    ``set_up(store, var_dir)`` starts the server (inside this process, or as its child), configures the
    ``instance`` and its routes, and says what it did; ``stop(var_dir)``, if given, stops a server that runs
    as a child process. Systems are set up in ``order`` (lowest first).
    """

    label: str
    instance: str
    set_up: Callable[[Store, Path], str]
    stop: Callable[[Path], Any] | None = None
    order: int = 100


def demo_systems(plugins: Any) -> list[DemoSystem]:
    """Every sample system the plugins bring (``register_demo_systems``), in set-up order."""
    found: list[DemoSystem] = []
    for batch in plugins.hook.register_demo_systems():
        for system in batch or ():
            if not isinstance(system, DemoSystem):
                raise TypeError(f"register_demo_systems returned {system!r}, not a hub.sync.demo.DemoSystem")
            found.append(system)
    return sorted(found, key=lambda s: (s.order, s.label))


def sample_instances(plugins: Any) -> tuple[str, ...]:
    """The instance names of the sample systems."""
    return tuple(s.instance for s in demo_systems(plugins))


def sample_systems(store: Store, var_dir: Path) -> list[tuple[str, str]]:
    """Start the sample systems and configure their instances, paused; (label, what happened) for each.

    The servers live only as long as this process, so their instances are paused: nothing is scheduled
    against them once they are gone (the demo runs them once itself; a paused instance still syncs when
    asked). A system that cannot start here (the SFTP one needs OpenSSH's sshd, installed as root) reports
    why and the others go on. ``stop_sample_systems`` stops the servers that are not threads of this process.
    """
    out = []
    systems = demo_systems(store.plugins)
    for system in systems:
        try:
            message = system.set_up(store, var_dir)
        except Exception as exc:
            message = f"skipped: {type(exc).__name__}: {exc}"
        out.append((system.label, str(message)))
    pause(store, tuple(s.instance for s in systems))
    return out


def pause(store: Store, names: tuple[str, ...]) -> list[str]:
    """Pause those of the named instances that exist and run; their names."""
    paused = []
    with store.writing(Context.system("demo")) as tx:
        for row in tx.session.scalars(select(ConnectorInstance).where(ConnectorInstance.name.in_(names),
                                                                      ConnectorInstance.paused.is_(False))):
            row.paused = True
            tx.audit.add("connector_instances", row.id, "update", {"paused": [False, True]})
            paused.append(row.name)
    return sorted(paused)


def stop_sample_systems(var_dir: Path, plugins: Any) -> None:
    """Stop the sample servers that run as child processes (the finance demo's sshd)."""
    for system in demo_systems(plugins):
        if system.stop is not None:
            system.stop(var_dir)


def inbound_routes(store: Store, prefix: str = "demo-") -> list[tuple[str, str]]:
    """(instance, stream) of every inbound route of the demo instances other than demo-erp."""
    from sqlalchemy.orm import Session

    from hub.sync.models import Route

    with Session(store.engine) as session:
        rows = session.execute(select(Route.instance, Route.stream).where(
            Route.direction == "inbound", Route.enabled.is_(True), Route.instance.startswith(prefix),
            Route.instance != INSTANCE).order_by(Route.instance, Route.stream)).all()
    return [(str(i), str(s)) for i, s in rows]
