"""Settings: safe defaults, overridden by HUB_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hub.errors import ConfigError

#: Development-only secrets. They let `make demo` run with no set-up; production refuses them.
DEV_SECRET_KEY = "dev-secret-key-change-me"
DEV_ENCRYPTION_KEYS = "dev1:ZGV2LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGVzLW9rISE="
DEV_BLIND_INDEX_KEY = "ZGV2LWJsaW5kLWluZGV4LWtleS0zMi1ieXRlcy1vayE="


@dataclass(frozen=True)
class Settings:
    """Everything the hub reads from its environment, resolved once."""

    env: str = "development"
    database_url: str = "sqlite:///var/hub.db"
    secret_key: str = DEV_SECRET_KEY
    encryption_keys: str = DEV_ENCRYPTION_KEYS
    blind_index_key: str = DEV_BLIND_INDEX_KEY
    #: base64 of the 32-byte Ed25519 private key that signs audit checkpoints; unset: var/audit-signing.key
    audit_signing_key: str | None = None
    broker_url: str | None = None
    default_region: str | None = None
    batch_size: int = 1000
    var_dir: Path = field(default_factory=lambda: Path("var"))
    #: a sync worker's lease on a run, in seconds (HUB_SYNC_LEASE_SECONDS); unset: hub.sync.runs.LEASE_SECONDS
    sync_lease_seconds: float | None = None
    #: map in a helper process beside the worker (HUB_SYNC_MAPPING_PROCESS; 0, false, no, off: in the worker)
    sync_mapping_process: bool = True
    #: the level of the structured logs (HUB_LOG_LEVEL)
    log_level: str = "INFO"
    #: ``json`` (JSON lines, the default) or ``text`` (HUB_LOG_FORMAT)
    log_format: str = "json"

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read HUB_* variables; in production refuse the development secrets."""
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("HUB_VAR_DIR", "var"))
        try:
            batch_size = int(env.get("HUB_BATCH_SIZE", "1000"))
        except ValueError as exc:
            raise ConfigError(f"HUB_BATCH_SIZE: {env['HUB_BATCH_SIZE']!r} is not a whole number") from exc
        lease = env.get("HUB_SYNC_LEASE_SECONDS") or None
        try:
            sync_lease_seconds = float(lease) if lease is not None else None
        except ValueError as exc:
            raise ConfigError(f"HUB_SYNC_LEASE_SECONDS: {lease!r} is not a number") from exc
        settings = cls(
            env=env.get("HUB_ENV", "development"),
            database_url=env.get("HUB_DATABASE_URL", f"sqlite:///{var_dir / 'hub.db'}"),
            secret_key=env.get("HUB_SECRET_KEY", DEV_SECRET_KEY),
            encryption_keys=env.get("HUB_ENCRYPTION_KEYS", DEV_ENCRYPTION_KEYS),
            blind_index_key=env.get("HUB_BLIND_INDEX_KEY", DEV_BLIND_INDEX_KEY),
            audit_signing_key=env.get("HUB_AUDIT_SIGNING_KEY") or None,
            broker_url=env.get("HUB_BROKER_URL") or None,
            default_region=env.get("HUB_DEFAULT_REGION") or None,
            batch_size=batch_size,
            var_dir=var_dir,
            sync_lease_seconds=sync_lease_seconds,
            sync_mapping_process=env.get("HUB_SYNC_MAPPING_PROCESS", "1").strip().lower()
            not in ("0", "false", "no", "off"),
            log_level=env.get("HUB_LOG_LEVEL", "INFO"),
            log_format="text" if env.get("HUB_LOG_FORMAT") == "text" else "json",
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Raise ConfigError when the settings are unsafe or malformed."""
        if self.env not in ("development", "test", "production"):
            raise ConfigError(f"HUB_ENV: {self.env!r} is not one of development, test, production")
        if self.batch_size < 1:
            raise ConfigError("HUB_BATCH_SIZE: must be at least 1")
        if self.sync_lease_seconds is not None and self.sync_lease_seconds <= 0:
            raise ConfigError("HUB_SYNC_LEASE_SECONDS: must be more than 0")
        if self.production:
            defaults = {
                "HUB_SECRET_KEY": self.secret_key == DEV_SECRET_KEY,
                "HUB_ENCRYPTION_KEYS": self.encryption_keys == DEV_ENCRYPTION_KEYS
                or "dev1:" in self.encryption_keys,
                "HUB_BLIND_INDEX_KEY": self.blind_index_key == DEV_BLIND_INDEX_KEY,
            }
            bad = [name for name, is_default in defaults.items() if is_default]
            if bad:
                raise ConfigError(
                    f"{', '.join(bad)}: the development default is not allowed with HUB_ENV=production; "
                    "generate one with `hub keys generate`"
                )
