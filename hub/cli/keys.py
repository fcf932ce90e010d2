"""`hub keys`: generate keys, show which keys encrypt what, rotate to the newest key."""

from __future__ import annotations

import sys

import click

from hub.cli import CliState, pass_state
from hub.core import crypto, rotation
from hub.core.audit_checkpoint import generate_signing_key


@click.group("keys")
def keys() -> None:
    """Manage the keys that encrypt sensitive fields (HUB_ENCRYPTION_KEYS).

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@keys.command("generate")
@click.option("--audit-signing", is_flag=True,
              help="An Ed25519 private key for HUB_AUDIT_SIGNING_KEY (signs `hub audit checkpoint`) instead.")
def generate(audit_signing: bool) -> None:
    """Print a new random key (for HUB_ENCRYPTION_KEYS as ID:KEY, or HUB_BLIND_INDEX_KEY).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    click.echo(generate_signing_key() if audit_signing else crypto.generate_key())


@keys.command("status")
@pass_state
def status(state: CliState) -> None:
    """How many stored values each key encrypts; the first configured key is the primary.

    Counts every encrypted value Hub holds: record fields, connector secrets, dead-letter payloads.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    usage = rotation.key_usage(state.store, state.context())
    primary = state.store.keyring.primary_id
    for kid, _ in state.store.keyring.keys:
        click.echo(f"{kid}{' (primary)' if kid == primary else ''}: {usage.pop(kid, 0)} values")
    for kid, n in usage.items():
        click.echo(f"{kid} (NOT CONFIGURED): {n} values")


@keys.command("rotate")
@click.option("--batch-size", default=500, show_default=True, help="Records per transaction.")
@pass_state
def rotate(state: CliState, batch_size: int) -> None:
    """Re-encrypt every value still on an older key with the primary key, in batches, while Hub runs.

    Covers record fields, connector secrets and dead-letter payloads. Put the new key first in
    HUB_ENCRYPTION_KEYS and keep the old ones after it until this finishes and `hub keys status` shows 0
    values on them.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    store, ctx = state.store, state.context()
    total = sum(rotation.key_usage(store, ctx).values())
    with click.progressbar(length=max(total, 1), label="re-encrypting", file=sys.stderr) as bar:
        report = rotation.rotate(store, ctx, batch_size, progress=bar.update)
    click.echo(f"rotated {report.rotated} of {report.scanned} records to key {store.keyring.primary_id}")
    for module, n in sorted(report.by_module.items()):
        click.echo(f"  {module}: {n}")


COMMANDS = [keys]
