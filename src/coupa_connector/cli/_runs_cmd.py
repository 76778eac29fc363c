"""``coupa runs``: an integration's runs and errors as Coupa keeps them.

Operations with ``coupa_monitoring`` leave an integration run in Coupa for each of their
runs; this lists them (newest first) with their counts, status and kept watermark, and with
``--errors`` each run's integration errors.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click
import orjson

from coupa_connector import AsyncConnection
from coupa_connector.activities.monitoring import integration_report
from coupa_connector.cli._connection_cmds import PROFILE_HELP, load_config
from coupa_connector.cli._options import format_option
from coupa_connector.client import ConnectionConfig
from coupa_connector.errors import CoupaError

_COLUMNS = (
    "id",
    "status",
    "total-records",
    "records-processed",
    "start-time",
    "end-time",
    "max-updated-at",
)


async def _fetch(
    config: ConnectionConfig, code: str, limit: int, errors: bool
) -> list[dict[str, Any]]:
    async with AsyncConnection(config) as conn:
        return await integration_report(conn, code, limit, errors)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _error_line(error: dict[str, Any]) -> str:
    responses = error.get("responses") or []
    message = "; ".join(_text(r.get("response-message")) for r in responses if isinstance(r, dict))
    where = error.get("external-id") or error.get("document-id")
    return f"{_text(where)}: {message}" if where else message


def _table(code: str, runs: list[dict[str, Any]], errors: bool) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"Integration runs of {code} in Coupa"))
    for column in _COLUMNS:
        table.add_column(column, justify="right" if "records" in column else "left")
    for run in runs:
        table.add_row(*(escape(_text(run.get(c))) for c in _COLUMNS))
    console = Console(soft_wrap=True)
    console.print(table)
    if not runs:
        console.print(f"No runs of {escape(code)} in Coupa.")
    # Errors go below the table, whole: a message cut to a column's width says nothing.
    for run in runs if errors else ():
        found = run.get("errors", [])
        console.print(f"run {run['id']}: {len(found)} integration error(s)")
        for error in found:
            console.print(f"  {escape(_error_line(error))}", highlight=False)


@click.command()
@click.argument("integration")
@click.option("--profile", "-p", default=None, help=PROFILE_HELP)
@click.option("--limit", "-n", default=20, show_default=True, help="Runs to list (up to 50).")
@click.option("--errors", "-e", is_flag=True, help="Also list each run's integration errors.")
@format_option(["table", "json"])
def runs(integration: str, profile: str | None, limit: int, errors: bool, fmt: str) -> None:
    """List the Coupa-side runs of INTEGRATION (its code), newest first."""
    if limit < 1:
        raise click.BadParameter("must be at least 1", param_hint="--limit")
    config = load_config(profile)
    try:
        found = asyncio.run(_fetch(config, integration, limit, errors))
    except CoupaError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "json":
        click.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
    else:
        _table(integration, found, errors)
