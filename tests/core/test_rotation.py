"""Key rotation (hub.core.rotation) covers every encrypted value Hub holds, not only record fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from connectors.files import FilesConnector
from hub.config import DEV_BLIND_INDEX_KEY, DEV_ENCRYPTION_KEYS
from hub.core import rotation
from hub.core.actor import Context
from hub.core.crypto import Keyring, generate_key
from hub.core.store import Store
from hub.sync import instances, runs
from hub.sync.models import open_payload
from hub.sync.retry import RetryPolicy
from hub.sync.runner import Runner
from tests.sync.conftest import (
    CONTACTS_SPEC,
    all_types,
    configure,
    contact_rows,
    dead_letters,
    files_config,
    write_jsonl,
)


class TokenFiles(FilesConnector):
    """The files connector with a secret in its config, as a remote system's token would be."""

    type_name = "token-files"
    config_schema: ClassVar[dict[str, Any]] = {
        **FilesConnector.config_schema,
        "properties": {**FilesConnector.config_schema["properties"],
                       "token": {"type": "string", "secret": True}},
    }


def _types() -> dict[str, Any]:
    return {**all_types(), TokenFiles.type_name: TokenFiles}


def test_rotation_moves_record_fields_connector_secrets_and_dead_letters_off_the_old_key(
        store: Store, tmp_path: Path) -> None:
    ctx = Context.system("test")
    src = tmp_path / "src"
    rows = contact_rows(3)
    rows[1]["birthday"] = "31.02.2024"
    write_jsonl(src / "contacts-0000.jsonl", rows)
    configure(store, "src", "token-files", files_config(src, token="s3cret-token"), "src_contacts",
              CONTACTS_SPEC.format(name="src_contacts") + "  birthday: {from: birthday, transform: [date]}\n",
              types=_types())
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        run, _ = runs.queue(session, "src", "contacts", "inbound")
    Runner(store, _types(), lease_seconds=30, retry=RetryPolicy(attempts=1)).execute(run.id)
    with store.writing(ctx) as tx:
        acme = tx.create("accounts", {"name": "Acme", "tax_id": "DE111"})
    assert rotation.key_usage(store, ctx) == {"dev1": 3}  # the tax id, the connector's token, the letter

    k2 = f"k2:{generate_key()}"
    both = Store(store.engine, Keyring.from_config(f"{k2},{DEV_ENCRYPTION_KEYS}", DEV_BLIND_INDEX_KEY),
                 plugins=store.plugins)
    report = rotation.rotate(both, ctx, batch_size=1)
    assert report.rotated == 3
    assert +report.by_module == {"accounts": 1, "connector_instances": 1, "dead_letters": 1}
    assert rotation.key_usage(both, ctx) == {"k2": 3}

    new_only = Store(store.engine, Keyring.from_config(k2, DEV_BLIND_INDEX_KEY),  # the old key is gone
                     plugins=store.plugins)
    with Session(new_only.engine) as session:
        inst = instances.get_instance(session, "src")
    live = instances.build(new_only.keyring, _types(), inst)  # what `hub connector check` builds
    assert live.config["token"] == "s3cret-token"
    [letter] = dead_letters(new_only)
    assert open_payload(new_only.keyring, letter)["birthday"] == "31.02.2024"
    with new_only.reading(ctx) as tx:
        assert tx.get("accounts", acme["id"])["tax_id"] == "DE111"
