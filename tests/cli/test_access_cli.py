"""`hub roles grant`: adding actions is the default; taking any away or changing the scope needs --replace.
`hub roles admin`: admin permissions, shown by `hub roles list`; changing them needs roles.manage."""

from __future__ import annotations

from click.testing import CliRunner

from hub.cli import cli


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr + (str(result.exception) if result.exception else "")


def test_grant_adds_actions_and_says_what_it_replaces(hub_env: str) -> None:
    assert _run("roles", "create", "rep")[0] == 0
    code, out, _ = _run("roles", "grant", "rep", "contacts", "--actions", "read,update", "--scope", "team")
    assert code == 0 and out.strip() == "rep: contacts: nothing -> read,update on team records"
    code, out, _ = _run("roles", "grant", "rep", "contacts", "--actions", "export")
    assert code == 0
    assert out.strip() == "rep: contacts: read,update on team records -> read,update,export on team records"
    code, _, err = _run("roles", "grant", "rep", "contacts", "--actions", "read", "--scope", "all")
    assert code != 0 and "rep has contacts on team records; granting on all records would replace that" in err
    assert "contacts: read,update,export on team records" in _run("roles", "list")[1]
    code, out, _ = _run("roles", "grant", "rep", "contacts", "--actions", "read", "--replace")
    assert code == 0 and out.strip() == "rep: contacts: read,update,export on team records -> read on team records"
    code, out, _ = _run("roles", "grant", "rep", "contacts", "--actions", "read")
    assert code == 0 and out.strip().endswith("(unchanged)")
    assert "contacts: read on team records" in _run("roles", "list")[1]


def test_cli_roles_admin_grants_revokes_and_lists(hub_env: str) -> None:
    assert _run("roles", "create", "ops")[0] == 0
    code, out, _ = _run("roles", "admin", "ops", "connectors.manage,runs.read")
    assert code == 0 and out.strip() == "ops: admin: nothing -> connectors.manage,runs.read"
    code, out, _ = _run("roles", "admin", "ops", "runs.read")
    assert code == 0 and out.strip().endswith("(unchanged)")
    assert "    admin: connectors.manage,runs.read" in _run("roles", "list")[1]
    code, out, _ = _run("roles", "admin", "ops", "runs.read", "--revoke")
    assert code == 0 and out.strip() == "ops: admin: connectors.manage,runs.read -> connectors.manage"
    code, _, err = _run("roles", "admin", "ops", "runs.write")
    assert code == 1 and "runs.write: not an admin permission" in err
    assert _run("users", "create", "ann", "--no-password", "--role", "ops")[0] == 0
    code, _, err = _run("--as", "ann", "roles", "admin", "ops", "all")
    assert code == 1 and "needs admin permission roles.manage" in err
    code, _, err = _run("--as", "ann", "users", "create", "bob", "--no-password")
    assert code == 1 and "users.manage" in err
