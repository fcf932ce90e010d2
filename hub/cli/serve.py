"""`hub serve`: run the web application (and, with --with-worker, a worker and the scheduler beside it)."""

from __future__ import annotations

import contextlib

import click

from hub.cli import CliState, pass_state


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--with-worker", is_flag=True,
              help="Also run a sync worker and the scheduler (the embedded default: one process tree, no servers).")
@pass_state
def serve(state: CliState, host: str, port: int, with_worker: bool) -> None:
    """Run the Hub web application: /healthz, /metrics (Prometheus).

    In production run it under a WSGI server instead: gunicorn 'hub.app:create_app()', and workers
    with `hub worker` (one of them with --beat).

    SIGTERM stops it as Ctrl-C does. The worker started with --with-worker is stopped and waited for, and
    ends with this process even when that is killed.

    Exit status: 0 the server stopped cleanly; 1 an error (the port in use, bad settings); 2 bad usage.
    """
    from hub.app import create_app
    from hub.sync.embedded import EmbeddedWorker
    from hub.sync.lifeline import sigterm_unwinds

    app = create_app(settings=state.settings)
    worker = (EmbeddedWorker(state.settings.var_dir / "worker.log", beat=True, loglevel="INFO") if with_worker
              else contextlib.nullcontext())
    with sigterm_unwinds(), worker:
        if with_worker:
            click.echo(f"worker and scheduler running (log: {state.settings.var_dir / 'worker.log'})", err=True)
        app.run(host=host, port=port)


COMMANDS = [serve]
