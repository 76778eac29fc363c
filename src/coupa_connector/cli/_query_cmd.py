"""``coupa query``: stream the records of one object to a file or standard output."""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path
from typing import Any, cast

import click

from coupa_connector._connection import AsyncConnection
from coupa_connector.activities.query._options import Paging, QueryOptions
from coupa_connector.activities.query._paging import Page
from coupa_connector.cli._connection_cmds import PROFILE_HELP, load_config
from coupa_connector.cli._options import (
    EXIT_INTERRUPTED,
    EXIT_PARTIAL,
    complete_object,
    csv_formulas_option,
    format_option,
    note_new_folder,
)
from coupa_connector.client import ConnectionConfig
from coupa_connector.errors import (
    CatalogError,
    ConfigurationError,
    CoupaError,
    PagingError,
    QueryError,
)
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
@click.argument("object_name", metavar="OBJECT", shell_complete=complete_object)
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
    "--detect-deletes",
    is_flag=True,
    help="After the records, a tombstone ({id, _deleted, _deleted_detected_at}) for each "
    "record delivered before that the query no longer finds; the ids are kept in FILE.ids "
    "next to --state.",
)
@click.option(
    "--show-deleted-lines",
    is_flag=True,
    help="Purchase orders: include the lines deleted from each PO (show_deleted_lines=true).",
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
    detect_deletes: bool,
    show_deleted_lines: bool,
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
    note_new_folder(output, "output")
    if fmt == "csv" and output == "-":
        _note_csv_waits(object_name, _fields(fields))
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
                detect_deletes=detect_deletes,
                show_deleted_lines=show_deleted_lines,
                mark_exported_flag=mark_exported,
                processes=processes,
            )
        )
        if logged is not None:
            logged.done(result)
    except KeyboardInterrupt as exc:
        # A file output appears only when complete, and the state file is not advanced.
        if logged is not None:
            logged.end(exc)
        kept = "" if output == "-" else f"; {output} was not written"
        click.echo(f"interrupted{kept}; run the command again to query anew", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except PagingError as exc:
        raise click.ClickException(str(exc)) from None  # found mid-run: not a usage error
    except (QueryError, CatalogError, ConfigurationError) as exc:
        raise click.UsageError(str(exc)) from None  # refused before anything was sent
    except CoupaError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if logged is not None:
            logged.end(sys.exc_info()[1])
    if output != "-" or sys.stderr.isatty():
        summary = (
            f"{_count(result.written, 'record')} of {result.object} written to {result.output}"
        )
        extra = [_count(result.pages, "page")]
        if result.duplicates:
            extra.append(f"{result.duplicates} duplicates skipped")
        if mark_exported:
            extra.append(f"{result.marked} marked exported")
        if detect_deletes:
            extra.append(f"{result.deleted} deleted")
        if result.watermark:
            extra.append(f"watermark {result.watermark}")
        click.echo(f"{summary} ({', '.join(extra)})", err=True)
    if result.mark_failures:
        _report_unmarked(result, output)
        sys.exit(EXIT_PARTIAL)


def _note_csv_waits(object_name: str, fields: list[str] | None) -> None:
    """Say, when CSV goes to a pipe or a terminal, that its rows come at the end unless
    ``--fields`` names the columns (a file redirect needs no note: it is read later)."""
    import os
    import stat

    from coupa_connector.catalog import load_catalog
    from coupa_connector.operations.extract._extract import scalar_columns

    try:
        mode = os.fstat(sys.stdout.fileno()).st_mode
        catalog = load_catalog()
        streams = scalar_columns(catalog, catalog.get(object_name), fields) is not None
    except (OSError, ValueError, CoupaError):
        return  # no real stdout, or an unknown object the query itself reports
    if not streams and (stat.S_ISFIFO(mode) or sys.stdout.isatty()):
        click.echo(
            "note: CSV rows come when the query ends (the columns are known then); name the "
            "columns with --fields to get them as pages arrive",
            err=True,
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _report_unmarked(result: ExtractResult, output: str) -> None:
    """The records written but not marked exported: how many, why (grouped), and a file of
    their ids that ``coupa action OBJECT mark_exported --ids-file`` takes."""
    from collections import Counter

    failures = result.mark_failures
    ids_file = (
        f"{output}.unmarked-ids.txt" if output != "-" else f"{result.object}.unmarked-ids.txt"
    )
    Path(ids_file).write_text("".join(f"{rid}\n" for rid, _ in failures), encoding="utf-8")
    click.echo(
        f"{len(failures)} of {result.written} {result.object} records written were not marked "
        "exported:",
        err=True,
    )
    for reason, count in Counter(reason for _, reason in failures).most_common(10):
        click.echo(f"  {count} x {' '.join(reason.split())}", err=True)
    click.echo(
        f"their ids: {ids_file} (mark them later with `coupa action {result.object} "
        f"mark_exported --ids-file {shlex.quote(ids_file)}`)",
        err=True,
    )
