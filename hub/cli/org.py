"""`hub org`: teams from the HR system's org units, and offboarding of leavers."""

from __future__ import annotations

import click

from hub.cli import CliState, pass_state


@click.group("org")
def org() -> None:
    """The organisation from HR: teams, managers, leavers.

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@org.command("sync")
@click.argument("name")
@pass_state
def sync_units(state: CliState, name: str) -> None:
    """Make the teams match the org units of HR instance NAME (parents, managers, renames).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    from hub.people.org_units import sync_org_units

    report = sync_org_units(state.store, name)
    click.echo(str(report))


@org.command("sweep")
@pass_state
def sweep(state: CliState) -> None:
    """Offboard every leaver not offboarded yet: reassign their open records, disable their user.

    Leavers are normally handled when the HR sync lands them; this catches termination dates that pass
    with no change in the HR system (the scheduler runs it too).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    from hub.people.offboarding import sweep as offboard_all

    done = offboard_all(state.store)
    for handover in done:
        click.echo(str(handover))
    click.echo(f"{len(done)} leavers offboarded")


COMMANDS = [org]
