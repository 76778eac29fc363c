"""The manifest of a bulk download: one row per file that arrived whole, CSV or JSON Lines.

Rows are appended (and flushed) as files complete, so a run killed part-way leaves a
manifest of what it finished; a torn last line is ignored when it is read back. At the end
of a run the manifest is written again in a fixed order (parent, kind, attachment id)
under a temporary name and renamed over the journal, so an interrupted and resumed run and an
uninterrupted one leave the same file.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import IO, Any

import orjson

from coupa_connector._csv_formulas import escape_cell, unescape_cell

__all__ = ["COLUMNS", "Manifest", "ManifestRow", "parse_rows"]


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One downloaded file.

    Attributes:
        object: The parent's catalog name (``invoices``).
        parent_id: The parent record's id.
        parent: The parent's folder name (its number, or its id).
        kind: ``attachment``, or the document's route (``retrieve_image_scan``).
        attachment_id: The attachment's id (empty for documents).
        name: The file name as Coupa gives it.
        size: Bytes.
        sha256: Hex sha256 of the file.
        path: Where it is, relative to the download folder, with ``/``.
    """

    object: str
    parent_id: int
    parent: str
    kind: str
    attachment_id: int | None
    name: str
    size: int
    sha256: str
    path: str

    @property
    def key(self) -> tuple[str, int, str, int]:
        return (self.object, self.parent_id, self.kind, self.attachment_id or 0)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManifestRow:
        aid = data.get("attachment_id")
        return cls(
            object=str(data["object"]),
            parent_id=int(data["parent_id"]),
            parent=str(data["parent"]),
            kind=str(data["kind"]),
            attachment_id=int(aid) if aid not in (None, "") else None,
            name=str(data["name"]),
            size=int(data["size"]),
            sha256=str(data["sha256"]),
            path=str(data["path"]),
        )


COLUMNS = tuple(f.name for f in fields(ManifestRow))


class Manifest:
    """A manifest file: ``.csv`` or ``.jsonl`` by its name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.jsonl = path.suffix.lower() in (".jsonl", ".ndjson")
        self._handle: IO[str] | None = None

    def read(self) -> dict[tuple[str, int, str, int], ManifestRow]:
        """The rows already there, by file; unreadable lines (a torn last one) are skipped."""
        rows: dict[tuple[str, int, str, int], ManifestRow] = {}
        if not self.path.is_file():
            return rows
        text = self.path.read_text(encoding="utf-8", errors="replace")
        for row in parse_rows(text.splitlines(keepends=True), jsonl=self.jsonl):
            rows[row.key] = row
        return rows

    def open(self, existing: Iterable[ManifestRow]) -> None:
        """Start the journal with the rows kept from an earlier run."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write_all(existing)
        self._handle = self.path.open("a", encoding="utf-8", newline="")

    def append(self, row: ManifestRow) -> None:
        assert self._handle is not None
        self._handle.write(self._line(row))
        self._handle.flush()

    def close(self, rows: Iterable[ManifestRow]) -> None:
        """Write every row in order, atomically, and close the journal."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._write_all(rows)

    def _write_all(self, rows: Iterable[ManifestRow]) -> None:
        ordered = sorted(rows, key=lambda r: r.key)
        temp = self.path.with_name(f".{self.path.name}.tmp")
        with temp.open("w", encoding="utf-8", newline="") as out:
            if not self.jsonl:
                out.write(_csv_line(list(COLUMNS)))
            for row in ordered:
                out.write(self._line(row))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, self.path)

    def _line(self, row: ManifestRow) -> str:
        data = asdict(row)
        if self.jsonl:
            return orjson.dumps(data).decode() + "\n"
        return _csv_line(["" if data[c] is None else str(data[c]) for c in COLUMNS])


def parse_rows(lines: Iterable[str], *, jsonl: bool) -> Iterator[ManifestRow]:
    """The rows of a manifest's lines (a CSV's header line first); lines that are not a
    row (a torn last one) are skipped. Reads lazily: a page of a large manifest costs a
    page."""
    if jsonl:
        items: Iterable[dict[str, Any]] = (
            d for d in (_json(line) for line in lines) if d is not None
        )
    else:
        reader = csv.DictReader(lines)
        items = ({k: unescape_cell(v or "") for k, v in r.items() if k} for r in reader)
    for item in items:
        try:
            yield ManifestRow.from_dict(item)
        except (KeyError, TypeError, ValueError):
            continue


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([escape_cell(c) for c in cells])
    return buffer.getvalue()


def _json(line: str) -> dict[str, Any] | None:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
