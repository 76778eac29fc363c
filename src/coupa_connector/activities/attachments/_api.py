"""List, upload and download attachments, and fetch documents, through one connection.

Every request goes through the connection's one request path, so the rate limit, the retry
table and the token's scopes apply as to any other call. Files stream both ways.

Downloads handle both ways Coupa's show route is known to answer: with the file itself
(what published clients rely on) or with the attachment record, whose ``file-url`` is then
fetched with the same credentials (what the Swagger documents).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from coupa_connector.activities.attachments._files import (
    FileSink,
    MultipartUpload,
    StreamSink,
    _CheckedSink,
    safe_name,
)
from coupa_connector.activities.attachments._routes import (
    attachments_path,
    document_route,
    parent,
    route_path,
)
from coupa_connector.catalog import ObjectDef
from coupa_connector.errors import ConfigurationError, FileError, TransportError

if TYPE_CHECKING:
    from coupa_connector.client._requester import AsyncRequester

__all__ = [
    "Attachment",
    "Downloaded",
    "download_attachment",
    "download_document",
    "list_attachments",
    "upload_attachment",
    "upload_document",
]

Destination = str | Path | BinaryIO
INTENTS_HINT = "Supplier, Internal"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment of a Coupa record.

    Attributes:
        id: The attachment's id.
        parent: The catalog name of the record's object (``invoices``).
        parent_id: The record's id.
        type: ``file``, ``url`` or ``text``.
        name: The file name (files only).
        content_type: The file's media type (files only).
        size: The file's size in bytes, as Coupa states it (files only).
        intent: Who may see it (``Supplier``, ``Internal``...).
        url: The web address of a URL attachment, or a file's ``file-url``.
        text: The text of a text attachment.
        record: The attachment record as Coupa sent it.
    """

    id: int
    parent: str
    parent_id: int
    type: str
    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    intent: str | None = None
    url: str | None = None
    text: str | None = None
    record: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_file(self) -> bool:
        return self.type == "file"

    @classmethod
    def from_record(cls, record: Mapping[str, Any], parent: str, parent_id: int) -> Attachment:
        kind = str(record.get("type") or "file")
        return cls(
            id=int(record["id"]),
            parent=parent,
            parent_id=int(parent_id),
            type=kind,
            name=record.get("file-file-name"),
            content_type=record.get("file-content-type"),
            size=_int(record.get("file-file-size")),
            intent=record.get("intent"),
            url=record.get("url") or record.get("file-url"),
            text=record.get("text"),
            record=dict(record),
        )


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file that arrived whole.

    Attributes:
        name: Its file name (the attachment's, or the server's for documents).
        size: Bytes received.
        sha256: Hex sha256 of those bytes.
        content_type: The media type the server gave.
        path: Where it was saved, or None for a stream.
    """

    name: str
    size: int
    sha256: str
    content_type: str
    path: Path | None = None


async def list_attachments(
    conn: AsyncRequester, obj: str | ObjectDef, parent_id: int
) -> list[Attachment]:
    """Every attachment of one record (``GET /api/<parent>/<id>/attachments``)."""
    owner = parent(conn.catalog, obj)
    answer = await conn.request(
        "GET", attachments_path(owner, parent_id), object_name="attachments"
    )
    records = answer if isinstance(answer, list) else [answer] if answer else []
    return [Attachment.from_record(r, owner.name, parent_id) for r in records]


def _file_source(file: str | Path | bytes, filename: str | None) -> tuple[Path | bytes, str]:
    if isinstance(file, bytes | bytearray | memoryview):
        return bytes(file), filename or "attachment"
    path = Path(file).expanduser()
    return path, filename or path.name


async def upload_attachment(
    conn: AsyncRequester,
    obj: str | ObjectDef,
    parent_id: int,
    file: str | Path | bytes | None = None,
    *,
    url: str | None = None,
    text: str | None = None,
    filename: str | None = None,
    content_type: str | None = None,
    intent: str | None = None,
    linked_to: str | None = None,
) -> Attachment:
    """Add an attachment to a record: a file (a path or bytes), a ``url`` or a ``text``.

    A file is sent as ``multipart/form-data`` (``attachment[file]``, ``attachment[type]``)
    straight from disk; URL and text attachments as a JSON body. A file over the
    connection's ``max_file_bytes`` is refused before anything is sent.

    Raises:
        FileError: The path is not a readable file. FileTooLargeError: over the cap.
        ConfigurationError: Not exactly one of file, url, text; or no attachments on ``obj``.
        NotFoundError: No such record. ValidationError: Coupa refused it (a type it refuses).
    """
    owner = parent(conn.catalog, obj)
    given = [name for name, v in (("file", file), ("url", url), ("text", text)) if v is not None]
    if len(given) != 1:
        raise ConfigurationError("Give one of file, url or text for an attachment.")
    path = attachments_path(owner, parent_id)
    extra = [(k, v) for k, v in (("intent", intent), ("linked_to", linked_to)) if v is not None]
    if file is None:
        body: dict[str, Any] = {"type": given[0], given[0]: url if url is not None else text}
        body.update((k.replace("_", "-"), v) for k, v in extra)
        answer = await conn.request("POST", path, body=body, object_name="attachments")
        return Attachment.from_record(answer, owner.name, parent_id)
    source, name = _file_source(file, filename)
    media = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    fields = [("attachment[type]", "file"), *((f"attachment[{k}]", v) for k, v in extra)]
    upload = MultipartUpload(
        fields, "attachment[file]", name, media, source, conn.config.max_file_bytes
    )
    response = await conn.send("POST", path, upload=upload)
    answer = conn.decode(response, "attachments", path)
    return Attachment.from_record(answer, owner.name, parent_id)


async def upload_document(
    conn: AsyncRequester,
    obj: str | ObjectDef,
    record_id: int,
    kind: str,
    file: str | Path | bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
) -> dict[str, Any]:
    """Replace a record's document (``PUT /api/invoices/<id>/image_scan``, multipart
    ``file``); returns the record as Coupa answers."""
    owner = conn.object(obj)
    route = document_route(owner, kind, upload=True)
    source, name = _file_source(file, filename)
    media = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    form_field = route.form[0] if route.form else "file"
    upload = MultipartUpload([], form_field, name, media, source, conn.config.max_file_bytes)
    path = route_path(route, record_id)
    response = await conn.send(route.verb, path, upload=upload)
    answer: dict[str, Any] = conn.decode(response, owner, path)
    return answer


def _sink(
    dest: Destination,
    what: str,
    limit: int,
    name: str | None,
    **options: Any,
) -> FileSink | StreamSink:
    if isinstance(dest, str | Path):
        target = Path(dest).expanduser()
        if not target.is_dir():
            return FileSink(target, what, limit, **options)
        # Into a directory: the name is known once the answer says it (see _finished).
        sink = FileSink(target / (name or "download"), what, limit, **options)
        sink.directory = target
        return sink
    if not hasattr(dest, "write"):
        raise FileError(
            f"Cannot download into {type(dest).__name__}: give a path or a binary stream."
        )
    return StreamSink(dest, what, limit, **options)


async def _fetch(conn: AsyncRequester, path: str, sink: _CheckedSink) -> Any:
    """GET ``path`` into ``sink``; the decoded answer if it was a record instead of a file."""
    try:
        response = await conn.send("GET", path, sink=sink)
    except TransportError as exc:
        raise sink.incomplete(exc) from None
    except BaseException:
        sink._abandon()
        raise
    if sink.accepted:
        return None
    return conn.decode(response, "attachments", path)


def _finished(sink: FileSink | StreamSink, name: str) -> Downloaded:
    final: Path | None = None
    if isinstance(sink, FileSink):
        # A server's name is only a name: no directories, so nothing lands outside.
        target = sink.directory / safe_name(name) if sink.directory is not None else None
        final = sink.commit(target)
    return Downloaded(name, sink.size, sink.sha256, sink.content_type, final)


async def download_attachment(
    conn: AsyncRequester,
    obj: str | ObjectDef,
    parent_id: int,
    attachment: int | Attachment,
    dest: Destination,
    *,
    on_bytes: Callable[[int], None] | None = None,
) -> Downloaded:
    """Download one file attachment to a path (a directory takes the file's name) or a
    binary stream.

    A cut body is retried like a dropped connection and checked against the record's size
    and the server's checksum; a file is renamed into place only when whole.

    Raises:
        IncompleteDownloadError: Cut short on every attempt (nothing kept).
        FileTooLargeError: Over ``max_file_bytes``. NotFoundError: no such attachment.
        FileError: A URL or text attachment, which has no file.
    """
    owner = parent(conn.catalog, obj)
    known = attachment if isinstance(attachment, Attachment) else None
    aid = known.id if known is not None else int(attachment)  # type: ignore[arg-type]
    if known is not None and not known.is_file:
        raise FileError(
            f"Attachment {aid} of {owner.name} {parent_id} is a {known.type}, not a file."
        )
    what = f"attachment {aid} of {owner.name} {parent_id}"
    limit = conn.config.max_file_bytes
    name = known.name if known is not None else None
    expected = known.size if known is not None else None
    sink = _sink(
        dest, what, limit, name, expected_size=expected, records_too=True, on_bytes=on_bytes
    )
    record = await _fetch(conn, attachments_path(owner, parent_id, aid), sink)
    if record is None:
        return _finished(sink, name or sink.server_name or f"attachment-{aid}")
    # The show route answered with the record: the file is at its file-url.
    found = Attachment.from_record(record, owner.name, parent_id)
    file_url = found.record.get("file-url")
    if not found.is_file or not file_url:
        raise FileError(
            f"Attachment {aid} of {owner.name} {parent_id} is a {found.type}, not a file."
        )
    name = name or found.name
    sink.expected_size = found.size
    sink.records_too = False
    if await _fetch(conn, str(file_url), sink) is not None:
        raise FileError(f"{what}: its file-url answered with a record, not the file.")
    return _finished(sink, name or sink.server_name or f"attachment-{aid}")


async def download_document(
    conn: AsyncRequester,
    obj: str | ObjectDef,
    record_id: int,
    kind: str,
    dest: Destination,
    *,
    on_bytes: Callable[[int], None] | None = None,
) -> Downloaded:
    """Download a record's document: ``scan`` (``retrieve_image_scan``), ``legal-pdf``,
    ``clearance``, ``legal-agreement``, ``receipts`` (an expense report's zip), or any
    binary route's name.

    Raises:
        ConfigurationError: ``obj`` has no such document. NotFoundError: this record has
            none. IncompleteDownloadError, FileTooLargeError: as for attachments.
    """
    owner = conn.object(obj)
    route = document_route(owner, kind)
    what = f"{route.name} of {owner.name} {record_id}"
    sink = _sink(dest, what, conn.config.max_file_bytes, None, on_bytes=on_bytes)
    if await _fetch(conn, route_path(route, record_id), sink) is not None:
        raise FileError(f"{what}: the answer was a record, not a file.")
    return _finished(sink, sink.server_name or f"{route.name}-{record_id}")
