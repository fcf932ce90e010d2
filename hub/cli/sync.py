"""`hub connectors`, `hub connector ...`, `hub sync`, `hub runs`, `hub deadletters`, `hub lineage`, `hub worker`."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import yaml

from hub.cli import CliState, pass_state
from hub.cli.terminal import printable
from hub.errors import ConfigError
from hub.services import connectors as connector_service
from hub.services import dead_letters as letter_service
from hub.services import runs as run_service
from hub.sync import dispatch, instances
from hub.sync.lineage import lineage as field_lineage
from hub.sync.models import RUN_STATUSES, SyncRun


@click.command("connectors")
@pass_state
def list_types(state: CliState) -> None:
    """List the connector types installed (built-in and from plugins).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    for name, cls in sorted(state.hub.connector_types.items()):
        click.echo(f"{name:16} {cls.title or cls.__doc__.splitlines()[0] if cls.__doc__ else ''}")


@click.group("connector")
def connector() -> None:
    """Configure connector instances and their routes.

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@connector.command("add")
@click.argument("name")
@click.option("--type", "type_name", required=True, help="Connector type (see `hub connectors`).")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="YAML or JSON file with the connector's settings (secrets are stored encrypted).")
@pass_state
def add(state: CliState, name: str, type_name: str, config_file: Path) -> None:
    """Add a connector instance called NAME.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    connector_service.add_instance(state.store, state.context(), state.hub.connector_types, name, type_name,
                                   instances.config_from_file(config_file))
    click.echo(f"added {name} ({type_name}); check it with: hub connector check {name}")


@connector.command("list")
@pass_state
def list_instances(state: CliState) -> None:
    """List connector instances with their routes.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    for inst in connector_service.list_instances(state.store, state.context(), state.hub.connector_types):
        flags = ("" if inst.enabled else " DISABLED") + (" PAUSED" if inst.paused else "")
        click.echo(f"{inst.name} ({inst.type}){flags}")
        for r in inst.routes:
            sched = f" every '{r.schedule}'" if r.schedule else ""
            click.echo(f"    {r.stream} {r.direction} {r.module} via {r.mapping}{sched}")


@connector.command("show")
@click.argument("name")
@pass_state
def show(state: CliState, name: str) -> None:
    """Show an instance's settings (secrets masked).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    inst = connector_service.show_instance(state.store, state.context(), state.hub.connector_types, name)
    described = {"name": inst.name, "type": inst.type, "enabled": inst.enabled, "paused": inst.paused,
                 "rate_limit": inst.rate_limit, "config": inst.config}
    click.echo(yaml.safe_dump(described, allow_unicode=True, sort_keys=False))


@connector.command("check")
@click.argument("name")
@pass_state
def check(state: CliState, name: str) -> None:
    """Test the connection and credentials of an instance; list its streams.

    Exit status: 0 the connection works; 1 it does not (the reason on stderr); 2 bad usage.
    """
    live = connector_service.connect(state.store, state.context(), state.hub.connector_types, name)
    try:
        live.check()
        streams = live.discover()
    finally:
        live.close()
    click.echo(f"{name}: ok")
    for s in streams:
        click.echo(f"    {s.name}: {len(s.fields)} fields, key {s.key}{', writable' if s.writable else ''}")


@connector.command("route")
@click.argument("name")
@click.argument("stream")
@click.option("--module", required=True, help="Hub module the stream syncs with.")
@click.option("--mapping", required=True, help="Name of a saved mapping (`hub mapping save`).")
@click.option("--direction", type=click.Choice(["inbound", "outbound"]), default="inbound", show_default=True)
@click.option("--schedule", help="Cron expression for scheduled runs, e.g. '*/15 * * * *'.")
@click.option("--batch-size", default=1000, show_default=True)
@click.option("--max-attempts", default=5, show_default=True, help="Attempts before a run is dead.")
@click.option("--replace", is_flag=True, help="Change the settings of an existing route (they are shown).")
@pass_state
def route(state: CliState, name: str, stream: str, module: str, mapping: str, direction: str, schedule: str | None,
          batch_size: int, max_attempts: int, replace: bool) -> None:
    """Sync STREAM of instance NAME with a hub MODULE through a MAPPING.

    STREAM must be one the connector offers (`hub connector check NAME` lists them) and MAPPING a saved
    mapping. Setting an existing route again with other settings needs --replace; what changes is shown.

    Exit status: 0 the route is set (or already was); 1 an unknown instance, stream or mapping, a change to an
    existing route without --replace, or an error; 2 bad usage.
    """
    store, ctx = state.store, state.context()
    # before the change: may connect
    streams = connector_service.known_streams(store, ctx, state.hub.connector_types, name)
    done = connector_service.add_route(store, ctx, name, stream, direction, module, mapping, schedule=schedule,
                                       batch_size=batch_size, max_attempts=max_attempts, streams=streams or None,
                                       replace=replace)
    verb = "added" if done.created else ("changed" if done.changes else "unchanged")
    click.echo(f"{name}/{stream} ({direction}) <-> {module} via {mapping} ({verb})")
    if done.changes and not done.created:
        for line in done.describe().splitlines():
            click.echo(f"    {line}")


def _toggle(field: str, value: bool, verb: str) -> click.Command:
    @click.command(verb)
    @click.argument("name")
    @pass_state
    def command(state: CliState, name: str) -> None:
        enabled, paused = (value, None) if field == "enabled" else (None, value)
        connector_service.update_instance(state.store, state.context(), state.hub.connector_types, name,
                                          enabled=enabled, paused=paused)
        click.echo(f"{name}: {verb}d")

    command.help = f"{verb.capitalize()} an instance.\n\nExit status: 0 done; 1 an error (said on stderr); 2 bad usage."
    return command


for _field, _value, _verb in (("enabled", True, "enable"), ("enabled", False, "disable"),
                              ("paused", True, "pause"), ("paused", False, "resume")):
    connector.add_command(_toggle(_field, _value, _verb))


@connector.command("limit")
@click.argument("name")
@click.argument("records_per_second", type=float)
@pass_state
def limit(state: CliState, name: str, records_per_second: float) -> None:
    """Pace runs of instance NAME to RECORDS_PER_SECOND (0 removes the limit).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    connector_service.update_instance(state.store, state.context(), state.hub.connector_types, name,
                                      rate_limit=records_per_second or None, clear_rate_limit=not records_per_second)
    click.echo(f"{name}: at most {records_per_second:g} records/s" if records_per_second else f"{name}: no limit")


@click.command("sync")
@click.argument("name")
@click.option("--stream", help="One stream (default: every inbound route of the instance).")
@click.option("--direction", type=click.Choice(["inbound", "outbound"]), default="inbound", show_default=True)
@click.option("--full", is_flag=True, help="Read from the start instead of the last checkpoint.")
@click.option("--wait", is_flag=True, help="Wait for the runs to finish, showing live counts.")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to wait with --wait.")
@pass_state
def sync(state: CliState, name: str, stream: str | None, direction: str, full: bool, wait: bool,
         timeout: float) -> None:
    """Start sync runs of instance NAME (a worker carries them out: `hub worker`).

    Exit status: 0 the runs were queued (with --wait: every run succeeded); 1 with --wait a run failed, died or did
    not finish in time, or an error; 2 bad usage.
    """
    store = state.store
    started = run_service.start_runs(store, state.context(), name, [stream] if stream else None, direction,
                                     full=full)
    for run in started:
        click.echo(f"run {run.id} queued: {name}/{run.stream} {direction}{' (full)' if full else ''}")
    if wait:
        failed = [r for r in (_wait(store, run.id, timeout) for run in started) if r.status != "succeeded"]
        if failed:
            raise click.exceptions.Exit(1)


def _wait(store: Any, run_id: uuid.UUID, timeout: float) -> SyncRun:
    tty = sys.stderr.isatty()
    spin = [0]

    def show(run: SyncRun) -> None:
        if tty:
            bar = "=" * (spin[0] % 20) + ">" + " " * (19 - spin[0] % 20)
            click.echo(f"\r[{bar}] {run.stream} {run.status:9} {dispatch.counts(run)}", nl=False, err=True)
            spin[0] += 1

    try:
        run = dispatch.wait(store, run_id, timeout, show)
    except TimeoutError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if tty:
            click.echo("", err=True)
    error = f": {printable(run.error)}" if run.error else ""
    click.echo(f"run {run.id}: {run.status}, {dispatch.counts(run)}{error}")
    return run


@click.group("runs")
def runs_group() -> None:
    """Sync runs: what each did, where it stands.

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@runs_group.command("list")
@click.option("--instance")
@click.option("--status", type=click.Choice(RUN_STATUSES))
@click.option("--limit", default=20, show_default=True)
@pass_state
def list_runs(state: CliState, instance: str | None, status: str | None, limit: int) -> None:
    """List recent runs.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    for r in run_service.list_runs(state.store, state.context(), instance=instance, status=status, limit=limit):
        click.echo(f"{r.id}  {r.queued_at:%Y-%m-%d %H:%M:%S}  {r.instance}/{r.stream} {r.direction:8} {r.status:9} "
                   f"{dispatch.counts(r)}, attempts {r.attempts}")


@runs_group.command("show")
@click.argument("run_id")
@pass_state
def show_run(state: CliState, run_id: str) -> None:
    """Show one run in full.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    run = run_service.get_run(state.store, state.context(), _uuid(run_id))
    fields = ["id", "instance", "stream", "direction", "kind", "status", "full", "attempts", "max_attempts",
              "mapping", "mapping_version", "read", "created", "updated", "unchanged", "deleted", "skipped",
              "quarantined", "written", "retries", "queued_at", "started_at", "finished_at", "lease_owner",
              "checkpoint", "error"]
    _show_fields(run, fields)
    if run.started_at and run.finished_at:
        secs = (run.finished_at - run.started_at).total_seconds()
        click.echo(f"{'duration':16} {secs:.1f}s ({run.read / secs if secs else 0:.0f} records/s)")


@runs_group.command("cancel")
@click.argument("run_id")
@pass_state
def cancel_run(state: CliState, run_id: str) -> None:
    """Cancel a queued, retrying or running run (a running one stops at its next batch commit).

    Exit status: 0 cancelled; 1 no such run, it has finished already, or an error; 2 bad usage.
    """
    run = run_service.cancel_run(state.store, state.context(), _uuid(run_id))
    click.echo(f"run {run.id}: cancelled ({run.instance}/{run.stream} {run.direction})")


@click.group("deadletters")
def deadletters() -> None:
    """Records a run could not land: look at them, replay or discard them.

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@deadletters.command("list")
@click.option("--run", "run_id", help="Only this run's.")
@click.option("--all", "show_all", is_flag=True, help="Include replayed, superseded and discarded ones.")
@pass_state
def list_letters(state: CliState, run_id: str | None, show_all: bool) -> None:
    """List dead letters (open ones by default): those you may see, errors as your field rules allow.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    found = letter_service.list_letters(state.store, state.context(), run_id=_uuid(run_id) if run_id else None,
                                        include_closed=show_all)  # the same access and field rules as `show`
    for d in found:
        click.echo(printable(f"{d.id}  {d.instance}/{d.stream} {d.direction} {d.external_id or d.record_id}  "
                             f"{d.status}  {d.error_kind}: {d.error}"))
    click.echo(f"({len(found)} dead letters)", err=True)


@deadletters.command("show")
@click.argument("letter_id")
@pass_state
def show_letter(state: CliState, letter_id: str) -> None:
    """Show one dead letter with its payload.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    d = letter_service.show_letter(state.store, state.context(), _uuid(letter_id))  # access and field rules apply
    _show_fields(d, ("id", "run_id", "instance", "stream", "direction", "external_id", "record_id", "status",
                     "error_kind", "error", "mapping", "mapping_version", "attempts", "created_at", "replayed_at"))
    click.echo("payload:")
    click.echo(printable(json.dumps(d.payload, ensure_ascii=False, indent=2, default=str), multiline=True))


@deadletters.command("replay")
@click.argument("letter_ids", nargs=-1)
@click.option("--run", "run_id", help="Replay every open dead letter of this run.")
@click.option("--mapping", type=click.Choice(["pinned", "latest"]), default="pinned", show_default=True,
              help="Map with the route's pinned version or the newest saved one.")
@pass_state
def replay(state: CliState, letter_ids: tuple[str, ...], run_id: str | None, mapping: str) -> None:
    """Replay dead letters (by id, or all of a run) now, through the chosen mapping version.

    Exit status: 0 every letter was replayed or requeued; 1 some failed again, none matched, or an error; 2 bad
    usage.
    """
    if not letter_ids and not run_id:
        raise click.UsageError("give dead letter ids or --run RUN_ID")
    report = letter_service.replay(state.store, state.context(), ids=[_uuid(i) for i in letter_ids],
                                   run_id=_uuid(run_id) if run_id else None, mapping=mapping)
    click.echo(f"replayed {report.replayed}, failed again {report.failed}, requeued for sending {report.requeued}"
               + (f", superseded by a newer version {report.superseded}" if report.superseded else "")
               + (f" (run {report.run_id})" if report.run_id else ""))
    if report.failed:
        raise click.exceptions.Exit(1)


@deadletters.command("discard")
@click.argument("letter_ids", nargs=-1, required=True)
@pass_state
def discard(state: CliState, letter_ids: tuple[str, ...]) -> None:
    """Discard open dead letters: they are kept but no longer open, and never replayed.

    Exit status: 0 discarded; 1 a letter is unknown or not open (none is discarded), or an error; 2 bad usage.
    """
    done = letter_service.discard(state.store, state.context(), [_uuid(i) for i in letter_ids])
    click.echo(f"discarded {len(done)} dead letters")


@click.command("lineage")
@click.argument("module")
@click.argument("record_id")
@pass_state
def lineage(state: CliState, module: str, record_id: str) -> None:
    """Show, per field, which run, connector, source record and mapping version last set it.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    with state.store.reading(state.context()) as tx:
        tx.get(module, record_id, include_deleted=True)
        rows = field_lineage(tx.session, module, record_id, tx.profile)  # fields hidden from the actor left out
    for o in rows:
        origin = (f"run {o.run_id} {o.stream} record {o.external_id} mapping {o.mapping} v{o.mapping_version}"
                  if o.run_id else "")
        click.echo(printable(f"{o.field:20} {o.at[:19]}Z {o.action:7} {o.actor:24} {origin}".rstrip()))


@click.command("worker")
@click.option("--concurrency", default=1, show_default=True, help="Runs executed at once by this worker.")
@click.option("--beat", is_flag=True, help="Also run the scheduler (exactly one per deployment).")
@click.option("--loglevel", default="INFO", show_default=True)
@pass_state
def worker(state: CliState, concurrency: int, beat: bool, loglevel: str) -> None:
    """Run a Celery worker for sync runs (with no HUB_BROKER_URL: the embedded broker, no server needed).

    With --beat it also runs the scheduler, which refuses to start while another one runs (they share a
    lease in the database); it ends with the worker, and keeps no files.

    Exit status: 0 the worker stopped cleanly; 1 an error, or --beat while another scheduler runs;
    2 bad usage.
    """
    from hub.sync.celery_app import app

    if beat:
        from hub.cli.terminal import printable
        from hub.sync.scheduler import describe, holder

        running = holder(state.store.engine)
        state.store.engine.dispose()  # no database connection may cross into the beat process Celery forks
        if running is not None:
            click.echo(f"error: another scheduler is running: {printable(describe(running))}. Run exactly one "
                       "worker with --beat; start this one without it.", err=True)
            raise click.exceptions.Exit(1)
    argv = ["worker", f"--loglevel={loglevel}", f"--concurrency={concurrency}", "--without-gossip",
            "--without-mingle", "--pool=" + ("solo" if concurrency == 1 else "prefork")]
    if beat:
        argv.append("--beat")
    app.worker_main(argv)


def _show_fields(row: Any, names: Sequence[str]) -> None:
    """One line per attribute: name, then value."""
    for name in names:
        click.echo(f"{name:16} {printable(getattr(row, name))}")


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ConfigError(f"{value!r} is not an id") from None


COMMANDS = [list_types, connector, sync, runs_group, deadletters, lineage, worker]

