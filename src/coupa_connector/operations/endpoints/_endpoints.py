"""Sources and targets: where an operation's records come from and where they go.

A source yields ``Item``s (a record, its position, and its identity for resume). A target
takes a batch of transformed records and says, per record, whether it was written, rejected
or failed; it also says how to find its place again after a kill (``checkpoint``) and what it
already holds that the operation log may not know about (``recover``), so a resumed run
writes every record exactly once.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from coupa_connector._csv_formulas import cell_reader, csv_formulas_mode
from coupa_connector.errors import ConfigurationError
from coupa_connector.operations._transform import Item, Transformed
from coupa_connector.operations.files._files import (
    BadRecord,
    RecordWriter,
    expand_path,
    guess_format,
    has_placeholders,
    open_text,
    read_records,
)
from coupa_connector.operations.files._text_input import clean_text
from coupa_connector.operations.opfile._opfile import EndpointSpec

__all__ = [
    "ERRORS_KEY",
    "FileSource",
    "FileTarget",
    "Outcome",
    "Source",
    "Target",
]

ERRORS_KEY = "_errors"
"""Rejects files carry the reasons under this key; sources drop it, so a fixed rejects file
can be fed back as it is."""


@dataclass(slots=True)
class Outcome:
    """What a target did with one transformed record.

    Attributes:
        outcome: ``written``, ``rejected`` (refused before it was sent, e.g. by validation)
            or ``failed`` (sent, or meant to be, and not written).
        messages: Why, for rejected and failed records (each naming the field when known).
        coupa_id: The Coupa id written or targeted, when there is one.
        warnings: What validation reported without refusing the record (each naming the
            field and ending with its code, ``[read_only]``).
    """

    outcome: str
    messages: list[str] = field(default_factory=list)
    coupa_id: int | None = None
    warnings: list[str] = field(default_factory=list)


class Source(Protocol):
    """Where records come from."""

    def items(self, done: set[str]) -> Iterator[Item]:
        """Yield the source's items, leaving out those whose key is in ``done``."""
        ...

    def describe(self) -> str:
        """A short description for progress and logs."""
        ...


class Target(Protocol):
    """Where records go."""

    def open(self, resume: Mapping[str, Any] | None) -> None:
        """Get ready; ``resume`` is the checkpoint of the run being resumed, if any."""
        ...

    def write(self, batch: Sequence[Transformed], batch_no: int) -> list[Outcome]:
        """Write a batch; one outcome per element, in order."""
        ...

    def checkpoint(self) -> dict[str, Any]:
        """Make the writes so far durable and say how to continue from here."""
        ...

    def recover(self, done: set[str]) -> dict[str, int | None]:
        """Keys (with Coupa ids) the target holds for this run that ``done`` lacks."""
        ...

    def commit(self) -> list[str]:
        """Finish after the last batch; returns the outputs (files, tables) written."""
        ...

    def abort(self, keep_for_resume: bool) -> None:
        """Stop after an error; keep partial work when a resume can use it."""
        ...


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    record.pop(ERRORS_KEY, None)
    return record


# --------------------------------------------------------------------------- files


class FileSource:
    """Records from a CSV, JSONL, JSON or XML file (relative paths: the operation file's folder)."""

    def __init__(self, spec: EndpointSpec, base_dir: Path) -> None:
        path = str(spec.options["path"])
        self.path = path if path == "-" or os.path.isabs(path) else str(base_dir / path)
        self.format = spec.options.get("format")
        self.encoding = str(spec.options.get("encoding", "utf-8"))
        # Rejects of this source are fed back to it, so they are written the way it reads.
        self.csv_formulas = csv_formulas_mode(spec.options.get("csv_formulas", "escape"))

    def describe(self) -> str:
        return self.path

    def columns(self) -> list[str]:
        """The header of a CSV source (empty for other formats)."""
        if self.path == "-" or guess_format(self.path, self.format) != "csv":
            return []
        with open_text(self.path, self.encoding) as stream:
            # Read as the reader reads it: a header it refuses stops the run there, with
            # the reader's error, so any header is good enough for the rejects file here.
            header = next(csv.reader(stream), [])
        cell = cell_reader(self.csv_formulas)
        return [cell(clean_text(c.strip())) for c in header]

    def items(self, done: set[str]) -> Iterator[Item]:
        bad: list[BadRecord] = []
        position = 0
        records = read_records(
            self.path,
            self.format,
            on_bad=bad.append,
            encoding=self.encoding,
            csv_formulas=self.csv_formulas,
        )
        for record in records:
            # A bad record is reported before the good record that follows it; keep the
            # stream's order so positions match the file.
            while bad:
                b = bad.pop(0)
                if str(b.position) not in done:
                    yield _unreadable(b)
                position = b.position + 1
            if str(position) not in done:
                yield Item(position, _clean(record), str(position))
            position += 1
        for b in bad:
            if str(b.position) not in done:
                yield _unreadable(b)


def _unreadable(bad: BadRecord) -> Item:
    """The item of an input record the reader could not read: rejected, with its line."""
    where = f"line {bad.line}: " if bad.line is not None else ""
    return Item(bad.position, {"_raw": bad.raw}, str(bad.position), where + bad.reason, bad.line)


class FileTarget:
    """Records into a file that lands atomically; resumable from the partial file.

    A path with placeholders (``{timestamp}``, ``{run_id}``...) names a file per run, so an
    existing file there is never replaced: the new one lands as ``name-1.ext``. A fixed path
    is replaced, unless ``landed`` (path -> operation) says an earlier operation of the same
    invocation wrote it: then the run fails before writing anything.
    """

    def __init__(
        self,
        spec: EndpointSpec,
        *,
        now: datetime,
        run_vars: Mapping[str, str],
        landed: Mapping[str, str] | None = None,
    ) -> None:
        self._pattern = str(spec.options["path"])
        self._per_run = has_placeholders(self._pattern)
        self._landed = landed or {}
        self._format = spec.options.get("format")
        columns = spec.options.get("columns")
        self._columns = [str(c) for c in columns] if isinstance(columns, list) else None
        self._element = spec.options.get("element")
        self._csv_formulas = csv_formulas_mode(spec.options.get("csv_formulas", "escape"))
        self._now = now
        self._vars = dict(run_vars)
        self._writer: RecordWriter | None = None
        self._final: str | None = None
        self._element_names: tuple[str | None, str | None] = (None, None)

    def set_xml_names(self, element: str | None, list_element: str | None) -> None:
        """The XML element names (from the source object) for XML output."""
        self._element_names = (element, list_element)

    def open(self, resume: Mapping[str, Any] | None) -> None:
        state = (resume or {}).get("target") or {}
        element, list_element = self._element_names
        self._final = None
        finishing = bool((resume or {}).get("committing")) and bool(state.get("partial"))
        if finishing and not os.path.exists(state["partial"]) and os.path.exists(state["path"]):
            # Renamed into place just before the run stopped: nothing left to write.
            self._final = state["path"]
            return
        if state.get("partial") and os.path.exists(state["partial"]):
            self._writer = RecordWriter(
                state["path"],
                self._format,
                columns=self._columns,
                element=element,
                list_element=list_element,
                partial=state["partial"],
                resume_from=int(state.get("size", 0)),
                keep_existing=self._per_run,
                csv_formulas=self._csv_formulas,
            )
            self._writer.count = int(state.get("count", 0))
            return
        path = expand_path(self._pattern, now=self._now, **self._vars)
        if path != "-":
            path = os.path.abspath(path)
        if path in self._landed and not self._per_run:
            raise ConfigurationError(
                f"{path} was written by operation {self._landed[path]} earlier in this run; "
                "give each operation its own path (or put {operation} or {timestamp} in it)"
            )
        self._writer = RecordWriter(
            path,
            self._format,
            columns=self._columns,
            element=element,
            list_element=list_element,
            keep_existing=self._per_run,
            csv_formulas=self._csv_formulas,
        )

    @property
    def path(self) -> str:
        return self._writer.path if self._writer else self._pattern

    def write(self, batch: Sequence[Transformed], batch_no: int) -> list[Outcome]:
        assert self._writer is not None
        out: list[Outcome] = []
        for t in batch:
            assert t.record is not None
            self._writer.write(t.record)
            out.append(Outcome("written", coupa_id=_id(t.items[0].record)))
        return out

    def checkpoint(self) -> dict[str, Any]:
        if self._writer is None:
            return {}
        size = self._writer.checkpoint()
        return {
            "path": self._writer.path,
            "partial": self._writer.partial,
            "size": size,
            "count": self._writer.count,
        }

    def recover(self, done: set[str]) -> dict[str, int | None]:
        # The partial file was cut back to the checkpoint, so it holds exactly ``done``.
        return {}

    def commit(self) -> list[str]:
        if self._final is not None:
            return [self._final]
        assert self._writer is not None
        return [self._writer.commit()]

    def abort(self, keep_for_resume: bool) -> None:
        if self._writer is None:
            return
        if keep_for_resume:
            self._writer.detach()
        else:
            self._writer.abort()


def _id(record: Mapping[str, Any]) -> int | None:
    value = record.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def now_utc() -> datetime:
    """The current time (UTC), second precision."""
    return datetime.now(UTC).replace(microsecond=0)


def require(options: Mapping[str, Any], key: str, what: str) -> Any:
    """An endpoint option that must be present (checked on load; this guards library use)."""
    if options.get(key) in (None, ""):
        raise ConfigurationError(f"{what} needs {key}:")
    return options[key]
