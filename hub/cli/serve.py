"""`hub serve`: run the web application."""

from __future__ import annotations

import click

from hub.cli import CliState, pass_state


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@pass_state
def serve(state: CliState, host: str, port: int) -> None:
    """Run the Hub web application (health check at /healthz) with Flask's server.

    In production run it under a WSGI server instead: gunicorn 'hub.app:create_app()'.
    """
    from hub.app import create_app

    create_app(settings=state.settings).run(host=host, port=port)


COMMANDS = [serve]
