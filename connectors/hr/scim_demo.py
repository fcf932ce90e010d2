"""The HR demo, and the set-up it shares with the tests: a SCIM server on loopback synced into the hub.

    text = demo(store, var_dir)      # `hub demo` calls this: server, instance, mapping, route, a sync, a leaver

``configure`` adds (or re-points) a ``scim`` instance, installs the ``employees.manager_number`` custom
field, saves the ``scim_employees`` mapping and routes ``employees`` into the employees module;
``sync_employees`` runs that route once in this process (the sync engine's Runner), and
hub.people.org_units.sync_org_units turns the org units into teams. ``with_hr_plugins`` gives a store
whose plugins include the connector and the org-sync and offboarding hooks, for as long as they are not
built-in plugins.
"""

from __future__ import annotations

import importlib
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.actor import Context
from hub.core.models import Employee, User
from hub.core.store import Store
from hub.people import org_sync
from hub.sync import instances, runs
from hub.sync.connector_types import connector_types
from hub.sync.models import ConnectorInstance, SyncRun
from hub.sync.runner import RetryPolicy, Runner

INSTANCE = "demo-hr"
MAPPING = "scim_employees"
MAPPINGS = Path(__file__).with_name("scim_mappings")
#: The plugin modules the HR sync needs: the connector, then org sync and offboarding (record_changed).
HR_PLUGINS = ("connectors.hr.scim", "plugins.org_sync", "plugins.offboarding")
_servers: list[Any] = []  # demo servers live as long as the process


def spec_text(name: str = MAPPING) -> str:
    """A default mapping shipped with the connector (connectors/hr/scim_mappings/NAME.yaml)."""
    return (MAPPINGS / f"{name}.yaml").read_text(encoding="utf-8")


def with_hr_plugins(store: Store) -> Store:
    """``store``, or a store on the same database whose plugins also hold HR_PLUGINS."""
    pm = store.plugins
    missing = [name for name in HR_PLUGINS if pm.get_plugin(name) is None
               and not pm.is_registered(importlib.import_module(name))]
    if not missing:
        return store
    from hub.plugins import plugin_manager

    pm = plugin_manager()
    for name in HR_PLUGINS:
        module = importlib.import_module(name)
        if not pm.is_registered(module):
            pm.register(module, name=name)
    pm.check_pending()
    return Store(store.engine, store.keyring, store.default_region, plugins=pm)


def configure(store: Store, url: str, token: str, *, instance: str = INSTANCE, config: Mapping[str, Any] | None = None,
              schedule: str | None = None, batch_size: int = 500) -> None:
    """The ``scim`` instance (added, or its config replaced), the custom field, the mapping and the route."""
    types = connector_types(store.plugins)
    conf = {"url": url, "token": token, **(config or {})}
    with store.writing(Context.system("hr-setup")) as tx:
        org_sync.install(tx.session, tx.audit)
        from hub.mappings import versions

        versions.save(tx.session, spec_text(), tx.ctx.actor.name, comment="scim connector default")
        exists = tx.session.scalar(select(ConnectorInstance.id).where(ConnectorInstance.name == instance))
        if exists is None:
            instances.add_instance(tx.session, tx.audit, store.keyring, types, instance, "scim", conf)
        else:
            instances.update_instance(tx.session, tx.audit, store.keyring, types, instance, config=conf)
        instances.add_route(tx.session, tx.audit, instance, "employees", "inbound", "employees", MAPPING,
                            schedule=schedule, batch_size=batch_size)


def sync_employees(store: Store, instance: str = INSTANCE, *, retry: RetryPolicy | None = None,
                   full: bool = False) -> SyncRun:
    """Run the employees route once here (queue, then Runner.execute); the finished run row."""
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        run, _ = runs.queue(session, instance, "employees", full=full)
    Runner(store, connector_types(store.plugins), retry=retry or RetryPolicy()).execute(run.id)
    with Session(store.engine, expire_on_commit=False) as session:
        found = session.get(SyncRun, run.id)
        assert found is not None
        return found


def demo(store: Store, var_dir: Path) -> str:
    """Start the demo HR system, sync it, let one employee leave and sync again; what to look at."""
    from hub.people.offboarding import sweep
    from hub.people.org_units import sync_org_units
    from hub.testing.scim_server import ScimServer

    hr = with_hr_plugins(store)
    server = ScimServer(token=f"demo-{uuid.uuid4().hex}").start()
    _servers.append(server)
    configure(hr, server.url, server.token, config={"allow_internal": ["127.0.0.1"]}, schedule="*/5 * * * *")
    var_dir.mkdir(parents=True, exist_ok=True)
    (var_dir / "demo-hr.json").write_text(json.dumps({"url": server.url, "instance": INSTANCE}), encoding="utf-8")
    first = sync_employees(hr)
    teams = sync_org_units(hr, INSTANCE)
    server.terminate("E1005", "2024-06-30")  # 张敏 Zhang Min leaves: her open records go to 王芳 Wang Fang
    second = sync_employees(hr)
    sweep(hr)
    with Session(hr.engine) as session:
        leaver = session.scalar(select(Employee).where(Employee.employee_number == "E1005"))
        linked = session.scalar(select(User).where(User.id == leaver.user_id)) if leaver else None
    offboarded = linked is not None and not linked.active
    lines = [
        f"HR demo: a SCIM 2.0 server on {server.url} (it runs while this process does), instance {INSTANCE}",
        f"  employees: run {first.id} {first.status} (created {first.created}, updated {first.updated}); "
        f"org units: {len(teams.created)} teams created, {len(teams.updated)} updated",
        f"  a leaver: E1005 terminated in the HR system; run {second.id} {second.status}"
        + (f"; user {linked.username} disabled, open records handed to the manager" if offboarded and linked
           else "; no hub user has her e-mail, so there was nothing to hand over"),
        "  see it:",
        "    hub records list employees --fields employee_number,last_name,department,status,manager_id",
    ]
    if offboarded and leaver is not None:
        lines += [f"    hub audit log employees {leaver.id}     # the offboard event",
                  "    hub --as wang.fang records list deals        # now includes the leaver's open deals"]
    return "\n".join(lines)
