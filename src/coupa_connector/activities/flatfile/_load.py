"""Loading one CSV flat file into Coupa: upload it, then poll its data file source.

``POST /api/data_file_sources/load_file`` takes the file as ``multipart/form-data`` (the file
in ``file``, the loader in ``source_for``) and answers with a data file source record whose
status is not final yet: Coupa loads files in the background. ``GET
/api/data_file_sources/<id>`` is asked again, with a growing pause, until the status is one
Coupa ends a load in (``done``; ``failed`` or ``stopped``), or until the deadline: a load
still running then is reported as such, with its id, never taken for done.

The upload is a POST: the connection's retry policy resends it only where the answer shows
Coupa did not take it (a throttle, a refused connection), never after a lost answer, which
could load the file twice.
"""

from __future__ import annotations

import asyncio
import mimetypes
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coupa_connector.activities.attachments._files import MultipartUpload
from coupa_connector.catalog import ObjectDef, data_file_source_for
from coupa_connector.errors import ConfigurationError

if TYPE_CHECKING:
    from coupa_connector.client._requester import AsyncRequester

__all__ = [
    "DONE_STATUSES",
    "FAILED_STATUSES",
    "FileLoad",
    "PollPolicy",
    "RowError",
    "load_file",
]

RESOURCE = "data_file_sources"
LOAD_PATH = "/api/data_file_sources/load_file"
DONE_STATUSES = frozenset({"done"})
# Coupa's documented statuses that end a load without loading it.
FAILED_STATUSES = frozenset({"failed", "stopped"})


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How long and how often a load's status is asked.

    Attributes:
        first: Seconds before the first status request.
        factor: Each pause is this much longer than the one before.
        cap: The longest pause.
        deadline: Seconds after Coupa took the upload at which a load still running is
            reported.
    """

    first: float = 0.5
    factor: float = 1.5
    cap: float = 15.0
    deadline: float = 3600.0

    def __post_init__(self) -> None:
        if self.first <= 0 or self.factor < 1 or self.cap < self.first or self.deadline < 0:
            raise ConfigurationError(
                "poll: first > 0, factor >= 1, cap >= first and deadline >= 0 seconds"
            )


@dataclass(frozen=True, slots=True)
class RowError:
    """One of Coupa's upload errors.

    Attributes:
        row: The file's row (the header is row 1); None for an error of the whole file.
        messages: Coupa's messages (``Name has already been taken``).
        field: The field Coupa names (``name``, ``parent_id``), when it names one.
        value: The value it refused, when it says.
        first_column: The row's first cell, as Coupa echoes it.
        kind: ``UploadRowError`` or ``UploadHeaderError``.
    """

    row: int | None
    messages: tuple[str, ...]
    field: str | None = None
    value: str | None = None
    first_column: str | None = None
    kind: str = "UploadRowError"

    def text(self) -> str:
        """The messages, prefixed with the field when Coupa names one."""
        joined = "; ".join(self.messages) or "refused"
        return f"{self.field}: {joined}" if self.field else joined


@dataclass(slots=True)
class FileLoad:
    """A file's load as Coupa last reported it.

    Attributes:
        path: The file uploaded.
        id: Its data file source's id.
        status: Coupa's status (lowercase).
        finished: The status is final.
        timed_out: The deadline passed while the load was still running.
        records_count, records_created, records_updated: Coupa's counts.
        result_text: Coupa's summary (``3 rows processed, creating ...``).
        errors: Every upload error, the file's own (header) and its rows'.
        polls: Status requests sent.
    """

    path: Path
    id: int
    status: str
    finished: bool = False
    timed_out: bool = False
    records_count: int | None = None
    records_created: int | None = None
    records_updated: int | None = None
    result_text: str | None = None
    errors: list[RowError] = field(default_factory=list)
    polls: int = 0

    @property
    def ok(self) -> bool:
        """Coupa finished the load (rows may still have been refused: see ``errors``)."""
        return self.finished and self.status in DONE_STATUSES

    @property
    def file_errors(self) -> list[RowError]:
        """Errors of the file as a whole (no row): why a load failed."""
        return [e for e in self.errors if e.row is None]

    def row_errors(self) -> dict[int, list[RowError]]:
        """Errors by row."""
        out: dict[int, list[RowError]] = {}
        for error in self.errors:
            if error.row is not None:
                out.setdefault(error.row, []).append(error)
        return out

    def problem(self) -> str | None:
        """Why the file's rows were not all loaded, when it is the file's fault."""
        if self.timed_out:
            return (
                f"Coupa was still loading the file (data file source {self.id}, status "
                f"{self.status}) when the deadline passed; its rows may load later: check "
                f"GET /api/data_file_sources/{self.id}"
            )
        if self.finished and not self.ok:
            why = "; ".join(e.text() for e in self.file_errors) or self.result_text or ""
            return f"Coupa's load of the file ended {self.status}" + (f": {why}" if why else "")
        return None

    def update(self, record: Mapping[str, Any]) -> None:
        """Take a data file source record's status, counts and errors."""
        self.status = str(record.get("status") or "").strip().lower()
        self.finished = self.status in DONE_STATUSES | FAILED_STATUSES
        self.records_count = _int(record.get("records-count"))
        self.records_created = _int(record.get("records-created"))
        self.records_updated = _int(record.get("records-updated"))
        text = record.get("result-text")
        self.result_text = str(text) if text is not None else None
        raw = record.get("upload-errors") or []
        if isinstance(raw, Mapping):  # XML's <upload-errors><upload-error> as one entry
            raw = raw.get("upload-error") or []
            raw = [raw] if isinstance(raw, Mapping) else raw
        self.errors = [_row_error(e) for e in raw if isinstance(e, Mapping)]


def _int(value: Any) -> int | None:
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _messages(raw: Any) -> tuple[str, ...]:
    """``field-errors`` as text (Swagger), a list, or XML's ``<field-error>`` entries."""
    if isinstance(raw, Mapping):
        raw = raw.get("field-error", [])
    if isinstance(raw, str):
        raw = raw.splitlines()
    if not isinstance(raw, Sequence):
        raw = [raw]
    return tuple(str(m).strip() for m in raw if m is not None and str(m).strip())


def _row_error(raw: Mapping[str, Any]) -> RowError:
    row = _int(raw.get("row"))
    kind = str(raw.get("type") or ("UploadRowError" if row is not None else "UploadHeaderError"))
    value = raw.get("value")
    first = raw.get("first-column")
    return RowError(
        row=row,
        messages=_messages(raw.get("field-errors")),
        field=str(raw["field-with-error"]) if raw.get("field-with-error") else None,
        value=None if value is None else str(value),
        first_column=None if first is None else str(first),
        kind=kind,
    )


async def upload_file(conn: AsyncRequester, obj: ObjectDef, path: Path) -> FileLoad:
    """``POST /api/data_file_sources/load_file`` with the file; the load as Coupa took it."""
    name = path.name
    media = mimetypes.guess_type(name)[0] or "text/csv"
    upload = MultipartUpload(
        [("source_for", data_file_source_for(obj))],
        "file",
        name,
        media,
        path,
        conn.config.max_file_bytes,
    )
    response = await conn.send("POST", LOAD_PATH, upload=upload)
    record = conn.decode(response, RESOURCE, LOAD_PATH)
    if not isinstance(record, Mapping) or _int(record.get("id")) is None:
        raise ConfigurationError(f"Coupa answered the upload of {name} without a data file source")
    load = FileLoad(path=path, id=int(record["id"]), status="")
    load.update(record)
    return load


async def poll(conn: AsyncRequester, load: FileLoad, policy: PollPolicy, started: float) -> None:
    """Ask for the load's status until it is final or the deadline has passed."""
    pause = policy.first
    while not load.finished:
        left = started + policy.deadline - time.monotonic()
        if left <= 0:
            load.timed_out = True
            return
        await asyncio.sleep(min(pause, left))
        record = await conn.request("GET", f"/api/{RESOURCE}/{load.id}", object_name=RESOURCE)
        load.polls += 1
        if isinstance(record, Mapping):
            load.update(record)
        pause = min(policy.cap, pause * policy.factor)


async def load_file(
    conn: AsyncRequester,
    obj: str | ObjectDef,
    path: str | Path,
    *,
    policy: PollPolicy | None = None,
) -> FileLoad:
    """Load one Coupa CSV import file and wait for Coupa to finish it.

    Args:
        conn: The connection (``AsyncConnection``).
        obj: The object the file holds (``suppliers``): its loader is its ``source_for``.
        path: The file.
        policy: Polling pauses and deadline.

    Returns:
        The load as Coupa last reported it: done (with its row errors), failed, or still
        running at the deadline (``timed_out``).

    Raises:
        FileError: The file cannot be read. APIError: Coupa refused the upload itself.
    """
    load = await upload_file(conn, conn.object(obj), Path(path).expanduser())
    await poll(conn, load, policy or PollPolicy(), time.monotonic())
    return load
