"""Routes under a parent record, from the catalog's Swagger paths: ``/api/{parent}/{id}/
{children}[/{id}[/{action}]]`` (a user's addresses, an item's supplier items, an expense
report's lines, a document's comments, ...).

Nothing here names an object: every route comes from the catalog (``ObjectDef.routes`` with a
``nested-`` kind, and the nested paths of ``ObjectDef.actions`` that only Coupa's reference
tables list), and how a child record belongs to its parent is worked out from the child's
fields, in this order:

1. a reference to the parent's object (``supplier_items.item``);
2. a ``<parent>-id`` field (``expense_lines.expense-report-id``);
3. a polymorphic pair ``<x>-type`` / ``<x>-id`` (``comments.commentable-type``), the type
   being the parent's Rails class, its element in CamelCase (``InvoiceHeader``);
4. otherwise a link the sandbox keeps in the stored record (``@parent``), never rendered.

Children that mirror their parent's lines (``LINE_MIRRORS``: a PO's order lines, an expense
report's lines) are read from the mirror records and written through the parent, so the
parent document and the mirror stay one.

Kinds the sandbox emulates are handlers in ``NESTED_HANDLERS`` of the API; routes of other
kinds (uploads, binary answers, nested actions) are answered by a handler registered for
their kind, or refused with a 400 naming the route, never a 404: attachments plug in by
registering handlers for ``nested-upload`` and ``nested-binary``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coupa_connector.catalog import ObjectDef
from coupa_connector.sandbox._objects import EMBED_SKIP, LINE_MIRRORS, Views

__all__ = ["HIDDEN_PARENT", "Link", "NestedMatch", "NestedRoute", "NestedRoutes", "rails_class"]

# The stored key holding a child's parent when no field of the child names it; "@" is in no
# field name, so it is never rendered or taken from a body.
HIDDEN_PARENT = "@parent"
_PARAM = re.compile(r":([a-z_]+)")
# The standard actions a route under a parent can be (the catalog's action names).
_STANDARD = frozenset({"index", "show", "create", "update", "delete"})
_MEMBER = frozenset({"show", "update", "delete"})


def rails_class(obj: ObjectDef) -> str:
    """The Rails class Coupa names an object by in polymorphic links: ``InvoiceHeader``."""
    return "".join(part.capitalize() for part in obj.element.replace("_", "-").split("-"))


@dataclass(frozen=True, slots=True)
class Link:
    """How a child record names its parent.

    Attributes:
        kind: ``reference``, ``id``, ``polymorphic``, ``mirror`` or ``hidden``.
        field: The child's field (the reference, the id field, the polymorphic id field, the
            mirror's parent id field); for ``hidden``, ``HIDDEN_PARENT``.
        type_field: For ``polymorphic``, the field holding the parent's class.
        type_value: For ``polymorphic``, the parent's class; for ``hidden``, the parent's
            path segment.
        lines: For ``mirror``, the parent's line collection.
    """

    kind: str
    field: str
    type_field: str = ""
    type_value: str = ""
    lines: str = ""

    def sql(self, pid: int) -> tuple[str, tuple[object, ...]]:
        """The condition over ``r0`` that selects the children of parent ``pid``."""
        if self.kind == "reference":
            return f'json_extract(r0.doc, \'$."{self.field}"."id"\') = ?', (pid,)
        if self.kind == "polymorphic":
            return (
                f"json_extract(r0.doc, '$.\"{self.type_field}\"') = ? AND "
                f"json_extract(r0.doc, '$.\"{self.field}\"') = ?",
                (self.type_value, pid),
            )
        if self.kind == "hidden":
            return f"json_extract(r0.doc, '$.\"{HIDDEN_PARENT}\"') = ?", (
                f"{self.type_value}:{pid}",
            )
        return f"json_extract(r0.doc, '$.\"{self.field}\"') = ?", (pid,)

    def stamp(self, pid: int) -> dict[str, object]:
        """What a child created under parent ``pid`` gets to name it."""
        if self.kind == "reference":
            return {self.field: {"id": pid}}
        if self.kind == "polymorphic":
            return {self.type_field: self.type_value, self.field: pid}
        if self.kind == "hidden":
            return {HIDDEN_PARENT: f"{self.type_value}:{pid}"}
        return {self.field: pid}

    def owns(self, doc: dict[str, object], pid: int) -> bool:
        """Whether a stored child belongs to parent ``pid``."""
        value = doc.get(self.field)
        if self.kind == "reference":
            return isinstance(value, dict) and value.get("id") == pid
        if self.kind == "polymorphic":
            return doc.get(self.type_field) == self.type_value and value == pid
        if self.kind == "hidden":
            return doc.get(HIDDEN_PARENT) == f"{self.type_value}:{pid}"
        return value == pid


@dataclass(frozen=True, slots=True)
class NestedRoute:
    """One documented route under a parent, compiled.

    Attributes:
        kind: The catalog's route kind (``nested-index``, ``nested-show`` ...).
        verb: HTTP method.
        path: The documented template.
        child: The object the route serves.
        parent: The parent's object, when the catalog knows it.
        store_name: Where the child records are stored.
        link: How a child names its parent.
        action: For ``nested-action`` and ``nested-binary``, the last path segment.
        pattern: The compiled template: group ``pid`` is the parent id, ``id`` the child's.
    """

    kind: str
    verb: str
    path: str
    child: ObjectDef
    parent: ObjectDef | None
    store_name: str
    link: Link
    action: str
    pattern: re.Pattern[str]

    @property
    def parent_store(self) -> str | None:
        return self.parent.name if self.parent is not None else None


@dataclass(frozen=True, slots=True)
class NestedMatch:
    """A request path matched against the nested routes: every route of the template (one
    per verb), the parent id and the child id (None on collection routes)."""

    routes: tuple[NestedRoute, ...]
    pid: int
    cid: int | None

    def for_verb(self, verb: str) -> NestedRoute | None:
        put_like = ("PUT", "PATCH")
        for route in self.routes:
            if route.verb == verb or (verb in put_like and route.verb in put_like):
                return route
        return None


class NestedRoutes:
    """Every nested route of the objects the sandbox serves, matched by path."""

    def __init__(self, views: Views) -> None:
        self.views = views
        self.routes: list[NestedRoute] = []
        for obj in views.catalog:
            for kind, verb, path, parent in (*self._swagger(obj), *self._tables(obj)):
                compiled = self._compile(obj, kind, verb, path, parent)
                if compiled is not None:
                    self.routes.append(compiled)
        # Longest templates first, so /a/:id/b/:id/c wins over a shorter prefix.
        self.routes.sort(key=lambda r: -len(r.path))

    @staticmethod
    def _swagger(obj: ObjectDef) -> list[tuple[str, str, str, str | None]]:
        """The nested routes Coupa's Swagger lists: (kind, verb, path, parent object)."""
        return [(r.kind, r.verb, r.path, r.parent) for r in obj.routes if r.nested]

    def _tables(self, obj: ObjectDef) -> list[tuple[str, str, str, str | None]]:
        """The nested routes only Coupa's reference tables list, from the object's actions:
        a standard action under a parent (``create_under_quote_request`` at
        ``/api/quote_requests/:quote_request_id/tasks``), and every route of a collection
        under another name the tables give it (``/api/suppliers/:supplier_id/
        remit_to_addresses/:id`` beside Swagger's ``.../addresses/:id``: coupa-api.md 1.2
        lists the verbs of both, and Coupa's Addresses examples update through it)."""
        if not obj.supported:
            return []  # attachments: files, served by the handlers registered for them
        known = {(r.verb, r.path) for r in obj.routes}
        swagger = [r for r in obj.routes if r.nested]
        out: list[tuple[str, str, str, str | None]] = []
        for act in obj.actions:
            segments = act.path.split("/")
            standard = re.split(r"_under_|_via_", act.name, maxsplit=1)[0]
            params = _PARAM.findall(act.path)
            if (
                (act.verb, act.path) in known
                or standard not in _STANDARD
                or len(segments) < 5
                or not segments[3].startswith(":")
                or len(params) != len(set(params))
                # A member route ends in the child's :id; a collection route in its name.
                or (standard in _MEMBER) != (segments[-1] == ":id")
            ):
                continue
            parent = self.views.resource(segments[2])
            parent_name = parent.name if parent is not None else None
            head, collection = "/".join(segments[:4]), segments[4]
            siblings = [r for r in swagger if r.path.startswith(f"{head}/")]
            aliased = [r for r in siblings if r.path.split("/")[4] != collection]
            if aliased:
                for r in aliased:
                    rest = r.path.split("/")
                    path = "/".join([*rest[:4], collection, *rest[5:]])
                    out.append((r.kind, r.verb, path, r.parent))
            else:
                out.append((f"nested-{standard}", act.verb, act.path, parent_name))
        unique = {(kind, verb, path): parent for kind, verb, path, parent in out}
        return [(k, v, p, parent) for (k, v, p), parent in unique.items() if (v, p) not in known]

    def _compile(
        self, child: ObjectDef, kind: str, verb: str, path: str, parent_name: str | None
    ) -> NestedRoute | None:
        params = _PARAM.findall(path)
        if not path.startswith("/api/") or not params:
            return None
        parent = (
            self.views.catalog.get(parent_name)
            if parent_name and parent_name in self.views.catalog
            else None
        )
        # The child's own id, when the route has one, is ":id"; the parent's is the parameter
        # before it (the last one on collection routes).
        has_id = "id" in params
        if has_id and len(params) == 1:
            return None  # a plain /api/<res>/:id route: not nested
        parent_param = params[-2] if has_id else params[-1]
        regex = "^" + re.escape(path) + "$"
        for name in params:
            group = "id" if (name == "id" and has_id) else ("pid" if name == parent_param else "")
            token = re.escape(f":{name}")
            regex = regex.replace(
                token, f"(?P<{group}>[0-9]{{1,18}})" if group else "[0-9]{1,18}", 1
            )
        action = ""
        if kind in ("nested-action", "nested-binary"):
            tail = path.rsplit("/", 1)[-1]
            action = "" if tail.startswith(":") else tail
        store_name, link = self._link(child, parent, path)
        return NestedRoute(
            kind, verb, path, child, parent, store_name, link, action, re.compile(regex)
        )

    def _link(self, child: ObjectDef, parent: ObjectDef | None, path: str) -> tuple[str, Link]:
        segment = path.split("/")[2]
        if parent is not None:
            mirror = LINE_MIRRORS.get(parent.name)
            if mirror is not None and mirror[1] == child.name:
                return child.name, Link("mirror", mirror[2], lines=mirror[0])
            for name, fd in child.fields.items():
                if fd.kind == "reference" and fd.ref == parent.name and name not in EMBED_SKIP:
                    return child.name, Link("reference", name)
            singular = parent.name[:-1] if parent.name.endswith("s") else parent.name
            for name in (f"{parent.element}-id", f"{singular.replace('_', '-')}-id"):
                id_field = child.fields.get(name)
                if id_field is not None and id_field.kind == "integer":
                    return child.name, Link("id", name)
            for name in child.fields:
                if name.endswith("-type") and f"{name[:-5]}-id" in child.fields:
                    return child.name, Link(
                        "polymorphic", f"{name[:-5]}-id", name, rails_class(parent)
                    )
        return child.name, Link("hidden", HIDDEN_PARENT, type_value=segment)

    def match(self, path: str) -> NestedMatch | None:
        """The routes whose template matches ``path``, with the ids it holds."""
        first = None
        for route in self.routes:
            first = route.pattern.match(path)
            if first is not None:
                template = route.path
                break
        if first is None:
            return None
        groups = first.groupdict()
        cid = int(groups["id"]) if groups.get("id") is not None else None
        same = tuple(r for r in self.routes if r.path == template)
        return NestedMatch(same, int(groups["pid"]), cid)

    def templates(self) -> list[NestedRoute]:
        """Every route, for listings and tests."""
        return list(self.routes)
