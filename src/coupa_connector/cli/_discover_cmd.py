"""``coupa discover``: learn an instance's own fields and save them as its overlay."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from coupa_connector.cli._connection_cmds import PROFILE_HELP, load_config
from coupa_connector.errors import CoupaError

__all__ = ["discover"]

EXIT_USAGE = 2


@click.command()
@click.option("--profile", "-p", default=None, help=PROFILE_HELP)
@click.option(
    "--objects",
    "objects",
    multiple=True,
    metavar="NAME[,NAME...]",
    help="Objects to read (default: every object that can carry custom fields).",
)
@click.option(
    "--sample",
    type=click.IntRange(1, 50),
    default=25,
    show_default=True,
    help="Records read per object, newest first.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table of the fields found, or the saved overlay as JSON.",
)
def discover(profile: str | None, objects: tuple[str, ...], sample: int, fmt: str) -> None:
    """Read a sample of each object's records and save the instance's own fields.

    Coupa publishes no API for custom field definitions, so the fields are read from
    records: the members of custom-fields and the elements the catalog lacks (legacy custom
    fields), with the type their values show. The overlay is saved in the user's cache
    directory, one file per instance URL; validation, --where, --fields, coupa schema and
    JSON Schema use it from then on.

    \b
    Examples:
      coupa discover --profile prod
      coupa discover --objects invoices,suppliers --sample 50
    """
    from coupa_connector._connection import AsyncConnection

    config = load_config(profile)
    names = [n.strip() for value in objects for n in value.split(",") if n.strip()] or None

    async def run() -> Any:
        async with AsyncConnection(config) as conn:
            return await conn.discover(names, sample=sample)

    try:
        report = asyncio.run(run())
    except CoupaError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(EXIT_USAGE if _is_usage(exc) else 1) from None
    if fmt == "json":
        click.echo(json.dumps(report.overlay.to_dict(), indent=2))
    else:
        _print_table(report)
    click.echo(f"overlay of {report.overlay.instance} saved to {report.path}", err=True)
    # Objects the instance does not offer are expected when reading every object; an object
    # asked for by name, or any other failure, is not.
    failed = [i for i in report.objects if i.error and (names or not i.unavailable)]
    if failed:
        raise SystemExit(1)


def _is_usage(exc: CoupaError) -> bool:
    from coupa_connector.errors import ConfigurationError, UnknownObjectError

    return isinstance(exc, ConfigurationError | UnknownObjectError)


def _print_table(report: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"Fields of {report.overlay.instance} beyond the catalog"))
    for column in ("object", "field", "type", "where", "records read"):
        table.add_column(column)
    for item in report.objects:
        if item.error:
            style = "dim" if item.unavailable else "red"
            table.add_row(item.object, "", "", f"not read: {escape(item.error)}", "", style=style)
            continue
        fields = [(name, f) for name, found in item.fields.items() for f in found]
        if not fields:
            table.add_row(item.object, "(none)", "", "", str(item.sampled), style="dim")
        for name, f in fields:
            table.add_row(name, f.name, f.kind, ", ".join(f.places), str(item.sampled))
    Console().print(table)
