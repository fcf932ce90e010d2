"""The store tells record_changed hooks about every batch of changes, inside the writing transaction."""

from __future__ import annotations

from pathlib import Path

from hub.plugins import plugin_manager


def test_record_changed_reaches_plugins(tmp_path: Path) -> None:
    from hub.config import DEV_BLIND_INDEX_KEY, DEV_ENCRYPTION_KEYS
    from hub.core.actor import Context
    from hub.core.crypto import Keyring
    from hub.core.db import make_engine
    from hub.core.migrate import upgrade
    from hub.core.store import Store
    from hub.hookspecs import hookimpl

    seen: list[tuple[str, str, tuple[str, ...]]] = []

    class Plugin:
        @hookimpl
        def record_changed(self, tx: object, module: str, changes: list[object]) -> None:
            seen.extend((module, c.action, c.fields) for c in changes)  # type: ignore[attr-defined]

    url = f"sqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    store = Store(make_engine(url), Keyring.from_config(DEV_ENCRYPTION_KEYS, DEV_BLIND_INDEX_KEY),
                  plugins=plugin_manager(extra=[Plugin()], entry_points=False))
    with store.writing(Context.system("test")) as tx:
        acc = tx.create("accounts", {"name": "Acme"})
        tx.update("accounts", acc["id"], {"city": "Berlin"})
        tx.delete("accounts", acc["id"])
    assert [(m, a) for m, a, _ in seen] == [("accounts", "created"), ("accounts", "updated"), ("accounts", "deleted")]
    assert seen[1][2] == ("city",)
