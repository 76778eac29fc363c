"""``coupa query``: stream the records of one object to a file or standard output."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, cast

import click

from coupa_connector._connection import AsyncConnection
from coupa_connector.activities.query._options import Paging, QueryOptions
from coupa_connector.activities.query._paging import Page
from coupa_connector.cli._connection_cmds import PROFILE_HELP, load_config
from coupa_connector.cli._options import csv_formulas_option, format_option
from coupa_connector.client import ConnectionConfig
from coupa_connector.errors import CoupaError, PagingError, QueryError
from coupa_connector.operations.extract._extract import ExtractResult, extract
from coupa_connector.operations.extract._logged import LoggedQuery
from coupa_connector.operations.files._output import FORMATS


def _raw_params(values: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for raw in values:
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{raw!r} is not NAME=VALUE", param_hint="--param")
        pairs.append((key.strip(), value))
    return pairs


def _fields(values: tuple[str, ...]) -> list[str] | None:
    out = [f.strip() for v in values for f in v.split(",") if f.strip()]
    return out or None


async def _run(
    config: ConnectionConfig,
    obj: str,
    output: str,
    show_progress: bool,
    options: QueryOptions,
    **kw: Any,
) -> ExtractResult:
    progress_cm: Any = None
    task: Any = None
    if show_progress:
        from rich.progress import (
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        progress_cm = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            MofNCompleteColumn() if options.limit else TextColumn("{task.completed} records"),
            TextColumn("{task.fields[pages]} pages"),
            TextColumn("{task.fields[rate]:.0f} rec/s"),
            TimeElapsedColumn(),
            transient=False,
        )

    def on_page(page: Page, result: ExtractResult) -> None:
        if progress_cm is None:
            return
        elapsed = progress_cm.tasks[0].elapsed or 0.0
        rate = result.read / elapsed if elapsed > 0 else 0.0
        progress_cm.update(task, completed=result.written, pages=result.pages, rate=rate)

    async with AsyncConnection(config) as conn:
        if progress_cm is not None:
            with progress_cm:
                task = progress_cm.add_task(obj, total=options.limit, pages=0, rate=0.0)
                return await extract(conn, obj, output, options, on_page=on_page, **kw)
        return await extract(conn, obj, output, options, on_page=on_page, **kw)


@click.command()
@click.argument("object_name", metavar="OBJECT")
@click.option(
    "--where",
    "-w",
    "where",
    multiple=True,
    metavar="EXPR",
    help="Condition (repeatable, ANDed): status=approved, updated-at>=2024-01-01, "
    "supplier.name~Acme, 'status in approved,voided', 'po-email is blank'.",
)
@click.option(
    "--fields",
    "-f",
    multiple=True,
    metavar="F[,F...]",
    help="Fields to return, dotted through associations (id,supplier.name).",
)
@format_option(FORMATS)
@csv_formulas_option()
@click.option(
    "--output", "-o", default="-", show_default=True, help="Output file, or - for stdout."
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Raw Coupa query parameter passed through (supplier[name][starts_with]=Ac).",
)
@click.option("--since", default=None, metavar="TS", help="Only records updated at or after TS.")
@click.option(
    "--state",
    default=None,
    metavar="FILE",
    help="State file with the updated-at watermark; advanced after the output is written.",
)
@click.option(
    "--mark-exported",
    is_flag=True,
    help="Query exported=false, write, then set exported=true on each written record.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="At most this many records."
)
@click.option(
    "--order-by",
    default=None,
    help="Sort field; any but id pages by offset, which stops with an error if the data "
    "shifts too much while it runs.",
)
@click.option("--dir", "direction", type=click.Choice(["asc", "desc"]), default=None)
@click.option("--return-object", type=click.Choice(["limited", "shallow"]), default=None)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=64),
    default=None,
    help="Pages fetched at once (default: the connection's).",
)
@click.option(
    "--processes",
    type=click.IntRange(min=1, max=64),
    default=1,
    show_default=True,
    help="Worker processes fetching disjoint id ranges in parallel, sharing the "
    "concurrency and rate limit (keyset paging only, no --limit).",
)
@click.option(
    "--paging", type=click.Choice(["auto", "keyset", "offset"]), default="auto", show_default=True
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse fields in --where and --fields that the catalog and the instance's overlay "
    "do not know (by default they are sent as given, with a warning).",
)
@click.option("--profile", "-p", default=None, help=PROFILE_HELP)
@click.option(
    "--log-db",
    type=click.Path(dir_okay=False),
    help="Operation log file: a query to a file is logged as a one-step run (coupa logs).",
)
def query(
    object_name: str,
    where: tuple[str, ...],
    fields: tuple[str, ...],
    fmt: str,
    csv_formulas: str,
    output: str,
    params: tuple[str, ...],
    since: str | None,
    state: str | None,
    mark_exported: bool,
    limit: int | None,
    order_by: str | None,
    direction: str | None,
    return_object: str | None,
    concurrency: int | None,
    processes: int,
    paging: str,
    strict: bool,
    profile: str | None,
    log_db: str | None,
) -> None:
    """Stream every record of OBJECT that matches the conditions.

    Records are written as they arrive (memory stays flat); a file output appears only when
    complete. A progress bar shows on a terminal when writing to a file.
    """
    config = load_config(profile)
    show_progress = output != "-" and sys.stderr.isatty()
    # The command line's query, parsed once; it travels as it is to the request.
    options = QueryOptions(
        where=list(where),
        fields=_fields(fields),
        params=_raw_params(params),
        since=since,
        limit=limit,
        order_by=order_by,
        dir=direction,
        return_object=return_object,
        concurrency=concurrency,
        paging=cast(Paging, paging),
        strict=strict,
    )
    # A query to a file is a job that moved data: a one-step run in the operation log.
    logged = LoggedQuery(object_name, output, config.url, log_db).start() if output != "-" else None
    try:
        result = asyncio.run(
            _run(
                config,
                object_name,
                output,
                show_progress,
                options,
                fmt=fmt,
                csv_formulas=csv_formulas,
                state=state,
                mark_exported_flag=mark_exported,
                processes=processes,
            )
        )
        if logged is not None:
            logged.done(result)
    except PagingError as exc:
        raise click.ClickException(str(exc)) from None  # found mid-run: not a usage error
    except QueryError as exc:
        raise click.UsageError(str(exc)) from None
    except CoupaError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if logged is not None:
            logged.end(sys.exc_info()[1])
    if output != "-" or sys.stderr.isatty():
        summary = f"{result.written} {result.object} records written to {result.output}"
        extra = [f"{result.pages} pages"]
        if result.duplicates:
            extra.append(f"{result.duplicates} duplicates skipped")
        if mark_exported:
            extra.append(f"{result.marked} marked exported")
        if result.watermark:
            extra.append(f"watermark {result.watermark}")
        click.echo(f"{summary} ({', '.join(extra)})", err=True)
    for record_id, reason in result.mark_failures[:20]:
        click.echo(f"could not mark {result.object} {record_id} exported: {reason}", err=True)
    if result.mark_failures:
        sys.exit(1)
