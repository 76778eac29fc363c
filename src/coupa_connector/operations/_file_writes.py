"""Writes that travel as Coupa CSV flat files: records batched into files, loaded through
``data_file_sources``, and each record's fate read back from Coupa's upload errors.

Loading 100,000 suppliers one request each takes over an hour at Coupa's 25 requests a
second; as files of 5,000 rows it is 20 uploads and their status polls. The records are still
validated first, exactly as record writes validate them, and the counts add up the same way
(``read == created + updated + rejected + failed``):

- a record the catalog's validation refuses, whose key cannot be read, or that holds a
  field the object's import file has no column for (a custom field, a nested list, an
  address's country: some fields only exist in one path), is **rejected** and never reaches
  a file;
- before a file is written, the records' keys are looked up (one query per key per chunk,
  as record writes do): for a create, a record whose key Coupa already holds is rejected
  (Coupa's loader would update it, which a create must not do); for an upsert it tells which
  rows update (with their ids) and which create;
- a row Coupa's load refuses (an ``UploadRowError`` on its row) is **failed** with Coupa's
  messages; every row of a file whose load failed, or was still running at the deadline, is
  failed with the reason (a load past its deadline may still finish: its data file source id
  is in the message);
- every other row is **created** or **updated**.

Only formats whose rows are all of one record type travel this way (suppliers, users,
accounts, exchange rates, lookup values, items, budget lines): there a file's row ``n`` is
record ``n - 1`` of the file, counting the header as row 1.
"""

from __future__ import annotations

import asyncio
import csv
import tempfile
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from coupa_connector.activities.flatfile import FileLoad, PollPolicy
from coupa_connector.activities.flatfile._load import poll, upload_file
from coupa_connector.activities.write._keys import KeySpec
from coupa_connector.activities.write._pipeline import Item, input_chunks, make_item
from coupa_connector.activities.write._results import WriteOutcome, WriteResult
from coupa_connector.activities.write._send import SendContext, make_options
from coupa_connector.activities.write._target import Target, Targets, first_key
from coupa_connector.activities.write._validate import catalog_of, problems_result
from coupa_connector.activities.write.create import recovery_keys
from coupa_connector.catalog import (
    DATA_FILE_MAX_BYTES,
    DATA_FILE_MAX_ROWS,
    ObjectDef,
    ValidationMode,
    load_csv_formats,
)
from coupa_connector.errors import ConfigurationError, CoupaError

if TYPE_CHECKING:
    from coupa_connector.client._requester import AsyncRequester

__all__ = ["FileWrites", "file_write_objects", "write_via_files"]

Mode = Literal["create", "upsert"]


def file_write_objects() -> list[str]:
    """The objects whose writes can travel as flat files (one record type per file)."""
    return sorted(f.object for f in load_csv_formats() if f.direction == "import" and not f.multi)


def file_fields(obj: ObjectDef) -> frozenset[str]:
    """Where the object's import file has a column: field paths (dotted), and the names of
    columns no field answers to (records hold those values under the column's name)."""
    fmt = load_csv_formats().get(obj.name, "import")
    return frozenset(c.key for c in fmt.top.file_columns() if not c.marker)


def _leaves(value: Any, prefix: str = "") -> Iterable[str]:
    if isinstance(value, Mapping):
        for name, inner in value.items():
            yield from _leaves(inner, f"{prefix}{name}.")
    elif value is not None:
        yield prefix[:-1]


def unfiled(body: Mapping[str, Any], fields: frozenset[str]) -> list[str]:
    """The fields of a record no column of the file holds (a flat file cannot carry them)."""
    return [path for path in _leaves(body) if path not in fields]


def check_file_writes(obj: ObjectDef) -> None:
    """Refuse an object whose import files are not one record per row.

    Raises:
        ConfigurationError: It has no such format (the objects that have one are named).
    """
    if obj.name not in file_write_objects():
        raise ConfigurationError(
            f"{obj.name} cannot be written as flat files: Coupa's CSV imports of one record "
            f"per row are {', '.join(file_write_objects())}"
        )


@dataclass(slots=True)
class FileWrites:
    """What a run through flat files did besides its results: the loads, their requests."""

    loads: list[FileLoad] = field(default_factory=list)
    lookups: int = 0

    @property
    def uploads(self) -> int:
        return len(self.loads)

    @property
    def polls(self) -> int:
        return sum(load.polls for load in self.loads)


@dataclass(slots=True)
class _Planned:
    item: Item
    outcome: WriteOutcome  # CREATED or UPDATED, if Coupa takes the row
    id: int | None = None


async def write_via_files(
    conn: AsyncRequester,
    obj: ObjectDef,
    records: Iterable[Any] | AsyncIterable[Any],
    *,
    mode: Mode,
    key: str | Sequence[str] | None = None,
    validation: ValidationMode | None = None,
    dry_run: bool = False,
    directory: str | Path | None = None,
    policy: PollPolicy | None = None,
    max_rows: int = DATA_FILE_MAX_ROWS,
    max_bytes: int = DATA_FILE_MAX_BYTES,
    report: FileWrites | None = None,
    maybe_sent: frozenset[int] = frozenset(),
) -> AsyncIterator[WriteResult]:
    """Create or upsert records as Coupa CSV files loaded through ``data_file_sources``.

    Args:
        conn: The connection (``AsyncConnection``).
        obj: The object; its import format must hold one record per row.
        records: The records (mappings with Coupa's field names), sync or async.
        mode: ``create`` (a record whose key Coupa holds is rejected) or ``upsert`` (by
            ``key``, else by the first of the object's natural keys a record gives).
        key: The natural key (``number``, ``login``).
        validation: As record writes: ``lenient`` (default), ``strict`` or ``off``.
        dry_run: Validate only (no lookups, no files sent).
        directory: Where the files are written and kept; a temporary folder otherwise.
        policy: Polling pauses and deadline of each load.
        max_rows: Rows per file (Coupa's limit, 5,000, at most).
        max_bytes: Bytes per file (Coupa's limit, 8 MB, at most).
        report: Filled in with the loads made.
        maybe_sent: Positions of records a killed run may have loaded already: for a create,
            such a record found in Coupa by its key is taken as written (``recovered``), not
            rejected as existing.

    Yields:
        One ``WriteResult`` per input record: a file's records once its load is over.

    Raises:
        ConfigurationError: The object has no such format, or the key is malformed.
    """
    from coupa_connector.operations.files.coupa_csv import CsvReject, write_coupa_csv

    check_file_writes(obj)
    rows = max(1, min(max_rows, DATA_FILE_MAX_ROWS))
    size = max(1024, min(max_bytes, DATA_FILE_MAX_BYTES))
    spec = KeySpec.parse(obj, key) if key else None
    opts = make_options(None, concurrency=None, dry_run=dry_run, validation=validation)
    catalog = catalog_of(conn)
    targets = Targets(SendContext(conn, obj, opts), spec)
    keys = recovery_keys(obj, spec)
    done = report if report is not None else FileWrites()
    seen: dict[Any, int | None] = {}  # keys given by earlier rows of this run -> their id
    columns = file_fields(obj)
    with ExitStack() as stack:
        base = (
            Path(directory)
            if directory is not None
            else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="coupa-files-")))
        )
        position = 0
        chunk_no = 0
        async for chunk, error in input_chunks(records, rows):
            planned: list[_Planned] = []
            for entry in chunk:
                position += 1
                made = make_item(position, entry)
                if isinstance(made, WriteResult):
                    yield made
                    continue
                refused = problems_result(
                    obj,
                    made,
                    "create" if mode == "create" else "update",
                    skip_identity=mode == "upsert",
                    validation=opts.validation,
                    catalog=catalog,
                )
                if refused is None and (left := unfiled(made.body, columns)):
                    refused = _refuse(
                        made,
                        f"{left[0]}: Coupa's {obj.name} import file has no column for it; "
                        "write this record --via api"
                        + (f" (and {len(left) - 1} more such fields)" if len(left) > 1 else ""),
                    )
                if refused is not None:
                    yield refused
                elif opts.dry_run:
                    yield WriteResult(made.position, WriteOutcome.VALID, record=made.record)
                else:
                    planned.append(_Planned(made, WriteOutcome.CREATED))
            if planned:
                plan = _plan(targets, keys, planned, mode, seen, obj, catalog, opts, maybe_sent)
                async for result in plan:
                    yield result
                sendable = [p for p in planned if p.outcome is not WriteOutcome.REJECTED]
                if sendable:
                    chunk_no += 1
                    folder = base / f"{chunk_no:05d}"
                    unfit: list[CsvReject] = []  # too big for one file: never in any
                    paths = await asyncio.to_thread(
                        write_coupa_csv,
                        obj.name,
                        [p.item.body for p in sendable],
                        folder,
                        max_rows=rows,
                        max_bytes=size,
                        validate=False,
                        on_reject=unfit.append,
                    )
                    for reject in unfit:
                        yield _refuse(sendable[reject.position].item, reject.reason)
                    left_out = {r.position for r in unfit}
                    filed = [p for n, p in enumerate(sendable) if n not in left_out]
                    async for result in _load_all(conn, obj, paths, filed, policy, done):
                        yield result
            done.lookups = targets.queries
            if error is not None:
                raise error


async def _plan(
    targets: Targets,
    keys: list[KeySpec],
    planned: list[_Planned],
    mode: Mode,
    seen: dict[Any, int | None],
    obj: ObjectDef,
    catalog: Any,
    opts: Any,
    maybe_sent: frozenset[int],
) -> AsyncIterator[WriteResult]:
    """Look the chunk's keys up; reject what a load must not get; note what each row does.

    Entries settled here (rejected, or found loaded by a killed run) are yielded and marked
    ``REJECTED`` in ``planned``, so no file gets them.
    """
    named: list[tuple[_Planned, list[Target]]] = []
    for p in planned:
        if mode == "create":
            # Every unique key the record gives: Coupa's loader matches rows by any of them.
            keyed = [first_key([spec], p.item.body) for spec in keys]
            named.append((p, [t for t in keyed if t is not None]))
            continue
        found = targets.target(p.item, prefer_id=True)
        if isinstance(found, WriteResult):
            p.outcome = WriteOutcome.REJECTED
            yield found
            continue
        named.append((p, [found]))
    await targets.resolve([t for _, ts in named for t in ts])
    for p, given in named:
        if mode == "create":
            if p.item.position in maybe_sent and given:
                ids = await targets.ids(given[0])
                if len(ids) == 1:
                    # A killed run's load created it: written once, not refused now.
                    p.outcome = WriteOutcome.REJECTED  # settled here, kept out of the file
                    yield WriteResult(
                        p.item.position,
                        WriteOutcome.CREATED,
                        id=ids[0],
                        record=p.item.record,
                        recovered=True,
                        messages=(f"{given[0].describe()}: loaded by an earlier, killed run",),
                    )
                    continue
            refusal = await _create_refusal(targets, given, seen)
            if refusal is not None:
                p.outcome = WriteOutcome.REJECTED
                yield _refuse(p.item, refusal)
            continue
        [target] = given
        ids = await targets.ids(target)
        lock = target.lock_key or ("id", target.id)
        if len(ids) > 1:
            p.outcome = WriteOutcome.REJECTED
            shown = ", ".join(str(i) for i in ids[:5])
            yield _refuse(p.item, f"{target.describe()}: matches {len(ids)} records ({shown})")
        elif ids:
            p.outcome, p.id = WriteOutcome.UPDATED, ids[0]
        elif lock in seen:
            # An earlier row of this run creates it; this row then updates it.
            p.outcome, p.id = WriteOutcome.UPDATED, seen[lock]
        else:
            refused = problems_result(
                obj, p.item, "create", validation=opts.validation, catalog=catalog
            )
            if refused is not None:
                p.outcome = WriteOutcome.REJECTED
                yield refused
                continue
            seen[lock] = None


async def _create_refusal(
    targets: Targets, given: list[Target], seen: dict[Any, int | None]
) -> str | None:
    """Why a record must not go into a create's file: a key Coupa or an earlier row holds."""
    for target in given:
        ids = await targets.ids(target)
        if ids:
            return (
                f"{target.describe()}: Coupa already holds this record (id {ids[0]}); a "
                "flat-file load would update it: upsert it instead"
            )
        if target.lock_key in seen:
            return f"{target.describe()}: given twice in this run"
    for target in given:
        seen[target.lock_key] = None
    return None


def _refuse(item: Item, message: str) -> WriteResult:
    return WriteResult(
        item.position, WriteOutcome.REJECTED, messages=(message,), record=item.record
    )


def _data_rows(path: Path) -> int:
    """Data rows of a one-record-type file (its header row aside)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


async def _load_all(
    conn: AsyncRequester,
    obj: ObjectDef,
    paths: Sequence[Path],
    planned: list[_Planned],
    policy: PollPolicy | None,
    done: FileWrites,
) -> AsyncIterator[WriteResult]:
    """Load each file in turn; the results of its rows."""
    start = 0
    for path in paths:
        count = await asyncio.to_thread(_data_rows, path)
        part = planned[start : start + count]
        start += count
        try:
            load = await _load(conn, obj, path, policy)
        except CoupaError as exc:
            for p in part:
                yield _failed(p, (f"the file {path.name} was not loaded: {exc}",), exc.status)
            continue
        done.loads.append(load)
        for result in results_of(load, part):
            yield result
    for p in planned[start:]:  # rows no file holds: never expected, never dropped
        yield _failed(p, ("not written: the flat file writer left the record out",), None)


async def _load(
    conn: AsyncRequester, obj: ObjectDef, path: Path, policy: PollPolicy | None
) -> FileLoad:
    load = await upload_file(conn, obj, path)
    # The deadline counts from Coupa taking the file, as load_file's does.
    await poll(conn, load, policy or PollPolicy(), time.monotonic())
    return load


def _failed(p: _Planned, messages: tuple[str, ...], status: int | None) -> WriteResult:
    return WriteResult(
        p.item.position,
        WriteOutcome.FAILED,
        id=p.id,
        messages=messages,
        record=p.item.record,
        status=status,
        warnings=p.item.warnings,
    )


def results_of(load: FileLoad, planned: Sequence[_Planned]) -> list[WriteResult]:
    """Each planned row's result from its file's load (row 2 is the first record)."""
    problem = load.problem()
    if problem is not None:
        return [_failed(p, (problem,), None) for p in planned]
    errors = load.row_errors()
    out: list[WriteResult] = []
    for n, p in enumerate(planned, start=2):
        refused = errors.get(n)
        if refused:
            texts = tuple(f"row {n} of {load.path.name}: {e.text()}" for e in refused)
            out.append(_failed(p, texts, None))
            continue
        out.append(
            WriteResult(
                p.item.position,
                p.outcome,
                id=p.id,
                record=p.item.record,
                attempts=1,
                warnings=p.item.warnings,
            )
        )
    return out
