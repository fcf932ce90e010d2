"""`hub import`, `hub export`, `hub records`, `hub fields`, `hub modules`: the records themselves."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hub.cli import CliState, pass_state
from hub.cli.terminal import printable
from hub.core.fields import CUSTOM_KINDS, to_json
from hub.core.read import parse_where
from hub.imports import csv_export, csv_import
from hub.services import custom_fields


@click.command("import")
@click.argument("module")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row against the store, then roll everything back.")
@click.option("--match", metavar="FIELD",
              help="Field that finds the existing record to update (default: id, external_id, "
                   "or the module's natural key such as contacts.email).")
@click.option("--columns", "columns_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              metavar="MAPFILE", help="YAML or JSON map of CSV header -> field (null skips a column).")
@click.option("--encoding", metavar="NAME",
              help="The file's encoding (e.g. cp1252, latin-1, gb18030, big5). Default: UTF-8 (with or without "
                   "BOM), else detected; when detection is not sure the import stops and names the candidates.")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write each row not imported, with its line and reason, to this CSV file (fix it and "
                   "import it again: its _line and _error columns are ignored).")
@click.option("--batch-size", type=int, default=None, help="Rows per transaction (default HUB_BATCH_SIZE).")
@pass_state
def import_(state: CliState, module: str, file: Path, dry_run: bool, match: str | None,
            columns_file: Path | None, encoding: str | None, rejects: Path | None, batch_size: int | None) -> None:
    """Create or update MODULE records from a CSV FILE.

    The file is read whole first: an encoding that cannot be told, a bad header or an unknown column
    stops the import before anything is written. Bad rows (a stray or unclosed quote, the wrong number
    of cells, an invalid value) are reported with their line number and reason; the others are
    imported. Running the same file again, or importing `hub export` output, creates and updates
    nothing. If a batch fails midway, the lines imported and those not are reported.

    Exit status: 0 every row imported; 1 some rows rejected or not imported, or nothing written
    (the reason on stderr); 2 bad usage.
    """
    columns = csv_import.load_columns(columns_file)
    lines = max(file.read_bytes().count(b"\n"), 1)
    with click.progressbar(length=lines, label=f"importing {module}", file=sys.stderr) as bar:
        report = csv_import.import_csv(state.store, state.context(), module, file, match=match, columns=columns,
                                       dry_run=dry_run, batch_size=batch_size or state.settings.batch_size,
                                       progress=bar.update, encoding=encoding)
    for r in report.rejects[:20]:
        click.echo(f"line {r.line}: {printable(r.reason)}", err=True)
    if report.rejected > 20:
        click.echo(f"... and {report.rejected - 20} more rows not imported", err=True)
    if rejects is not None:  # written even when empty: it says what this run left out
        csv_import.write_rejects(report, rejects)
        click.echo(f"{report.rejected} rows not imported written to {rejects}", err=True)
    click.echo(printable(report.summary(), multiline=True))
    if report.rejects or report.stopped:
        raise click.exceptions.Exit(1)


@click.command("export")
@click.argument("module")
@click.option("--where", "wheres", multiple=True, metavar="COND",
              help="Filter, repeatable: FIELD=VALUE, FIELD!=V, FIELD>V, FIELD>=V, FIELD<V, FIELD<=V, FIELD~TEXT.")
@click.option("--fields", help="Comma-separated fields to export (default: every field you may see).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File (default: stdout); written only when the export succeeds.")
@pass_state
def export(state: CliState, module: str, wheres: tuple[str, ...], fields: str | None, output: Path | None) -> None:
    """Write the MODULE records you may export as CSV (formulas neutralised, hidden fields left out).

    The output imports back unchanged with `hub import`. With -o, the file appears (readable by you
    only) when the export has succeeded; a failed export leaves none.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    conditions = [parse_where(w) for w in wheres]
    names = [f.strip() for f in fields.split(",")] if fields else None
    if output is None:
        n = csv_export.export_csv(state.store, state.context(), module, sys.stdout, conditions, names)
    else:
        with click.progressbar(length=1, label=f"exporting {module}", file=sys.stderr) as bar:
            n = csv_export.export_file(state.store, state.context(), module, output, conditions, names,
                                       progress=lambda k: bar.update(k))
    click.echo(f"exported {n} {module}", err=True)


@click.group("records")
def records() -> None:
    """Look at records from the shell.

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@records.command("list")
@click.argument("module")
@click.option("--where", "wheres", multiple=True, metavar="COND", help="Filter (as for export), repeatable.")
@click.option("--sort", help="Field to sort by; -field for descending.")
@click.option("--limit", default=20, show_default=True)
@click.option("--fields", help="Comma-separated fields to show.")
@pass_state
def list_records(state: CliState, module: str, wheres: tuple[str, ...], sort: str | None, limit: int,
                 fields: str | None) -> None:
    """List MODULE records you may see.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    with state.store.reading(state.context()) as tx:
        conds = [parse_where(w) for w in wheres]
        rows = tx.query(module, conds, order_by=sort, limit=limit)
        total = tx.count(module, conds)
        mod = tx.module(module)
    names = [f.strip() for f in fields.split(",")] if fields else ["id", mod.model.title_field, *(
        [n for n in ("first_name", "email", "stage", "amount", "status") if n in mod.fields][:3])]
    for r in rows:
        click.echo("  ".join(f"{n}={_text(r.get(n))}" for n in dict.fromkeys(names) if n in r))
    click.echo(f"({len(rows)} of {total})", err=True)


@records.command("show")
@click.argument("module")
@click.argument("record_id")
@pass_state
def show(state: CliState, module: str, record_id: str) -> None:
    """Show one record as JSON.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    with state.store.reading(state.context()) as tx:
        record = tx.get(module, record_id)
    click.echo(printable(json.dumps({k: to_json(v) for k, v in record.items()}, ensure_ascii=False, indent=2),
                         multiline=True))


@records.command("search")
@click.argument("module")
@click.argument("text")
@click.option("--limit", default=20, show_default=True)
@pass_state
def search(state: CliState, module: str, text: str, limit: int) -> None:
    """Find MODULE records whose name, e-mail or title contains TEXT.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    with state.store.reading(state.context()) as tx:
        rows = tx.search(module, text, limit)
        title = tx.module(module).model.title_field
    for r in rows:
        click.echo(f"{r['id']}  {_text(r.get(title))}  {_text(r.get('email'))}")


@click.group("fields")
def fields_group() -> None:
    """Custom fields: add fields to a module at run time.

    Exit status: that of the command run; 2 no command or an unknown one.
    """


@fields_group.command("add")
@click.argument("module")
@click.argument("name")
@click.option("--kind", type=click.Choice(CUSTOM_KINDS), default="text", show_default=True)
@click.option("--label")
@click.option("--required", is_flag=True)
@click.option("--choices", help="Comma-separated values (for --kind choice).")
@click.option("--pattern", help="Regular expression the whole value must match.")
@click.option("--sensitive", is_flag=True, help="Encrypt at rest; searchable by equality only.")
@pass_state
def add_field(state: CliState, module: str, name: str, kind: str, label: str | None, required: bool,
              choices: str | None, pattern: str | None, sensitive: bool) -> None:
    """Add custom field NAME to MODULE.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    custom_fields.define(state.store, state.context(), module, name, kind, label=label, required=required,
                         choices=[c.strip() for c in choices.split(",")] if choices else None,
                         pattern=pattern, sensitive=sensitive)
    click.echo(printable(f"added {module}.{name} ({kind})"))


@fields_group.command("list")
@click.argument("module", required=False)
@pass_state
def list_fields(state: CliState, module: str | None) -> None:
    """List fields of every module, or of MODULE.

    Exit status: 0 done; 1 an error (said on stderr); 2 bad usage.
    """
    with state.store.reading(state.context()) as tx:
        mods = [tx.module(module)] if module else list(tx.modules.values())
        hidden_of = {m.name: tx.profile.module(m.name).hidden for m in mods}
    for m in mods:
        click.echo(m.name)
        for f in m.fields.values():
            if f.name in hidden_of[m.name] or f.name == "custom":
                continue
            extras = [x for x in ("required" if f.required else "", "sensitive" if f.sensitive else "",
                                  "custom" if f.custom else "", "read-only" if f.readonly else "") if x]
            choice = f" [{'|'.join(f.choices)}]" if f.choices else ""
            click.echo(printable(f"    {f.name:22} {f.kind}{choice} {' '.join(extras)}".rstrip()))


def _text(value: object) -> str:
    """A stored value for the terminal: control characters shown escaped (see hub.cli.terminal)."""
    v = to_json(value)
    return "" if v is None else printable(v)


COMMANDS = [import_, export, records, fields_group]
