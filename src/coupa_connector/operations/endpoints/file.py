"""The ``file`` endpoint: records from and into CSV, JSON Lines, JSON and Coupa XML files.

A source reads with the one reader per format (``files/_files``), unreadable records
rejected in their place; a target writes with the one ``RecordWriter`` (``files/_output``),
landing atomically and resumable from its partial file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coupa_connector._csv_formulas import csv_formulas_mode
from coupa_connector._records import RAW_KEY, REJECTS_KEYS
from coupa_connector.errors import ConfigurationError
from coupa_connector.operations._transform import Item, Transformed
from coupa_connector.operations.endpoints._coupa_csv_target import CoupaCsvTarget
from coupa_connector.operations.endpoints.base import (
    EndpointContext,
    EndpointType,
    Outcome,
    SourceBase,
    Target,
    TargetBase,
)
from coupa_connector.operations.files._files import (
    OBJECT_FORMATS,
    BadRecord,
    LineMark,
    RecordFileError,
    csv_header,
    expand_path,
    guess_format,
    has_placeholders,
    read_records,
)
from coupa_connector.operations.files._output import RecordWriter
from coupa_connector.operations.opfile.model import EndpointSpec, validation_mode

if TYPE_CHECKING:
    from coupa_connector.catalog import ObjectDef
    from coupa_connector.operations.opfile._yaml import LMap
    from coupa_connector.operations.opfile.problems import Checker

__all__ = ["ENDPOINTS", "FileSource", "FileTarget"]


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    """The record without what a rejects file added, so a fixed one can be fed back."""
    for key in REJECTS_KEYS:
        record.pop(key, None)
    return record


class FileSource(SourceBase):
    """Records from a CSV, JSONL, JSON or XML file (relative paths: the operation file's folder)."""

    def __init__(self, spec: EndpointSpec, base_dir: Path) -> None:
        path = str(spec.options["path"])
        self.path = path if path == "-" or os.path.isabs(path) else str(base_dir / path)
        self.format = spec.options.get("format")
        # A Coupa flat file (coupa-csv) holds one object's records in its own layout.
        self.object_name = spec.options.get("object")
        self.direction = spec.options.get("direction")
        self.encoding = str(spec.options.get("encoding", "utf-8"))
        # Rejects of this source are fed back to it, so they are written the way it reads.
        self.csv_formulas = csv_formulas_mode(spec.options.get("csv_formulas", "escape"))
        self._read = LineMark()
        self.rejects_format: str | None = None
        if self.path != "-":
            with contextlib.suppress(ConfigurationError):
                self.rejects_format = guess_format(self.path, self.format)
            if self.rejects_format in OBJECT_FORMATS:
                # Nested records with their reasons, to fix and feed back (as a JSON lines
                # source): not a file Coupa takes.
                self.rejects_format = "jsonl"

    def describe(self) -> str:
        return self.path

    def columns(self) -> list[str]:
        """The header of a CSV source (empty for other formats): as read, or from the file
        when it has not been read (a run resumed only to finish)."""
        if self._read.columns:
            return self._read.columns
        return csv_header(
            self.path, self.format, encoding=self.encoding, csv_formulas=self.csv_formulas
        )

    def items(self, done: set[str]) -> Iterator[Item]:
        bad: list[BadRecord] = []
        position = 0
        mark = self._read
        records = read_records(
            self.path,
            self.format,
            on_bad=bad.append,
            encoding=self.encoding,
            csv_formulas=self.csv_formulas,
            mark=mark,
            object_name=self.object_name,
            direction=self.direction,
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
                yield Item(position, _clean(record), str(position), line=mark.line)
            position += 1
        for b in bad:
            if str(b.position) not in done:
                yield _unreadable(b)


def _unreadable(bad: BadRecord) -> Item:
    """The item of an input record the reader could not read: rejected, with its line."""
    where = f"line {bad.line}: " if bad.line is not None else ""
    return Item(bad.position, {RAW_KEY: bad.raw}, str(bad.position), where + bad.reason, bad.line)


class FileTarget(TargetBase):
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
        source_object: ObjectDef | None = None,
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
        # XML output names its elements after the source's object, when it has one.
        self._element_names: tuple[str | None, str | None] = (
            (source_object.element, source_object.list_element)
            if source_object is not None
            else (None, None)
        )

    def describe(self) -> str:
        return self._pattern

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


def _check(check: Checker, where: str, role: str, spec: EndpointSpec, node: LMap) -> None:
    o = spec.options
    if isinstance(o.get("path"), str):
        try:
            guess_format(o["path"], o.get("format"))
        except RecordFileError as exc:
            check.problem(
                node.line_of("format") if "format" in o else node.line_of("path"),
                f"{where}: {exc}",
            )
    if str(o.get("format", "")).lower() in OBJECT_FORMATS:
        _check_object_format(check, where, role, spec, node)
    else:
        for option in ("object", "direction", "validate"):
            if option in o:
                check.problem(
                    node.line_of(option), f"{where}: {option} applies to format coupa-csv only"
                )
    if "validate" in o:
        try:
            validation_mode(o["validate"])
        except ConfigurationError as exc:
            check.problem(node.line_of("validate"), f"{where}: {exc}")
    if "csv_formulas" in o:
        try:
            csv_formulas_mode(o["csv_formulas"], f"{where}: csv_formulas")
        except ConfigurationError as exc:
            check.problem(node.line_of("csv_formulas"), str(exc))


def _check_object_format(
    check: Checker, where: str, role: str, spec: EndpointSpec, node: LMap
) -> None:
    """A Coupa flat file names its object (a target may take its source's), and Coupa has
    that file in that direction."""
    from coupa_connector.catalog import Direction, load_csv_formats

    o = spec.options
    if "object" not in o and role == "target":
        return  # the source's object, known when the run starts
    if not isinstance(o.get("object"), str):
        check.problem(node.line_of("format"), f"{where}: format coupa-csv needs object: NAME")
        return
    direction = o.get("direction")
    if direction is not None and direction not in ("import", "export"):
        check.problem(node.line_of("direction"), f"{where}: direction is import or export")
        return
    formats = load_csv_formats()
    directions: list[Direction] = ["export", "import"]
    if direction is not None:
        directions = ["export" if direction == "export" else "import"]
    if not any(o["object"].replace("-", "_") in formats.objects(d) for d in directions):
        known = ", ".join(sorted({*formats.objects("export"), *formats.objects("import")}))
        check.problem(
            node.line_of("object"),
            f"{where}: Coupa has no CSV flat file for {o['object']!r}; it has: {known}",
        )


def _identity(spec: EndpointSpec, role: str, base_dir: Path) -> str:
    path = str(spec.options["path"])
    if path == "-":
        return "file:-"
    # Sources resolve against the operation file's folder, targets against the cwd.
    resolved = os.path.join(base_dir, path) if role == "source" else os.path.abspath(path)
    return f"file:{os.path.normpath(resolved)}"


def _target(spec: EndpointSpec, ctx: EndpointContext) -> Target:
    fmt = spec.options.get("format")
    object_target = _OBJECT_TARGETS.get(str(fmt).lower()) if fmt else None
    if object_target is not None:
        return object_target(spec, ctx)
    return FileTarget(
        spec,
        now=ctx.now,
        run_vars={"operation": ctx.operation, "run_id": str(ctx.run_id)},
        landed=ctx.landed,
        source_object=ctx.source.obj if ctx.source is not None else None,
    )


# Targets of the formats laid out by object (``OBJECT_FORMATS``), by format name.
_OBJECT_TARGETS: dict[str, Callable[[EndpointSpec, EndpointContext], Target]] = {
    "coupa-csv": CoupaCsvTarget,
}

ENDPOINTS = {
    "file": EndpointType(
        "file",
        ("source", "target"),
        {"source": ("path",), "target": ("path",)},
        frozenset({"path", "format", "columns", "encoding", "csv_formulas", "object", "direction"}),
        source=lambda spec, ctx: FileSource(spec, ctx.base_dir),
        target=_target,
        check=_check,
        identity=_identity,
    ),
}
