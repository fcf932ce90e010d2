"""`hub roles grant`: adding actions is the default; taking any away or changing the scope needs --replace."""

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
