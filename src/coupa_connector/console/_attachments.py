"""A bulk download's manifest on its run's page: the counts, and the files, a page at a time.

A manifest can list millions of files, so a page is read by seeking: the first look at a
manifest notes where each page starts (one offset per page, kept while the file is
unchanged), and a page then reads only its own lines. Memory stays flat however big the
manifest is; a manifest still being appended to is indexed again when it has grown.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coupa_connector.activities.attachments import ManifestRow, parse_rows
from coupa_connector.console._html import Markup, html, join
from coupa_connector.console._page import pager
from coupa_connector.console._redact import Scrubber

__all__ = ["FILES_PER_PAGE", "ManifestPages", "attachments_section"]

FILES_PER_PAGE = 50
_KEPT_INDEXES = 8


@dataclass(frozen=True, slots=True)
class _Index:
    header: bytes  # a CSV's header line; empty for JSON lines
    starts: list[int]  # byte offset of each page's first row
    rows: int


class ManifestPages:
    """Pages of manifest files, by seeking (see the module's text); safe across threads."""

    def __init__(self, per_page: int = FILES_PER_PAGE) -> None:
        self.per_page = per_page
        self._indexes: OrderedDict[tuple[str, int, int], _Index] = OrderedDict()
        self._lock = threading.Lock()

    def _index(self, path: Path, jsonl: bool) -> _Index:
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            found = self._indexes.get(key)
            if found is not None:
                self._indexes.move_to_end(key)
                return found
        starts: list[int] = []
        rows = 0
        with path.open("rb") as fh:
            header = b"" if jsonl else fh.readline()
            at = len(header)
            while line := fh.readline():
                if line.strip():
                    if rows % self.per_page == 0:
                        starts.append(at)
                    rows += 1
                at += len(line)
        index = _Index(header, starts, rows)
        with self._lock:
            self._indexes[key] = index
            while len(self._indexes) > _KEPT_INDEXES:
                self._indexes.popitem(last=False)
        return index

    def page(self, path: Path, page_no: int) -> tuple[list[ManifestRow], int]:
        """The rows of page ``page_no`` (1-based) and how many rows the manifest has."""
        jsonl = path.suffix.lower() in (".jsonl", ".ndjson")
        index = self._index(path, jsonl)
        if not 1 <= page_no <= len(index.starts):
            return [], index.rows
        lines: list[bytes] = [index.header] if index.header else []
        with path.open("rb") as fh:
            fh.seek(index.starts[page_no - 1])
            while len(lines) < self.per_page + (1 if index.header else 0):
                line = fh.readline()
                if not line:
                    break
                if line.strip():
                    lines.append(line)
        text = [line.decode("utf-8", errors="replace") for line in lines]
        return list(parse_rows(text, jsonl=jsonl)), index.rows


_COUNTS = (
    ("parents", "Records"),
    ("found", "Files found"),
    ("downloaded", "Downloaded"),
    ("kept", "Already complete"),
    ("failed", "Failed"),
    ("not_files", "Without a file"),
)


def _size_text(size: int) -> str:
    if size < 1024:
        return f"{size:,} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:,.1f} {unit}"


def _rows(rows: Sequence[ManifestRow], scrub: Scrubber) -> Markup:
    if not rows:
        return html('<p class="empty">No files in the manifest.</p>')
    return html(
        '<div class="scroll"><table class="manifest"><caption class="visually-hidden">Files of '
        'the manifest</caption><thead><tr><th scope="col">Object</th>'
        '<th scope="col">Parent</th><th scope="col">Kind</th><th scope="col">Name</th>'
        '<th scope="col" class="num">Size</th><th scope="col">SHA-256</th>'
        '<th scope="col">Path</th></tr></thead><tbody>{rows}</tbody></table></div>',
        rows=join(
            html(
                '<tr><td>{obj}</td><td>{parent} <span class="muted">(id {pid})</span></td>'
                '<td>{kind}{aid}</td><th scope="row">{name}</th>'
                '<td class="num">{size}</td><td><code title="{sha}">{short}…</code></td>'
                "<td><code>{path}</code></td></tr>",
                obj=r.object,
                parent=scrub(r.parent),
                pid=r.parent_id,
                kind=r.kind,
                aid=f" #{r.attachment_id}" if r.attachment_id is not None else "",
                name=scrub(r.name),
                size=f"{r.size:,}",
                sha=r.sha256,
                short=r.sha256[:12],
                path=scrub(r.path),
            )
            for r in rows
        ),
    )


def attachments_section(
    run: Mapping[str, Any],
    pages: ManifestPages,
    page_no: int,
    params: Mapping[str, str],
    scrub: Scrubber,
) -> Markup:
    """The run page's section on its bulk download (``details.attachments``), or nothing."""
    a = run.get("details", {}).get("attachments")
    if not a:
        return Markup("")
    counts = html(
        '<div class="scroll"><table class="counts attachment-counts"><caption>Files</caption>'
        '<thead><tr>{head}<th scope="col">Bytes fetched</th></tr></thead><tbody><tr>{cells}'
        '<td class="num">{bytes}</td></tr></tbody></table></div>',
        head=join(html('<th scope="col">{label}</th>', label=label) for _, label in _COUNTS),
        cells=join(
            html('<td class="num">{n}</td>', n=f"{int(a.get(k) or 0):,}") for k, _ in _COUNTS
        ),
        bytes=_size_text(int(a.get("bytes") or 0)),
    )
    manifest = Path(str(a.get("manifest") or ""))
    failed = int(a.get("failed") or 0)
    note = (
        html(
            '<p>{n} file(s) could not be downloaded: each is under "Rejected and failed '
            'records" below, with its reason.</p>',
            n=f"{failed:,}",
        )
        if failed
        else Markup("")
    )
    where = html(
        '<p class="manifest-where">Folder <code>{folder}</code> · manifest '
        "<code>{manifest}</code></p>",
        folder=scrub(str(a.get("folder") or "")),
        manifest=scrub(str(manifest)),
    )
    if manifest.is_file():
        rows, total = pages.page(manifest, page_no)
        listing = html(
            "{pager}{rows}",
            pager=pager(
                f"/runs/{run['id']}",
                params,
                page_no,
                pages.per_page,
                total,
                "files",
                param="files",
            ),
            rows=_rows(rows, scrub),
        )
    else:
        listing = html('<p class="muted">The manifest is no longer on disk.</p>')
    return html(
        '<section aria-labelledby="attachments-h"><h2 id="attachments-h">Attachments downloaded'
        "</h2>{counts}{note}{where}"
        '<h3 id="manifest-h">The manifest</h3>{listing}</section>',
        counts=counts,
        note=note,
        where=where,
        listing=listing,
    )
