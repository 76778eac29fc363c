"""Coupa's Attachments API and document files (scans, legal PDFs, receipts zips), emulated.

Routes (parents: every served resource the catalog lists attachment routes for):

    GET    /api/<parent>/<id>/attachments          list
    POST   /api/<parent>/<id>/attachments          create: multipart (attachment[file],
                                                   attachment[type], [intent], [linked_to]),
                                                   or a JSON/XML body for text and url types
    GET    /api/<parent>/<id>/attachments/<aid>    show: the file itself, or the record
                                                   (``ApiOptions.attachment_show``)
    DELETE /api/<parent>/<id>/attachments/<aid>    delete
    GET    /api/attachments[/<aid>]                top level: list, show; DELETE; POST
    GET    /api/attachments/<aid>/file             the file (where the record's file-url points)
    GET    /api/<res>/<id>/<binary route>          the catalog's binary routes of served
                                                   resources (retrieve_image_scan, download, ...)
    PUT    /api/<res>/<id>/<upload route>          their upload routes (image_scan: multipart
                                                   ``file``)

No PUT on an attachment: Coupa cannot update one. Scopes are the parent's: its read scope to
list, show and download, its create or write scope to add or delete. File answers carry
``Content-Length`` and ``Repr-Digest: sha-256=:...:``, so a client can tell a cut body.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from coupa_connector.catalog import ObjectDef, attachment_parents
from coupa_connector.sandbox._blobs import BlobStore, BlobWriter
from coupa_connector.sandbox._derive import document_fields
from coupa_connector.sandbox._multipart import MultipartError, boundary_of, read_multipart
from coupa_connector.sandbox._objects import ObjectView, Views
from coupa_connector.sandbox._query import RequestError
from coupa_connector.sandbox._store import Store
from coupa_connector.sandbox._wire import (
    JSON_MEDIA,
    XML_MEDIA,
    BodyError,
    parse_body,
    render_json,
    render_xml,
    wants_json,
)
from coupa_connector.sandbox._writes import Writer

__all__ = ["ATTACHMENTS", "DOCUMENTS", "AttachmentRoutes", "document_kind"]

ATTACHMENTS = "attachments"  # store resource of attachment records
DOCUMENTS = "documents"  # store resource of document files (one per record and kind)
TYPES = ("file", "url", "text")
# File name endings refused on upload, as Coupa refuses executables ([I] which exactly).
REFUSED_ENDINGS = (".exe", ".bat", ".cmd", ".com", ".scr", ".vbs", ".msi", ".dll")
_PRIVATE = ("parent", "parent-id", "blob", "sha256")


def document_kind(route_name: str) -> str:
    """The stored kind of a binary or upload route: ``retrieve_image_scan`` -> ``image_scan``."""
    return route_name.removeprefix("retrieve_")


def _digest(sha256_hex: str) -> str:
    return "sha-256=:" + base64.b64encode(binascii.unhexlify(sha256_hex)).decode() + ":"


def _disposition(name: str) -> str:
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


class MountingApi(Protocol):
    """What these routes use of the CoupaApi that mounts them (a protocol: _app imports
    this module, so this one cannot import it)."""

    store: Store
    views: Views
    options: Any
    writer: Writer

    def _auth(self, request: Request) -> tuple[frozenset[str] | None, str]: ...

    def _require(
        self, request: Request, obj: ObjectDef, action: str, fallback: str | None
    ) -> str: ...

    def _load(self, view: ObjectView, key: str) -> dict[str, Any]: ...

    def _record(
        self,
        request: Request,
        view: ObjectView,
        doc: dict[str, Any],
        status: int = 200,
        *,
        method: str = "GET",
    ) -> Response: ...

    def _error(self, request: Request, exc: Exception, obj: ObjectDef | None) -> Response: ...

    async def _read(self, request: Request) -> bytes: ...


@dataclass(slots=True)
class Upload:
    """A file part of an upload form: its blob being written, name and type."""

    writer: BlobWriter
    name: str
    content_type: str


class AttachmentRoutes:
    """The attachment and document endpoints, over the API app's store and helpers."""

    def __init__(self, api: MountingApi, blobs: BlobStore) -> None:
        self.api = api
        self.blobs = blobs
        self.store: Store = api.store

    # ------------------------------------------------------------------ routing

    def routes(self) -> list[Route]:
        """Routes to put before the generic resource routes."""
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        out = [
            Route("/api/attachments", self.top_collection, methods=methods),
            Route("/api/attachments/{aid}", self.top_member, methods=methods),
            Route("/api/attachments/{aid}/file", self.file, methods=["GET"]),
            Route("/api/{res}/{key}/attachments", self.collection, methods=methods),
            Route("/api/{res}/{key}/attachments/{aid}", self.member, methods=methods),
        ]
        catalog = self.api.views.catalog
        seen: set[str] = set()
        for obj in catalog:
            if obj.resource is None or self.api.views.resource(obj.name) is None:
                continue
            for route in obj.routes:
                if route.kind not in ("binary", "upload") or route.path in seen:
                    continue
                seen.add(route.path)
                path = route.path.replace(":id", "{key}")
                out.append(Route(path, self.document, methods=methods))
        return out

    # ------------------------------------------------------------------ helpers

    def _parent(self, request: Request, res: str, key: str) -> tuple[ObjectDef, dict[str, Any]]:
        obj = self.api.views.resource(res)
        if obj is None or obj.name not in attachment_parents(self.api.views.catalog):
            raise RequestError(f"No attachments on /api/{res}.", 404)
        view = self.api.views.view(obj)
        return obj, self.api._load(view, key)

    def _scope(self, request: Request, obj: ObjectDef, write: bool) -> str:
        """Check the parent's scope; returns the caller's login."""
        scopes, login = self.api._auth(request)
        if scopes is None:
            return login
        if write:
            create = obj.action("create")
            needed = {s for s in (obj.write_scope, create.scope if create else None) if s}
            verb = "add or remove attachments of"
        else:
            needed = {obj.read_scope} if obj.read_scope else set()
            verb = "read attachments of"
        if needed and not needed & scopes:
            raise RequestError(
                f"The access token lacks the scope {' or '.join(sorted(needed))} needed to "
                f"{verb} {obj.name}.",
                403,
            )
        return login

    def _error(self, request: Request, exc: Exception, obj: ObjectDef | None = None) -> Response:
        if isinstance(exc, MultipartError):
            exc = BodyError(exc.status, exc.message)
        return self.api._error(request, exc, obj or self._model)

    @property
    def _model(self) -> ObjectDef:
        return self.api.views.catalog.get(ATTACHMENTS)

    def _out(self, request: Request, doc: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in doc.items() if k not in _PRIVATE}
        if doc.get("type") == "file":
            out["file-url"] = (
                f"{str(request.base_url).rstrip('/')}/api/attachments/{doc['id']}/file"
            )
        return out

    def _respond(
        self, request: Request, data: dict[str, Any] | list[dict[str, Any]], status: int = 200
    ) -> Response:
        if wants_json(request):
            return Response(render_json(data), status_code=status, media_type=JSON_MEDIA)
        body = render_xml(self.api.views.catalog, self._model, data, self.api.options.wire)
        return Response(body, status_code=status, media_type=XML_MEDIA)

    def _of_parent(self, res: str, rid: int) -> list[dict[str, Any]]:
        return self.store.select(
            ATTACHMENTS,
            "json_extract(r0.doc, '$.parent') = ? AND json_extract(r0.doc, '$.parent-id') = ?",
            (res, rid),
        )

    def _attachment(
        self, aid: str, res: str | None = None, rid: int | None = None
    ) -> dict[str, Any]:
        doc = self.store.get(ATTACHMENTS, int(aid)) if aid.isdigit() and len(aid) < 18 else None
        if doc is None or (res is not None and (doc["parent"], doc["parent-id"]) != (res, rid)):
            where = f" on {res} {rid}" if res else ""
            raise RequestError(f"No attachment with id {aid!r}{where}.", 404)
        return doc

    def _file_response(self, blob: str, name: str, content_type: str, sha256: str) -> Response:
        if not self.blobs.exists(blob):
            raise RequestError(f"The file {name!r} is missing from the sandbox's storage.", 404)
        headers = {
            "Content-Length": str(self.blobs.size(blob)),
            "Content-Disposition": _disposition(name),
            "Repr-Digest": _digest(sha256),
        }
        return StreamingResponse(self.blobs.chunks(blob), media_type=content_type, headers=headers)

    def _serve_attachment(self, request: Request, doc: dict[str, Any]) -> Response:
        if doc.get("type") != "file" or self.api.options.attachment_show == "record":
            return self._respond(request, self._out(request, doc))
        return self._file_response(
            doc["blob"], doc["file-file-name"], doc["file-content-type"], doc["sha256"]
        )

    # ------------------------------------------------------------------ attachments

    async def collection(self, request: Request) -> Response:
        try:
            obj, parent = self._parent(
                request, request.path_params["res"], request.path_params["key"]
            )
            if request.method == "GET":
                self._scope(request, obj, write=False)
                docs = self._of_parent(obj.name, int(parent["id"]))
                return self._respond(request, [self._out(request, d) for d in docs])
            if request.method == "POST":
                login = self._scope(request, obj, write=True)
                doc = await self._create(request, login, obj.name, int(parent["id"]))
                return self._respond(request, self._out(request, doc), 201)
            raise RequestError(f"{request.method} is not allowed on attachments.", 405)
        except (RequestError, BodyError, MultipartError) as exc:
            return self._error(request, exc)

    async def member(self, request: Request) -> Response:
        try:
            obj, parent = self._parent(
                request, request.path_params["res"], request.path_params["key"]
            )
            doc = self._attachment(request.path_params["aid"], obj.name, int(parent["id"]))
            return await self._member(request, obj, doc)
        except (RequestError, BodyError, MultipartError) as exc:
            return self._error(request, exc)

    async def _member(
        self, request: Request, obj: ObjectDef | None, doc: dict[str, Any]
    ) -> Response:
        if request.method == "GET":
            if obj is not None:
                self._scope(request, obj, write=False)
            return self._serve_attachment(request, doc)
        if request.method == "DELETE":
            if obj is not None:
                self._scope(request, obj, write=True)
            self.store.delete_where(ATTACHMENTS, "r0.id = ?", (doc["id"],))
            self.blobs.delete(doc.get("blob", ""))
            return self._respond(request, self._out(request, doc))
        if request.method in ("PUT", "PATCH"):
            raise RequestError("You cannot update attachments via the API.", 405)
        raise RequestError(f"{request.method} is not allowed on an attachment.", 405)

    def _owner(self, doc: dict[str, Any]) -> ObjectDef | None:
        return self.api.views.resource(doc["parent"]) if doc.get("parent") else None

    async def top_collection(self, request: Request) -> Response:
        try:
            if request.method == "GET":
                scopes, _ = self.api._auth(request)
                docs = [
                    d
                    for d in self.store.select(ATTACHMENTS)
                    if scopes is None
                    or (owner := self._owner(d)) is None
                    or owner.read_scope in scopes
                ]
                return self._respond(request, [self._out(request, d) for d in docs])
            if request.method == "POST":
                _, login = self.api._auth(request)
                doc = await self._create(request, login, None, None)
                return self._respond(request, self._out(request, doc), 201)
            raise RequestError(f"{request.method} is not allowed on attachments.", 405)
        except (RequestError, BodyError, MultipartError) as exc:
            return self._error(request, exc)

    async def top_member(self, request: Request) -> Response:
        try:
            doc = self._attachment(request.path_params["aid"])
            return await self._member(request, self._owner(doc), doc)
        except (RequestError, BodyError, MultipartError) as exc:
            return self._error(request, exc)

    async def file(self, request: Request) -> Response:
        try:
            doc = self._attachment(request.path_params["aid"])
            owner = self._owner(doc)
            if owner is not None:
                self._scope(request, owner, write=False)
            if doc.get("type") != "file":
                raise RequestError(
                    f"Attachment {doc['id']} is a {doc.get('type')}, not a file.", 404
                )
            return self._file_response(
                doc["blob"], doc["file-file-name"], doc["file-content-type"], doc["sha256"]
            )
        except (RequestError, BodyError) as exc:
            return self._error(request, exc)

    async def _create(
        self, request: Request, login: str, parent: str | None, parent_id: int | None
    ) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        boundary = boundary_of(content_type)
        upload: Upload | None = None
        if boundary is not None:
            form, upload = await self._form(request, boundary, "attachment[file]")
            values = {
                k[len("attachment[") : -1].replace("_", "-"): v
                for k, v in form.items()
                if k.startswith("attachment[") and k.endswith("]")
            }
        else:
            raw = await self.api._read(request)
            body = parse_body(raw, content_type, self._model)
            inner = body.get("attachment")
            values = dict(inner) if isinstance(inner, dict) else body
        try:
            doc = self._attachment_doc(values, upload, login, parent, parent_id)
        except RequestError:
            if upload is not None:
                upload.writer.discard()
            raise
        if upload is not None:
            doc["blob"] = upload.writer.commit()
        self.store.put(ATTACHMENTS, doc)
        return doc

    def _attachment_doc(
        self,
        values: dict[str, Any],
        upload: Upload | None,
        login: str,
        parent: str | None,
        parent_id: int | None,
    ) -> dict[str, Any]:
        kind = str(values.get("type") or ("file" if upload is not None else "")).strip()
        if kind not in TYPES:
            raise RequestError(f"Type is not included in the list ({', '.join(TYPES)}): {kind!r}")
        now = self.store.write_time()
        user = {"login": login}
        doc: dict[str, Any] = {
            "id": self.store.next_id(ATTACHMENTS),
            "created-at": now,
            "updated-at": now,
            "type": kind,
            "intent": values.get("intent"),
            "linked-to": values.get("linked-to"),
            "created-by": user,
            "updated-by": user,
            "parent": parent,
            "parent-id": parent_id,
        }
        if kind == "file":
            if upload is None:
                raise RequestError("File can't be blank: send attachment[file] as multipart.")
            name = upload.name
            if name.lower().endswith(REFUSED_ENDINGS):
                raise RequestError(f"File {name!r}: this type of file is not allowed.")
            doc.update(
                {
                    "file-file-name": name,
                    "file-content-type": upload.content_type,
                    "file-file-size": str(upload.writer.size),
                    "sha256": upload.writer.sha256,
                }
            )
        elif kind == "url":
            url = str(values.get("url") or "").strip()
            if not url.lower().startswith(("http://", "https://")):
                raise RequestError(f"Url is not a web address: {url!r}")
            doc["url"] = url
        else:
            text = values.get("text")
            if not text:
                raise RequestError("Text can't be blank for a text attachment.")
            doc["text"] = str(text)
        return doc

    async def _form(
        self, request: Request, boundary: bytes, file_field: str
    ) -> tuple[dict[str, str], Upload | None]:
        """Read a multipart body, the named file part into a new blob."""
        limit = self.api.options.attachment_max_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit + 64 * 1024:
            raise BodyError(413, f"The upload is larger than {limit} bytes.")
        upload: Upload | None = None

        def open_file(name: str, filename: str, content_type: str) -> BlobWriter:
            nonlocal upload
            if name != file_field or upload is not None:
                raise MultipartError(f"Unexpected file field {name!r}; send {file_field}.")
            base = filename.replace("\\", "/").rsplit("/", 1)[-1] or "file"
            upload = Upload(self.blobs.writer(), base, content_type)
            return upload.writer

        try:
            form = await read_multipart(_stream(request), boundary, open_file, max_file=limit)
        except BaseException:
            if upload is not None:
                upload.writer.discard()
            raise
        return form.fields, upload

    # ------------------------------------------------------------------ documents

    async def document(self, request: Request) -> Response:
        obj = None
        try:
            res = request.url.path.split("/")[2]
            obj = self.api.views.resource(res)
            if obj is None:
                raise RequestError(f"No such resource: /api/{res}", 404)
            name = request.url.path.rstrip("/").rsplit("/", 1)[-1]
            route = next(
                (
                    r
                    for r in obj.routes
                    if r.kind in ("binary", "upload")
                    and r.name == name
                    and r.verb in (request.method, "PUT" if request.method == "PATCH" else "")
                ),
                None,
            )
            if route is None:
                raise RequestError(f"{name} takes another method than {request.method}.", 405)
            action = obj.action(name)
            fallback = obj.write_scope if route.kind == "upload" else obj.read_scope
            login = self.api._require(
                request, obj, name, (action.scope if action else None) or fallback
            )
            view = self.api.views.view(obj)
            record = self.api._load(view, request.path_params["key"])
            kind = document_kind(name)
            if route.kind == "binary":
                found = self._document(obj.name, int(record["id"]), kind)
                if found is None:
                    raise RequestError(
                        f"No {kind.replace('_', ' ')} for {obj.element} {record['id']}.", 404
                    )
                return self._file_response(
                    found["blob"], found["name"], found["content-type"], found["sha256"]
                )
            field = route.form[0] if route.form else "file"
            boundary = boundary_of(request.headers.get("content-type", ""))
            upload = None if boundary is None else (await self._form(request, boundary, field))[1]
            if upload is None:
                raise RequestError(f"File can't be blank: send {field} as multipart.")
            self._put_document(obj.name, int(record["id"]), kind, upload)
            described = document_fields(
                obj.name,
                int(record["id"]),
                kind,
                upload.name,
                upload.content_type,
                upload.writer.size,
            )
            record = self.api.writer.touch(view, record, login, described)
            return self.api._record(request, view, record, method="PUT")
        except (RequestError, BodyError, MultipartError) as exc:
            return self._error(request, exc, obj)

    def _document(self, res: str, rid: int, kind: str) -> dict[str, Any] | None:
        found = self.store.select(
            DOCUMENTS,
            "json_extract(r0.doc, '$.parent') = ? AND json_extract(r0.doc, '$.parent-id') = ? "
            "AND json_extract(r0.doc, '$.kind') = ?",
            (res, rid, kind),
            limit=1,
        )
        return found[0] if found else None

    def _put_document(self, res: str, rid: int, kind: str, upload: Upload) -> None:
        old = self._document(res, rid, kind)
        doc = {
            "id": old["id"] if old else self.store.next_id(DOCUMENTS),
            "parent": res,
            "parent-id": rid,
            "kind": kind,
            "name": upload.name,
            "content-type": upload.content_type,
            "size": upload.writer.size,
            "sha256": upload.writer.sha256,
            "blob": upload.writer.commit(),
        }
        self.store.put(DOCUMENTS, doc)
        if old is not None:
            self.blobs.delete(old["blob"])


async def _stream(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise BodyError(400, "The client disconnected before sending the whole body.") from None
