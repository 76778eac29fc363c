"""``coupa.attachments``: attachment files as an operation's source or target.

As a **source** it yields one record per file of the records an object's query finds:
the parent (object, id, number), the attachment's metadata (id, type, name, media type,
size, intent), and, with ``download_to``, the file downloaded there (``path``, ``sha256``)
through the bulk download, with its manifest and resume. A file that could not be downloaded
is a rejected record with the reason; the rest go on.

As a **target** it uploads one file per record: the file at the record's ``path`` field
(relative paths: the operation file's folder) is attached to the parent the record names,
by id (``id_field``) or by a natural key (``match: invoice-number``, the record's value
looked up in Coupa), e.g. scanned invoices matched by invoice number. A missing file, a file
over the cap or a parent that does not exist is a failed or rejected record with its reason.

    source: {type: coupa.attachments, object: invoices, where: status=approved,
             kinds: [attachments, scan], download_to: files/}
    target: {type: coupa.attachments, object: invoices, match: invoice-number,
             path_field: path, intent: Supplier}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coupa_connector.catalog import ObjectDef, attachment_parents, load_catalog
from coupa_connector.errors import CoupaError, FileError
from coupa_connector.operations._transform import Item, Transformed
from coupa_connector.operations.endpoints.base import (
    EndpointContext,
    EndpointType,
    Outcome,
    SourceBase,
    TargetBase,
)

if TYPE_CHECKING:
    from coupa_connector.operations.endpoints.coupa import CoupaBridge
    from coupa_connector.operations.opfile._yaml import LMap
    from coupa_connector.operations.opfile.model import EndpointSpec
    from coupa_connector.operations.opfile.problems import Checker

__all__ = ["ENDPOINTS", "AttachmentSource", "AttachmentTarget"]

NAME = "coupa.attachments"


def _kinds(raw: Any) -> list[str]:
    if raw is None:
        return ["attachments"]
    if isinstance(raw, str):
        return [k.strip() for k in raw.split(",") if k.strip()]
    return [str(k) for k in raw]


class AttachmentSource(SourceBase):
    """One record per attachment (and document) of the records of ``object``."""

    def __init__(self, spec: EndpointSpec, bridge: CoupaBridge, base_dir: Path) -> None:
        o = spec.options
        self.obj: ObjectDef = load_catalog().get(str(o["object"]))
        self.where = o.get("where")
        self.ids = o.get("ids")
        self.kinds = _kinds(o.get("kinds"))
        folder = o.get("download_to")
        self.folder = None if folder is None else _resolve(base_dir, str(folder))
        manifest = o.get("manifest")
        self.manifest = None if manifest is None else _resolve(base_dir, str(manifest))
        self.bridge = bridge
        self._summary: dict[str, Any] | None = None

    def describe(self) -> str:
        return f"Coupa {self.obj.name} attachments"

    def details(self) -> dict[str, dict[str, Any]]:
        return {"attachments": self._summary} if self._summary is not None else {}

    def items(self, done: set[str]) -> Iterator[Item]:
        if self.folder is None:
            records = self.bridge.call(self._listed())
        else:
            records = self.bridge.call(self._downloaded())
        for position, (key, record, problem) in enumerate(records):
            if key in done:
                continue
            if problem is not None:
                yield Item(position, {"_raw": record}, key, problem=problem)
            else:
                yield Item(position, record, key)

    async def _listed(self) -> list[tuple[str, dict[str, Any], str | None]]:
        from coupa_connector.activities.attachments import list_attachments
        from coupa_connector.activities.attachments._bulk import _parents

        conn = self.bridge.conn
        out: list[tuple[str, dict[str, Any], str | None]] = []
        for parent in await _parents(conn, self.obj, self.where, self.ids):
            for item in await list_attachments(conn, self.obj, parent.id):
                record = {
                    "parent": self.obj.name,
                    "parent-id": parent.id,
                    "parent-number": parent.folder,
                    "kind": "attachment",
                    **{k: v for k, v in item.record.items()},
                }
                out.append((f"{parent.id}:attachment:{item.id}", record, None))
        return out

    async def _downloaded(self) -> list[tuple[str, dict[str, Any], str | None]]:
        from coupa_connector.activities.attachments import download_all

        assert self.folder is not None
        result = await download_all(
            self.bridge.conn,
            self.obj,
            self.folder,
            where=self.where,
            ids=self.ids,
            kinds=self.kinds,
            manifest=self.manifest,
        )
        self._summary = result.summary()
        out: list[tuple[str, dict[str, Any], str | None]] = []
        for row in result.rows:
            record = {
                "parent": row.object,
                "parent-id": row.parent_id,
                "parent-number": row.parent,
                "kind": row.kind,
                "id": row.attachment_id,
                "file-file-name": row.name,
                "file-file-size": row.size,
                "sha256": row.sha256,
                "path": str(self.folder / row.path),
            }
            out.append((f"{row.parent_id}:{row.kind}:{row.attachment_id or 0}", record, None))
        for failed in result.failed:
            record = {
                "parent": failed.object,
                "parent-id": failed.parent_id,
                "kind": failed.kind,
                "id": failed.attachment_id,
                "file-file-name": failed.name,
            }
            key = f"{failed.parent_id}:{failed.kind}:{failed.attachment_id or 0}"
            out.append((key, record, f"download failed: {failed.reason}"))
        return out


class AttachmentTarget(TargetBase):
    """Upload one file per record to the parent it names."""

    durable_per_batch = True

    def __init__(
        self, spec: EndpointSpec, bridge: CoupaBridge, base_dir: Path, dry_run: bool
    ) -> None:
        o = spec.options
        self.obj: ObjectDef = load_catalog().get(str(o["object"]))
        self.path_field = str(o.get("path_field", "path"))
        self.id_field = str(o.get("id_field", "id"))
        self.match = o.get("match")
        self.intent = o.get("intent")
        self.base_dir = base_dir
        self.bridge = bridge
        self.dry_run = dry_run
        self.maybe_sent: set[str] = set()

    def describe(self) -> str:
        return f"Coupa {self.obj.name} attachments (upload)"

    def set_maybe_sent(self, keys: set[str]) -> None:
        """Records a killed run may have uploaded: each is looked for (same name and size
        under its parent) before it is sent again, so no file is attached twice."""
        self.maybe_sent = set(keys)

    def write(self, batch: Sequence[Transformed], batch_no: int) -> list[Outcome]:
        return [self._one(dict(t.record or {}), t.items[0].key) for t in batch]

    def _landed(self, parent_id: int, path: Path) -> int | None:
        size = path.stat().st_size
        for item in self.bridge.call(self.bridge.conn.attachments(self.obj, parent_id)):
            if item.is_file and item.name == path.name and item.size == size:
                return item.id
        return None

    def _parent_id(self, record: Mapping[str, Any]) -> int | None:
        if self.match:
            value = record.get(str(self.match))
            if value in (None, ""):
                return None
            found = self.bridge.lookup(self.obj.name, str(self.match), str(value), "id")
            return int(found) if found is not None else None
        raw = record.get(self.id_field)
        try:
            return int(raw) if raw not in (None, "") else None
        except (TypeError, ValueError):
            return None

    def _one(self, record: dict[str, Any], key: str) -> Outcome:
        raw = record.get(self.path_field)
        if raw in (None, ""):
            return Outcome("rejected", [f"{self.path_field}: no file given"])
        path = _resolve(self.base_dir, str(raw))
        if not path.is_file():
            return Outcome("rejected", [f"{self.path_field}: no such file: {raw}"])
        field = str(self.match or self.id_field)
        try:
            parent_id = self._parent_id(record)
        except CoupaError as exc:
            return Outcome("failed", [f"{field}: looking up the {self.obj.element} failed: {exc}"])
        if parent_id is None:
            value = record.get(field)
            return Outcome("rejected", [f"{field}: no {self.obj.name} record {value!r}"])
        if self.dry_run:
            return Outcome("written", coupa_id=parent_id)
        intent = record.get("intent") or self.intent
        try:
            if key in self.maybe_sent and (landed := self._landed(parent_id, path)) is not None:
                return Outcome("written", coupa_id=landed)
            made = self.bridge.call(
                self.bridge.conn.upload_attachment(self.obj, parent_id, path, intent=intent)
            )
        except FileError as exc:
            return Outcome("rejected", [f"{self.path_field}: {exc}"])
        except CoupaError as exc:
            return Outcome("failed", [str(exc)])
        return Outcome("written", coupa_id=made.id)

    def commit(self) -> list[str]:
        return [self.describe()]


def _resolve(base_dir: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base_dir / candidate


def _check(check: Checker, where: str, role: str, spec: EndpointSpec, node: LMap) -> None:
    o = spec.options
    obj = check.object(o.get("object"), node.line_of("object"))
    if obj is None:
        return
    if obj.name not in attachment_parents(load_catalog()):
        check.problem(node.line_of("object"), f"{where}: {obj.name} have no attachments in Coupa")
        return
    if role == "source":
        from coupa_connector.activities.attachments import document_route
        from coupa_connector.errors import ConfigurationError

        for kind in _kinds(o.get("kinds")):
            if kind in ("attachments", "attachment"):
                continue
            try:
                document_route(obj, kind)
            except ConfigurationError as exc:
                check.problem(node.line_of("kinds"), f"{where}: {exc}")
    elif o.get("match") is not None and not obj.has_field(str(o["match"])):
        check.problem(
            node.line_of("match"), f"{where}: {obj.name} has no field {o['match']!r} to match on"
        )


def _source(spec: EndpointSpec, ctx: EndpointContext) -> AttachmentSource:
    return AttachmentSource(spec, ctx.connection(), ctx.base_dir)


def _target(spec: EndpointSpec, ctx: EndpointContext) -> AttachmentTarget:
    return AttachmentTarget(spec, ctx.connection(), ctx.base_dir, ctx.dry_run)


ENDPOINTS = {
    NAME: EndpointType(
        NAME,
        ("source", "target"),
        {"source": ("object",), "target": ("object",)},
        frozenset(
            {
                "object",
                "where",
                "ids",
                "kinds",
                "download_to",
                "manifest",
                "path_field",
                "id_field",
                "match",
                "intent",
            }
        ),
        source=_source,
        target=_target,
        check=_check,
        uses_coupa=True,
    )
}
