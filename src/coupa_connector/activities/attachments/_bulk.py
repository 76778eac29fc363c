"""Bulk download: every file of the records a query finds, into ``DIR/<object>/<number>/``.

The plan comes first, in a fixed order, so two runs over the same records name every file
the same way: parents by id (a folder per parent, its number or else its id; a number two
parents share gets the id appended), attachments by id (safe names, ``name (2).pdf`` for a
clash), then the documents of each parent in the order asked for. Files download
concurrently within the connection's limits; each lands under a temporary name and is renamed
when whole, and its manifest row is appended then. A re-run reads the manifest, keeps every
file whose size and sha256 still match, removes leftover temporary files, and fetches the
rest. ``found == downloaded + kept + failed`` always holds; a failed file is reported with
its reason and the others go on.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coupa_connector.activities.attachments._api import (
    Attachment,
    _fetch,
    download_attachment,
    list_attachments,
)
from coupa_connector.activities.attachments._files import PART_SUFFIX, FileSink, safe_name
from coupa_connector.activities.attachments._manifest import Manifest, ManifestRow
from coupa_connector.activities.attachments._routes import (
    document_route,
    number_field,
    parent,
    route_path,
)
from coupa_connector.activities.query import query_pages
from coupa_connector.catalog import ObjectDef, RouteDef
from coupa_connector.errors import CoupaError, NotFoundError

if TYPE_CHECKING:
    from coupa_connector.client._requester import AsyncRequester

__all__ = ["BulkDownloadResult", "BulkProgress", "FailedFile", "download_all"]

ATTACHMENT_KIND = "attachments"


@dataclass(slots=True)
class BulkProgress:
    """How far a bulk download is: files and bytes (``bytes_total`` counts the sizes known
    in advance, attachments'; documents' sizes add up as they arrive)."""

    files_total: int = 0
    files_done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0


@dataclass(frozen=True, slots=True)
class FailedFile:
    """A file that could not be downloaded, and why."""

    object: str
    parent_id: int
    kind: str
    attachment_id: int | None
    name: str
    reason: str


@dataclass(slots=True)
class BulkDownloadResult:
    """How a bulk download ended.

    Attributes:
        folder: The download folder.
        manifest: The manifest file.
        parents: Records whose files were looked for.
        found: Files to have: ``downloaded + kept + failed``.
        downloaded: Files fetched by this run.
        kept: Files already complete from an earlier run (size and sha256 checked).
        failed: Files that could not be fetched, with reasons.
        not_files: URL and text attachments (they have no file) and documents a record
            does not have.
        bytes: Bytes fetched by this run.
        rows: The manifest's rows for the records of this run, in order.
    """

    folder: Path
    manifest: Path
    parents: int = 0
    found: int = 0
    downloaded: int = 0
    kept: int = 0
    failed: list[FailedFile] = field(default_factory=list)
    not_files: int = 0
    bytes: int = 0
    rows: list[ManifestRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> dict[str, Any]:
        """The counts and where the files are (absolute paths), as plain data: the
        operation log keeps it as a run's ``attachments`` detail, and the console, started
        anywhere, shows the manifest from it."""
        return {
            "folder": os.path.abspath(self.folder),
            "manifest": os.path.abspath(self.manifest),
            "parents": self.parents,
            "found": self.found,
            "downloaded": self.downloaded,
            "kept": self.kept,
            "failed": len(self.failed),
            "not_files": self.not_files,
            "bytes": self.bytes,
        }


@dataclass(slots=True)
class _Parent:
    id: int
    folder: str
    used: set[str] = field(default_factory=set)

    def claim(self, name: str) -> str:
        """A name no other file of this folder has (case-insensitively)."""
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, ext = name, ""
        candidate, n = name, 1
        while candidate.lower() in self.used:
            n += 1
            candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
        self.used.add(candidate.lower())
        return candidate


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while part := handle.read(1 << 20):
            digest.update(part)
    return digest.hexdigest()


def _still_whole(folder: Path, row: ManifestRow) -> bool:
    path = folder / row.path
    try:
        return path.is_file() and path.stat().st_size == row.size and _sha256_of(path) == row.sha256
    except OSError:
        return False


def _remove_leftovers(folder: Path) -> None:
    for stale in folder.rglob(f"*{PART_SUFFIX}"):
        stale.unlink(missing_ok=True)


async def _parents(
    conn: AsyncRequester,
    owner: ObjectDef,
    where: Any,
    ids: Sequence[int] | None,
) -> list[_Parent]:
    number = number_field(owner)
    fields = ["id", number] if number else ["id"]
    batches: list[Any] = [where]
    if ids:
        wanted = sorted({int(i) for i in ids})
        # A few hundred ids a query keep the URL short.
        batches = [{"id": wanted[i : i + 200]} for i in range(0, len(wanted), 200)]
    records = [
        r
        for b in batches
        async for page in query_pages(conn, owner, where=b, fields=fields)
        for r in page.records
    ]
    records.sort(key=lambda r: int(r["id"]))
    out: list[_Parent] = []
    taken: set[str] = set()
    for record in records:
        rid = int(record["id"])
        label = safe_name(str(record.get(number) or rid) if number else str(rid), str(rid))
        if label.lower() in taken:
            label = f"{label}-{rid}"
        taken.add(label.lower())
        out.append(_Parent(rid, label))
    return out


class _Run:
    def __init__(
        self,
        conn: AsyncRequester,
        owner: ObjectDef,
        folder: Path,
        manifest: Manifest,
        kept: dict[tuple[str, int, str, int], ManifestRow],
        concurrency: int,
        progress: Callable[[BulkProgress], None] | None,
        result: BulkDownloadResult,
    ) -> None:
        self.conn = conn
        self.owner = owner
        self.folder = folder
        self.manifest = manifest
        self.kept = kept
        self.slots = asyncio.Semaphore(concurrency)
        self.progress = progress
        self.state = BulkProgress()
        self.result = result
        self.rows: dict[tuple[str, int, str, int], ManifestRow] = {}

    def _tick(self, count: int) -> None:
        self.state.bytes_done += count  # negative when an attempt starts over
        self.result.bytes += count
        if self.progress is not None:
            self.progress(self.state)

    def _done(self, row: ManifestRow | None) -> None:
        self.state.files_done += 1
        if row is not None:
            self.rows[row.key] = row
        if self.progress is not None:
            self.progress(self.state)

    def _keep(self, key: tuple[str, int, str, int], used: _Parent) -> ManifestRow | None:
        row = self.kept.get(key)
        if row is None or not _still_whole(self.folder, row):
            return None
        used.used.add(Path(row.path).name.lower())
        self.rows[key] = row
        self.result.kept += 1
        return row

    def _fail(self, parent: _Parent, kind: str, aid: int | None, name: str, exc: Exception) -> None:
        self.result.failed.append(
            FailedFile(self.owner.name, parent.id, kind, aid, name, str(exc) or type(exc).__name__)
        )

    async def attachment(self, parent: _Parent, item: Attachment, name: str) -> None:
        relative = f"{self.owner.name}/{parent.folder}/{name}"
        async with self.slots:
            try:
                got = await download_attachment(
                    self.conn,
                    self.owner,
                    parent.id,
                    item,
                    self.folder / relative,
                    on_bytes=self._tick,
                )
            except (CoupaError, OSError) as exc:
                self._fail(parent, "attachment", item.id, item.name or name, exc)
                self._done(None)
                return
        row = ManifestRow(
            self.owner.name,
            parent.id,
            parent.folder,
            "attachment",
            item.id,
            item.name or name,
            got.size,
            got.sha256,
            relative,
        )
        self.manifest.append(row)
        self.result.downloaded += 1
        self._done(row)

    async def documents(self, parent: _Parent, routes: Sequence[RouteDef]) -> None:
        # One parent's documents one after another: each name is claimed in a fixed order.
        for route in routes:
            key = (self.owner.name, parent.id, route.name, 0)
            if self._keep(key, parent) is not None:
                self._done(None)
                continue
            async with self.slots:
                row = await self._document(parent, route)
            if row is not None:
                self.manifest.append(row)
            self._done(row)

    async def _document(self, parent: _Parent, route: RouteDef) -> ManifestRow | None:
        directory = self.folder / self.owner.name / parent.folder
        what = f"{route.name} of {self.owner.name} {parent.id}"
        sink = FileSink(
            directory / route.name, what, self.conn.config.max_file_bytes, on_bytes=self._tick
        )
        try:
            await _fetch(self.conn, route_path(route, parent.id), sink)
        except NotFoundError:
            # This record has no such document: nothing to have, nothing failed.
            self.result.found -= 1
            self.state.files_total -= 1
            self.state.files_done -= 1  # _done counts it again
            self.result.not_files += 1
            return None
        except (CoupaError, OSError) as exc:
            self._fail(parent, route.name, None, route.name, exc)
            return None
        if not sink.accepted:
            self._fail(parent, route.name, None, route.name, ValueError("a record, not a file"))
            return None
        name = parent.claim(safe_name(sink.server_name or route.name, route.name))
        sink.commit(directory / name)
        self.result.downloaded += 1
        return ManifestRow(
            self.owner.name,
            parent.id,
            parent.folder,
            route.name,
            None,
            sink.server_name or name,
            sink.size,
            sink.sha256,
            f"{self.owner.name}/{parent.folder}/{name}",
        )


async def download_all(
    conn: AsyncRequester,
    obj: str | ObjectDef,
    folder: str | Path,
    *,
    where: Any = None,
    ids: Sequence[int] | None = None,
    kinds: Sequence[str] = (ATTACHMENT_KIND,),
    manifest: str | Path | None = None,
    concurrency: int | None = None,
    progress: Callable[[BulkProgress], None] | None = None,
) -> BulkDownloadResult:
    """Download every file of the records of ``obj`` that match ``where`` (or have ``ids``).

    Args:
        conn: The connection.
        obj: The parents' object (``invoices``, ``purchase_orders``, ``contracts``...).
        folder: The download folder; files go to ``<folder>/<object>/<number or id>/``.
        where: Which records (as for ``query``); every record when neither this nor ``ids``.
        ids: These records.
        kinds: ``attachments`` and/or documents (``scan``, ``legal-pdf``, ``clearance``,
            ``legal-agreement``, ``receipts``, or a binary route's name).
        manifest: The manifest file (``.csv`` or ``.jsonl``); ``<folder>/manifest.csv``
            when omitted. A manifest from an earlier run makes this one resume.
        concurrency: Files at once (the connection's concurrency by default).
        progress: Called as bytes and files arrive.

    Raises:
        ConfigurationError: An unknown kind, or ``obj`` has no attachments. QueryError: a bad
            ``where``. Errors of single files are not raised: they are in ``failed``.
    """
    owner = conn.object(obj)
    want_attachments = ATTACHMENT_KIND in kinds or "attachment" in kinds
    if want_attachments:
        parent(conn.catalog, owner)
    routes = [document_route(owner, k) for k in kinds if k not in (ATTACHMENT_KIND, "attachment")]
    base = Path(folder).expanduser()
    base.mkdir(parents=True, exist_ok=True)
    journal = Manifest(Path(manifest).expanduser() if manifest else base / "manifest.csv")
    kept = journal.read()
    _remove_leftovers(base)
    result = BulkDownloadResult(base, journal.path)
    parents = await _parents(conn, owner, where, ids)
    result.parents = len(parents)
    width = concurrency or conn.config.concurrency
    run = _Run(conn, owner, base, journal, kept, width, progress, result)

    listing = asyncio.Semaphore(width)

    async def listed(p: _Parent) -> list[Attachment]:
        async with listing:
            try:
                return await list_attachments(conn, owner, p.id)
            except CoupaError as exc:
                # Its files are unknown: one failure stands for them, and the others go on.
                run._fail(p, ATTACHMENT_KIND, None, "(the list of attachments)", exc)
                result.found += 1
                return []

    lists = await asyncio.gather(*(listed(p) for p in parents)) if want_attachments else []
    plan: list[tuple[_Parent, Attachment, str]] = []
    for p, found in zip(parents, lists, strict=False):
        for item in sorted(found, key=lambda a: a.id):
            if not item.is_file:
                result.not_files += 1
                continue
            plan.append((p, item, ""))
    # Kept files hold their names first, then new ones claim theirs in id order.
    todo: list[tuple[_Parent, Attachment, str]] = []
    for p, item, _ in plan:
        run.state.files_total += 1
        run.state.bytes_total += item.size or 0
        if run._keep((owner.name, p.id, "attachment", item.id), p) is None:
            todo.append((p, item, ""))
        else:
            run.state.files_done += 1
    todo = [
        (p, item, p.claim(safe_name(item.name or f"attachment-{item.id}"))) for p, item, _ in todo
    ]
    result.found += run.state.files_total + len(parents) * len(routes)
    run.state.files_total = result.found
    # Rows of records this run does not cover (another object, other ids) stay as they are.
    covered = {(owner.name, p.id) for p in parents}
    others = [r for r in kept.values() if (r.object, r.parent_id) not in covered]
    journal.open([*others, *run.rows.values()])
    try:
        tasks = [run.attachment(p, item, name) for p, item, name in todo]
        tasks += [run.documents(p, routes) for p in parents if routes]
        await asyncio.gather(*tasks)
    finally:
        journal.close([*others, *run.rows.values()])
    result.rows = sorted(run.rows.values(), key=lambda r: r.key)
    return result
