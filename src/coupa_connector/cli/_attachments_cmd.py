"""``coupa attachments list|upload|download``: files of Coupa records from the command line."""

from __future__ import annotations

import asyncio
import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import orjson

from coupa_connector.cli._connection_cmds import PROFILE_HELP, load_config
from coupa_connector.cli._options import format_option
from coupa_connector.errors import CatalogError, CoupaError, QueryError
from coupa_connector.operations.extract._logged import LoggedDownload

_COLUMNS = ("id", "type", "name", "size", "content_type", "intent", "url")


def _row(item: Any) -> dict[str, Any]:
    return {
        "id": item.id,
        "type": item.type,
        "name": item.name or "",
        "size": item.size if item.size is not None else "",
        "content_type": item.content_type or "",
        "intent": item.intent or "",
        "url": item.url or "",
    }


@click.group()
def attachments() -> None:
    """List, upload and download the attachments and documents of Coupa records."""


@attachments.command("list")
@click.argument("object_name", metavar="OBJECT")
@click.argument("record_id", metavar="ID", type=int)
@format_option(["table", "jsonl", "csv"])
@click.option("--profile", "-p", default=None, help=PROFILE_HELP)
def list_cmd(object_name: str, record_id: int, fmt: str, profile: str | None) -> None:
    """List the attachments of one record (OBJECT is invoices, purchase_orders, ...)."""
    from coupa_connector import Connection
    from coupa_connector._csv_formulas import escape_row

    try:
        with Connection(load_config(profile)) as conn:
            found = conn.attachments(object_name, record_id)
    except CatalogError as exc:
        raise click.UsageError(str(exc)) from None
    except CoupaError as exc:
        raise click.ClickException(str(exc)) from None
    rows = [_row(a) for a in found]
    if fmt == "jsonl":
        for row in rows:
            click.echo(orjson.dumps(row).decode())
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(_COLUMNS)
        for row in rows:
            writer.writerow(escape_row([str(row[c]) for c in _COLUMNS]))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{len(rows)} attachments of {object_name} {record_id}")
        for column in _COLUMNS:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(str(row[c]) for c in _COLUMNS))
        Console().print(table)


@attachments.command("upload")
@click.argument("object_name", metavar="OBJECT")
@click.argument("record_id", metavar="ID", type=int)
@click.argument("files", metavar="FILE...", nargs=-1, required=True)
@click.option("--intent", default=None, help="Who may see them: Supplier, Internal, ...")
@click.option("--linked-to", default=None, help="Coupa's attachment[linked_to].")
@click.option("--profile", "-p", default=None, help=PROFILE_HELP)
def upload_cmd(
    object_name: str,
    record_id: int,
    files: tuple[str, ...],
    intent: str | None,
    linked_to: str | None,
    profile: str | None,
) -> None:
    """Attach FILEs to one record; a file that fails is reported and the others go on."""
    from coupa_connector import Connection

    failed = 0
    try:
        with Connection(load_config(profile)) as conn:
            for name in files:
                try:
                    made = conn.upload_attachment(
                        object_name, record_id, Path(name), intent=intent, linked_to=linked_to
                    )
                except CoupaError as exc:
                    failed += 1
                    click.echo(f"{name}: not uploaded: {exc}", err=True)
                    continue
                click.echo(f"{name}: attachment {made.id} ({made.size} bytes)")
    except CatalogError as exc:
        raise click.UsageError(str(exc)) from None
    except CoupaError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{len(files) - failed} uploaded, {failed} failed", err=True)
    if failed:
        sys.exit(1)


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A rich progress bar by bytes, with files done in the description; None when off."""
    if not enabled:
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("[bold]{task.fields[files]}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        transient=False,
    )
    with bar:
        yield bar


def _kinds(raw: str) -> list[str]:
    return [k.strip() for k in raw.split(",") if k.strip()]


@attachments.command("download")
@click.argument("object_name", metavar="OBJECT")
@click.option(
    "--where",
    "-w",
    "where",
    multiple=True,
    metavar="EXPR",
    help="Which records (repeatable, ANDed), as for coupa query: status=approved.",
)
@click.option("--id", "ids", multiple=True, type=int, help="These records (repeatable).")
@click.option(
    "--kinds",
    default="attachments",
    show_default=True,
    help="What to fetch, comma separated: attachments, and documents: scan, legal-pdf, "
    "clearance (invoices), legal-agreement (contracts), receipts (expense reports).",
)
@click.option("--output", "-o", "output", required=True, metavar="DIR", help="Download folder.")
@click.option(
    "--manifest",
    default=None,
    metavar="FILE",
    help="Manifest (.csv or .jsonl; default DIR/manifest.csv). A re-run resumes from it.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=64),
    default=None,
    help="Files at once (default: the connection's).",
)
@click.option(
    "--progress/--no-progress",
    "show_progress",
    default=None,
    help="Progress bar by bytes and files (default: on a terminal).",
)
@click.option("--profile", "-p", default=None, help=PROFILE_HELP)
@click.option(
    "--log-db",
    type=click.Path(dir_okay=False),
    help="Operation log file: the download is logged as a one-step run (coupa logs, the console).",
)
def download_cmd(
    object_name: str,
    where: tuple[str, ...],
    ids: tuple[int, ...],
    kinds: str,
    output: str,
    manifest: str | None,
    concurrency: int | None,
    show_progress: bool | None,
    profile: str | None,
    log_db: str | None,
) -> None:
    """Download every file of the matching records into DIR/OBJECT/NUMBER/FILE.

    Files download concurrently, each under a temporary name until whole; the manifest lists
    each with its size and sha256. A re-run skips the files already complete, so a killed
    run resumes where it stopped.
    """
    from coupa_connector import AsyncConnection

    config = load_config(profile)
    enabled = sys.stderr.isatty() if show_progress is None else show_progress

    async def run() -> Any:
        async with AsyncConnection(config) as conn:
            with _progress(enabled) as bar:
                task = bar.add_task("files", total=None, files="") if bar is not None else None

                def on_progress(state: Any) -> None:
                    if bar is not None:
                        bar.update(
                            task,
                            completed=state.bytes_done,
                            total=max(state.bytes_total, state.bytes_done) or None,
                            files=f"{state.files_done}/{state.files_total} files",
                        )

                return await conn.download_attachments(
                    object_name,
                    output,
                    where=list(where) or None,
                    ids=list(ids) or None,
                    kinds=_kinds(kinds),
                    manifest=manifest,
                    concurrency=concurrency,
                    progress=on_progress,
                )

    # A bulk download is a job that moved data: a one-step run in the operation log.
    logged = LoggedDownload(object_name, output, config.url, log_db).start()
    try:
        result = asyncio.run(run())
        logged.done(result)
    except (QueryError, CatalogError) as exc:
        raise click.UsageError(str(exc)) from None
    except CoupaError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        logged.end(sys.exc_info()[1])
    missing = len(set(ids)) - result.parents if ids and not where else 0
    for failure in result.failed[:50]:
        what = f"attachment {failure.attachment_id}" if failure.attachment_id else failure.kind
        click.echo(
            f"{failure.object} {failure.parent_id} {what} ({failure.name}): {failure.reason}",
            err=True,
        )
    click.echo(
        f"{result.found} files of {result.parents} {object_name}: {result.downloaded} "
        f"downloaded, {result.kept} already complete, {len(result.failed)} failed "
        f"({result.not_files} without a file); manifest {result.manifest}",
        err=True,
    )
    if missing > 0:
        click.echo(
            f"{missing} of the {len(set(ids))} ids given name no {object_name} record", err=True
        )
    if result.failed or missing > 0:
        sys.exit(1)
