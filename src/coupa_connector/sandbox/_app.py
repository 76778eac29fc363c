"""The sandbox's ``/api`` application: Coupa's REST resources over the store.

Routes (every resource the catalog knows, by its ``/api/<name>`` path):

    GET    /api/<res>                 index: filters, paging, order, fields, return_object
    POST   /api/<res>                 create (201 + record; 200 + empty body, return_object=none)
    GET    /api/<res>/<id>            show
    PUT    /api/<res>/<id>            partial update; ``?exported=true|false`` marks export
    PUT    /api/<res>/<id>/<action>   actions with state rules (void, submit, approve, ...)
    POST   /api/<res>/<action>        collection actions (requisitions/submit_for_approval)
    DELETE /api/<res>/<id>            where Coupa lists a delete action

Authentication happens before this app (``scope["coupa.auth"]``); this app checks the scope
each request needs, from the catalog.

Where Coupa's documentation is silent ([I] in coupa-api.md), the choice is an option of
``ApiOptions`` rather than a constant: the XML datetime spelling (``datetime``, as in the
resource samples, or ``dateTime``), ``type="array"`` on nested collections, case-insensitive
``contains``/``starts_with``/``ends_with``, clamping ``limit`` above 50 (or refusing it),
unknown references on update (left unchanged, as documented, or refused), and checking
values against the catalog's allowed lists. Fixed [I] choices: 201 on create (200 with an
empty body for ``return_object=none``), 404 for an unknown id, 400 for an action from the
wrong status, ``not_eq``/``not_in`` never matching null (SQL semantics), ``?exported=``
ignoring any body; without the parameter, an ``exported`` element of the body sets the flag.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from coupa_connector.catalog import ObjectDef
from coupa_connector.sandbox._actions import (
    BODY_RECORD_UPDATES,
    CREATE_ACTIONS,
    HEADER_COMMANDS,
    UPDATE_ACTIONS,
    ActionRunner,
    truthy,
)
from coupa_connector.sandbox._attachments import AttachmentRoutes
from coupa_connector.sandbox._blobs import BlobStore
from coupa_connector.sandbox._file_loads import FileLoadControl, FileLoads
from coupa_connector.sandbox._filters import find_filter
from coupa_connector.sandbox._flatfile_formats import load_formats
from coupa_connector.sandbox._integrations import install_integration_views
from coupa_connector.sandbox._nested_api import NestedApi
from coupa_connector.sandbox._objects import (
    DEEP_SEPARATOR,
    DELETED_LINES_KEPT,
    EXPORTED_ONLY_UPDATES,
    LINE_MIRRORS,
    ObjectView,
    Views,
    deleted_lines_key,
    human_name,
)
from coupa_connector.sandbox._query import (
    QueryOptions,
    RequestError,
    parse_fields,
    parse_query,
    parse_return_object,
)
from coupa_connector.sandbox._render import RenderCache, Renderer, json_array_of
from coupa_connector.sandbox._skeletons import Skeletons
from coupa_connector.sandbox._store import Store
from coupa_connector.sandbox._types import KindError, coerce
from coupa_connector.sandbox._wire import (
    JSON_MEDIA,
    MAX_BODY_BYTES,
    XML_MEDIA,
    BodyError,
    WireOptions,
    error_response,
    parse_body,
    parse_bulk_body,
    render_json,
    render_xml,
    wants_json,
)
from coupa_connector.sandbox._writes import WriteError, WriteOptions, Writer

__all__ = ["ApiOptions", "CoupaApi", "build_api_app"]

NO_RESULTS = "No results match your search criteria."
# Records one bulk create may hold ([I]: Coupa documents no bound; this keeps one request's
# work bounded like a page).
MAX_BULK = 500
DEFAULT_USER = "api_user"
_MIRROR_RESOURCES = frozenset(m[1] for m in LINE_MIRRORS.values())


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """Every behaviour of the API that Coupa's documentation leaves open ([I])."""

    wire: WireOptions = field(default_factory=WireOptions)
    query: QueryOptions = field(default_factory=QueryOptions)
    writes: WriteOptions = field(default_factory=WriteOptions)
    # An attachment's show route answers with the file itself (as clients use it) or with
    # the record and its file-url (as the Swagger documents it); see _attachments.
    attachment_show: Literal["file", "record"] = "file"
    attachment_max_bytes: int = 512 * 1024 * 1024
    # Holds and delays of data file source loads (shared with the admin API's config).
    file_loads: FileLoadControl = field(default_factory=FileLoadControl)


class CoupaApi:
    """The ASGI application serving ``/api``."""

    def __init__(
        self, store: Store, options: ApiOptions | None = None, views: Views | None = None
    ) -> None:
        self.store = store
        self.options = options or ApiOptions()
        self.views = views or Views()
        install_integration_views(self.views)
        self.writer = Writer(self.views, store, self.options.writes)
        self.actions = ActionRunner(self.views, store, self.writer)
        self.cache = RenderCache(store)
        # Records are kept rendered (as skeletons) from the moment they are written.
        self.skeletons = Skeletons(self.views)
        store.use_prerenderer(self.skeletons)
        self.pages = PageCache(store)
        self.files = AttachmentRoutes(self, BlobStore.beside(store.path))
        self.loads = FileLoads(
            self, self.files.blobs, load_formats(self.views), self.options.file_loads
        )
        self.nested = NestedApi(self)
        self._deep = self.views.deep_resources()
        # Their first segments: most paths are checked against this set alone.
        self._deep_heads = frozenset(name.split("/", 1)[0] for name in self._deep)
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        self.router = Router(
            routes=[
                *self.loads.routes(),
                *self.files.routes(),
                Route("/api/{res}", self.collection, methods=methods),
                Route("/api/{res}/{key}", self.member, methods=methods),
                Route("/api/{res}/{key}/{action}", self.action, methods=methods),
                Route("/api/{res}/{key}/{rest:path}", self.nested_route, methods=methods),
            ],
            default=self.not_found,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if len(path) > 5 and path.endswith("/"):
            # Coupa serves /api/suppliers/ as /api/suppliers; a redirect would fail every
            # client that does not follow one (and would drop a POST's body).
            path = path.rstrip("/")
        parts = path.split("/", 3)
        if len(parts) == 4 and parts[2] in self._deep_heads:
            for name in self._deep:
                # Collections a level down (/api/asn/headers) route as one segment.
                if path == f"/api/{name}" or path.startswith(f"/api/{name}/"):
                    path = "/api/" + name.replace("/", DEEP_SEPARATOR) + path[len(name) + 5 :]
                    break
        if path != scope.get("path"):
            scope = {**scope, "path": path}
        await self.router(scope, receive, send)

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Coupa-style 404 for paths outside the resource routes."""
        request = Request(scope, receive)
        await error_response(request, 404, [f"No route matches {scope['path']}"])(
            scope, receive, send
        )

    # ------------------------------------------------------------------ helpers

    def _object(self, request: Request) -> ObjectDef:
        obj = self.views.resource(request.path_params["res"])
        if obj is None:
            raise RequestError(f"No such resource: /api/{request.path_params['res']}", 404)
        return obj

    @staticmethod
    def _auth(request: Request) -> tuple[frozenset[str] | None, str]:
        auth = request.scope.get("coupa.auth")
        if auth is None:
            return None, DEFAULT_USER
        return auth.scopes, auth.user_login or DEFAULT_USER

    def _require(self, request: Request, obj: ObjectDef, action: str, fallback: str | None) -> str:
        """Check the caller's scope for an action; returns the API user's login."""
        scopes, login = self._auth(request)
        act = obj.action(action)
        needed = (act.scope if act is not None and act.scope else None) or fallback
        if scopes is not None and needed and needed not in scopes:
            raise RequestError(
                f"The access token lacks the scope {needed} needed to {action.replace('_', ' ')} "
                f"{obj.name}.",
                403,
            )
        return login

    def _respond(
        self,
        request: Request,
        view: ObjectView,
        data: dict[str, Any] | list[dict[str, Any]],
        status: int = 200,
    ) -> Response:
        if wants_json(request):
            return Response(render_json(data), status_code=status, media_type=JSON_MEDIA)
        body = render_xml(self.views.catalog, view.obj, data, self.options.wire)
        return Response(body, status_code=status, media_type=XML_MEDIA)

    def _record(
        self,
        request: Request,
        view: ObjectView,
        doc: dict[str, Any],
        status: int = 200,
        *,
        method: str = "GET",
    ) -> Response:
        params = request.query_params
        mode = parse_return_object(params.get("return_object"), method)
        if mode == "none":
            return Response(b"", status_code=200)
        items = self._named_filter(view, params.multi_items())
        fields = parse_fields(self.views, view.obj, dict(items).get("fields"))
        renderer = Renderer(self.views, self.store, self.cache, self.skeletons)
        deleted = _shows_deleted(params)
        if deleted:
            doc = with_deleted_lines(view.name, doc)
        if fields is None and mode == "full" and wants_json(request) and not deleted:
            [body] = renderer.full_json(view, [(int(doc["id"]), None, doc)])
            return Response(body, status_code=status, media_type=JSON_MEDIA)
        [out] = renderer.render(view, [doc], mode, fields)
        return self._respond(request, view, out, status)

    @staticmethod
    def _error(request: Request, exc: Exception, obj: ObjectDef | None) -> Response:
        model = obj.model if obj is not None else "base"
        if isinstance(exc, WriteError):
            return error_response(request, exc.status, exc.messages, model)
        if isinstance(exc, BodyError):
            return error_response(request, exc.status, [exc.message], model)
        assert isinstance(exc, RequestError)
        return error_response(request, exc.status, [exc.message], model)

    async def _body(self, request: Request, obj: ObjectDef) -> dict[str, Any]:
        raw = await self._read(request)
        return parse_body(raw, request.headers.get("content-type", ""), obj)

    @staticmethod
    async def _read(request: Request) -> bytes:
        """The request body, refused past ``MAX_BODY_BYTES`` without reading it all."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise BodyError(413, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise BodyError(413, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
                chunks.append(chunk)
        except ClientDisconnect:
            # Nobody will read the answer; a 4xx keeps it out of the server's error log.
            raise BodyError(400, "The client disconnected before sending the whole body.") from None
        return b"".join(chunks)

    def _load(self, view: ObjectView, key: str) -> dict[str, Any]:
        if not key.isdigit() or len(key) > 18:
            raise RequestError(f"No {view.obj.element} with id {key!r}.", 404)
        doc = self.store.get(view.name, int(key))
        if doc is None:
            raise RequestError(f"No {view.obj.element} with id {key}.", 404)
        return doc

    # ------------------------------------------------------------------ endpoints

    async def collection(self, request: Request) -> Response:
        obj = None
        try:
            obj = self._object(request)
            view = self.views.view(obj)
            if request.method == "GET":
                return self._index(request, view)
            if request.method == "POST":
                login = self._require(request, obj, "create", obj.write_scope)
                if obj.action("create") is None or obj.name in _MIRROR_RESOURCES:
                    raise RequestError(f"Coupa does not create {obj.name} through the API.", 405)
                raw = await self._read(request)
                content_type = request.headers.get("content-type", "")
                bulk = parse_bulk_body(raw, content_type, obj)
                if bulk is not None:
                    return self._bulk_create(request, view, bulk, login)
                doc = self.writer.create(view, parse_body(raw, content_type, obj), login)
                if parse_return_object(request.query_params.get("return_object"), "POST") == "none":
                    return Response(b"", status_code=200)
                return self._record(request, view, doc, 201, method="POST")
            raise RequestError(f"{request.method} is not allowed on /api/{obj.name}.", 405)
        except (RequestError, WriteError, BodyError) as exc:
            return self._error(request, exc, obj)

    def _bulk_create(
        self, request: Request, view: ObjectView, bodies: list[dict[str, Any]], login: str
    ) -> Response:
        """Create every record of a list body, all or none (``<suppliers><supplier>...``):
        a refusal names each record by its position, and nothing is stored."""
        if not bodies:
            raise RequestError(f"The {view.obj.list_element} list holds no {view.obj.element}.")
        if len(bodies) > MAX_BULK:
            raise RequestError(f"At most {MAX_BULK} records per bulk create, not {len(bodies)}.")
        docs: list[dict[str, Any]] = []
        errors: list[str] = []
        with contextlib.suppress(_BulkRefused), self.store.transaction():
            for n, body in enumerate(bodies, start=1):
                try:
                    docs.append(self.writer.create(view, body, login))
                except WriteError as exc:
                    errors.extend(f"{human_name(view.obj.element)} {n}: {m}" for m in exc.messages)
            if errors:
                raise _BulkRefused  # rolls the transaction back
        if errors:
            raise WriteError(errors)
        if parse_return_object(request.query_params.get("return_object"), "POST") == "none":
            return Response(b"", status_code=200)
        renderer = Renderer(self.views, self.store, self.cache, self.skeletons)
        mode = parse_return_object(request.query_params.get("return_object"), "POST")
        fields = parse_fields(self.views, view.obj, request.query_params.get("fields"))
        return self._respond(request, view, renderer.render(view, docs, mode, fields), 201)

    def _index(
        self,
        request: Request,
        view: ObjectView,
        within: tuple[str, tuple[Any, ...]] | None = None,
    ) -> Response:
        """A page of records; ``within`` narrows it to a parent's children (an SQL condition
        over ``r0`` and its parameters)."""
        obj = view.obj
        self._require(request, obj, "index", obj.read_scope)
        as_json = wants_json(request)
        cache_key = (request.url.path, as_json, request.url.query)
        cached = self.pages.get(cache_key)
        if isinstance(cached, bytes):
            return Response(cached, media_type=JSON_MEDIA if as_json else XML_MEDIA)
        if cached is not None:
            body = self._assemble(view, cached)
            if body is not None:
                return Response(body, media_type=JSON_MEDIA)
        items = self._named_filter(view, request.query_params.multi_items())
        spec = parse_query(self.views, obj, items, self.options.query)
        deleted = _shows_deleted(request.query_params)
        where, params = spec.where, spec.params
        if within is not None:
            where = f"({within[0]})" + (f" AND {where}" if where else "")
            params = (*within[1], *params)
        renderer = Renderer(self.views, self.store, self.cache, self.skeletons)
        spliced = as_json and spec.fields is None and spec.return_object == "full" and not deleted
        if spliced:
            # Full JSON pages are spliced from the records' skeletons, read only for the
            # records not spliced since the last write.
            ids = self.store.select_page_ids(
                view.name, where, params, spec.order, spec.limit, spec.offset
            )
            if not ids:
                return Response(b"[]", media_type=JSON_MEDIA)
            body = renderer.page_json(view, ids)
            # The page's records are kept rendered already: keeping its ids is enough to
            # answer it again without the query, and holds no second copy of the bytes.
            self.pages.put(cache_key, tuple(ids))
            return Response(body, media_type=JSON_MEDIA)
        rows = self.store.select_rows(view.name, where, params, spec.order, spec.limit, spec.offset)
        if not rows:
            if wants_json(request):
                return Response(b"[]", media_type=JSON_MEDIA)
            return error_response(request, 404, [NO_RESULTS], obj.model)
        docs = [orjson.loads(doc) for _, doc in rows]
        if deleted:
            docs = [with_deleted_lines(view.name, doc) for doc in docs]
        out = renderer.render(view, docs, spec.return_object, spec.fields)
        response = self._respond(request, view, out)
        self.pages.put(cache_key, bytes(response.body))
        return response

    def _named_filter(
        self, view: ObjectView, items: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """The query with a named API filter (``filter=NAME``) applied: its conditions
        added, its fields unless the query names its own; an unknown name is a 400."""
        names = [v for k, v in items if k.strip().lower() == "filter"]
        if not names:
            return items
        name = names[-1].strip()
        found = find_filter(self.store, name) if name else None
        if found is None:
            raise RequestError(f"API filter {name[:100]!r} does not exist.")
        if view.name not in found.resources:
            raise RequestError(f"API filter {name!r} does not apply to {view.name}.")
        rest = [(k, v) for k, v in items if k.strip().lower() != "filter"]
        extra = list(found.conditions)
        if found.fields_param and not any(k.strip().lower() == "fields" for k, _ in rest):
            extra.append(("fields", found.fields_param))
        return extra + rest

    def _assemble(self, view: ObjectView, ids: tuple[int, ...]) -> bytes | None:
        """A full JSON page again from its records' renderings; None if one is gone."""
        records = self.cache.fresh().records
        try:
            return json_array_of([records[(view.name, rid)] for rid in ids])
        except KeyError:
            return None

    async def member(self, request: Request) -> Response:
        obj = None
        try:
            obj = self._object(request)
            view = self.views.view(obj)
            key = request.path_params["key"]
            if not key.isdigit():
                return await self._collection_action(request, view, key)
            if request.method == "GET":
                self._require(request, obj, "show", obj.read_scope)
                return self._record(request, view, self._load(view, key))
            if request.method in ("PUT", "PATCH"):
                return await self._update(request, view, key)
            if request.method == "DELETE":
                return self._delete(request, view, key)
            raise RequestError(f"{request.method} is not allowed on a {obj.element}.", 405)
        except (RequestError, WriteError, BodyError) as exc:
            return self._error(request, exc, obj)

    async def _update(self, request: Request, view: ObjectView, key: str) -> Response:
        obj = view.obj
        params = request.query_params
        if "exported" in params:
            login = self._require(request, obj, "mark_exported", obj.write_scope)
            if "exported" not in obj.fields:
                raise RequestError(f"{obj.name} have no exported flag.")
            doc = self._load(view, key)
            # A body is accepted (the NetSuite bundle sends <exported>true</exported>) and not
            # applied: marking exported is a request of its own in Coupa.
            await self._read(request)
            return self._mark_exported(request, view, doc, login, params["exported"])
        body = await self._body(request, obj)
        exported = body.pop("exported", None) if "exported" in obj.fields else None
        if exported is not None and not body:
            # <exported type="boolean">true</exported> alone marks the record as the query
            # parameter does: ERP bundles mark records this way.
            login = self._require(request, obj, "mark_exported", obj.write_scope)
            return self._mark_exported(request, view, self._load(view, key), login, exported)
        login = self._require(request, obj, "update", obj.write_scope)
        if obj.action("update") is None:
            raise RequestError(f"Coupa does not update {obj.name} through the API.", 405)
        if view.name in EXPORTED_ONLY_UPDATES:
            raise RequestError(
                f"Only the exported flag of {obj.name} can change: "
                f"PUT /api/{obj.name}/{key}?exported=true"
            )
        doc = self._load(view, key)
        commands = [
            action
            for flag, action in HEADER_COMMANDS.get(view.name, {}).items()
            if truthy(body.get(flag, ""))
        ]
        for action in commands:
            # Refuse before applying anything, so a refused command changes nothing.
            self.actions.check(view, doc, action)
        doc = self.writer.update(view, doc, body, login)
        for action in commands:
            doc = self.actions.run(view, doc, action, body, login)
        if exported is not None:
            return self._mark_exported(request, view, doc, login, exported)
        return self._record(request, view, doc, method="PUT")

    def _mark_exported(
        self, request: Request, view: ObjectView, doc: dict[str, Any], login: str, raw: Any
    ) -> Response:
        """Set ``exported`` (and ``last-exported-at`` when true) from a body's element."""
        flag = raw if isinstance(raw, bool) else _flag("exported", str(raw))
        changes: dict[str, Any] = {"exported": flag}
        if flag and "last-exported-at" in view.obj.fields:
            changes["last-exported-at"] = "<now>"
        doc = self.writer.touch(view, doc, login, changes)
        return self._record(request, view, doc, method="PUT")

    def _delete(self, request: Request, view: ObjectView, key: str) -> Response:
        obj = view.obj
        self._require(request, obj, "delete", obj.write_scope)
        if obj.action("delete") is None or view.name in _MIRROR_RESOURCES:
            raise RequestError(
                f"Coupa does not delete {obj.name}; inactivate the record with a PUT instead.",
                405,
            )
        doc = self._load(view, key)
        self.store.delete_where(view.name, "r0.id = ?", (doc["id"],))
        return self._record(request, view, doc, method="DELETE")

    async def _collection_action(self, request: Request, view: ObjectView, name: str) -> Response:
        obj = view.obj
        action = name.replace("-", "_")
        if obj.action(action) is None:
            raise RequestError(f"No {obj.element} with id {name!r}.", 404)
        login = self._require(request, obj, action, obj.write_scope)
        if (view.name, action) in BODY_RECORD_UPDATES:
            body = await self._body(request, obj)
            rid = body.pop("id", None)
            if rid in (None, ""):
                raise WriteError([f"{human_name(obj.element)} id can't be blank"])
            doc = self.writer.update(view, self._load(view, str(rid)), body, login)
            return self._record(request, view, doc, 201, method="POST")
        if (view.name, action) not in CREATE_ACTIONS:
            raise RequestError(f"The sandbox does not emulate {obj.name}/{action}.", 400)
        body = await self._body(request, obj)
        doc = self.writer.create(view, body, login)
        doc = self.actions.run(view, doc, action, body, login)
        return self._record(request, view, doc, 201, method="POST")

    async def nested_route(self, request: Request) -> Response:
        """A route under a parent record (``/api/users/5/addresses/7``)."""
        obj = None
        try:
            match = self.nested.routes.match(request.scope["path"])
            if match is None:
                obj = self.views.resource(request.path_params["res"])
                if obj is not None and _documented_path(obj, request.scope["path"]):
                    # Swagger lists it; the sandbox has no rules for it.
                    raise RequestError(
                        f"The sandbox does not emulate {request.method} {request.url.path}.", 400
                    )
                raise RequestError(f"No route matches {request.scope['path'][:200]}", 404)
            obj = match.routes[0].child
            return await self.nested.dispatch(request, match)
        except (RequestError, WriteError, BodyError) as exc:
            return self._error(request, exc, obj)

    async def action(self, request: Request) -> Response:
        obj = None
        try:
            name = request.path_params["action"].replace("-", "_")
            parent = self.views.resource(request.path_params["res"])
            if parent is None or parent.action(name) is None:
                # Not an action of the parent: a nested collection (/api/items/3/supplier_items).
                match = self.nested.routes.match(request.scope["path"])
                if match is not None:
                    obj = match.routes[0].child
                    return await self.nested.dispatch(request, match)
            obj = self._object(request)
            view = self.views.view(obj)
            name = request.path_params["action"].replace("-", "_")
            act = obj.action(name)
            if act is None or not act.needs_id:
                if _documented_route(obj, request.path_params["action"]):
                    # Swagger lists it; the sandbox has no rules for it.
                    raise RequestError(f"The sandbox does not emulate {obj.name}/{name}.", 400)
                raise RequestError(f"No action {name!r} on {obj.name}.", 404)
            login = self._require(request, obj, name, obj.write_scope)
            if act.verb != request.method and not (
                act.verb in ("PUT", "PATCH") and request.method in ("PUT", "PATCH")
            ):
                raise RequestError(f"{name} takes {act.verb}, not {request.method}.", 405)
            if self.actions.rule(view, name) is None:
                raise RequestError(f"The sandbox does not emulate {obj.name}/{name}.", 400)
            doc = self._load(view, request.path_params["key"])
            body = await self._body(request, obj)
            inputs: dict[str, Any] = {**body, **_plain(request.query_params)}
            if (view.name, name) in UPDATE_ACTIONS:
                doc = self.writer.update(view, doc, body, login)
            doc = self.actions.run(view, doc, name, inputs, login)
            return self._record(request, view, doc, method="PUT")
        except (RequestError, WriteError, BodyError) as exc:
            return self._error(request, exc, obj)


class _BulkRefused(Exception):
    """Raised inside a bulk create's transaction to roll it back."""


class PageCache:
    """Index pages by query, kept until the next write to the store.

    Clients page through the same queries again and again (every incremental sync, every
    concurrent worker of a benchmark); answering a repeat without running the query again
    keeps the sandbox from being the bottleneck. An entry is the page's bytes, or for full
    JSON pages the ids of its records, whose renderings the render cache holds. Any write
    empties the cache, so answers are never stale.
    """

    def __init__(self, store: Store, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.generation = -1
        self.size = 0
        self.bodies: OrderedDict[tuple[str, bool, str], bytes | tuple[int, ...]] = OrderedDict()

    def get(self, key: tuple[str, bool, str]) -> bytes | tuple[int, ...] | None:
        if self.generation != self.store.generation:
            return None
        body = self.bodies.get(key)
        if body is not None:
            self.bodies.move_to_end(key)
        return body

    def put(self, key: tuple[str, bool, str], body: bytes | tuple[int, ...]) -> None:
        if self.generation != self.store.generation:
            self.bodies.clear()
            self.size = 0
            self.generation = self.store.generation
        size = _size(body)
        if size > self.max_bytes // 8:
            return
        previous = self.bodies.pop(key, None)
        if previous is not None:
            self.size -= _size(previous)
        self.bodies[key] = body
        self.size += size
        while self.size > self.max_bytes:
            _, dropped = self.bodies.popitem(last=False)
            self.size -= _size(dropped)


def _size(entry: bytes | tuple[int, ...]) -> int:
    # A tuple of ids: its pointers plus the ints (a rough but steady measure).
    return len(entry) if isinstance(entry, bytes) else 64 + 40 * len(entry)


def _flag(name: str, raw: str) -> bool:
    """A true/false query parameter; anything else is a 400, never a guess."""
    try:
        if raw.strip():
            return bool(coerce("boolean", raw))
    except KindError:
        pass
    raise RequestError(f"{human_name(name)} is not a boolean (true or false): {raw!r}")


def _documented_path(obj: ObjectDef, path: str) -> bool:
    """Whether a route Coupa's Swagger lists for the object matches the request path."""
    parts = path.strip("/").split("/")
    for route in obj.routes:
        template = route.path.strip("/").split("/")
        if len(template) == len(parts) and all(
            t.startswith(":") or t == p or t.replace("/", DEEP_SEPARATOR) == p
            for t, p in zip(template[2:], parts[2:], strict=True)
        ):
            return True
    return False


def _documented_route(obj: ObjectDef, segment: str) -> bool:
    """Whether Coupa's Swagger lists ``/api/<res>/:id/<segment>`` for the object."""
    return any(not route.nested and route.path.endswith(f"/:id/{segment}") for route in obj.routes)


def _shows_deleted(params: Mapping[str, str]) -> bool:
    raw = params.get("show_deleted_lines")
    return raw is not None and _flag("show_deleted_lines", raw)


def with_deleted_lines(res: str, doc: dict[str, Any]) -> dict[str, Any]:
    """A record with the deleted lines it keeps shown after its lines."""
    shown = dict(doc)
    for name, key in DELETED_LINES_KEPT:
        if name == res and doc.get(deleted_lines_key(key)):
            shown[key] = [*(doc.get(key) or []), *doc[deleted_lines_key(key)]]
    return shown


def _plain(params: Mapping[str, str]) -> dict[str, str]:
    return {k.replace("_", "-"): v for k, v in params.items()}


def api_prerenderer() -> Skeletons:
    """The skeleton builder of the API's own views: a store made with it as its prerenderer
    keeps the skeletons ``CoupaApi`` serves from the first record it seeds."""
    views = Views()
    install_integration_views(views)
    return Skeletons(views)


def build_api_app(store: Store, options: ApiOptions | None = None) -> ASGIApp:
    """The ``/api`` ASGI application over a store.

    Args:
        store: The sandbox's data.
        options: Behaviours Coupa leaves open (see ``ApiOptions``).

    Returns:
        The ASGI application.
    """
    return CoupaApi(store, options)
