"""`hub audit`: verify the hash chain, show a record's history."""

from __future__ import annotations

import json

import click
from sqlalchemy.orm import Session

from hub.cli import CliState, pass_state
from hub.core import audit as audit_log


@click.group("audit")
def audit() -> None:
    """Check and read the audit trail (it cannot be changed through Hub)."""


@audit.command("verify")
@click.option("--expect-head", metavar="HASH",
              help="The head hash you kept from an earlier verify; detects a cut-off tail.")
@pass_state
def verify(state: CliState, expect_head: str | None) -> None:
    """Walk the audit chain; exit 1 and name the first broken sequence number if it was tampered with.

    Prints the head hash: keep it outside the database and pass it back with --expect-head later.
    """
    with Session(state.store.engine) as session:
        v = audit_log.verify(session, expect_head)
    if not v.ok:
        click.echo(f"BROKEN at sequence number {v.broken_seq}: {v.problem}", err=True)
        click.echo(f"verified {v.events} events before it; last good head {v.head_seq} {v.head_hash}", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"ok: {v.events} events, chain intact")
    click.echo(f"head: {v.head_seq} {v.head_hash}")


@audit.command("log")
@click.argument("module")
@click.argument("record_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
@pass_state
def log(state: CliState, module: str, record_id: str, as_json: bool) -> None:
    """Show the history of one record: who changed which fields, when, through what."""
    with state.store.reading(state.context()) as tx:
        tx.get(module, record_id, include_deleted=True)  # applies access: out of scope is "not found"
        events = audit_log.history(tx.session, module, record_id)
    if not events:
        click.echo("no events")
    for ev in events:
        changes = json.loads(ev.changes)
        if as_json:
            click.echo(json.dumps({"seq": ev.seq, "at": ev.at.isoformat(), "actor": f"{ev.actor_kind}:{ev.actor_name}",
                                   "source": ev.source, "request_id": ev.request_id, "action": ev.action,
                                   "changes": changes}, ensure_ascii=False))
            continue
        click.echo(f"#{ev.seq} {ev.at:%Y-%m-%d %H:%M:%S}Z {ev.action} by {ev.actor_kind}:{ev.actor_name} "
                   f"via {ev.source} (request {ev.request_id})")
        for name, (before, after) in sorted(changes.items()):
            click.echo(f"    {name}: {_show(before)} -> {_show(after)}")


def _show(value: object) -> str:
    return "∅" if value is None else json.dumps(value, ensure_ascii=False)


COMMANDS = [audit]
