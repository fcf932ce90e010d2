"""The SOAP connector's demo: a sample NAV customer page on loopback, synced both ways with hub accounts.

``set_up`` starts the sample service (hub.testing.soap_server) in a thread of this process, with 120
customers behind HTTP Basic auth, saves the shipped ``nav_customers`` mapping, and configures the
``demo-nav`` instance (type ``nav``, ``allow_internal: ["127.0.0.1"]``) with an inbound route (customers ->
accounts) and an outbound route (hub accounts -> NAV customers). The service lives as long as the process
that started it; running ``set_up`` again points the instance at the new service and changes nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from connectors.erp.soap import MAPPINGS, SoapConnector
from connectors.erp.soap_nav import NavConnector
from hub.core.actor import Context
from hub.core.store import Store
from hub.sync import instances
from hub.sync.connector_types import connector_types
from hub.sync.models import ConnectorInstance
from hub.testing.soap_server import serve

INSTANCE = "demo-nav"
MAPPING = "nav_customers"
USER, PASSWORD = "hub-demo", "demo-web-service-key"


def config(wsdl_url: str) -> dict[str, Any]:
    """The demo instance's config for the service at ``wsdl_url``."""
    return {"wsdl": wsdl_url, "username": USER, "password": PASSWORD, "timeout": 15, "page_size": 50,
            "allow_internal": ["127.0.0.1"], "streams": {"customers": {"page": "Customer", "ref_field": "Hub_Ref"}}}


def set_up(store: Store, var_dir: Path, customers: int = 120, port: int = 0) -> str:
    """Start the sample service and configure ``demo-nav``, its mapping and routes; says what it did.

    ``var_dir`` is accepted for the demo hook's signature; the sample service keeps its data in memory.
    """
    from hub.mappings import versions

    _, url = serve(port, customers=customers, users={USER: PASSWORD})  # its thread keeps it alive
    types = {**connector_types(store.plugins), "soap": SoapConnector, "nav": NavConnector}
    spec = (MAPPINGS / f"{MAPPING}.yaml").read_text(encoding="utf-8")
    with store.writing(Context.system("demo")) as tx:
        versions.save(tx.session, spec, tx.ctx.actor.name)
        exists = tx.session.scalar(select(ConnectorInstance.id).where(ConnectorInstance.name == INSTANCE))
        if exists is None:
            instances.add_instance(tx.session, tx.audit, store.keyring, types, INSTANCE, "nav", config(url))
        else:
            instances.update_instance(tx.session, tx.audit, store.keyring, types, INSTANCE, config=config(url))
        for direction in ("inbound", "outbound"):
            instances.add_route(tx.session, tx.audit, INSTANCE, "customers", direction, "accounts", MAPPING,
                                schedule="*/5 * * * *", batch_size=200)
    return (f"sample NAV customer page (SOAP) at {url} with {customers} customers (user {USER}); instance "
            f"{INSTANCE}: customers -> accounts and back, mapping {MAPPING}; it runs while this process does")
