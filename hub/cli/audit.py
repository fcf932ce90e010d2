"""`hub audit`: verify the MAC chain, sign checkpoints of its head, show a record's history."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from sqlalchemy.orm import Session

from hub.cli import CliState, pass_state
from hub.cli.terminal import printable
from hub.core import audit as audit_log
from hub.core import audit_checkpoint as checkpoints
from hub.core.redaction import redact_changes
from hub.errors import ValidationError


@click.group("audit")
def audit() -> None:
    """Check and read the audit trail (it cannot be changed through Hub).

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@audit.command("verify")
@click.option("--expect-head", metavar="HASH",
              help="The head hash you kept from an earlier verify; detects a cut-off tail.")
@click.option("--since-checkpoint", "checkpoint_file", metavar="FILE", type=click.Path(path_type=Path),
              help="A checkpoint `hub audit checkpoint` signed: checks its signature, that its event is "
                   "unchanged, and that no event up to it was removed.")
@click.option("--strict", is_flag=True, help="Also fail if events were written after the kept head or checkpoint.")
@pass_state
def verify(state: CliState, expect_head: str | None, checkpoint_file: Path | None, strict: bool) -> None:
    """Walk the audit chain; exit 1 and name the first broken sequence number if it was tampered with.

    Each event is chained with a MAC under a key that is not in the database, so a forged, removed or
    reordered event is reported at its own sequence number. Prints the head: keep it (or better, a signed
    `hub audit checkpoint`) outside the database and pass it back later to detect events cut off the end.

    Exit status: 0 the chain is intact; 1 the chain is broken, the checkpoint is invalid, or (with --strict)
    events were written after it; 2 bad usage.
    """
    anchor = None
    if checkpoint_file is not None:
        signer = checkpoints.signing_key(state.settings)
        try:
            cp = checkpoints.load(checkpoint_file, signer)
        except ValidationError as exc:
            click.echo(f"BAD CHECKPOINT {printable(str(exc))}", err=True)
            raise click.exceptions.Exit(1) from None
        anchor = cp.anchor
    with Session(state.store.engine) as session:
        v = audit_log.verify(session, state.store.keyring.audit_key, expect_head, anchor, strict)
    if not v.ok:
        click.echo(f"BROKEN at sequence number {v.broken_seq}: {v.problem}", err=True)
        click.echo(f"verified {v.events} events before it; last good head {v.head_seq} {v.head_hash}", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"ok: {v.events} events, chain intact")
    if anchor is not None or expect_head is not None:
        kept = "checkpoint" if anchor is not None else "expected head"
        click.echo(f"{v.since} events written after the {kept}")
    click.echo(f"head: {v.head_seq} {v.head_hash}")


@audit.command("checkpoint")
@click.option("--out", "out", metavar="FILE", type=click.Path(path_type=Path),
              help="Write the checkpoint here (mode 0600) instead of printing it; keep it outside the database.")
@pass_state
def checkpoint(state: CliState, out: Path | None) -> None:
    """Verify the chain and sign its head (seq, hash, time) with the audit signing key.

    The key is HUB_AUDIT_SIGNING_KEY or var/audit-signing.key (made, mode 0600, on first use); it never
    goes into the database. Pass the file to `hub audit verify --since-checkpoint FILE` later.

    Exit status: 0 written; 1 the chain is broken (nothing is signed) or the key is unusable; 2 bad usage.
    """
    signer = checkpoints.signing_key(state.settings, create=True)
    with Session(state.store.engine) as session:
        v = audit_log.verify(session, state.store.keyring.audit_key)
    if not v.ok:
        click.echo(f"BROKEN at sequence number {v.broken_seq}: {v.problem}; not signing it", err=True)
        raise click.exceptions.Exit(1)
    text = checkpoints.Checkpoint.sign(signer, v.head_seq, v.head_hash).to_json(signer)
    if out is None:
        click.echo(text, nl=False)
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    click.echo(f"checkpoint of event {v.head_seq} written to {out}")


@audit.command("log")
@click.argument("module")
@click.argument("record_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
@pass_state
def log(state: CliState, module: str, record_id: str, as_json: bool) -> None:
    """Show the history of one record: who changed which fields, when, through what.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    with state.store.reading(state.context()) as tx:
        tx.get(module, record_id, include_deleted=True)  # applies access: out of scope is "not found"
        events = audit_log.history(tx.session, module, record_id)
        profile = tx.profile
    if not events:
        click.echo("no events")
    for ev in events:
        changes = redact_changes(profile, module, json.loads(ev.changes))  # the actor's field rules apply
        if as_json:
            click.echo(json.dumps({"seq": ev.seq, "at": ev.at.isoformat(), "actor": f"{ev.actor_kind}:{ev.actor_name}",
                                   "source": ev.source, "request_id": ev.request_id, "action": ev.action,
                                   "changes": changes}, ensure_ascii=False).translate(_C1_ESCAPED))
            continue
        click.echo(printable(f"#{ev.seq} {ev.at:%Y-%m-%d %H:%M:%S}Z {ev.action} by {ev.actor_kind}:{ev.actor_name} "
                             f"via {ev.source} (request {ev.request_id})"))
        for name, (before, after) in sorted(changes.items()):
            click.echo(printable(f"    {name}: {_show(before)} -> {_show(after)}"))


#: JSON escapes C0 controls itself; C1 controls (an 8-bit CSI) and bidi overrides are escaped here too.
_C1_ESCAPED = {c: f"\\u{c:04x}" for c in [*range(0x7f, 0xa0), 0x2028, 0x2029, *range(0x202a, 0x202f),
                                          *range(0x2066, 0x206a)]}


def _show(value: object) -> str:
    return "∅" if value is None else json.dumps(value, ensure_ascii=False)


COMMANDS = [audit]
