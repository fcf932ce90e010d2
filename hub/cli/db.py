"""`hub db`: create and upgrade the database schema."""

from __future__ import annotations

import click

from hub.cli import CliState, pass_state
from hub.core import migrate
from migrations.schema import metadata


@click.group("db")
def db() -> None:
    """Create, upgrade and check the database schema.

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to go to.")
@pass_state
def upgrade(state: CliState, revision: str) -> None:
    """Create the database or bring it to the newest schema (safe to run again).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    url = state.settings.database_url
    migrate.upgrade(url, revision)
    click.echo(f"database at revision {migrate.current(url)} ({_safe(url)})")


@db.command("current")
@pass_state
def current(state: CliState) -> None:
    """Show the schema revision of the database and the newest one shipped.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    click.echo(f"database: {migrate.current(state.settings.database_url) or 'not created'}; "
               f"newest: {migrate.head()}")


@db.command("check")
@pass_state
def check(state: CliState) -> None:
    """Exit non-zero when the database schema differs from the models.

    Exit status: 0 the schema matches the models; 1 it drifted (each difference printed) or an error; 2 bad usage.
    """
    diffs = migrate.drift(state.settings.database_url, metadata)
    for d in diffs:
        click.echo(f"drift: {d}")
    if diffs:
        raise click.exceptions.Exit(1)
    click.echo("schema matches the models")


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


COMMANDS = [db]
