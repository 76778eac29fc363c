"""``coupa console``: serve the operations console on a loopback port and print its URL."""

from __future__ import annotations

from pathlib import Path

import click

from coupa_connector.cli._options import SetupError
from coupa_connector.console import ConsoleServer, ConsoleSettings, is_loopback
from coupa_connector.errors import CoupaError
from coupa_connector.operations import default_log_path


def _known_secrets() -> tuple[str, ...]:
    # The environment's connection secrets: pages mask them wherever they would appear.
    from coupa_connector.client import ConnectionConfig

    try:
        return ConnectionConfig.from_env().secrets()
    except CoupaError:
        return ()


@click.command()
@click.option("--log-db", type=click.Path(dir_okay=False), help="Operation log file.")
@click.option(
    "--ops",
    "ops_dir",
    type=click.Path(file_okay=False, exists=True),
    help="Folder of operation files to list, validate and run.",
)
@click.option("--port", default=8790, show_default=True, help="Port (0 picks a free one).")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback lets other machines try the token.",
)
def console(log_db: str | None, ops_dir: str | None, port: int, host: str) -> None:
    """Serve the operations console: runs, failures, debug logs, operations and the catalog.

    The printed URL carries a random access token; only requests with it are answered.
    """
    if not is_loopback(host):
        click.echo(
            f"warning: listening on {host}, not loopback: anyone who can reach this machine "
            "can try to reach the console (the token still guards it; the traffic is plain "
            "HTTP)",
            err=True,
        )
    settings = ConsoleSettings(
        log_db=Path(log_db) if log_db else default_log_path(),
        ops_dir=Path(ops_dir) if ops_dir else None,
        host=host,
        port=port,
        secrets=_known_secrets(),
    )
    try:
        server = ConsoleServer(settings)
        server.bind()
    except CoupaError as exc:
        raise SetupError(str(exc)) from None
    click.echo(f"Coupa console: {server.url}")
    click.echo(f"operation log: {settings.log_db}   (Ctrl-C to stop)")
    server.serve()
