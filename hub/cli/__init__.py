"""The `hub` command: thin click commands over hub.core, hub.mappings and hub.sync."""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import click

from hub.cli.terminal import printable
from hub.config import Settings
from hub.core.actor import Actor, Context
from hub.errors import HubError

if TYPE_CHECKING:
    from hub.core.store import Store
    from hub.root import Hub


@dataclass
class CliState:
    """What every command needs: settings, the Hub (hub.root: the store and the plugins), and who is acting."""

    as_user: str | None = None
    _settings: Settings | None = field(default=None)

    @cached_property
    def settings(self) -> Settings:
        return self._settings or Settings.from_env()

    @cached_property
    def hub(self) -> Hub:
        """The composition root of this command: one plugin manager, one store."""
        from hub.root import Hub

        return Hub.from_settings(self.settings)

    @property
    def store(self) -> Store:
        """The Hub's store."""
        return self.hub.store

    def context(self) -> Context:
        """A user context with --as USER, else the system acting for the operator at the shell."""
        if self.as_user is None:
            return Context(Actor.system(f"cli:{getpass.getuser()}"), "cli")
        from hub.core.users import user_by_name

        with self.store.reading(Context.system("cli")) as tx:
            user = user_by_name(tx.session, self.as_user)
        return Context(Actor.for_user(user.id, user.username), "cli")


pass_state = click.make_pass_decorator(CliState, ensure=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--as", "as_user", metavar="USER", envvar="HUB_USER",
              help="Act as this hub user (their access rules apply). Default: the system, as the operator.")
@click.version_option(package_name="hub")
@click.pass_context
def cli(ctx: click.Context, as_user: str | None) -> None:
    """Hub: the CRM integration hub.

    Settings come from HUB_* environment variables (HUB_DATABASE_URL, HUB_ENCRYPTION_KEYS, ...);
    with none set, Hub uses an SQLite database under ./var. Start with `hub db upgrade`, or
    `hub demo` for a database full of sample data.

    Exit status: that of the command run; 1 an error (one line on stderr); 2 bad usage or an unknown command.
    """
    ctx.obj = CliState(as_user=as_user)


def _register() -> None:
    from hub.cli import access, audit, data, db, demo, keys, org, serve, sync

    for module in (access, audit, data, db, demo, keys, org, serve, sync):
        for command in module.COMMANDS:
            cli.add_command(command)
    try:
        from hub.cli.mapping import mapping
    except ImportError:  # the mapping language is optional at this layer
        return
    cli.add_command(mapping)


_register()


def main() -> None:
    """Entry point: the command's exit status is the process's; HubErrors become one clear line on stderr
    and exit status 1.

    click's non-standalone mode *returns* the code of ``ctx.exit(n)`` / ``click.exceptions.Exit(n)``
    instead of exiting with it, so it is passed on here: a command that reports a failure must end
    the process with a non-zero status, or scripts and CI take the failure for success.
    """
    try:
        status = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HubError as exc:
        click.echo(f"error: {printable(str(exc), multiline=True)}", err=True)
        sys.exit(1)
    except SystemExit:
        raise
    sys.exit(status if isinstance(status, int) else 0)
