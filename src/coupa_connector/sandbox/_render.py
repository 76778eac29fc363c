"""Stored documents -> Coupa's record shapes: full, shallow, limited, or a ``fields`` selection.

A full record lists every readable field of its object (null when unset), embeds each
referenced record as an object of its own (users as Coupa's small user reference block) and
its child lines in full. Embedded records carry their own attributes, with their references
cut down to id and natural keys, which keeps pages bounded however records chain.

Full JSON pages are spliced from each record's skeleton (``_skeletons``): kept by the store
since the record was written, or made from its document the first time it is served.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from coupa_connector.sandbox._marks import MARK, is_tail, parse_ref, tail_of
from coupa_connector.sandbox._objects import REFERENCE_BLOCKS, SCALAR_KINDS, ObjectView, Views
from coupa_connector.sandbox._plans import Plan, plan_of
from coupa_connector.sandbox._query import FieldSpec, ReturnObject
from coupa_connector.sandbox._skeletons import Skeletons
from coupa_connector.sandbox._store import Store

__all__ = ["RenderCache", "Renderer", "Row", "json_array_of"]

# A record to render as full JSON: its id, its skeleton if the store keeps one, and its
# document (stored JSON, or parsed; None when the skeleton is given).
Row = tuple[int, bytes | None, bytes | str | dict[str, Any] | None]


class RenderCache:
    """Referenced records and their embedded renderings, shared by requests until the next
    write to the store (any write: an embedded record shows its references' keys too)."""

    def __init__(self, store: Store, limit: int = 50_000) -> None:
        self.store = store
        self.limit = limit
        self.generation = -1
        self.docs: dict[tuple[str, int], dict[str, Any] | None] = {}
        self.embedded: dict[tuple[str, int], dict[str, Any]] = {}
        # What each mark of a skeleton is filled in with (``_marks``): the referenced
        # record embedded, as JSON, or the fields a shape leaves unset.
        self.filled: dict[bytes, bytes] = {}
        self.blocks: dict[tuple[str, int], dict[str, Any]] = {}
        # Full JSON renderings of top-level records, as the pieces they are joined from
        # (``Renderer.full_pieces``), and about how much memory they hold.
        self.records: dict[tuple[str, int], list[bytes]] = {}
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
            self.filled.clear()
            self.blocks.clear()
            self.records.clear()
            self.record_bytes = 0
            self.generation = self.store.generation
        elif self.record_bytes > self.max_record_bytes:
            self.records.clear()
            self.record_bytes = 0
        return self


def json_array_of(records: Iterable[list[bytes]]) -> bytes:
    """A JSON array of records given as their pieces, joined with one copy."""
    pieces = [b"["]
    for record in records:
        pieces += record
        pieces.append(b",")
    if len(pieces) == 1:
        return b"[]"
    pieces[-1] = b"]"
    return b"".join(pieces)


def _embed_key(target: ObjectView | None, value: Any) -> tuple[str, int] | None:
    """The cache key of a stored record referenced by ``value``, or None to show it as is."""
    if target is None or not target.stored or not isinstance(value, dict):
        return None
    rid = value.get("id")
    return (target.name, rid) if isinstance(rid, int) else None


class Renderer:
    """Renders documents; referenced records are fetched once and reused.

    Args:
        views: The objects served.
        store: Where the records are.
        cache: What requests share until the next write (default: this renderer's own).
        skeletons: The skeleton builder of these views (default: a new one); the store's
            kept skeletons are used and added to only if it is the store's prerenderer's
            equal (``Store.use_prerenderer``).
    """

    def __init__(
        self,
        views: Views,
        store: Store,
        cache: RenderCache | None = None,
        skeletons: Skeletons | None = None,
    ) -> None:
        self.views = views
        self.store = store
        cache = (cache or RenderCache(store)).fresh()
        self._cache = cache
        self._docs = cache.docs
        self._embedded = cache.embedded
        self._blocks = cache.blocks
        self.skeletons = skeletons or Skeletons(views)
        # Plans by view and whether for an embedded copy; views live as long as the
        # renderer (they are cached per catalog), so their ids stay theirs meanwhile.
        self._plans_by_view: dict[tuple[int, bool], Plan] = {}

    @property
    def owner(self) -> object:
        """Whose skeletons this renderer reads and keeps (``Store.renderable``)."""
        return self.skeletons.owner

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

    def full_json(self, view: ObjectView, rows: Sequence[Row]) -> list[bytes]:
        """Full records as JSON, one bytes object each (``full_pieces`` joined)."""
        return [b"".join(pieces) for pieces in self.full_pieces(view, rows)]

    def page_json(self, view: ObjectView, ids: Sequence[int]) -> bytes:
        """A JSON array of full records by id, as a page of them is served: the records not
        spliced yet are read from the store (their skeletons, or their documents where
        there is none); a record gone meanwhile (a reset on another thread) is left out."""
        records = self._cache.records
        name = view.name
        todo = [rid for rid in ids if (name, rid) not in records]
        if todo:
            self.full_pieces(view, self.store.renderable(name, todo, self.owner))
        return json_array_of([records[(name, rid)] for rid in ids if (name, rid) in records])

    def full_pieces(self, view: ObjectView, rows: Sequence[Row]) -> list[list[bytes]]:
        """Full records as the pieces of JSON they are joined from, each record's spliced
        once per store generation.

        A row's skeleton is used as given; a row without one gets it made from its
        document, and the store keeps it if the document came from the store (bytes or
        text) in this generation. A record is kept as its skeleton's literal pieces and the
        renderings that fill its marks, which are shared with every other record using
        them: a third of the memory of its joined JSON (most of which is unset fields and
        embedded records), and memory a server has never touched costs more to fill than
        the join does. The marks the cache cannot fill yet are filled together: referenced
        records not at hand are fetched with one query per resource.
        """
        records = self._cache.records
        name = view.name
        split: list[tuple[int, list[bytes], int]] = []
        made: list[tuple[int, bytes]] = []
        build = self.skeletons.build
        for rid, skeleton, doc in rows:
            if (name, rid) in records:
                continue
            if skeleton is None:
                if isinstance(doc, (bytes, str)):
                    skeleton = build(view, orjson.loads(doc))
                    made.append((rid, skeleton))
                elif isinstance(doc, dict):
                    skeleton = build(view, doc)
                else:
                    raise ValueError(f"{name} {rid}: a row needs its skeleton or its document")
            split.append((rid, skeleton.split(MARK), len(skeleton)))
        if split:
            self._splice(name, split)
        if made:
            self.store.keep_skeletons(name, made, self._cache.generation, self.owner)
        return [records[(name, rid)] for rid, _, _ in rows]

    def _splice(self, name: str, split: list[tuple[int, list[bytes], int]]) -> None:
        """Fill the marks of split skeletons in (at odd positions) and keep the records;
        ``split`` holds (id, the skeleton's pieces, its size)."""
        cache = self._cache
        records = cache.records
        fill = cache.filled.__getitem__
        done = 0
        while done < len(split):
            try:
                for rid, parts, size in split[done:]:
                    if len(parts) > 1:
                        parts[1::2] = map(fill, parts[1::2])
                    records[(name, rid)] = parts
                    # The literal pieces it holds (about its skeleton), and their headers.
                    cache.record_bytes += size + 40 * len(parts)
                    done += 1
            except KeyError:
                # Marks met for the first time: fill in those of the records still to do
                # (a failed fill leaves its record's pieces as they were).
                filled = cache.filled
                self._fill(
                    {m for _, parts, _ in split[done:] for m in parts[1::2] if m not in filled}
                )

    def _fill(self, marks: set[bytes]) -> None:
        """What each of ``marks`` stands for, into the cache."""
        filled = self._cache.filled
        refs: list[tuple[bytes, str, int, bytes]] = []
        for mark in marks:
            if is_tail(mark):
                filled[mark] = tail_of(mark)
            else:
                refs.append((mark, *parse_ref(mark)))
        self._fetch_missing({(res, rid) for _, res, rid, _ in refs} - self._docs.keys())
        for mark, res, rid, stored in refs:
            target = self.views.view(self.views.catalog.get(res))
            if self._docs.get((res, rid)) is None:
                filled[mark] = stored  # the record is gone: the reference as stored
            else:
                filled[mark] = orjson.dumps(self.embed(target, {"id": rid}))

    def _fetch_missing(self, missing: set[tuple[str, int]]) -> None:
        by_resource: dict[str, set[int]] = {}
        for res, rid in missing:
            by_resource.setdefault(res, set()).add(rid)
        for res, ids in by_resource.items():
            found = self.store.get_many(res, ids)
            for rid in ids:
                self._docs[(res, rid)] = found.get(rid)

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

    def plan(self, view: ObjectView, embedded: bool = False) -> Plan:
        found = plan_of(self.views, view, embedded)
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
