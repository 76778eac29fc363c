"""``coupa connection test``: can this configuration reach Coupa and read what it should?"""

from __future__ import annotations

import asyncio
import sys

import click
import orjson

from coupa_connector._connection import AsyncConnection
from coupa_connector.cli._options import SetupError, format_option
from coupa_connector.client import ConnectionConfig, ConnectionTestReport
from coupa_connector.errors import CoupaError

PROFILE_HELP = "Named profile from the config file (else COUPA_* environment variables)."


def load_config(profile: str | None) -> ConnectionConfig:
    """The connection settings for a command: a named profile, or the environment.

    Raises:
        SetupError: The settings are incomplete or invalid (exit code 2).
    """
    try:
        return ConnectionConfig.from_profile(profile) if profile else ConnectionConfig.from_env()
    except CoupaError as exc:
        raise SetupError(str(exc)) from None


def render_report(report: ConnectionTestReport) -> None:
    """Print the test report as a table on standard output."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"Connection test: {report.url} ({report.auth})"))
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail")
    table.add_column("scope")
    for row in report.checks:
        verdict = "[green]OK[/green]" if row.ok else "[red]FAIL[/red]"
        table.add_row(escape(row.check), verdict, escape(row.detail), escape(row.scope or ""))
    console = Console(soft_wrap=False)
    console.print(table)
    console.print(
        "[green]All checks passed.[/green]" if report.ok else "[red]Some checks failed.[/red]"
    )


async def _run(config: ConnectionConfig, objects: tuple[str, ...]) -> ConnectionTestReport:
    async with AsyncConnection(config) as conn:
        return await conn.test(list(objects) or None)


@click.group()
def connection() -> None:
    """Check and inspect the connection to Coupa."""


@connection.command("test")
@click.option("--profile", "-p", default=None, help=PROFILE_HELP)
@click.option(
    "--object",
    "objects",
    multiple=True,
    help="Object to try a minimal read on (repeatable); default: one per configured scope.",
)
@format_option(["table", "json"])
def test_cmd(profile: str | None, objects: tuple[str, ...], fmt: str) -> None:
    """Reach the host, get a token, and read one record of each object.

    Exits 0 only when every check passes.
    """
    config = load_config(profile)
    try:
        report = asyncio.run(_run(config, objects))
    except CoupaError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        sys.stdout.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        render_report(report)
    sys.exit(0 if report.ok else 1)
