"""`hub users`, `hub teams`, `hub roles`: who may do what."""

from __future__ import annotations

import click

from hub.cli import CliState, pass_state
from hub.cli.terminal import printable
from hub.core.models.access import ACTIONS, ADMIN_PERMISSIONS, SCOPES
from hub.services import roles as role_service
from hub.services import users as user_service


@click.group("users")
def users() -> None:
    """Create and manage the people who sign in to Hub.

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@users.command("create")
@click.argument("username")
@click.option("--password", help="Password (prompted for when not given; use --no-password for none).")
@click.option("--no-password", is_flag=True, help="Create without a password (cannot sign in yet).")
@click.option("--email")
@click.option("--name", "full_name", help="Full name.")
@click.option("--team", help="Team name.")
@click.option("--manager", help="Username of their manager.")
@click.option("--admin", is_flag=True, help="Full access to everything.")
@click.option("--role", "roles", multiple=True, help="Role to give (repeatable).")
@pass_state
def create_user(state: CliState, username: str, password: str | None, no_password: bool, email: str | None,
                full_name: str | None, team: str | None, manager: str | None, admin: bool,
                roles: tuple[str, ...]) -> None:
    """Create a user (password stored as an argon2id hash).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    if password is None and not no_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = user_service.create_user(state.store, state.context(), username, password, email=email,
                                    full_name=full_name, team=team, manager=manager, is_admin=admin, roles=roles)
    click.echo(f"created user {printable(user.username)} ({user.id})")


@users.command("list")
@pass_state
def list_users(state: CliState) -> None:
    """List users with team, manager and roles.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    for u in user_service.list_users(state.store, state.context()):
        flags = ("admin " if u.is_admin else "") + ("" if u.active else "DISABLED ")
        click.echo(printable(f"{u.username:20} {flags}team={u.team or '-'} manager={u.manager or '-'} "
                             f"roles={','.join(u.roles) or '-'}"))


@users.command("set")
@click.argument("username")
@click.option("--team")
@click.option("--manager")
@click.option("--password", is_flag=True, help="Prompt for a new password.")
@click.option("--disable", "active", flag_value=False, default=None, help="Disable the user.")
@click.option("--enable", "active", flag_value=True, help="Enable the user.")
@pass_state
def set_user(state: CliState, username: str, team: str | None, manager: str | None, password: bool,
             active: bool | None) -> None:
    """Change a user's team, manager, password or status.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    new_password = click.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    user_service.set_user(state.store, state.context(), username, active=active, team=team, manager=manager,
                          password=new_password)
    click.echo(f"updated {username}")


@click.group("teams")
def teams() -> None:
    """Teams form the org tree behind the team and subordinates scopes.

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@teams.command("create")
@click.argument("name")
@click.option("--parent", help="Parent team.")
@click.option("--manager", help="Username of the team's manager.")
@pass_state
def create_team(state: CliState, name: str, parent: str | None, manager: str | None) -> None:
    """Create a team.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    user_service.create_team(state.store, state.context(), name, parent, manager)
    click.echo(f"created team {name}")


@teams.command("list")
@pass_state
def list_teams(state: CliState) -> None:
    """List teams with parent and manager.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    for t in user_service.list_teams(state.store, state.context()):
        click.echo(printable(f"{t.name:24} parent={t.parent or '-'} manager={t.manager or '-'}"))


@click.group("roles")
def roles() -> None:
    """Roles: per-module permissions, record scope, hidden and masked fields.

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@roles.command("create")
@click.argument("name")
@click.option("--description")
@pass_state
def create_role(state: CliState, name: str, description: str | None) -> None:
    """Create an empty role.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    role_service.create_role(state.store, state.context(), name, description)
    click.echo(f"created role {name}")


@roles.command("grant")
@click.argument("role")
@click.argument("module")
@click.option("--actions", default="read", show_default=True,
              help=f"Comma-separated: {','.join(ACTIONS)}, or 'all'.")
@click.option("--scope", type=click.Choice(SCOPES),
              help="Which records: the user's own, their team's, their team's and subordinates', or all "
                   "(default: the scope the role has in MODULE, else own).")
@click.option("--replace", is_flag=True,
              help="Set exactly these actions and scope, taking away others the role has in MODULE.")
@pass_state
def grant(state: CliState, role: str, module: str, actions: str, scope: str | None, replace: bool) -> None:
    """Let ROLE do ACTIONS in MODULE (or * for every module).

    The actions are added to those ROLE has in MODULE. Taking actions away or changing the scope needs
    --replace; the permission before and after is shown.

    Exit status: 0 granted (or already granted); 1 an unknown role or module, a narrowing without --replace, or an
    error; 2 bad usage.
    """
    acts = list(ACTIONS) if actions == "all" else [a.strip() for a in actions.split(",") if a.strip()]
    done = role_service.grant(state.store, state.context(), role, module, acts, scope, replace=replace)
    click.echo(done.describe() + ("" if done.changed else " (unchanged)"))


@roles.command("field")
@click.argument("role")
@click.argument("module")
@click.argument("field")
@click.argument("rule", type=click.Choice(["hidden", "masked", "visible"]))
@pass_state
def field_rule(state: CliState, role: str, module: str, field: str, rule: str) -> None:
    """Make FIELD of MODULE hidden, masked or visible again for ROLE.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    role_service.field_rule(state.store, state.context(), role, module, field, None if rule == "visible" else rule)
    click.echo(f"{role}: {module}.{field} is {rule}")


@roles.command("admin")
@click.argument("role")
@click.argument("permissions", metavar="PERMISSION[,PERMISSION...]")
@click.option("--revoke", is_flag=True, help="Take the permissions away instead.")
@pass_state
def admin(state: CliState, role: str, permissions: str, revoke: bool) -> None:
    """Give ROLE admin permissions (area.read or area.manage; 'all' for every one), or take them away.

    The areas: users, roles, tokens, custom_fields, connectors, mappings, runs, dead_letters, webhooks, audit,
    keys; area.manage includes area.read. The role's admin permissions before and after are shown.

    Exit status: 0 done (or unchanged); 1 an unknown role or permission, or an error; 2 bad usage.
    """
    perms = list(ADMIN_PERMISSIONS) if permissions == "all" else permissions.split(",")
    change = role_service.revoke_admin if revoke else role_service.grant_admin
    done = change(state.store, state.context(), role, perms)
    click.echo(done.describe() + ("" if done.changed else " (unchanged)"))


@roles.command("assign")
@click.argument("username")
@click.argument("role")
@pass_state
def assign(state: CliState, username: str, role: str) -> None:
    """Give USERNAME the ROLE.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    role_service.assign_role(state.store, state.context(), username, role)
    click.echo(f"{username} has role {role}")


@roles.command("revoke")
@click.argument("username")
@click.argument("role")
@pass_state
def revoke(state: CliState, username: str, role: str) -> None:
    """Take ROLE away from USERNAME.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    role_service.revoke_role(state.store, state.context(), username, role)
    click.echo(f"{username} no longer has role {role}")


@roles.command("list")
@pass_state
def list_roles(state: CliState) -> None:
    """List roles with their permissions, field rules and admin permissions.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    for r in role_service.list_roles(state.store, state.context()):
        click.echo(printable(r.name + (f" — {r.description}" if r.description else "")))
        for g in r.grants:
            click.echo(f"    {g.module}: {','.join(g.actions) or 'nothing'} on {g.scope} records")
        for fr in r.field_rules:
            click.echo(printable(f"    {fr.module}.{fr.field}: {fr.rule}"))
        if r.admin:
            click.echo(f"    admin: {','.join(r.admin)}")


COMMANDS = [users, teams, roles]
