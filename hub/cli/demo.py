"""`hub demo`: a database full of realistic sample data, and how to explore it."""

from __future__ import annotations

import sys

import click

from hub.cli import CliState, pass_state
from hub.core import demo as demo_data
from hub.core import migrate


@click.command("demo")
@click.option("--accounts", default=300, show_default=True, help="How many accounts to create.")
@click.option("--seed", default=7, show_default=True, help="Random seed (the same seed, the same data).")
@pass_state
def demo(state: CliState, accounts: int, seed: int) -> None:
    """Create the database (if needed) and load demo data: accounts, contacts, deals, users, roles."""
    url = state.settings.database_url
    migrate.upgrade(url)
    with click.progressbar(length=accounts, label="loading demo data", file=sys.stderr) as bar:
        summary = demo_data.load(state.store, accounts=accounts, seed=seed, progress=bar.update)
    click.echo(summary.describe(url))


COMMANDS = [demo]
