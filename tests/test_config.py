"""Settings from HUB_* variables, and the production guard."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hub.config import Settings
from hub.core import crypto
from hub.errors import ConfigError


def test_defaults_are_the_embedded_sqlite_database() -> None:
    s = Settings.from_env({})
    assert s.database_url == "sqlite:///var/hub.db" and not s.production and s.broker_url is None


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ConfigError, match="HUB_SECRET_KEY, HUB_ENCRYPTION_KEYS, HUB_BLIND_INDEX_KEY"):
        Settings.from_env({"HUB_ENV": "production"})
    ok = {"HUB_ENV": "production", "HUB_SECRET_KEY": "s" * 40, "HUB_ENCRYPTION_KEYS": f"k1:{crypto.generate_key()}",
          "HUB_BLIND_INDEX_KEY": crypto.generate_key()}
    assert Settings.from_env(ok).production


def test_bad_values_are_named() -> None:
    with pytest.raises(ConfigError, match="HUB_BATCH_SIZE: 'many' is not a whole number"):
        Settings.from_env({"HUB_BATCH_SIZE": "many"})
    with pytest.raises(ConfigError, match="HUB_ENV: 'prod'"):
        Settings.from_env({"HUB_ENV": "prod"})


def test_compose_file_names_the_production_services() -> None:
    compose = yaml.safe_load((Path(__file__).parent.parent / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert {"pgdata", "redisdata"} <= set(compose["volumes"])
    web_env = services["web"]["environment"]
    assert web_env["HUB_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert web_env["HUB_BROKER_URL"].startswith("redis://")


def test_compose_beat_keeps_no_schedule_file() -> None:
    """The scheduler holds a lease in the database and keeps its schedule in memory: no --schedule, no volume."""
    compose = yaml.safe_load((Path(__file__).parent.parent / "docker-compose.yml").read_text())
    beat = compose["services"]["beat"]
    assert not any("--schedule" in part for part in beat["command"]) and "volumes" not in beat
