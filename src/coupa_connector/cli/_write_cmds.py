"""``coupa create``, ``coupa update``, ``coupa upsert`` and ``coupa action``.

A thin skin over the write activities: read the input file as a stream, run the activity,
write the results and rejects files, show progress on a terminal, print the summary, and set
the exit code (0 only when every record was written, unless ``--allow-partial``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from coupa_connector._csv_formulas import CsvFormulas
from coupa_connector.activities.write._pipeline import UnreadableRecord
from coupa_connector.activities.write._results import WriteResult, WriteSummary
from coupa_connector.catalog import (
    MAX_INTEGER,
    ObjectDef,
    ValidationMode,
    coupa_integer,
    load_catalog,
)
from coupa_connector.cli._options import (
    EXIT_INTERRUPTED,
    EXIT_PARTIAL,
    complete_object,
    csv_formulas_option,
    encoding_option,
    note_new_folder,
)
from coupa_connector.errors import ConfigurationError, CoupaError, UnknownObjectError

if TYPE_CHECKING:
    from coupa_connector.operations.files._files import LineMark

__all__ = ["action", "create", "update", "upsert"]

_INPUT_FORMATS = ("csv", "jsonl", "json", "xml", "coupa-csv")

# Exit codes (docs/cli.md): 0 all written, 1 some records not written (or the run stopped),
# 2 bad usage, 130 Ctrl-C.


@dataclasses.dataclass(frozen=True, slots=True)
class _RunOptions:
    """The options every write command shares (``_common``), as click parsed them."""

    input_format: str | None
    results: str | None
    rejects: str | None
    concurrency: int | None
    dry_run: bool
    wire_format: str | None
    allow_partial: bool
    profile: str | None
    summary_format: str
    csv_formulas: CsvFormulas
    encoding: str = "utf-8"
    strict: bool = False
    no_validate: bool = False

    @property
    def validation(self) -> ValidationMode:
        """How records are checked: lenient by default (warnings are reported, the record
        is sent), strict (warnings refuse it), or off."""
        if self.strict and self.no_validate:
            raise click.UsageError("--strict and --no-validate cannot go together.")
        return "strict" if self.strict else "off" if self.no_validate else "lenient"


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options every write command shares; they arrive as the fields of ``_RunOptions``."""
    options = [
        click.option(
            "--input-format",
            type=click.Choice(_INPUT_FORMATS),
            help="Format of FILE (default: from its extension; needed for '-').",
        ),
        click.option(
            "--results",
            metavar="FILE",
            help="Write one line per input record: position, outcome, id, status, messages "
            "(.jsonl, .json or .csv).",
        ),
        click.option(
            "--rejects",
            metavar="FILE",
            help="Write every record not written, as given, plus an _errors field, in the "
            "input's format: fix it and feed it back.",
        ),
        click.option("--concurrency", type=click.IntRange(1, 64), help="Records sent at once."),
        click.option(
            "--dry-run", is_flag=True, help="Validate only; send nothing (no lookups either)."
        ),
        click.option(
            "--format",
            "wire_format",
            type=click.Choice(["json", "xml"]),
            help="Wire format for Coupa (default: the connection's, JSON).",
        ),
        click.option(
            "--allow-partial",
            is_flag=True,
            help="Exit 0 even when some records were rejected or failed.",
        ),
        click.option(
            "--profile", "-p", metavar="NAME", help="Connection profile (default: COUPA_* env)."
        ),
        click.option(
            "--strict",
            is_flag=True,
            help="Refuse records with warnings too (a read-only or unknown field, a field "
            "marked required that Coupa may default), not only what Coupa certainly refuses.",
        ),
        click.option(
            "--no-validate",
            is_flag=True,
            help="Send records unchecked (Coupa's own validation still applies).",
        ),
        click.option(
            "--summary",
            "summary_format",
            type=click.Choice(["table", "json"]),
            default="table",
            show_default=True,
            help="How to print the counts at the end.",
        ),
    ]
    func = csv_formulas_option()(func)
    func = encoding_option()(func)
    for option in reversed(options):
        func = option(func)
    return func


# --------------------------------------------------------------------------- plumbing


def _object(name: str, verb: str) -> ObjectDef:
    from coupa_connector.activities.write._validate import writable_object

    try:
        if verb == "action":
            return load_catalog().get(name)
        return writable_object(name, "update" if verb == "upsert" else verb)  # type: ignore[arg-type]
    except (UnknownObjectError, ConfigurationError) as exc:
        raise click.UsageError(str(exc)) from None


def _config(opts: _RunOptions) -> Any:
    from coupa_connector.client import ConnectionConfig

    try:
        profile = opts.profile
        config = ConnectionConfig.from_profile(profile) if profile else ConnectionConfig.from_env()
        changes: dict[str, Any] = {}
        if opts.concurrency is not None:
            changes["concurrency"] = opts.concurrency
        if opts.wire_format is not None:
            changes["wire_format"] = opts.wire_format
        return dataclasses.replace(config, **changes) if changes else config
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None


def _input_format(file: str, given: str | None) -> str:
    from coupa_connector.operations import guess_format

    if file == "-" and not given:
        raise click.UsageError(
            "Reading standard input needs --input-format (csv, jsonl, json, xml)."
        )
    if file != "-" and not Path(file).is_file():
        raise click.UsageError(f"{file}: no such file.")
    try:
        return guess_format(file, given)
    except CoupaError as exc:
        raise click.UsageError(str(exc)) from None


def read_input(
    file: str,
    fmt: str,
    csv_formulas: CsvFormulas = "escape",
    encoding: str = "utf-8",
    *,
    position: LineMark | None = None,
    lines: dict[int, int] | None = None,
    object_name: str | None = None,
) -> Iterator[Any]:
    """The input's records in order, unreadable entries in their place as ``UnreadableRecord``.

    A record the reader cannot parse is not a reason to stop the run: it is rejected with the
    reader's reason and the rest goes on. ``csv_formulas`` says whether a CSV cell's leading
    ``'`` before a formula character is taken off (``escape``: the rejects files this
    command writes read back as what they were) or kept; ``encoding`` is the file's text
    encoding. ``position`` is filled in as the file is read (the CSV header, for the rejects
    file). ``lines``, when given, gets each entry's 1-based position mapped to its first
    line in a CSV or JSON lines file (the results file's ``line``); who reads it pops it.
    ``object_name`` is the object a ``coupa-csv`` file holds, read in Coupa's import layout
    (the files these commands stand in for).
    """
    from coupa_connector.operations import BadRecord, read_records
    from coupa_connector.operations.files._files import LineMark

    bad: list[BadRecord] = []
    where = position if position is not None else LineMark()
    records = read_records(
        file,
        fmt,
        on_bad=bad.append,
        csv_formulas=csv_formulas,
        encoding=encoding,
        mark=where,
        object_name=object_name,
        direction="import",
    )
    count = 0

    def noted(line: int | None) -> None:
        nonlocal count
        count += 1
        if lines is not None and line is not None:
            lines[count] = line

    for record in records:
        while bad:
            entry = bad.pop(0)
            noted(entry.line)
            yield _unreadable(entry)
        noted(where.line)
        yield record
    while bad:
        entry = bad.pop(0)
        noted(entry.line)
        yield _unreadable(entry)


def _unreadable(entry: Any) -> UnreadableRecord:
    return UnreadableRecord(reason=entry.reason, raw=entry.raw, line=entry.line)


def _progress(console: Console, total: int | None) -> Progress | None:
    """A progress display on a terminal (a bar when the input's size is known), else None."""
    if not console.is_terminal:
        return None
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), TaskProgressColumn()]
    columns += [
        TextColumn("{task.completed} records"),
        TextColumn("[dim]{task.fields[counts]}"),
        TimeElapsedColumn(),
    ]
    return Progress(*columns, console=console, transient=True)


def estimate_records(file: str, fmt: str) -> int | None:
    """Records in a CSV or JSONL file, counted by lines (for the progress bar only).

    None for standard input, JSON and XML, whose record count is only known by parsing.
    """
    if file == "-" or fmt not in ("csv", "jsonl"):
        return None
    lines = 0
    try:
        with open(file, "rb") as fh:
            while chunk := fh.read(1 << 20):
                lines += chunk.count(b"\n")
    except OSError:
        return None
    return max(0, lines - (1 if fmt == "csv" else 0))


def _counts_text(summary: WriteSummary) -> str:
    return " ".join(f"{k} {v}" for k, v in summary.as_dict().items() if v and k != "read")


def _print_summary(
    console: Console,
    summary: WriteSummary,
    *,
    title: str,
    fmt: str,
    files: dict[str, str],
    error: str | None,
    errors: Console | None = None,
    reasons: Reasons | None = None,
) -> None:
    """The counts and files on ``console``; why the run stopped on ``errors`` (the command
    passes its stderr console), or on ``console`` when none is given."""
    counts = summary.as_dict()
    if fmt == "json":
        payload: dict[str, Any] = {**counts, "files": files}
        if reasons is not None and reasons.records:
            payload["reasons"] = [{"reason": r, "count": n} for r, n in reasons.top()]
        if error:
            payload["error"] = error
        # Plain JSON, never wrapped or coloured: it is for programs.
        click.echo(json.dumps(payload, indent=2), err=console.stderr)
        return
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("outcome")
    table.add_column("records", justify="right")
    for name in ("read", "created", "updated", "actioned", "valid", "rejected", "failed"):
        if name == "read" or counts[name]:
            style = "red" if name in ("rejected", "failed") else None
            table.add_row(name, str(counts[name]), style=style)
    if counts["recovered"]:
        table.add_row("(recovered after a lost answer)", str(counts["recovered"]), style="dim")
    if counts["warned"]:
        table.add_row(
            f"(with warnings: {counts['warnings']} in all)", str(counts["warned"]), style="yellow"
        )
    console.print(table)
    # Paths and the reason are never folded at the console's width (80 columns when not a
    # terminal): they are copied and grepped whole, and a fold would cut a path in two.
    for role, path in files.items():
        console.print(f"{role}: {escape(path)}", soft_wrap=True)
    if error:
        # The reason goes where errors go, so it shows even when stdout is a file or a pipe.
        (errors or console).print(f"[red]stopped:[/red] {escape(error)}", soft_wrap=True)


def _drive(
    title: str,
    obj: ObjectDef,
    input_format: str,
    opts: _RunOptions,
    run: Callable[[], AsyncIterator[WriteResult]],
    total: int | None = None,
    input_columns: Callable[[], Sequence[str]] | None = None,
    lines: dict[int, int] | None = None,
) -> None:
    """Run one write activity to the end and exit with the right code; ``lines`` maps input
    positions to their lines in the file, for the results file."""
    from coupa_connector.cli._write_report import Reports

    results_path, rejects_path = opts.results, opts.rejects
    to_stdout = results_path == "-" or rejects_path == "-"
    # The summary goes to stdout, unless a results or rejects file already does.
    console = Console(stderr=to_stdout)
    status = Console(stderr=True)
    note_new_folder(results_path, "results file")
    note_new_folder(rejects_path, "rejects file")
    try:
        reports = Reports(
            obj,
            input_format,
            results=results_path,
            rejects=rejects_path,
            csv_formulas=opts.csv_formulas,
            input_columns=input_columns,
        )
    except CoupaError as exc:
        raise click.UsageError(str(exc)) from None
    summary = WriteSummary()
    reasons = Reasons()
    error: BaseException | None = None
    progress = _progress(status, total)

    async def consume() -> None:
        task = progress.add_task(title, total=total, counts="") if progress else None
        async for result in run():
            summary.add(result)
            reports.add(result, line=lines.pop(result.position, None) if lines else None)
            if not result.ok:
                reasons.add(result)
            if progress is not None and task is not None:
                progress.update(task, completed=summary.read, counts=_counts_text(summary))

    try:
        with progress or nullcontext():
            asyncio.run(consume())
    except CoupaError as exc:
        error = exc
    except KeyboardInterrupt:
        error = KeyboardInterrupt(
            f"interrupted (Ctrl-C) after {summary.read} records; the rest were not sent"
        )
    finally:
        reports.close()
    _print_summary(
        console,
        summary,
        errors=status,
        title=title,
        fmt=opts.summary_format,
        files=reports.paths,
        error=str(error) if error else None,
        reasons=reasons,
    )
    if opts.summary_format != "json":  # the JSON summary holds them, for programs
        reasons.print(status, reports.paths)
    if isinstance(error, KeyboardInterrupt):
        sys.exit(EXIT_INTERRUPTED)
    if error is not None or (not summary.ok and not opts.allow_partial):
        sys.exit(EXIT_PARTIAL)


class Reasons:
    """Why records were not written, grouped by reason with counts, for the terminal.

    Only the first ``_KINDS_KEPT`` different reasons are counted one by one (a run of
    millions with a distinct message each stays small); later new ones count as others.
    """

    SHOWN = 10
    _KINDS_KEPT = 1000

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self.records = 0
        self.others = 0

    def add(self, result: WriteResult) -> None:
        """Count the reasons of one record that was not written."""
        self.records += 1
        for message in result.messages or ("(no reason given)",):
            reason = f"{result.outcome.value}: {' '.join(message.split())}"
            if reason in self._counts:
                self._counts[reason] += 1
            elif len(self._counts) < self._KINDS_KEPT:
                self._counts[reason] = 1
            else:
                self.others += 1

    def top(self) -> list[tuple[str, int]]:
        """The ``SHOWN`` most frequent reasons with their counts (first seen first among
        equals)."""
        return sorted(self._counts.items(), key=lambda kv: -kv[1])[: self.SHOWN]

    def print(self, console: Console, files: dict[str, str]) -> None:
        """The most frequent reasons (first seen first among equals), then where all are."""
        if not self.records:
            return

        def say(text: str) -> None:
            # One line per reason, never folded: it is read and grepped whole.
            console.print(text, highlight=False, soft_wrap=True)

        top = self.top()
        hidden = len(self._counts) - len(top)
        say(f"{self.records} record{'s' if self.records != 1 else ''} not written:")
        for reason, count in top:
            say(f"  {count} x {escape(reason)}")
        if hidden or self.others:
            say(f"  ... and {hidden + (1 if self.others else 0)}+ other reasons")
        kept = [f"{role} {escape(path)}" for role, path in files.items() if path != "-"]
        if kept:
            say(f"every record with its reasons: {', '.join(kept)}")
        else:
            say(
                "keep every record with its reasons with --rejects FILE (fix it and feed it "
                "back) or --results FILE"
            )


def _connection(config: Any) -> Any:
    from coupa_connector._connection import AsyncConnection

    return AsyncConnection(config)


@dataclasses.dataclass(frozen=True, slots=True)
class _Via:
    """How create and upsert send: ``api`` (a request per record) or ``flat-file``."""

    via: str = "api"
    files_dir: str | None = None
    poll_deadline: float | None = None

    @property
    def files(self) -> bool:
        return self.via == "flat-file"


def _via_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--via``, ``--files-dir`` and ``--poll-deadline`` (create and upsert)."""
    options = [
        click.option(
            "--via",
            type=click.Choice(["api", "flat-file"]),
            default="api",
            show_default=True,
            help="api: one request per record. flat-file: Coupa CSV files of up to 5,000 "
            "rows loaded through data_file_sources (a few requests per file; Coupa loads "
            "them in the background).",
        ),
        click.option(
            "--files-dir",
            metavar="DIR",
            help="With --via flat-file: keep the CSV files written here.",
        ),
        click.option(
            "--poll-deadline",
            type=click.FloatRange(min=0),
            metavar="SECONDS",
            help="With --via flat-file: how long to wait for Coupa to load a file (default "
            "3600); a load still running then is reported failed with its id.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _via(options: dict[str, Any]) -> _Via:
    via = _Via(options.pop("via"), options.pop("files_dir"), options.pop("poll_deadline"))
    if not via.files and (via.files_dir or via.poll_deadline is not None):
        raise click.UsageError("--files-dir and --poll-deadline go with --via flat-file.")
    return via


def _file_run(conn: Any, obj: ObjectDef, records: Any, verb: str, key: str | None,
              opts: _RunOptions, via: _Via) -> AsyncIterator[WriteResult]:  # fmt: skip
    from coupa_connector.activities.flatfile import PollPolicy
    from coupa_connector.operations._file_writes import write_via_files

    policy = PollPolicy() if via.poll_deadline is None else PollPolicy(deadline=via.poll_deadline)
    return write_via_files(
        conn,
        obj,
        records,
        mode="create" if verb == "create" else "upsert",
        key=key,
        validation=opts.validation,
        dry_run=opts.dry_run,
        directory=via.files_dir,
        policy=policy,
    )


def _record_run(
    verb: str,
    object_name: str,
    file: str,
    *,
    key: str | None,
    opts: _RunOptions,
    via: _Via | None = None,
) -> None:
    from coupa_connector.activities.write.create import create as create_records
    from coupa_connector.activities.write.update import update as update_records
    from coupa_connector.activities.write.update import upsert as upsert_records

    obj = _object(object_name, verb)
    fmt = _input_format(file, opts.input_format)
    from coupa_connector.operations.files._files import LineMark

    how = via or _Via()
    if how.files:
        from coupa_connector.operations._file_writes import check_file_writes

        try:
            check_file_writes(obj)
        except CoupaError as exc:
            raise click.UsageError(str(exc)) from None

    config = _config(opts)
    dry_run = opts.dry_run
    position = LineMark()
    lines: dict[int, int] = {}  # input position -> line, until its result is written
    check = opts.validation

    async def run() -> AsyncIterator[WriteResult]:
        async with _connection(config) as conn:
            records = read_input(
                file,
                fmt,
                opts.csv_formulas,
                opts.encoding,
                position=position,
                lines=lines,
                object_name=obj.name,
            )
            kw: dict[str, Any] = {"dry_run": dry_run, "validation": check}
            if how.files:
                results = _file_run(conn, obj, records, verb, key, opts, how)
            elif verb == "create":
                results = create_records(conn, obj, records, key=key, **kw)
            elif verb == "update":
                results = update_records(conn, obj, records, key=key, **kw)
            else:
                results = upsert_records(conn, obj, records, key=key or "", **kw)
            async for result in results:
                yield result

    try:
        # Fail on a bad key before reading anything.
        if key:
            from coupa_connector.activities.write._keys import KeySpec

            KeySpec.parse(obj, key)
    except CoupaError as exc:
        raise click.UsageError(str(exc)) from None
    title = f"{'validate' if dry_run else verb} {obj.name}" + (
        " through flat files" if how.files else ""
    )
    total = estimate_records(file, fmt) if sys.stderr.isatty() else None
    _drive(title, obj, fmt, opts, run, total, input_columns=lambda: position.columns, lines=lines)


# --------------------------------------------------------------------------- commands


def _record_command(
    key_help: str, *, key_required: bool = False
) -> Callable[[Callable[..., Any]], click.Command]:
    """The shape of create, update and upsert: ``OBJECT FILE``, ``--key``, common options."""

    def make(func: Callable[..., Any]) -> click.Command:
        func = _common(func)
        func = click.option("--key", metavar="FIELDS", required=key_required, help=key_help)(func)
        func = click.argument("file", metavar="FILE")(func)
        func = click.argument("object_name", metavar="OBJECT", shell_complete=complete_object)(func)
        return click.command()(func)

    return make


@_record_command(
    "Natural key used to check Coupa when a create's answer is lost "
    "(default: the object's keys from the catalog)."
)
@_via_options
def create(object_name: str, file: str, key: str | None, **options: Any) -> None:
    """Create OBJECT records from FILE (CSV, JSONL, JSON or Coupa XML; '-' for stdin).

    \b
    Examples:
      coupa create suppliers suppliers.csv --rejects rejects.csv
      coupa create invoices invoices.jsonl --results results.jsonl
      coupa create suppliers suppliers.csv --via flat-file --rejects rejects.csv
    """
    via = _via(options)
    _record_run("create", object_name, file, key=key, opts=_RunOptions(**options), via=via)


@_record_command(
    "Find records without an id by these fields, e.g. number, login, "
    "invoice-number,supplier.number (default: the first of the object's natural keys "
    "that a record gives)."
)
def update(object_name: str, file: str, key: str | None, **options: Any) -> None:
    """Update existing OBJECT records from FILE, found by id or by --key.

    \b
    Nested lines: a line without id is added, a line with id is updated,
    a line with _delete=true is removed.
    Examples:
      coupa update suppliers changes.csv --key number
      coupa update invoices fixes.jsonl --key invoice-number,supplier.number
    """
    _record_run("update", object_name, file, key=key, opts=_RunOptions(**options))


@_record_command(
    "Natural key: create when it matches nothing, update when it matches one record.",
    key_required=True,
)
@_via_options
def upsert(object_name: str, file: str, key: str, **options: Any) -> None:
    """Create or update OBJECT records from FILE, matched by --key.

    \b
    Examples:
      coupa upsert suppliers suppliers.csv --key number
      coupa upsert users users.jsonl --key login
      coupa upsert suppliers suppliers.csv --key number --via flat-file
    """
    if key.strip().lower() == "id":
        raise click.UsageError("upsert needs a natural key (an id cannot be created).")
    via = _via(options)
    _record_run("upsert", object_name, file, key=key, opts=_RunOptions(**options), via=via)


def _known_format(path: str) -> str | None:
    from coupa_connector.operations import guess_format

    try:
        return guess_format(path)
    except CoupaError:
        return None


def _ids_from_file(
    path: str, fmt: str | None, csv_formulas: CsvFormulas, encoding: str = "utf-8"
) -> Iterator[Any]:
    """Targets from a file: one id per line (.txt or no known extension), else records."""
    from coupa_connector.operations import guess_format
    from coupa_connector.operations.files._text_input import clean_text, open_text

    known: str | None
    try:
        known = guess_format(path, fmt) if (fmt or path != "-") else None
    except CoupaError:
        known = None
    if known is None:
        with open_text(path, encoding) as stream:
            for line_no, line in enumerate(stream, start=1):
                problem = stream.problem(line, stream.line_start)
                if problem is not None:
                    raw = clean_text(line.strip())
                    yield UnreadableRecord(f"{path} is {problem}", raw=raw, line=line_no)
                    continue
                text = line.split("#", 1)[0].strip()
                if not text:
                    continue
                rid = coupa_integer(text) if text.isdigit() else None
                if rid:  # Coupa's ids are positive and within its integer range
                    yield rid
                else:
                    yield UnreadableRecord(f"{text!r} is not a Coupa id", raw=text, line=line_no)
        return
    yield from read_input(path, known, csv_formulas, encoding)


@click.command()
@click.argument("object_name", metavar="OBJECT", shell_complete=complete_object)
@click.argument("action_name", metavar="ACTION")
@click.option(
    "--id",
    "ids",
    multiple=True,
    type=click.IntRange(min=1, max=MAX_INTEGER),
    help="A record id (repeat).",
)
@click.option(
    "--ids-file",
    metavar="FILE",
    help="Ids one per line (.txt), or records with id or --key fields (CSV, JSONL, JSON, XML).",
)
@click.option(
    "--where",
    "where",
    multiple=True,
    metavar="EXPR",
    help="Act on every record this query matches (repeat to AND conditions).",
)
@click.option("--key", metavar="FIELDS", help="Find records in --ids-file by these fields.")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Query parameter sent with every call (e.g. reason=duplicate).",
)
@_common
def action(
    object_name: str,
    action_name: str,
    ids: tuple[int, ...],
    ids_file: str | None,
    where: tuple[str, ...],
    key: str | None,
    params: tuple[str, ...],
    **options: Any,
) -> None:
    """Run ACTION (submit, void, cancel, approve, mark_exported ...) on OBJECT records.

    \b
    Examples:
      coupa action invoices submit --id 101 --id 102
      coupa action invoices mark_exported --where "status=approved"
      coupa action purchase_orders cancel --ids-file po-ids.txt
      coupa action approvals reject --id 7 --param reason="over budget"
    """
    from coupa_connector.activities.write.actions import action as run_action
    from coupa_connector.activities.write.actions import find_action
    from coupa_connector.cli._write_report import IDS_FORMAT

    opts = _RunOptions(**options)
    input_format, dry_run = opts.input_format, opts.dry_run
    obj = _object(object_name, "action")
    try:
        found = find_action(obj, action_name)
    except CoupaError as exc:
        raise click.UsageError(str(exc)) from None
    sources = [s for s in (ids, ids_file, where) if s]
    if len(sources) != 1:
        raise click.UsageError("Give the records with exactly one of --id, --ids-file, --where.")
    fixed: dict[str, str] = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise click.UsageError(f"--param {item!r} must look like NAME=VALUE.")
        fixed[name.strip()] = value
    if where:
        from coupa_connector.activities.query import build_query

        try:
            build_query(load_catalog(), obj, where=list(where), fields=["id"], strict=opts.strict)
        except CoupaError as exc:
            raise click.UsageError(str(exc)) from None
    config = _config(opts)
    # Rejects of a record file come out in its format; bare ids (--id, --where, an ids
    # file) as ids, one per line, unless the rejects file's extension names a format.
    fmt = input_format or IDS_FORMAT
    if ids_file and ids_file != "-":
        if not Path(ids_file).is_file():
            raise click.UsageError(f"{ids_file}: no such file.")
        fmt = input_format or _known_format(ids_file) or IDS_FORMAT

    async def run() -> AsyncIterator[WriteResult]:
        async with _connection(config) as conn:
            targets: Any
            if ids:
                targets = list(ids)
            elif ids_file:
                targets = _ids_from_file(ids_file, input_format, opts.csv_formulas, opts.encoding)
            else:
                targets = _ids_from_query(conn, obj, list(where), opts.strict)
            results = run_action(
                conn, obj, found.name, targets, key=key, params=fixed, dry_run=dry_run
            )
            async for result in results:
                yield result

    title = f"{'check' if dry_run else found.name} {obj.name}"
    _drive(title, obj, fmt, opts, run)


async def _ids_from_query(
    conn: Any, obj: ObjectDef, where: list[str], strict: bool
) -> AsyncIterator[int]:
    """Ids of the records a query matches, streamed.

    The query pages by id (keyset), so records the action changes while the query is still
    running are neither skipped nor seen twice.
    """
    query = conn.query(obj, where=where, fields=["id"], paging="keyset", strict=strict)
    async for record in query:
        yield record["id"]
