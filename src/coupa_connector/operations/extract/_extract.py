"""Query to a file: incremental windows, de-duplication, and the exported-flag pattern.

Order of the durable steps, and why:

1. Records stream into a temporary file (de-duplicated by id).
2. The file is flushed, fsynced and renamed into place.
3. Only then is the state file's watermark advanced (itself by temp file + rename), so a
   crash before (2) repeats the window next time instead of skipping it.
4. Only then, with ``mark_exported``, is each delivered record marked ``exported=true``, so a
   crash never marks a record that was not delivered (it may deliver one twice, which the
   id makes easy to de-duplicate downstream).

The incremental window is ``updated-at >= since`` and ``updated-at < run start``, where the
run start is the server's clock (its ``Date`` header) when the run begins. Records updated
during the run fall after the upper bound and are picked up by the next run; the next run
starts exactly at this run's upper bound, so no record falls between two windows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Unpack

from coupa_connector._csv_formulas import DEFAULT_CSV_FORMULAS, CsvFormulas
from coupa_connector.activities.query import (
    QueryKeywords,
    QueryOptions,
    QuerySpec,
    build_query,
    log_warnings,
    query_pages,
)
from coupa_connector.activities.query._batch import RecordBatch, fresh_indexes
from coupa_connector.activities.query._filters import RawCondition, parse_where
from coupa_connector.activities.query._paging import Page
from coupa_connector.catalog import wire_name
from coupa_connector.errors import (
    AuthenticationError,
    ConfigurationError,
    CoupaError,
    PermissionDeniedError,
    QueryError,
)
from coupa_connector.operations._deletes import DeleteDetector, IdSet, current_ids, ids_path
from coupa_connector.operations._state import StateFile
from coupa_connector.operations.extract._processes import check_processes, extract_in_processes
from coupa_connector.operations.files._output import RecordWriter

if TYPE_CHECKING:
    from coupa_connector._connection import AsyncConnection
    from coupa_connector.catalog import Catalog, ObjectDef


@dataclass
class ExtractResult:
    """Counts of one extract; ``read == written + duplicates`` always holds.

    Attributes:
        object: The queried object.
        output: Where the records went.
        read: Records received from Coupa.
        written: Records written to the output.
        duplicates: Records skipped because their id was already written.
        pages: Pages received.
        marked: Records marked ``exported=true`` (with ``mark_exported``).
        mark_failures: ``(id, reason)`` of records that could not be marked.
        window: The ``(since, until)`` updated-at window of an incremental run.
        watermark: The watermark saved to the state file, if any.
        deleted: Tombstones written (``detect_deletes``): records delivered before that
            the query no longer finds.
    """

    object: str
    output: str
    read: int = 0
    written: int = 0
    duplicates: int = 0
    pages: int = 0
    marked: int = 0
    mark_failures: list[tuple[int, str]] = field(default_factory=list)
    window: tuple[str | None, str | None] = (None, None)
    watermark: str | None = None
    deleted: int = 0

    @property
    def ok(self) -> bool:
        return not self.mark_failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "object": self.object,
            "output": self.output,
            "read": self.read,
            "written": self.written,
            "duplicates": self.duplicates,
            "pages": self.pages,
            "marked": self.marked,
            "mark_failed": len(self.mark_failures),
            "window": list(self.window),
            "watermark": self.watermark,
            "deleted": self.deleted,
        }


async def server_now(conn: AsyncConnection, resource: str) -> dt.datetime:
    """The server's clock from a minimal read's ``Date`` header (the client's if absent)."""
    response = await conn.send("GET", resource, params={"limit": 1, "return_object": "limited"})
    stamp = response.headers.get("date")
    if stamp:
        try:
            parsed = email.utils.parsedate_to_datetime(stamp)
            return parsed.astimezone(dt.UTC)
        except (TypeError, ValueError):
            pass
    return dt.datetime.now(dt.UTC)


async def mark_exported(
    conn: AsyncConnection, resource: str, ids: Sequence[int], concurrency: int
) -> tuple[int, list[tuple[int, str]]]:
    """``PUT <resource>/<id>?exported=true`` for each id; return (marked, failures).

    A refusal of the credentials themselves (401, 403: a missing scope) would repeat for
    every id, so marking stops at the first one: the ids not sent are failures too, with
    that reason.
    """
    failures: list[tuple[int, str]] = []
    marked = 0
    pending = iter(ids)
    refused: list[str] = []

    async def worker() -> None:
        nonlocal marked
        for record_id in pending:
            if refused:
                failures.append((record_id, f"not sent: marking stopped at {refused[0]}"))
                continue
            try:
                await conn.request(
                    "PUT",
                    f"{resource}/{record_id}",
                    params={"exported": "true", "return_object": "limited"},
                )
                marked += 1
            except (AuthenticationError, PermissionDeniedError) as exc:
                refused.append(str(exc))
                failures.append((record_id, str(exc)))
            except CoupaError as exc:
                failures.append((record_id, str(exc)))

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return marked, failures


def scalar_columns(
    catalog: Catalog, target: ObjectDef, fields: Sequence[str] | None
) -> list[str] | None:
    """The CSV columns of ``fields`` when each is a dotted path through references to one
    scalar field (``id``, ``supplier.name``), so a CSV on standard output can stream its rows
    under a header written first; None otherwise (no fields, or one names lines or a whole
    association), when the columns are known only once every record is in."""
    if not fields:
        return None
    columns: list[str] = []
    for dotted in fields:
        steps = [wire_name(step) for step in dotted.split(".")]
        obj: ObjectDef | None = target
        for i, step in enumerate(steps):
            fdef = obj.fields.get(step) if obj is not None else None
            last = i == len(steps) - 1
            if step == "id" and last:
                break
            if fdef is None or fdef.kind == "collection":
                return None
            if last and fdef.kind == "reference":
                return None
            ref = fdef.ref if fdef.kind == "reference" else None
            obj = catalog.get(ref) if ref is not None and ref in catalog else None
        columns.append(".".join(steps))
    return columns


async def _refuse_without_scope(conn: AsyncConnection, target: ObjectDef) -> None:
    """Refuse ``--mark-exported`` before the query when the token's granted scopes (the
    token endpoint says them) lack the object's write scope: every mark would get a 403.
    Nothing is refused when the server does not say what it granted."""
    needed = target.write_scope
    auth: Any = getattr(conn, "auth", None)
    if not needed or not hasattr(auth, "token"):
        return  # an API key: no scopes to know
    if auth.token is None:
        await auth.headers()  # mints the token, which says its scopes
    granted = tuple(getattr(auth.token, "scopes", ()) or ())
    if granted and needed not in granted:
        raise ConfigurationError(
            f"--mark-exported sets exported=true on each {target.name} record, which needs "
            f"the scope {needed}; this client was granted {' '.join(granted)}. Grant it "
            "(and add it to COUPA_SCOPES or the profile), or query without --mark-exported."
        )


async def _in_this_process(
    conn: AsyncConnection,
    spec: QuerySpec,
    writer: RecordWriter,
    result: ExtractResult,
    concurrency: int | None,
    keep_ids: bool,
    on_page: Callable[[Page, ExtractResult], None] | None,
) -> list[int]:
    seen: set[Any] = set()
    written_ids: list[int] = []
    async for page in query_pages(conn, spec.obj, spec=spec, concurrency=concurrency):
        result.pages += 1
        result.read += len(page.batch)
        keep = fresh_indexes(page.batch.ids, seen)
        result.duplicates += len(page.batch) - len(keep)
        fresh = page.batch.pick(keep)
        if keep_ids:
            written_ids.extend(int(key) for key in fresh.ids if key is not None)
        result.written += writer.write_batch(fresh)
        if on_page is not None:
            on_page(page, result)
    return written_ids


async def _in_processes(
    conn: AsyncConnection,
    spec: QuerySpec,
    writer: RecordWriter,
    result: ExtractResult,
    processes: int,
    concurrency: int,
    keep_ids: bool,
    on_page: Callable[[Page, ExtractResult], None] | None,
) -> list[int]:
    def progress(read: int, pages: int) -> None:
        # Provisional counts for a progress display; the final ones replace them below.
        if on_page is not None and pages > result.pages:
            result.read = result.written = read
            result.pages = pages
            on_page(Page(RecordBatch.of([]), pages - 1, ()), result)

    totals, ids = await extract_in_processes(
        conn,
        spec,
        writer,
        processes=processes,
        concurrency=concurrency,
        keep_ids=keep_ids,
        on_progress=progress,
    )
    result.read, result.written = totals.read, totals.written
    result.duplicates, result.pages = totals.duplicates, totals.pages
    return ids


def _refuse_unsafe(spec: QuerySpec, incremental: bool, mark_exported_flag: bool) -> None:
    """Refuse the combinations that could skip records for good.

    Raises:
        QueryError: What is wrong and what to drop.
    """
    if incremental and spec.limit is not None:
        raise QueryError(
            "An incremental run cannot take a limit: its pages come in id order, not by "
            "updated-at, so no watermark would be safe to save after part of the window; "
            "drop the limit (or narrow the window with --where)."
        )
    if incremental and spec.paging != "keyset":
        raise QueryError(
            "An incremental run pages by id (keyset) so records updated during the run cannot "
            "shift pages; drop order_by (or make it id)."
        )
    if mark_exported_flag and spec.paging != "keyset":
        raise QueryError(
            "--mark-exported pages by id (keyset): marking records changes the exported=false "
            "result set, which would make offset pages skip records; drop order_by (or make "
            "it id)."
        )


def _delete_detector(
    wanted: bool, state: Path | None, obj: str, mark_exported_flag: bool, spec: QuerySpec
) -> DeleteDetector | None:
    """The run's delete detection, if asked for and possible.

    Raises:
        QueryError: Without a state file, with --mark-exported (its exported=false query
            would take every marked record for deleted), or with a limit.
    """
    if not wanted:
        return None
    if state is None:
        raise QueryError("--detect-deletes compares with the ids of the run before: give --state.")
    if mark_exported_flag:
        raise QueryError(
            "--detect-deletes cannot go with --mark-exported: records marked exported leave "
            "the exported=false query and would all look deleted."
        )
    if spec.limit is not None:
        raise QueryError("--detect-deletes needs every matching id: drop the limit.")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    return DeleteDetector(IdSet(ids_path(state), obj), now)


async def extract(
    conn: AsyncConnection,
    obj: str,
    output: str | os.PathLike[str],
    options: QueryOptions | None = None,
    /,
    *,
    fmt: str = "jsonl",
    state: str | os.PathLike[str] | None = None,
    mark_exported_flag: bool = False,
    processes: int = 1,
    on_page: Callable[[Page, ExtractResult], None] | None = None,
    stdout: IO[bytes] | None = None,
    csv_formulas: CsvFormulas = DEFAULT_CSV_FORMULAS,
    detect_deletes: bool = False,
    **keywords: Unpack[QueryKeywords],
) -> ExtractResult:
    """Run a query into a file (or ``-``), incrementally and/or marking records exported.

    Args:
        conn: An open connection.
        obj: The object to query.
        output: Target path, or ``-`` for standard output.
        fmt: ``jsonl``, ``json``, ``csv`` or ``xml``.
        options: The query (see ``QueryOptions``). Its ``since`` is a lower bound on
            ``updated-at`` that overrides the state file's watermark, and its
            ``concurrency`` the pages in flight at once (across all processes).
        state: State file holding the ``updated-at`` watermark (read, then advanced).
        mark_exported_flag: Query ``exported=false`` and mark each written record exported.
        processes: Worker processes fetching disjoint id ranges in parallel (keyset paging
            only, no ``limit``); 1 fetches in this process. See ``_processes``.
        on_page: Called after each page is written (progress display).
        stdout: Binary stream for ``-``.
        csv_formulas: ``escape`` (CSV cells a spreadsheet would run as formulas get a
            leading ``'``) or ``keep`` (cells as they are, for programs).
        detect_deletes: After the records, a tombstone for each id delivered before (kept
            in ``<state>.ids``) that the query no longer finds (see ``operations._deletes``).
        **keywords: Query options by name, on top of ``options``.

    Returns:
        The counts; ``read == written + duplicates``.

    Raises:
        QueryError: Invalid query (or a combination ``processes`` cannot do), before
            anything is sent or written.
        CoupaError: A page failed; the output file and state are left as they were.
    """
    catalog = conn.catalog
    target = catalog.get(obj)
    query = QueryOptions.of(options, **keywords)
    since, concurrency = query.since, query.concurrency
    conditions: list[str | RawCondition] = list(parse_where(query.where))
    if mark_exported_flag:
        if not target.has_field("exported"):
            raise QueryError(f"{target.name} has no exported flag to mark.")
        if target.actions and not target.can_update:
            raise QueryError(
                f"Coupa offers no update for {target.name}, so it cannot be marked exported."
            )
        given = [c for c in conditions if isinstance(c, RawCondition) and c.path == ("exported",)]
        other = [c for c in given if c.op != "eq" or str(c.value).strip().lower() != "false"]
        if other:
            raise QueryError(
                f"--mark-exported queries exported=false itself (and marks what it wrote), so "
                f"the condition {other[0].source} contradicts it; drop one of them."
            )
        if not given:
            conditions.append("exported=false")
    store = StateFile(Path(state), target.name) if state is not None else None
    lower = since if since is None or isinstance(since, str) else since.isoformat()
    if lower is None and store is not None:
        lower = store.load()
    incremental = store is not None or since is not None
    # Validate everything, and open the output, before the first request.
    query = query.replace(where=conditions, since=lower)
    checked = build_query(catalog, target, query)
    log_warnings(checked)
    _refuse_unsafe(checked, incremental, mark_exported_flag)
    state_path = Path(state) if state is not None else None
    deletes = _delete_detector(detect_deletes, state_path, target.name, mark_exported_flag, checked)
    if mark_exported_flag:
        await _refuse_without_scope(conn, target)  # the first request: after every local check
    width = max(1, concurrency or conn.config.concurrency)
    if processes != 1:
        check_processes(checked, processes, width)
    result = ExtractResult(target.name, str(output))
    upper: str | None = None
    columns = (
        scalar_columns(catalog, target, query.fields)
        if fmt == "csv" and str(output) == "-"
        else None
    )
    writer = RecordWriter(
        output, fmt, target, catalog, stdout=stdout, csv_formulas=csv_formulas, columns=columns
    )
    try:
        if incremental:
            assert target.resource is not None
            now = await server_now(conn, target.resource)
            upper = now.replace(microsecond=0).isoformat()
            result.window = (lower, upper)
        spec = build_query(catalog, target, query.replace(until=upper))
        keep_ids = mark_exported_flag or deletes is not None
        if processes == 1:
            written_ids = await _in_this_process(
                conn, spec, writer, result, concurrency, keep_ids, on_page
            )
        else:
            written_ids = await _in_processes(
                conn, spec, writer, result, processes, width, keep_ids, on_page
            )
        if deletes is not None:
            # The population without the window: a record that did not change is not gone.
            population = build_query(catalog, target, query.replace(since=None, until=None))
            now_ids = await current_ids(conn, population, concurrency)
            stones = list(deletes.tombstones(now_ids))
            result.deleted = writer.write_batch(RecordBatch.of(stones)) if stones else 0
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    if deletes is not None:
        deletes.commit(written_ids)
    if store is not None and upper is not None:
        store.save(upper)
        result.watermark = upper
    if mark_exported_flag and written_ids:
        assert target.resource is not None
        result.marked, result.mark_failures = await mark_exported(
            conn, target.resource, written_ids, concurrency or conn.config.concurrency
        )
    return result
