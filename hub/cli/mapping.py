"""`hub mapping ...`: validate, test, preview and version mapping specs (thin over hub.mappings)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hub.cli import CliState, pass_state
from hub.cli.terminal import printable
from hub.errors import HubError

F = TypeVar("F", bound=Callable[..., Any])
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _reporting(command: F) -> F:
    """HubErrors (a bad spec, an unknown version) become a clear message and exit status 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except HubError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


@contextmanager
def _session() -> Iterator[Session]:
    """A session in one transaction on the configured database (migrations are assumed to have run)."""
    from hub.config import Settings
    from hub.core.db import engine_for, transaction

    with transaction(engine_for(Settings.from_env().database_url)) as session:
        yield session


def _catalog(session: Session | None) -> dict[str, set[str]] | None:
    """Module -> field names (custom fields included when the database is readable)."""
    try:
        from hub.core.modules import field_names
    except ImportError:
        click.echo("note: target field names not checked (no module catalog)", err=True)
        return None
    if session is not None:
        return field_names(session)
    if not _database_exists():
        click.echo("note: custom fields not checked (no database yet)", err=True)
        return field_names(None)
    try:
        with _session() as own:
            return field_names(own)
    except SQLAlchemyError as exc:
        click.echo(f"note: custom fields not checked (database not readable: {type(exc).__name__})", err=True)
        return field_names(None)


def _database_exists() -> bool:
    """False for an SQLite file that is not there (checking a spec must not create a database)."""
    from sqlalchemy.engine import make_url

    from hub.config import Settings

    url = make_url(Settings.from_env().database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return True
    return Path(url.database).exists()


def _load(file: Path, check_fields: bool) -> Any:
    from hub.mappings import compile_mapping

    return compile_mapping(file.read_text(encoding="utf-8"), catalog=_catalog(None) if check_fields else None)


def _actor_note(actor: str | None) -> None:
    """``--actor`` is kept so scripts that pass it still run; who acts is the CLI's context, not free text."""
    if actor is not None:
        click.echo("note: --actor is ignored: the version records who acts (hub --as USER, else cli:<your login>)",
                   err=True)


_actor_option = click.option("--actor", hidden=True, help="Ignored (who acts is hub --as USER, else the operator).")


_fields_option = click.option(
    "--fields/--no-fields",
    "check_fields",
    default=True,
    help="Check target fields against the module catalog, custom fields included (default: on).",
)


@click.group("mapping")
def mapping() -> None:
    """Mapping specs: validate, test and preview them; save, diff, pin and roll back versions.

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@mapping.command("validate")
@click.argument("file", type=_FILE)
@_fields_option
@_reporting
def validate_cmd(file: Path, check_fields: bool) -> None:
    """Check FILE and list every problem with its place in the spec.

    Exit status: 0 the spec is valid; 1 it is not (every problem listed); 2 bad usage.
    """
    compiled = _load(file, check_fields)
    counts = f"{len(compiled.fields)} fields in, {len(compiled.outbound.fields)} out"
    click.echo(
        f"ok: {compiled.name}: {compiled.connector}/{compiled.stream} -> {compiled.module} "
        f"({counts}, {len(compiled.spec.tests)} tests)"
    )
    for name, reason in compiled.outbound.direction.not_derived.items():
        click.echo(f"note: outbound: {name} is not reversed: {reason}")


@mapping.command("test")
@click.argument("file", type=_FILE)
@_fields_option
@_reporting
def test_cmd(file: Path, check_fields: bool) -> None:
    """Run the tests embedded in FILE; exit status 1 when one fails (with a per-field diff).

    Exit status: 0 every embedded test passed; 1 a test failed or the spec is invalid; 2 bad usage.
    """
    from hub.mappings import render_results, run_tests

    results = run_tests(_load(file, check_fields))
    click.echo(render_results(results))
    if not results:
        click.echo("note: the spec has no tests", err=True)
    if any(not r.passed for r in results):
        raise SystemExit(1)


@mapping.command("preview")
@click.argument("file", type=_FILE)
@click.option("--sample", type=_FILE, required=True, help="Sample records, one JSON object per line.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--direction", type=click.Choice(["inbound", "outbound"]), default="inbound", show_default=True)
@_fields_option
@_reporting
def preview_cmd(file: Path, sample: Path, fmt: str, direction: str, check_fields: bool) -> None:
    """Map the --sample records with FILE: per record and field the source, the result and any error.

    Exit status: 0 the report was shown (failed records included: each names the field and why); 1 the
    spec or the sample is not valid, or an error; 2 bad usage.
    """
    from hub.mappings import preview, read_jsonl, render_json, render_table

    compiled = _load(file, check_fields)
    try:
        records = list(read_jsonl(sample))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    report = preview(compiled, records, direction="outbound" if direction == "outbound" else "inbound",
                     fields=_fields_of(compiled.module) if check_fields else None)
    click.echo(render_json(report) if fmt == "json" else render_table(report))


def _fields_of(module: str) -> Any:
    """The module's field definitions, custom fields included when the database is readable (else None:
    the built-in ones are used)."""
    if not _database_exists():
        return None
    from hub.core.modules import module_def

    try:
        with _session() as session:
            return module_def(module, session).fields
    except (SQLAlchemyError, HubError):
        return None


@mapping.command("save")
@click.argument("file", type=_FILE)
@click.option("-m", "--comment", help="Why this version (kept with it).")
@_actor_option
@click.option("--force", is_flag=True, help="Save even when an embedded test fails.")
@_fields_option
@pass_state
@_reporting
def save_cmd(state: CliState, file: Path, comment: str | None, actor: str | None, check_fields: bool,
             force: bool) -> None:
    """Validate FILE, run its embedded tests and store it as the mapping's next version (nothing new when
    unchanged). A spec whose tests fail is not saved (each failure is listed) unless --force. The version
    records who saved it: the user of hub --as USER, else cli:<your login>.

    Exit status: 0 saved (or unchanged); 1 the spec is invalid, an embedded test fails (without --force), or an
    error; 2 bad usage.
    """
    from hub.mappings import render_results
    from hub.mappings.testcases import TestsFailed
    from hub.services import mappings

    _actor_note(actor)
    text = file.read_text(encoding="utf-8")
    try:
        saved = mappings.save(state.store, state.context(), text, comment=comment, check_fields=check_fields,
                              force=force)
    except TestsFailed as exc:
        click.echo(render_results(exc.results), err=True)
        raise click.ClickException(f"{mappings.spec_name(text) or ''}: not saved: an embedded test fails (--force "
                                   "saves it anyway)") from None
    row = saved.version
    verb = "saved as" if saved.created else "unchanged, still"
    click.echo(f"{row.name}: {verb} version {row.version} ({row.spec_hash[:12]})")


@mapping.command("versions")
@click.argument("name")
@pass_state
@_reporting
def versions_cmd(state: CliState, name: str) -> None:
    """List the versions of mapping NAME (* marks the pinned one).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    from hub.services import mappings

    history = mappings.history(state.store, state.context(), name)
    if not history.versions:
        raise click.ClickException(f"no mapping named {name!r}")
    for row in history.versions:
        mark = "*" if row.version == history.pinned else " "
        when = row.created_at.strftime("%Y-%m-%d %H:%M:%S")
        comment = f"  {row.comment}" if row.comment else ""
        click.echo(f"{mark} v{row.version:<4} {when}Z  {row.spec_hash[:12]}  {printable(row.created_by + comment)}")


@mapping.command("show")
@click.argument("name")
@click.option("--version", "version", type=int, help="Default: the pinned version, else the latest.")
@pass_state
@_reporting
def show_cmd(state: CliState, name: str, version: int | None) -> None:
    """Print the spec of mapping NAME.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    from hub.services import mappings

    click.echo(printable(mappings.show(state.store, state.context(), name, version).spec, multiline=True), nl=False)


@mapping.command("diff")
@click.argument("name")
@click.argument("v1", type=int)
@click.argument("v2", type=int)
@pass_state
@_reporting
def diff_cmd(state: CliState, name: str, v1: int, v2: int) -> None:
    """Show what changed in mapping NAME from version V1 to V2 (unified diff).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    from hub.services import mappings

    text = mappings.diff(state.store, state.context(), name, v1, v2)
    click.echo(printable(text, multiline=True) or f"{name}: v{v1} and v{v2} are identical", nl=not text)


@mapping.command("pin")
@click.argument("name")
@click.argument("version", type=int)
@_actor_option
@pass_state
@_reporting
def pin_cmd(state: CliState, name: str, version: int, actor: str | None) -> None:
    """Make sync runs use VERSION of mapping NAME (instead of the latest).

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    from hub.services import mappings

    _actor_note(actor)
    mappings.pin(state.store, state.context(), name, version)
    click.echo(f"{name}: pinned to version {version}")


@mapping.command("unpin")
@click.argument("name")
@pass_state
@_reporting
def unpin_cmd(state: CliState, name: str) -> None:
    """Let sync runs use the latest version of mapping NAME again.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    from hub.services import mappings

    removed = mappings.unpin(state.store, state.context(), name)
    click.echo(f"{name}: " + ("unpinned" if removed else "was not pinned"))


@mapping.command("rollback")
@click.argument("name")
@click.argument("version", type=int)
@click.option("-m", "--comment", help="Why (default: 'rollback to vN').")
@_actor_option
@pass_state
@_reporting
def rollback_cmd(state: CliState, name: str, version: int, comment: str | None, actor: str | None) -> None:
    """Make VERSION's content the newest version of mapping NAME.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    from hub.services import mappings

    _actor_note(actor)
    saved = mappings.rollback(state.store, state.context(), name, version, comment)
    row, pinned = saved.version, saved.pinned
    click.echo(f"{name}: version {row.version} has the content of version {version}")
    if pinned is not None and pinned != row.version:
        click.echo(f"note: {name} is pinned to version {pinned}; `hub mapping pin {name} {row.version}` to use it")
