"""Coupa's data file sources: CSV flat files loaded over REST, processed in the background.

Routes (Core Platform Swagger R38/R39, Data File Sources API):

    POST /api/data_file_sources/load_file   upload a file: multipart ``file`` and
                                            ``source_for`` (also ``data_file_source[file]``
                                            and ``data_file_source[source_for]``); 201 and the
                                            record, status ``pending``
    GET  /api/data_file_sources[/<id>]      the records, as every index and show (filters
                                            such as ``source_for``, ``status``,
                                            ``created_at[gt]``)
    POST /api/data_file_sources             405: "Creating data file source is not supported"
    PUT  /api/data_file_sources/<id>        405: "Updating data file source is not supported"

A load is asynchronous as Coupa's are: the answer to the upload says ``pending``; the file is
then read with the sandbox's own reader (``_flatfile_reader``), ``loading`` while its rows
are applied, and ends ``done`` (rows applied, each refused row an ``UploadRowError``) or
``failed`` (the file could not be read: an ``UploadHeaderError``, nothing applied). Each row
creates a record or updates the one its ID, else its natural key, names (the catalog's lookup
keys), through the same rules as the API's POST and PUT. The record counts its rows
(``records-count``, ``records-created``, ``records-updated``, ``upload-errors-count``,
``progress``) and says so in Coupa's words: "3 rows processed, creating 0 new rows and
updating 3 rows." Scopes are the catalog's: ``core.integration.write`` to load,
``core.integration.read`` to read.

[I] choices: the form field names (Coupa documents none; ``file`` is the Paperclip
attachment its ``file-file-name`` element belongs to, ``source_for`` its required element);
the statuses are lowercase as its samples show (``pending``, ``loading``, ``done``,
``failed``, from the list Coupa documents); a file over 8 MB is refused with 413 and one over
5,000 rows fails, Coupa's stated limits; ``FileLoadControl`` holds loads pending (tests of
clients that must wait), sets how long a load waits before it starts, and makes loads fail
(a fault, for clients that must report a failed load).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from coupa_connector.catalog import DATA_FILE_MAX_BYTES, DATA_FILE_MAX_ROWS
from coupa_connector.sandbox._attachments import MountingApi, _stream
from coupa_connector.sandbox._blobs import BlobStore, BlobWriter
from coupa_connector.sandbox._flatfile_reader import FileProblem, LoadFormat, Row, read_import
from coupa_connector.sandbox._multipart import MultipartError, boundary_of, read_multipart
from coupa_connector.sandbox._objects import ObjectView, human_name
from coupa_connector.sandbox._query import RequestError
from coupa_connector.sandbox._wire import BodyError
from coupa_connector.sandbox._writes import WriteError

__all__ = [
    "DATA_FILE_SOURCES",
    "FINAL_LOAD_STATUSES",
    "MAX_FILE_BYTES",
    "MAX_FILE_ROWS",
    "FileLoadControl",
    "FileLoads",
]

DATA_FILE_SOURCES = "data_file_sources"
FINAL_LOAD_STATUSES = ("done", "failed")
MAX_FILE_BYTES = DATA_FILE_MAX_BYTES
MAX_FILE_ROWS = DATA_FILE_MAX_ROWS
FILE_FIELDS = ("file", "data_file_source[file]")
SOURCE_FOR_FIELDS = ("source_for", "data_file_source[source_for]")
# Seconds of rows applied between two yields to the event loop: polls and other requests
# are answered while a long file loads.
_SLICE_SECONDS = 0.02
_HOLD_RECHECK = 0.02


@dataclass(slots=True)
class FileLoadControl:
    """How loads run; changeable while the sandbox serves (admin ``config``).

    Attributes:
        hold: Loads stay ``pending`` until this is false again.
        delay: Seconds a load stays ``pending`` before it starts.
        fail: A fault: loads end ``failed`` with this message, nothing applied (None: off).
    """

    hold: bool = False
    delay: float = 0.0
    fail: str | None = None


class FileLoads:
    """The data file source routes and the background loads, over the API's store."""

    def __init__(
        self,
        api: MountingApi,
        blobs: BlobStore,
        formats: Mapping[str, LoadFormat],
        control: FileLoadControl,
    ) -> None:
        self.api = api
        self.blobs = blobs
        self.store = api.store
        self.control = control
        # source_for, case aside -> its loader
        self.formats = {name.lower(): fmt for name, fmt in formats.items()}
        self._tasks: set[asyncio.Task[None]] = set()

    def routes(self) -> list[Route]:
        """Routes to put before the generic resource routes."""
        base = f"/api/{DATA_FILE_SOURCES}"
        writes = ["POST", "PUT", "PATCH", "DELETE"]
        return [
            Route(f"{base}/load_file", self.load_file, methods=["POST"]),
            Route(base, self.refused, methods=writes),
            Route(base + "/{key}", self.refused, methods=writes),
        ]

    @property
    def view(self) -> ObjectView:
        return self.api.views.view(self.api.views.catalog.get(DATA_FILE_SOURCES))

    # ------------------------------------------------------------------ routes

    async def refused(self, request: Request) -> Response:
        """What Coupa refuses on data file sources, in its words."""
        obj = self.view.obj
        key = request.path_params.get("key")
        if key is None or key.isdigit():
            action = obj.action("create" if key is None else "update")
            verb = "Creating" if key is None else "Updating"
            text = action.description if action and action.description else None
            error = RequestError(text or f"{verb} data file source is not supported", 405)
        elif obj.action(key.replace("-", "_")) is not None:
            error = RequestError(f"The sandbox does not emulate {DATA_FILE_SOURCES}/{key}.", 400)
        else:
            error = RequestError(f"No route matches {request.url.path[:200]}", 404)
        return self.api._error(request, error, obj)

    async def load_file(self, request: Request) -> Response:
        obj = self.view.obj
        try:
            login = self.api._require(request, obj, "load_file", obj.write_scope)
            boundary = boundary_of(request.headers.get("content-type", ""))
            if boundary is None:
                raise RequestError(
                    "File can't be blank: send the file as multipart/form-data field "
                    "file, with source_for."
                )
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_FILE_BYTES + 64 * 1024:
                raise BodyError(413, f"The file is larger than {MAX_FILE_BYTES} bytes.")
            fields, upload = await self._form(request, boundary)
            try:
                doc = self._new_load(fields, upload, login)
            except RequestError:
                if upload is not None:
                    upload[0].discard()
                raise
            self.store.put(DATA_FILE_SOURCES, doc)
            self._schedule(int(doc["id"]), self.control.delay)
            return self.api._record(request, self.view, doc, 201, method="POST")
        except MultipartError as exc:
            return self.api._error(request, BodyError(exc.status, exc.message), obj)
        except (RequestError, BodyError) as exc:
            return self.api._error(request, exc, obj)

    async def _form(
        self, request: Request, boundary: bytes
    ) -> tuple[dict[str, str], tuple[BlobWriter, str, str] | None]:
        upload: tuple[BlobWriter, str, str] | None = None

        def open_file(name: str, filename: str, content_type: str) -> BlobWriter:
            nonlocal upload
            if name not in FILE_FIELDS or upload is not None:
                raise MultipartError(f"Unexpected file field {name!r}; send the file as file.")
            base = filename.replace("\\", "/").rsplit("/", 1)[-1] or "file.csv"
            upload = (self.blobs.writer(), base, content_type)
            return upload[0]

        try:
            form = await read_multipart(
                _stream(request), boundary, open_file, max_file=MAX_FILE_BYTES
            )
        except BaseException:
            if upload is not None:
                upload[0].discard()
            raise
        return form.fields, upload

    def _new_load(
        self,
        fields: dict[str, str],
        upload: tuple[BlobWriter, str, str] | None,
        login: str,
    ) -> dict[str, Any]:
        if upload is None:
            raise RequestError("File can't be blank: send the file as multipart field file.")
        source_for = next((fields[f].strip() for f in SOURCE_FOR_FIELDS if f in fields), "")
        if not source_for:
            raise RequestError("Source for can't be blank.")
        if source_for.lower() not in self.formats:
            names = ", ".join(sorted(f.source_for for f in self.formats.values()))
            raise RequestError(
                f"Source for {source_for[:60]!r} is not a CSV loader the sandbox has "
                f"(loaders: {names})."
            )
        writer, name, content_type = upload
        now = self.store.write_time()
        user = self.api.writer.user_ref(login)
        return {
            "id": self.store.next_id(DATA_FILE_SOURCES),
            "created-at": now,
            "updated-at": now,
            "type": "DataFileSource",
            "source-for": self.formats[source_for.lower()].source_for,
            "status": "pending",
            "file-file-name": name,
            "file-content-type": content_type,
            "file-file-size": str(writer.size),
            "result-text": None,
            "progress": None,
            "start-time": None,
            "end-time": None,
            "records-count": None,
            "records-created": None,
            "records-updated": None,
            "upload-errors": [],
            "upload-errors-count": 0,
            "created-by": user,
            "updated-by": user,
            "blob": writer.commit(),
            "login": login,
        }

    # ------------------------------------------------------------------ the load

    def _schedule(self, rid: int, delay: float) -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(max(0.0, delay), self._start, rid)

    def _start(self, rid: int) -> None:
        if self.control.hold:
            self._schedule(rid, _HOLD_RECHECK)
            return
        task = asyncio.get_running_loop().create_task(self._run(rid))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, rid: int) -> None:
        doc = self.store.get(DATA_FILE_SOURCES, rid)
        if doc is None or doc.get("status") != "pending":
            return
        doc = self._save(doc, {"status": "loading", "start-time": self.store.write_time()})
        data = b""
        with contextlib.suppress(OSError):  # a file gone from storage reads as empty
            data = b"".join(self.blobs.chunks(str(doc.get("blob", ""))))
        fmt = self.formats[str(doc["source-for"]).lower()]
        parsed = read_import(data, fmt, max_rows=MAX_FILE_ROWS)
        if self.control.fail is not None:
            parsed.problems.insert(0, FileProblem(self.control.fail))
        if parsed.problems:
            problems = [self._header_error(p.message, doc) for p in parsed.problems]
            self._finish(doc, "failed", problems, rows=0, created=0, updated=0)
            return
        view = self.api.views.view(self.api.views.catalog.get(fmt.resource))
        errors: list[dict[str, Any]] = []
        created = updated = 0
        slice_end = time.monotonic() + _SLICE_SECONDS
        for n, row in enumerate(parsed.rows, start=1):
            outcome = self._apply(view, row, str(doc.get("login") or ""), doc, errors)
            created += outcome == "created"
            updated += outcome == "updated"
            if time.monotonic() >= slice_end:
                doc = self._save(doc, {"progress": n})
                await asyncio.sleep(0.001)  # a real pause: the server reads sockets in it
                slice_end = time.monotonic() + _SLICE_SECONDS
        self._finish(doc, "done", errors, rows=len(parsed.rows), created=created, updated=updated)

    def _apply(
        self,
        view: ObjectView,
        row: Row,
        login: str,
        load: dict[str, Any],
        errors: list[dict[str, Any]],
    ) -> str | None:
        """Apply one row; returns ``created`` or ``updated``, or None with its error noted."""
        if row.corrupt:
            errors.append(self._row_error(row, ["Row corrupt or invalid."], load))
            return None
        body = dict(row.body)
        try:
            current = self._existing(view, body)
            body.pop("id", None)
            if current is None:
                self.api.writer.create(view, body, login)
                return "created"
            self.api.writer.update(view, current, body, login)
            return "updated"
        except WriteError as exc:
            errors.append(self._row_error(row, exc.messages, load))
            return None

    def _existing(self, view: ObjectView, body: dict[str, Any]) -> dict[str, Any] | None:
        """The record a row names: by its ID, else by the first natural key it gives."""
        raw = body.get("id")
        if raw not in (None, ""):
            text = str(raw).strip()
            doc = (
                self.store.get(view.name, int(text)) if text.isdigit() and len(text) < 18 else None
            )
            if doc is None:
                raise WriteError([f"ID {text[:40]} does not match any {human_name(view.name)}"])
            return doc
        for key in view.obj.lookup_keys:
            if key == ("id",) or not all(body.get(k) not in (None, "") for k in key):
                continue
            rid = self.api.writer.find(view, {k: body[k] for k in key})
            if rid is not None:
                return self.store.get(view.name, rid)
        return None

    def _error_doc(self, kind: str, load: dict[str, Any]) -> dict[str, Any]:
        now = self.store.write_time()
        return {
            "id": self.store.next_id("upload-error"),
            "created-at": now,
            "updated-at": now,
            "type": kind,
            "created-by": load.get("created-by"),
            "updated-by": load.get("created-by"),
        }

    def _header_error(self, message: str, load: dict[str, Any]) -> dict[str, Any]:
        doc = self._error_doc("UploadHeaderError", load)
        doc.update(
            {"row": None, "first-column": None, "field-with-error": None, "value": None,
             "field-errors": message}
        )  # fmt: skip
        return doc

    def _row_error(self, row: Row, messages: list[str], load: dict[str, Any]) -> dict[str, Any]:
        """A refused row, its field and value found from the first message that names one."""
        field_path = value = None
        texts = [f" {m.lower()} " for m in messages]
        for path, cell in row.cells.items():
            labels = [human_name(part).lower() for part in path.split(".")]
            if any(f" {label} " in text for label in labels for text in texts):
                field_path, value = path, cell
                break
        doc = self._error_doc("UploadRowError", load)
        doc.update(
            {
                "row": row.number,
                "first-column": row.first_column[:255],
                "field-with-error": None if field_path is None else field_path.replace("-", "_"),
                "value": None if value is None else value[:255],
                "field-errors": "\n".join(messages),
            }
        )
        return doc

    def _finish(
        self,
        doc: dict[str, Any],
        status: str,
        errors: list[dict[str, Any]],
        *,
        rows: int,
        created: int,
        updated: int,
    ) -> None:
        self._save(
            doc,
            {
                "status": status,
                "end-time": self.store.write_time(),
                "progress": rows,
                "records-count": rows,
                "records-created": created,
                "records-updated": updated,
                "upload-errors": errors,
                "upload-errors-count": len(errors),
                "result-text": (
                    f"{rows} rows processed, creating {created} new rows and updating "
                    f"{updated} rows."
                ),
            },
        )

    def _save(self, doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        # Plain wall-clock stamps: a load saves its progress many times a second.
        updated = {**doc, **changes, "updated-at": self.store.write_time()}
        self.store.put(DATA_FILE_SOURCES, updated)
        return updated
