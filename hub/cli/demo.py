"""`hub demo`: a database full of realistic sample data, a sample connector that really syncs, and how to explore it."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import click

from hub.cli import CliState, pass_state
from hub.core import migrate
from hub.core.actor import Context
from hub.core.store import Store
from hub.demo import sample_data as demo_data
from hub.services import dead_letters, runs
from hub.sync import demo as demo_sync
from hub.sync import dispatch
from hub.sync.embedded import EmbeddedWorker
from hub.sync.lifeline import sigterm_unwinds
from hub.sync.models import SyncRun


@click.command("demo")
@click.option("--accounts", default=300, show_default=True, help="How many accounts to create.")
@click.option("--seed", default=7, show_default=True, help="Random seed (the same seed, the same data).")
@click.option("--no-sync", is_flag=True, help="Load the data only; do not run the sample connector.")
@pass_state
def demo(state: CliState, accounts: int, seed: int, no_sync: bool) -> None:
    """Create the database (if needed), load demo data, and sync the sample ERP connector both ways.

    The syncs go through a real Celery worker on the embedded broker (an SQLite file; no server).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    url = state.settings.database_url
    migrate.upgrade(url)
    with click.progressbar(length=accounts, label="loading demo data", file=sys.stderr) as bar:
        summary = demo_data.load(state.store, accounts=accounts, seed=seed, progress=bar.update)
    click.echo(summary.describe(url))
    if no_sync:
        return
    store = state.store
    setup = demo_sync.set_up(store, state.settings.var_dir)
    click.echo(f"\nsample connector {demo_sync.INSTANCE}: a folder of ERP exports at {setup.folder}")
    with sigterm_unwinds():
        try:
            inbound, outbound = _sync(store, state.context(), state.settings.var_dir)
        finally:
            demo_sync.stop_sample_systems(state.settings.var_dir, state.store.plugins)
    for d in dead_letters.list_letters(store, state.context(), run_id=inbound, include_closed=True):
        click.echo(f"  dead letter {d.id}: {d.error}")
    click.echo("\nsee the syncs:")
    click.echo(f"  hub runs show {inbound}")
    click.echo(f"  hub runs show {outbound}          # hub edits written to {setup.folder / 'outbox'}")
    click.echo("  hub deadletters list")
    click.echo("  hub lineage accounts <id>        # which run and ERP record set each field")
    click.echo("  hub serve --with-worker          # web app + worker + scheduler: new export files sync every minute")


def _sync(store: Store, ctx: Context, var_dir: Path) -> tuple[uuid.UUID, uuid.UUID]:
    """The sample systems and a worker for the demo's runs: demo-erp in, hub edits out, each sample system in."""
    click.echo("\nsample systems of the real-protocol connectors (on loopback, while this command runs):")
    for label, message in demo_sync.sample_systems(store, var_dir):
        click.echo(f"  {label}: {message}")
    with EmbeddedWorker(var_dir / "demo-worker.log"):
        inbound = _run(store, ctx, "inbound")
        _edit_in_hub(store)
        outbound = _run(store, ctx, "outbound")
        for instance, stream in demo_sync.inbound_routes(store):
            _run(store, ctx, "inbound", instance, stream)
    instances = ", ".join(demo_sync.sample_instances(store.plugins))
    click.echo(f"  the sample systems stop with this command: {instances} stay paused, so "
               "nothing is scheduled against them (`hub demo` starts them again; `hub sync NAME` runs one anyway)")
    return inbound, outbound


def _run(store: Store, ctx: Context, direction: str, instance: str = demo_sync.INSTANCE,
         stream: str = "customers") -> uuid.UUID:
    run = runs.start_run(store, ctx, instance, stream, direction)
    tty = sys.stderr.isatty()

    def show(row: SyncRun) -> None:
        if tty:
            click.echo(f"\r  {instance}/{stream} {direction} run {row.status:9} {dispatch.counts(row)}", nl=False,
                       err=True)

    try:
        row = dispatch.wait(store, run.id, 180, show)
    except TimeoutError as exc:
        raise click.ClickException(f"{exc}; see var/demo-worker.log") from None
    if tty:
        click.echo("", err=True)
    click.echo(f"  {instance}/{stream} {direction} run {row.id}: {row.status}, {dispatch.counts(row)}"
               + (f" ({row.error})" if row.error else ""))
    return row.id


def _edit_in_hub(store: Store) -> None:
    """Staff raise three ERP customers' credit limits in the hub (a hub-owned field): these go back out."""
    from hub.core.read import Condition

    with store.writing(Context.system("demo")) as tx:
        for record in tx.query("accounts", [Condition("name", "~", "ERP-000")], limit=3):
            tx.update("accounts", record["id"], {"credit_limit": "99000"})


COMMANDS = [demo]
