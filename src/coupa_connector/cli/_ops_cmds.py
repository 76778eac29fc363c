"""``coupa run``, ``coupa validate`` and ``coupa logs``: operations from the command line."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from coupa_connector.cli._options import EXIT_INTERRUPTED, format_option
from coupa_connector.errors import CoupaError
from coupa_connector.operations import (
    Counts,
    OperationFileError,
    OpLog,
    Runner,
    RunResult,
    load_operation_file,
)
from coupa_connector.operations import Progress as ProgressSink

_STATUS_STYLE = {
    "success": "green",
    "partial": "yellow",
    "failed": "red",
    "running": "cyan",
    "interrupted": "magenta",
    "dry-run": "blue",  # logs written before dry runs ended like real ones
}


def _status_cell(status: str, dry_run: bool) -> str:
    """A run's status as rich markup; a dry run says so, as it wrote nothing."""
    style = _STATUS_STYLE.get(status, "white")
    return f"[{style}]{escape(status)}[/]" + (" (dry run)" if dry_run else "")


def _parse_vars(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--var")
        out[name.strip()] = value
    return out


class RichProgress(ProgressSink):
    """Progress bars on a terminal: one line per operation with its counts."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def started(self, operation: str, description: str) -> None:
        self._tasks[operation] = self._progress.add_task(
            escape(operation), total=None, counts="starting"
        )

    def advanced(self, operation: str, counts: Counts) -> None:
        task = self._tasks.get(operation)
        if task is not None:
            self._progress.update(task, completed=counts.read, counts=_counts_text(counts))

    def finished(self, result: RunResult) -> None:
        task = self._tasks.get(result.operation)
        if task is not None:
            total = max(result.counts.read, 1)
            status = _status_cell(result.status, result.dry_run)
            self._progress.update(
                task, total=total, completed=total, counts=f"{_counts_text(result.counts)} {status}"
            )


def _console() -> Console:
    """A console for tables: the terminal's width, or a roomy one when output is piped."""
    console = Console()
    return console if console.is_terminal else Console(width=160)


_NUMERIC = frozenset({"run", "read", "written", "rejected", "failed", "s"})


def _columns(table: Table, names: tuple[str, ...]) -> None:
    # Numbers and names never wrap; the free-text column at the end takes what is left.
    for name in names:
        table.add_column(name, justify="right" if name in _NUMERIC else "left", no_wrap=True)


def _counts_text(c: Counts) -> str:
    return f"read {c.read}  written {c.written}  rejected {c.rejected}  failed {c.failed}"


def results_table(results: list[RunResult], title: str = "Operations") -> Table:
    """A table of run results (status, counts, outputs, rejects).

    Every value from the data is escaped: Coupa's messages hold brackets
    (``updated-at[lt]=...``) that rich would otherwise read as markup.
    """
    table = Table(title=title, show_lines=False)
    _columns(table, ("run", "operation", "status", "read", "written", "rejected", "failed"))
    table.add_column("output / notes", overflow="fold", min_width=20)
    for r in results:
        notes = list(r.outputs)
        if r.skipped:
            notes.insert(0, "finished before the resume; not run again")
        if r.exported:
            notes.append(f"{r.exported} marked exported")
        if r.warned:
            notes.append(f"{r.warned} records with warnings ({r.warnings} in all; see the log)")
        if r.rejects_file:
            notes.append(f"rejects: {r.rejects_file}")
        if r.monitoring and r.monitoring.get("failures"):
            notes.append(f"{r.monitoring['failures']} Coupa monitoring call(s) failed")
        if r.debug_log:
            notes.append(f"debug log: {r.debug_log}")
        if r.error:
            notes.append(f"error: {r.error}")
        table.add_row(
            str(r.run_id),
            escape(r.operation),
            _status_cell(r.status, r.dry_run),
            str(r.counts.read),
            str(r.counts.written),
            str(r.counts.rejected),
            str(r.counts.failed),
            escape("\n".join(notes)),
        )
    return table


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--op", "operation", metavar="NAME", help="Run this operation (and its chain) only.")
@click.option("--dry-run", is_flag=True, help="Read, transform and validate; write nothing.")
@click.option("--debug", is_flag=True, help="Write a debug log of every request and failed record.")
@click.option(
    "--resume", is_flag=True, help="Continue the file's last run: what finished is not run again."
)
@click.option(
    "--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set ${NAME} in the file."
)
@click.option("--log-db", type=click.Path(dir_okay=False), help="Operation log file.")
@click.option(
    "--profile", "-p", help="Use this connection profile instead of the file's connection."
)
@click.option("--sandbox", is_flag=True, help="Use an embedded Coupa sandbox instead.")
@format_option(["table", "json"])
def run(
    file: str,
    operation: str | None,
    dry_run: bool,
    debug: bool,
    resume: bool,
    variables: tuple[str, ...],
    log_db: str | None,
    profile: str | None,
    sandbox: bool,
    fmt: str,
) -> None:
    """Run the operations of an operation FILE.

    Exit status: 0 when every operation succeeded, 1 when records were rejected or failed,
    2 when an operation failed or the file is invalid.
    """
    err = Console(stderr=True)
    try:
        opfile = load_operation_file(file, _parse_vars(variables))
    except OperationFileError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    config = None
    if profile:
        from coupa_connector.client import ConnectionConfig

        try:
            config = ConnectionConfig.from_profile(profile)
        except CoupaError as exc:
            click.echo(str(exc), err=True)
            sys.exit(2)
    show_bars = fmt == "table" and err.is_terminal
    try:
        with OpLog(log_db) as oplog:
            sink = RichProgress(err) if show_bars else None
            runner = Runner(
                opfile,
                oplog=oplog,
                connection=config,
                dry_run=dry_run,
                debug=debug,
                resume=resume,
                progress=sink,
                sandbox=sandbox,
            )
            if sink is not None:
                with sink:
                    results = runner.run(operation)
            else:
                results = runner.run(operation)
            log_path = oplog.path
    except CoupaError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        # The runner recorded the run as interrupted and kept what a resume needs.
        again = ["coupa", "run", shlex.quote(file)]
        again += ["--op", shlex.quote(operation)] if operation else []
        again += ["--log-db", shlex.quote(log_db)] if log_db else []
        again += ["--sandbox"] if sandbox else []
        click.echo(f"interrupted; resume with `{' '.join(again)} --resume`", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if fmt == "json":
        click.echo(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        out = _console()
        out.print(results_table(results, "Dry run" if dry_run else "Operations"))
        shown = escape(str(log_path))
        out.print(f"operation log: {shown}  (coupa logs --log-db {shown})", highlight=False)
    if resume and results and all(r.skipped for r in results):
        runs = ", ".join(str(r.run_id) for r in results)
        err.print(
            f"nothing to do: every operation of the last run of {escape(file)} had finished "
            f"(runs {runs}); run without --resume to start a new run",
            highlight=False,
        )
        return
    statuses = {r.status for r in results}
    if "failed" in statuses:
        sys.exit(2)
    if "partial" in statuses:
        sys.exit(1)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set ${NAME} in the file."
)
def validate(file: str, variables: tuple[str, ...]) -> None:
    """Check an operation FILE without running it; every problem is listed with its line."""
    try:
        opfile = load_operation_file(file, _parse_vars(variables))
    except OperationFileError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    out = _console()
    out.print(
        f"[green]{escape(file)} is valid[/]: {len(opfile.operations)} operation(s)",
        highlight=False,
    )
    for op in opfile.operations.values():
        chain = ""
        if op.on_success:
            chain += f"  on success -> {', '.join(op.on_success)}"
        if op.on_failure:
            chain += f"  on failure -> {', '.join(op.on_failure)}"
        out.print(
            escape(f"  {op.name}: {op.source.type} -> {op.target.type}{chain}"), highlight=False
        )


@click.command()
@click.argument("run_id", required=False, type=int)
@click.option("--limit", default=20, show_default=True, help="Runs to list.")
@click.option("--op", "operation", metavar="NAME", help="Only runs of this operation.")
@format_option(["table", "json"])
@click.option("--log-db", type=click.Path(dir_okay=False), help="Operation log file.")
def logs(
    run_id: int | None, limit: int, operation: str | None, fmt: str, log_db: str | None
) -> None:
    """List recent operation runs, or show run RUN_ID with its failed records."""
    path = Path(log_db) if log_db else None
    with OpLog(path) as oplog:
        if run_id is None:
            runs = oplog.runs(limit, operation)
            if fmt == "json":
                click.echo(json.dumps(runs, indent=2))
                return
            _print_runs(runs, oplog.path)
            return
        run_data = oplog.run(run_id)
    if run_data is None:
        Console(stderr=True).print(f"[red]no run {run_id} in the operation log[/]")
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps(run_data, indent=2))
        return
    _print_run(run_data)


def _print_runs(runs: list[dict[str, Any]], path: Path) -> None:
    out = _console()
    if not runs:
        out.print(f"no runs in {escape(str(path))}", highlight=False)
        return
    table = Table(title=f"Operation runs ({escape(str(path))})")
    _columns(
        table,
        ("run", "operation", "started", "status", "read", "written", "rejected", "failed", "s"),
    )
    table.add_column("error", overflow="fold", min_width=10)
    for r in runs:
        table.add_row(
            str(r["id"]),
            escape(r["operation"]),
            r["started_at"][:19].replace("T", " "),
            _status_cell(r["status"], r["dry_run"]),
            str(r["read"]),
            str(r["written"]),
            str(r["rejected"]),
            str(r["failed"]),
            "" if r["duration"] is None else f"{r['duration']:.1f}",
            escape(r["error"] or ""),
        )
    out.print(table)


def _print_run(r: dict[str, Any]) -> None:
    out = _console()
    out.print(
        f"[bold]run {r['id']}[/]: {escape(r['operation'])} ({escape(r['file'])})", highlight=False
    )
    out.print(f"  status:   {_status_cell(r['status'], r['dry_run'])}")
    out.print(
        f"  started:  {r['started_at']}   ended: {r['ended_at'] or '-'}   seconds: {r['duration']}"
    )
    resumed = f"  (resumed {r['resumes']}x)" if r["resumes"] else ""
    out.print(
        f"  read {r['read']}  written {r['written']}  rejected {r['rejected']}  "
        f"failed {r['failed']}{resumed}",
        highlight=False,
    )
    for label, key in (
        ("outputs", "outputs"),
        ("rejects", "rejects_file"),
        ("debug log", "debug_log"),
    ):
        value = r.get(key)
        if value:
            shown = ", ".join(value) if isinstance(value, list) else str(value)
            out.print(f"  {label}: {escape(shown)}", highlight=False)
    for name, detail in (r.get("details") or {}).items():
        # What a part of the run did beyond its records (its monitoring, a bulk download).
        shown = ", ".join(f"{k} {v}" for k, v in detail.items() if v not in (None, ""))
        out.print(f"  {escape(name)}: {escape(shown)}", highlight=False)
    if r["error"]:
        out.print(f"  [red]error: {escape(r['error'])}[/]", highlight=False)
    for note in r.get("notes") or []:
        out.print(f"  {note['at']}: {escape(note['note'])}", highlight=False)
    failures = r.get("failures") or []
    if failures:
        table = Table(title=f"{len(failures)} failed or rejected record(s)")
        table.add_column("position", justify="right")
        table.add_column("line", justify="right")
        table.add_column("outcome")
        table.add_column("messages", overflow="fold")
        table.add_column("input record", overflow="fold")
        for f in failures:
            table.add_row(
                "-" if f["position"] is None else str(f["position"]),
                "" if f.get("line") is None else str(f["line"]),
                escape(f["outcome"]),
                escape("\n".join(f["messages"])),
                escape(json.dumps(f["record"], ensure_ascii=False))
                if f["record"] is not None
                else "",
            )
        out.print(table)
