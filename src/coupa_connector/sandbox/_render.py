"""Stored documents -> Coupa's record shapes: full, shallow, limited, or a ``fields`` selection.

A full record lists every readable field of its object (null when unset), embeds each
referenced record as an object of its own (users as Coupa's small user reference block) and
its child lines in full. Embedded records carry their own attributes, with their references
cut down to id and natural keys, which keeps pages bounded however records chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from coupa_connector.sandbox._objects import (
    EMBED_SKIP,
    REFERENCE_BLOCKS,
    SCALAR_KINDS,
    ObjectView,
    Views,
)
from coupa_connector.sandbox._query import FieldSpec, ReturnObject
from coupa_connector.sandbox._store import Store

__all__ = ["RenderCache", "Renderer"]


# Pre-serialized JSON embedded as is in a larger document (orjson >= 3.10, as pinned).
_fragment = orjson.Fragment


_EMBED_SKIP = EMBED_SKIP
# One step of a rendering plan: the field's kind and the target's view for associations.
_Step = tuple[str, ObjectView | None]
# What an unset field of a kind renders as: an empty list or set of custom fields, false for
# booleans (Rails boolean columns default to false, and Coupa sends false, never null),
# otherwise null.
_UNSET: dict[str, Any] = {"collection": [], "custom-fields": {}, "boolean": False}
# Kinds whose stored value is not output as is.
_WORK_KINDS = frozenset({"reference", "collection", "custom-fields"})


@dataclass(frozen=True)
class _Shape:
    """How to turn a document with a given key sequence into JSON: the keys to leave out,
    the fields that need work (references, collections, custom fields) and the JSON of the
    fields it does not set. Documents of one object mostly share a few shapes, so this is
    worked out once per shape rather than once per record."""

    drop: tuple[str, ...]
    # References to stored records: (field, target name, target view).
    refs: tuple[tuple[str, str, ObjectView], ...]
    # Data embedded in the record (a supplier's primary contact): (field, its object).
    data: tuple[tuple[str, ObjectView], ...]
    # Collections: (field, the lines' object, whether they are records stored on their own).
    lists: tuple[tuple[str, ObjectView | None, bool], ...]
    custom: tuple[str, ...]
    tail: bytes


@dataclass(frozen=True)
class _Plan:
    """How to render one object, computed once per object."""

    order: tuple[str, ...]
    steps: dict[str, _Step]
    template: dict[str, Any]
    stored_refs: tuple[tuple[str, ObjectView], ...]
    line_collections: tuple[tuple[str, ObjectView], ...]
    shapes: dict[tuple[str, ...], _Shape]
    # Collections of records stored on their own (a document's approvals).
    stored_collections: tuple[tuple[str, ObjectView], ...] = ()
    embeddings: dict[
        tuple[str, ...], tuple[tuple[str, ...], tuple[tuple[str, ObjectView | None], ...]]
    ] = field(default_factory=dict)

    def embedding(
        self, keys: tuple[str, ...]
    ) -> tuple[tuple[str, ...], tuple[tuple[str, ObjectView | None], ...]]:
        """For a record with these keys embedded in another: its own attributes to copy, in
        output order, and its references to cut down to id and natural keys (collections
        and audit references are left out). Worked out once per key sequence."""
        found = self.embeddings.get(keys)
        if found is not None:
            return found
        present = set(keys)
        plain: list[str] = []
        refs: list[tuple[str, ObjectView | None]] = []
        for name in self.order:
            if name not in present or name in _EMBED_SKIP:
                continue
            kind, sub = self.steps[name]
            if kind == "reference":
                refs.append((name, sub))
            elif kind != "collection":
                plain.append(name)
        found = (tuple(plain), tuple(refs))
        if len(self.embeddings) < 1024:
            self.embeddings[keys] = found
        return found

    def shape(self, keys: tuple[str, ...]) -> _Shape:
        """The shape of documents with these keys, in this order."""
        found = self.shapes.get(keys)
        if found is not None:
            return found
        steps = self.steps
        drop = tuple(n for n in keys if n not in steps)
        refs: list[tuple[str, str, ObjectView]] = []
        data: list[tuple[str, ObjectView]] = []
        lists: list[tuple[str, ObjectView | None, bool]] = []
        custom: list[str] = []
        for name in keys:
            step = steps.get(name)
            if step is None or step[0] not in _WORK_KINDS:
                continue
            kind, target = step
            if kind == "reference":
                if target is None:
                    continue  # an object the catalog does not describe: output as stored
                if target.stored:
                    refs.append((name, target.name, target))
                else:
                    # Data embedded in the record (a supplier's primary contact): rendered
                    # with every key of its object, as Coupa's samples show it.
                    data.append((name, target))
            elif kind == "collection":
                lists.append((name, target, target is None or target.stored))
            else:
                custom.append(name)
        present = set(keys)
        unset = {n: v for n, v in self.template.items() if n not in present}
        found = _Shape(
            drop,
            tuple(refs),
            tuple(data),
            tuple(lists),
            tuple(custom),
            orjson.dumps(unset)[1:-1],
        )
        # Bounded: hand-written records can come in any number of shapes.
        if len(self.shapes) < 1024:
            self.shapes[keys] = found
        return found


_PLANS: dict[tuple[int, str, bool], _Plan] = {}


def _plans_cache(views: Views, view: ObjectView, embedded: bool = False) -> _Plan:
    """The plan of an object; ``embedded`` for copies of its records kept inside another
    record (a document's approvals), which leave out the audit references as embedded
    records do."""
    key = (id(views), view.name, embedded)
    found = _PLANS.get(key)
    if found is not None:
        return found
    fields = view.obj.fields
    steps: dict[str, _Step] = {}
    template: dict[str, Any] = {}
    stored_refs: list[tuple[str, ObjectView]] = []
    lines: list[tuple[str, ObjectView]] = []
    stored_lists: list[tuple[str, ObjectView]] = []
    for name in view.order:
        if embedded and name in _EMBED_SKIP:
            continue
        kind = fields[name].kind
        target = view.targets.get(name)
        target_view = views.view(target) if target is not None else None
        steps[name] = (kind, target_view)
        template[name] = _UNSET.get(kind)
        if target_view is not None and kind == "reference" and target_view.stored:
            stored_refs.append((name, target_view))
        if target_view is not None and kind == "collection" and not target_view.stored:
            lines.append((name, target_view))
        if target_view is not None and kind == "collection" and target_view.stored:
            stored_lists.append((name, target_view))
    found = _Plan(
        view.order, steps, template, tuple(stored_refs), tuple(lines), {}, tuple(stored_lists)
    )
    _PLANS[key] = found
    return found


class RenderCache:
    """Referenced records and their embedded renderings, shared by requests until the next
    write to the store (any write: an embedded record shows its references' keys too)."""

    def __init__(self, store: Store, limit: int = 50_000) -> None:
        self.store = store
        self.limit = limit
        self.generation = -1
        self.docs: dict[tuple[str, int], dict[str, Any] | None] = {}
        self.embedded: dict[tuple[str, int], dict[str, Any]] = {}
        # The same embedded records, serialized once for the JSON pages that repeat them.
        self.embedded_json: dict[tuple[str, object], Any] = {}
        # Data embedded in records, rendered: (object, id) -> (the data, its JSON).
        self.embedded_data_json: dict[tuple[str, object], tuple[dict[str, Any], Any]] = {}
        self.blocks: dict[tuple[str, int], dict[str, Any]] = {}
        # Full JSON renderings of top-level records, and their total size.
        self.records: dict[tuple[str, int], bytes] = {}
        self.record_bytes = 0
        self.max_record_bytes = 128 * 1024 * 1024

    def fresh(self) -> RenderCache:
        """This cache, emptied first if the store changed since it was filled.

        Past its bounds only the overgrown part is let go: rendered pages of a large data
        set outgrow the byte budget long before the records they refer to (a few hundred
        suppliers, users and accounts) outgrow theirs, and those stay useful.
        """
        if self.generation != self.store.generation or len(self.docs) > self.limit:
            self.docs.clear()
            self.embedded.clear()
            self.embedded_json.clear()
            self.embedded_data_json.clear()
            self.blocks.clear()
            self.records.clear()
            self.record_bytes = 0
            self.generation = self.store.generation
        elif self.record_bytes > self.max_record_bytes:
            self.records.clear()
            self.record_bytes = 0
        return self


def _embed_key(target: ObjectView | None, value: Any) -> tuple[str, int] | None:
    """The cache key of a stored record referenced by ``value``, or None to show it as is."""
    if target is None or not target.stored or not isinstance(value, dict):
        return None
    rid = value.get("id")
    return (target.name, rid) if isinstance(rid, int) else None


class Renderer:
    """Renders documents; referenced records are fetched once and reused."""

    def __init__(self, views: Views, store: Store, cache: RenderCache | None = None) -> None:
        self.views = views
        self.store = store
        cache = (cache or RenderCache(store)).fresh()
        self._cache = cache
        self._docs = cache.docs
        self._embedded = cache.embedded
        self._embedded_json = cache.embedded_json
        self._embedded_data_json = cache.embedded_data_json
        self._blocks = cache.blocks
        # Plans by view and whether for an embedded copy; views live as long as the
        # renderer (they are cached per catalog), so their ids stay theirs meanwhile.
        self._plans_by_view: dict[tuple[int, bool], _Plan] = {}
        # While a JSON pass runs: referenced records it met before they were fetched.
        self._missing: set[tuple[str, int]] | None = None
        self._misses = 0

    # ------------------------------------------------------------------ public

    def render(
        self,
        view: ObjectView,
        docs: list[dict[str, Any]],
        mode: ReturnObject = "full",
        fields: FieldSpec | None = None,
    ) -> list[dict[str, Any]]:
        """Render records for output.

        Args:
            view: The records' object.
            docs: Stored documents.
            mode: ``full``, ``shallow`` or ``limited`` (``none`` renders nothing).
            fields: A ``fields`` selection; it wins over ``mode`` like Coupa's does.

        Returns:
            One output dict per document.
        """
        if fields is not None:
            self._prefetch(view, docs)
            return [self.project(view, d, fields) for d in docs]
        if mode == "limited":
            return [{"id": d.get("id")} for d in docs]
        if mode == "shallow":
            return [self.shallow(view, d) for d in docs]
        self._prefetch(view, docs)
        return [self.full(view, d) for d in docs]

    def full_json(
        self, view: ObjectView, rows: list[tuple[int, bytes | str | dict[str, Any]]]
    ) -> list[bytes]:
        """Full records as JSON, each rendered once per store generation.

        ``rows`` are (id, document) pairs, the document as stored JSON (bytes or text) or
        parsed; JSON is parsed only for records not rendered yet. Records are rendered in one pass;
        referenced records not fetched yet are noted on the way, fetched with one query
        per resource, and only the records that met them are rendered again. Once a page
        or two has been served, every supplier, user and account a page refers to is
        already at hand and the single pass is all there is.
        """
        records = self._cache.records
        name = view.name
        todo = [
            (rid, orjson.loads(doc) if isinstance(doc, (bytes, str)) else doc)
            for rid, doc in rows
            if (name, rid) not in records
        ]
        if todo:
            # Records listed in collections of their own (each document's approvals) are
            # new on every page: fetched up front, so no record is rendered twice for them.
            self._prefetch_listed(view, [doc for _, doc in todo])
            missing: set[tuple[str, int]] = set()
            self._missing = missing
            retry: list[tuple[int, dict[str, Any]]] = []
            try:
                for rid, parsed in todo:
                    before = self._misses
                    body = self._json(view, parsed)
                    if self._misses != before:
                        retry.append((rid, parsed))
                    else:
                        self._keep(name, rid, body)
            finally:
                self._missing = None
            if retry:
                self._fetch_missing(missing)
                for rid, parsed in retry:
                    self._keep(name, rid, self._json(view, parsed))
        return [records[(name, rid)] for rid, _ in rows]

    def _prefetch_listed(self, view: ObjectView, docs: list[dict[str, Any]]) -> None:
        plan = self.plan(view)
        if not plan.stored_collections:
            return
        wanted: dict[str, set[int]] = {}
        for name, target in plan.stored_collections:
            for doc in docs:
                for item in doc.get(name) or ():
                    if not isinstance(item, dict) or len(item) > 1:
                        continue  # a copy of the record kept in the document: nothing to fetch
                    rid = item.get("id")
                    if isinstance(rid, int) and (target.name, rid) not in self._docs:
                        wanted.setdefault(target.name, set()).add(rid)
        self._fetch_missing({(res, rid) for res, ids in wanted.items() for rid in ids})

    def _keep(self, name: str, rid: int, body: bytes) -> None:
        self._cache.records[(name, rid)] = body
        self._cache.record_bytes += len(body)

    def _fetch_missing(self, missing: set[tuple[str, int]]) -> None:
        by_resource: dict[str, set[int]] = {}
        for res, rid in missing:
            by_resource.setdefault(res, set()).add(rid)
        for res, ids in by_resource.items():
            found = self.store.get_many(res, ids)
            for rid in ids:
                self._docs[(res, rid)] = found.get(rid)

    def _json(self, view: ObjectView, doc: dict[str, Any], copy: bool = False) -> bytes:
        plan = self._plans_by_view.get((id(view), copy)) or self.plan(view, copy)
        shape = plan.shapes.get(tuple(doc)) or plan.shape(tuple(doc))
        # Copy the document whole and fix up the few fields that need work, rather than
        # looking at every field in Python: this is the hot loop of a full page.
        present = dict(doc)
        for name in shape.drop:
            del present[name]
        embedded = self._embedded_json
        for name, target_name, target in shape.refs:
            value = doc[name]
            if value.__class__ is dict:
                # The common case inline: the referenced record is serialized already.
                found = embedded.get((target_name, value.get("id")))
                present[name] = found if found is not None else self.embed_json(target, value)
        for name, target in shape.data:
            value = doc[name]
            if value.__class__ is dict:
                present[name] = self._embedded_data(target, value)
        for name, lines, stored in shape.lists:
            value = doc[name]
            if value.__class__ is not list:
                present[name] = []
            elif not stored:
                json = self._json
                present[name] = [
                    _fragment(json(lines, i)) if i.__class__ is dict else i  # type: ignore[arg-type]
                    for i in value
                ]
            else:
                present[name] = [
                    _fragment(self._json(lines, i, True))
                    if isinstance(i, dict) and len(i) > 1 and lines is not None
                    else self.embed_json(lines, i)
                    for i in value
                ]
        for name in shape.custom:
            if doc[name].__class__ is not dict:
                present[name] = {}
        body = orjson.dumps(present)
        tail = shape.tail
        if not tail:
            return body
        if len(body) == 2:
            return b"{" + tail + b"}"
        # One copy of the record: a view of it without its closing brace, not a slice.
        return b"".join((memoryview(body)[:-1], b",", tail, b"}"))

    def _embedded_data(self, target: ObjectView, value: dict[str, Any]) -> Any:
        """Data embedded in a record (a country, a remit-to address), rendered once per
        store generation for each distinct value: records repeat the same few. Kept by
        its id and checked against the value it was rendered from, which is cheaper than
        a key made of the whole value."""
        key = (target.name, value.get("id"))
        known = self._embedded_data_json.get(key)
        if known is not None and known[0] == value:
            return known[1]
        before = self._misses
        found = _fragment(self._json(target, value))
        if self._misses == before:  # complete: nothing it refers to is still missing
            self._embedded_data_json[key] = (value, found)
        return found

    def embed_json(self, target: ObjectView | None, value: Any) -> Any:
        """``embed`` for JSON output: the embedded record serialized once per store
        generation and reused by every record that refers to it."""
        key = _embed_key(target, value)
        if key is None or target is None:  # _embed_key returns None without a target
            return value
        found = self._embedded_json.get(key)
        if found is not None:
            return found
        if self._missing is not None and key not in self._docs:
            # Fetched with the others after this pass; the record is rendered again then.
            self._missing.add(key)
            self._misses += 1
            return value
        block = self.embed(target, value)
        if block is value:
            return value  # the referenced record is gone: shown as stored, not cached
        found = _fragment(orjson.dumps(block))
        self._embedded_json[key] = found
        return found

    # ------------------------------------------------------------------ fetching

    def fetch(self, view: ObjectView, rid: Any) -> dict[str, Any] | None:
        if not isinstance(rid, int):
            return None
        key = (view.name, rid)
        if key not in self._docs:
            self._docs[key] = self.store.get(view.name, rid)
        return self._docs[key]

    def _prefetch(self, view: ObjectView, docs: Iterable[dict[str, Any]]) -> None:
        """Fetch the records a page refers to with one query per target resource."""
        wanted: dict[str, set[int]] = {}

        def collect(v: ObjectView, doc: dict[str, Any], depth: int) -> None:
            plan = self.plan(v)
            for name, target in plan.stored_refs:
                value = doc.get(name)
                if isinstance(value, dict):
                    rid = value.get("id")
                    if isinstance(rid, int) and (target.name, rid) not in self._docs:
                        wanted.setdefault(target.name, set()).add(rid)
            if depth == 0:
                for name, target in plan.line_collections:
                    for item in doc.get(name) or ():
                        if isinstance(item, dict):
                            collect(target, item, depth + 1)

        for doc in docs:
            collect(view, doc, 0)
        for res, ids in wanted.items():
            found = self.store.get_many(res, ids)
            for rid in ids:
                self._docs[(res, rid)] = found.get(rid)

    def plan(self, view: ObjectView, embedded: bool = False) -> _Plan:
        found = _plans_cache(self.views, view, embedded)
        self._plans_by_view[(id(view), embedded)] = found
        return found

    # ------------------------------------------------------------------ shapes

    def full(self, view: ObjectView, doc: dict[str, Any], copy: bool = False) -> dict[str, Any]:
        """Every readable field; associations embedded, lines in full (``copy``: a record's
        copy kept in another, rendered as ``_json`` renders it)."""
        plan = self.plan(view, copy)
        # Start from every field unset, then fill what the document has: a document holds a
        # few dozen of an object's hundreds of fields, so this touches only those.
        out = plan.template.copy()
        steps = plan.steps
        for name, value in doc.items():
            step = steps.get(name)
            if step is None:
                continue
            kind, target = step
            if kind == "reference":
                out[name] = self.embed(target, value)
            elif kind == "collection":
                if not isinstance(value, list):
                    continue
                if target is not None and not target.stored:
                    out[name] = [self.full(target, i) if isinstance(i, dict) else i for i in value]
                else:
                    out[name] = [
                        self.full(target, i, True)
                        if isinstance(i, dict) and len(i) > 1 and target is not None
                        else self.embed(target, i)
                        for i in value
                    ]
            elif kind == "custom-fields":
                if isinstance(value, dict):
                    out[name] = value
            else:
                out[name] = value
        return out

    def embed(self, target: ObjectView | None, value: Any) -> Any:
        """A referenced record as it appears inside another."""
        if target is not None and not target.stored and isinstance(value, dict):
            return self.full(target, value)  # data of the record itself, every key shown
        key = _embed_key(target, value)
        if key is None or target is None:  # _embed_key returns None without a target
            return value
        found = self._embedded.get(key)
        if found is not None:
            return found
        doc = self.fetch(target, key[1])
        if doc is None:
            return value
        block_fields = REFERENCE_BLOCKS.get(target.name)
        if block_fields is not None:
            found = self.block(target, doc, block_fields)
            self._embedded[key] = found
        else:
            plain, refs = self.plan(target).embedding(tuple(doc))
            found = {name: doc[name] for name in plain}
            for name, sub in refs:
                found[name] = self.ref_block(sub, doc[name])
            self._embedded[key] = found
        return found

    def block(
        self, target: ObjectView, doc: dict[str, Any], names: tuple[str, ...]
    ) -> dict[str, Any]:
        key = (target.name, doc["id"])
        found = self._blocks.get(key)
        if found is None:
            found = {n: doc.get(n) for n in names}
            self._blocks[key] = found
        return found

    def ref_block(self, target: ObjectView | None, value: Any) -> Any:
        """A reference cut down to its id and natural keys (``{"id": 1, "code": "USD"}``)."""
        if not isinstance(value, dict) or target is None or not target.stored:
            return value
        doc = self.fetch(target, value.get("id"))
        if doc is None:
            return value
        block_fields = REFERENCE_BLOCKS.get(target.name)
        if block_fields is not None:
            return self.block(target, doc, block_fields)
        out = {"id": doc.get("id")}
        for name in target.key_fields:
            item = doc.get(name)
            fd = target.obj.fields.get(name)
            if fd is not None and fd.kind in SCALAR_KINDS:
                out[name] = item
        return out

    def shallow(self, view: ObjectView, doc: dict[str, Any]) -> dict[str, Any]:
        """Own attributes; associations and lines as id plus natural keys."""
        out: dict[str, Any] = {}
        steps = self.plan(view).steps
        for name in self.plan(view).order:
            kind, target = steps[name]
            value = doc.get(name)
            if kind == "reference":
                out[name] = self.ref_block(target, value)
            elif kind == "collection":
                items = value if isinstance(value, list) else []
                if target is not None and not target.stored:
                    keys = ("id", *target.key_fields)
                    out[name] = [
                        {k: i.get(k) for k in keys if k in i} for i in items if isinstance(i, dict)
                    ]
                else:
                    out[name] = [self.ref_block(target, i) for i in items]
            elif kind == "custom-fields":
                out[name] = value if isinstance(value, dict) else {}
            elif value is None and kind == "boolean":
                out[name] = False
            else:
                out[name] = value
        return out

    def project(
        self, view: ObjectView | None, doc: dict[str, Any], spec: FieldSpec
    ) -> dict[str, Any]:
        """Exactly the fields a ``fields`` selection names, nested selections applied."""
        out: dict[str, Any] = {}
        for name, sub in spec.items():
            value = doc.get(name)
            fd = view.obj.fields.get(name) if view is not None else None
            kind = fd.kind if fd is not None else None
            target = view.targets.get(name) if view is not None else None
            target_view = self.views.view(target) if target is not None else None
            if kind == "custom-fields" or sub == "all":
                cf = value if isinstance(value, dict) else {}
                out[name] = {k: cf.get(k) for k in sub} if isinstance(sub, dict) else cf
            elif kind == "reference":
                if isinstance(sub, dict):
                    resolved = value
                    if isinstance(value, dict) and target_view is not None and target_view.stored:
                        resolved = self.fetch(target_view, value.get("id")) or value
                    out[name] = (
                        self.project(target_view, resolved, sub)
                        if isinstance(resolved, dict)
                        else None
                    )
                elif view is not None:
                    out[name] = self.embed(target_view, value)
            elif kind == "collection":
                items = value if isinstance(value, list) else []
                if isinstance(sub, dict):
                    out[name] = [self._project_member(target_view, i, sub) for i in items]
                elif target_view is not None and not target_view.stored:
                    out[name] = [self.full(target_view, i) for i in items if isinstance(i, dict)]
                else:
                    out[name] = [self.embed(target_view, i) for i in items]
            elif isinstance(sub, dict) and isinstance(value, dict):
                out[name] = self.project(None, value, sub)
            elif value is None and kind == "boolean" and name not in doc:
                out[name] = False
            else:
                out[name] = value
        return out

    def _project_member(self, target: ObjectView | None, item: Any, sub: FieldSpec) -> Any:
        if not isinstance(item, dict):
            return item
        if target is not None and target.stored:
            item = self.fetch(target, item.get("id")) or item
        return self.project(target, item, sub)
