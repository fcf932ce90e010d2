"""The demo's sample systems come from the register_demo_systems hook: the connectors declare them, the
demo sets them up in order, reports one that fails and goes on, and stops those with a stop."""

from __future__ import annotations

from pathlib import Path

import pluggy

from hub import hookspecs
from hub.core.store import Store
from hub.hookspecs import hookimpl
from hub.plugins import plugin_manager
from hub.sync.demo import DemoSystem, demo_systems, sample_instances, sample_systems, stop_sample_systems

CALLS: list[str] = []


def _fine(store: Store, var_dir: Path) -> str:
    CALLS.append(f"set up in {var_dir.name}")
    return "configured demo-fine"


def _broken(store: Store, var_dir: Path) -> str:
    raise OSError("port 8069 is taken")


class Samples:
    @hookimpl
    def register_demo_systems(self) -> list[DemoSystem]:
        return [DemoSystem("Broken", "demo-broken", _broken, order=2),
                DemoSystem("Fine", "demo-fine", _fine, stop=lambda var_dir: CALLS.append("stopped"), order=1)]


def _only(plugin: object) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(hookspecs)
    pm.register(plugin)
    return pm


def test_the_connectors_bring_their_sample_systems_through_the_hook() -> None:
    systems = demo_systems(plugin_manager(entry_points=False))
    assert [(s.label, s.instance) for s in systems] == [
        ("Odoo (XML-RPC)", "demo-odoo"), ("NAV / Business Central (SOAP)", "demo-nav"),
        ("finance (SFTP)", "demo-finance"), ("HR (SCIM)", "demo-hr")]
    assert [s.stop is not None for s in systems] == [False, False, True, False]


def test_the_demo_sets_systems_up_in_order_reports_a_failure_and_stops_them(store: Store, tmp_path: Path) -> None:
    CALLS.clear()
    pm = _only(Samples())
    own = Store(store.engine, store.keyring, plugins=pm)
    assert sample_instances(pm) == ("demo-fine", "demo-broken")
    report = sample_systems(own, tmp_path)
    assert report == [("Fine", "configured demo-fine"), ("Broken", "skipped: OSError: port 8069 is taken")]
    stop_sample_systems(tmp_path, pm)
    assert [f"set up in {tmp_path.name}", "stopped"] == CALLS
