"""Serving the routes under a parent record (``_nested.py`` compiles them from the catalog).

Each route kind has a handler, looked up in a registry: index, show, create, update and
delete are the sandbox's own; other kinds (``nested-upload``, ``nested-binary``,
``nested-action``) are answered by a handler registered for them with ``register``, and
otherwise get a 400 naming the route: a documented route is never a 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from coupa_connector.catalog import ObjectDef
from coupa_connector.sandbox._nested import NestedMatch, NestedRoute, NestedRoutes
from coupa_connector.sandbox._objects import LINE_MIRRORS, ObjectView, Views
from coupa_connector.sandbox._query import RequestError
from coupa_connector.sandbox._store import Store
from coupa_connector.sandbox._writes import Writer

__all__ = ["ApiHost", "NestedApi", "NestedHandler"]


class ApiHost(Protocol):
    """What the nested routes use of the API application that holds them."""

    views: Views
    store: Store
    writer: Writer

    def _index(
        self, request: Request, view: ObjectView, within: tuple[str, tuple[Any, ...]] | None
    ) -> Response: ...

    def _require(
        self, request: Request, obj: ObjectDef, action: str, fallback: str | None
    ) -> str: ...

    async def _body(self, request: Request, obj: ObjectDef) -> dict[str, Any]: ...

    def _record(
        self,
        request: Request,
        view: ObjectView,
        doc: dict[str, Any],
        status: int = 200,
        *,
        method: str = "GET",
    ) -> Response: ...


# (request, the route, the ids in the path) -> the answer.
NestedHandler = Callable[[Request, NestedRoute, NestedMatch], Awaitable[Response]]


class NestedApi:
    """The nested routes of one API application."""

    def __init__(self, api: ApiHost) -> None:
        self.api = api
        self.routes = NestedRoutes(api.views)
        self.handlers: dict[str, NestedHandler] = {
            "nested-index": self.index,
            "nested-show": self.show,
            "nested-create": self.create,
            "nested-update": self.update,
            "nested-delete": self.delete,
        }

    def register(self, kind: str, handler: NestedHandler, child: str | None = None) -> None:
        """Serve the routes of a kind (``nested-upload``...) with ``handler``; with ``child``
        (a catalog object name, ``attachments``), only the routes of that object, ahead of
        the handler of the kind."""
        self.handlers[f"{kind}:{child}" if child else kind] = handler

    async def dispatch(self, request: Request, match: NestedMatch) -> Response:
        """Answer a request whose path matched a nested route."""
        route = match.for_verb(request.method)
        if route is None:
            verbs = ", ".join(sorted({r.verb for r in match.routes}))
            raise RequestError(
                f"{request.method} is not allowed on {match.routes[0].path} (use {verbs}).", 405
            )
        handler = self.handlers.get(f"{route.kind}:{route.child.name}") or self.handlers.get(
            route.kind
        )
        if handler is None:
            raise RequestError(f"The sandbox does not emulate {route.verb} {route.path}.", 400)
        self._parent(route, match.pid)
        return await handler(request, route, match)

    # ------------------------------------------------------------------ helpers

    def _parent(self, route: NestedRoute, pid: int) -> dict[str, Any] | None:
        """The parent record; a 404 when the parent object is stored and has no such id."""
        parent = route.parent
        if parent is None or not self.api.views.view(parent).stored:
            return None
        doc = self.api.store.get(parent.name, pid)
        if doc is None:
            raise RequestError(f"No {parent.element} with id {pid}.", 404)
        return doc

    def _view(self, route: NestedRoute) -> ObjectView:
        return self.api.views.view(route.child)

    def _child(self, route: NestedRoute, match: NestedMatch) -> dict[str, Any]:
        doc = self.api.store.get(route.store_name, match.cid or 0)
        if doc is None or not route.link.owns(doc, match.pid):
            parent = route.parent.element if route.parent is not None else "parent"
            raise RequestError(
                f"No {route.child.element} with id {match.cid} under {parent} {match.pid}.", 404
            )
        return doc

    def _through_parent(
        self, route: NestedRoute, match: NestedMatch, line: dict[str, Any], login: str
    ) -> dict[str, Any]:
        """Write a mirrored line through its parent document; returns the line's record."""
        assert route.parent is not None  # mirror links come from a parent's LINE_MIRRORS
        parent_view = self.api.views.view(route.parent)
        parent = self._parent(route, match.pid) or {}
        lines_field = LINE_MIRRORS[route.parent.name][0]
        before = {ln.get("id") for ln in parent.get(lines_field) or () if isinstance(ln, dict)}
        updated = self.api.writer.update(parent_view, parent, {lines_field: [line]}, login)
        rid = line.get("id")
        if rid is None:
            rid = next(
                ln["id"]
                for ln in updated.get(lines_field) or ()
                if isinstance(ln, dict) and ln.get("id") not in before
            )
        return self.api.store.get(route.store_name, int(rid)) or {"id": rid}

    # ------------------------------------------------------------------ handlers

    async def index(self, request: Request, route: NestedRoute, match: NestedMatch) -> Response:
        return self.api._index(request, self._view(route), route.link.sql(match.pid))

    async def show(self, request: Request, route: NestedRoute, match: NestedMatch) -> Response:
        view = self._view(route)
        self.api._require(request, view.obj, "show", view.obj.read_scope)
        return self.api._record(request, view, self._child(route, match))

    async def create(self, request: Request, route: NestedRoute, match: NestedMatch) -> Response:
        view = self._view(route)
        login = self.api._require(request, view.obj, "create", view.obj.write_scope)
        body = await self.api._body(request, view.obj)
        if route.link.kind == "mirror":
            doc = self._through_parent(route, match, body, login)
        else:
            stamp = route.link.stamp(match.pid)
            doc = self.api.writer.create(view, {**body, **stamp}, login)
            # Read-only links (and the sandbox's own) are not taken from a body: set them.
            doc.update(stamp)
            self.api.writer.save(view, doc)
        return self.api._record(request, view, doc, 201, method="POST")

    async def update(self, request: Request, route: NestedRoute, match: NestedMatch) -> Response:
        view = self._view(route)
        login = self.api._require(request, view.obj, "update", view.obj.write_scope)
        current = self._child(route, match)
        body = await self.api._body(request, view.obj)
        if route.link.kind == "mirror":
            doc = self._through_parent(route, match, {**body, "id": current["id"]}, login)
        else:
            doc = self.api.writer.update(view, current, body, login)
        return self.api._record(request, view, doc, method="PUT")

    async def delete(self, request: Request, route: NestedRoute, match: NestedMatch) -> Response:
        view = self._view(route)
        login = self.api._require(request, view.obj, "delete", view.obj.write_scope)
        current = self._child(route, match)
        if route.link.kind == "mirror":
            self._through_parent(route, match, {"id": current["id"], "_delete": True}, login)
        else:
            self.api.store.delete_where(route.store_name, "r0.id = ?", (current["id"],))
        return self.api._record(request, view, current, method="DELETE")
