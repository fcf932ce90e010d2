"""The beat tick (hub.sync.tasks): it runs the periodic jobs the plugins register (register_periodic_jobs),
from the store's own plugin manager; the worker builds its store and connector types from ONE plugin
manager, with its settings (lease, mapping process, logs) from hub.config.Settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from hub.config import Settings
from hub.core.store import Store
from hub.core.types import utcnow
from hub.errors import ConfigError
from hub.hookspecs import hookimpl
from hub.plugins import plugin_manager
from hub.sync import runs, tasks


class Jobs:
    """A plugin with two periodic jobs: one that counts, one that fails."""

    def __init__(self) -> None:
        self.calls: list[tuple[Store, dt.datetime]] = []

    @hookimpl
    def register_periodic_jobs(self) -> dict[str, Any]:
        return {"counted": self.counted, "broken": self.broken}

    def counted(self, store: Store, now: dt.datetime) -> int:
        self.calls.append((store, now))
        return 3

    def broken(self, store: Store, now: dt.datetime) -> int:
        raise RuntimeError("the job broke")


def _with(store: Store, *extra: object) -> Store:
    return Store(store.engine, store.keyring, plugins=plugin_manager(extra, entry_points=False))


def test_the_tick_calls_a_periodic_job_registered_by_an_extra_plugin(store: Store, caplog: Any) -> None:
    jobs = Jobs()
    plugged = _with(store, jobs)
    now = utcnow()
    done = tasks.run_tick(plugged, now)
    assert jobs.calls == [(plugged, now)]
    assert done["counted"] == 3 and done["broken"] == 0  # a failing job is logged; the others still run
    assert done["scheduled"] == 0 and done["resent"] == 0 and done["offboarded"] == 0
    assert "periodic job broken failed: the job broke" in caplog.text


def test_the_offboarding_sweep_is_a_periodic_job_of_its_plugin(store: Store) -> None:
    jobs = tasks.periodic_jobs(plugin_manager(entry_points=False))
    assert "offboarded" in jobs and jobs["offboarded"](store, utcnow()) == 0
    assert set(tasks.run_tick(store)) == {"scheduled", "resent", *tasks.periodic_jobs(store.plugins)}


def test_a_job_name_given_twice_is_a_configuration_error() -> None:
    class Again:
        @hookimpl
        def register_periodic_jobs(self) -> dict[str, Any]:
            return {"offboarded": lambda store, now: None}

    with pytest.raises(ConfigError, match="'offboarded' is registered twice"):
        tasks.periodic_jobs(plugin_manager([Again()], entry_points=False))


@pytest.fixture
def fresh_worker(monkeypatch: pytest.MonkeyPatch, sqlite_url: str, tmp_path: Path) -> Iterator[None]:
    """A worker process's caches emptied, its environment pointing at the test database."""
    monkeypatch.setenv("HUB_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("HUB_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setattr(tasks, "_redactor", lambda: None)  # configuring logs is the worker's, not the test's
    for cached in (tasks.settings, tasks.runner):
        cached.cache_clear()
    yield
    for cached in (tasks.settings, tasks.runner):
        cached.cache_clear()


def test_the_worker_builds_one_plugin_manager(fresh_worker: None, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[pluggy.PluginManager] = []

    def counting(*args: Any, **kwargs: Any) -> pluggy.PluginManager:
        built.append(plugin_manager(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(tasks, "plugin_manager", counting)
    monkeypatch.setenv("HUB_SYNC_LEASE_SECONDS", "42")
    monkeypatch.setenv("HUB_SYNC_MAPPING_PROCESS", "off")
    runner = tasks.runner()
    assert len(built) == 1 and runner.store.plugins is built[0]
    assert runner.types.keys() >= {"files", "scim"}
    assert runner.lease_seconds == 42.0 and runner.mapping_process is False


def test_the_worker_defaults(fresh_worker: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HUB_SYNC_LEASE_SECONDS", "HUB_SYNC_MAPPING_PROCESS"):
        monkeypatch.delenv(name, raising=False)
    runner = tasks.runner()
    assert runner.lease_seconds == runs.LEASE_SECONDS and runner.mapping_process is True


@pytest.mark.parametrize(("env", "expected"), [
    ({}, {"sync_lease_seconds": None, "sync_mapping_process": True, "log_level": "INFO", "log_format": "json"}),
    ({"HUB_SYNC_LEASE_SECONDS": "2.5", "HUB_SYNC_MAPPING_PROCESS": "0", "HUB_LOG_LEVEL": "DEBUG",
      "HUB_LOG_FORMAT": "text"},
     {"sync_lease_seconds": 2.5, "sync_mapping_process": False, "log_level": "DEBUG", "log_format": "text"}),
    ({"HUB_SYNC_MAPPING_PROCESS": "yes", "HUB_LOG_FORMAT": "anything"},
     {"sync_mapping_process": True, "log_format": "json"}),
])
def test_the_worker_settings_come_from_the_environment(env: dict[str, str], expected: dict[str, Any]) -> None:
    settings = Settings.from_env(env)
    assert {name: getattr(settings, name) for name in expected} == expected


@pytest.mark.parametrize("lease", ["soon", "0", "-1"])
def test_a_bad_lease_is_a_configuration_error(lease: str) -> None:
    with pytest.raises(ConfigError, match="HUB_SYNC_LEASE_SECONDS"):
        Settings.from_env({"HUB_SYNC_LEASE_SECONDS": lease})
