"""Each record's full JSON rendering, made when the record is written and kept with it.

A skeleton is everything of a record's full rendering that follows from its own document:
its fields in output order, its lines in full, the data embedded in it. What depends on
other records (the supplier, users and accounts it refers to) and the long runs of unset
fields are marks (``_marks``), filled in when the record is served. So a page of records
the server has never sent is a few splices of kept bytes rather than a parse and a walk of
every document, and a record's skeleton stays right until that record itself is written,
whatever happens to the others.

``Skeletons`` builds them; the store calls it (as its prerenderer) for every record it
writes, and the renderer for records that have none yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from coupa_connector.sandbox._marks import plain_ref_marks, ref_mark
from coupa_connector.sandbox._objects import ObjectView, Views
from coupa_connector.sandbox._plans import Plan, plan_of

__all__ = ["Skeletons"]


class Skeletons:
    """Builds skeletons of records through one set of views.

    Attributes:
        owner: What its skeletons depend on (the views' fingerprint): a store keeps
            skeletons made by one owner and serves them only to renderers of the same.
    """

    def __init__(self, views: Views) -> None:
        self.views = views
        self.owner: object = views.fingerprint
        self._plans: dict[tuple[int, bool], Plan] = {}
        self._by_resource: dict[str, ObjectView | None] = {}

    def view_of(self, res: str) -> ObjectView | None:
        """The stored object a resource's records belong to, None if the catalog has none."""
        try:
            return self._by_resource[res]
        except KeyError:
            pass
        found = None
        if res in self.views.catalog:
            view = self.views.view(self.views.catalog.get(res))
            found = view if view.stored else None
        self._by_resource[res] = found
        return found

    def __call__(self, res: str, docs: Sequence[dict[str, Any]]) -> list[bytes | None]:
        """Skeletons of records being written to ``res`` (None where it has no object)."""
        view = self.view_of(res)
        if view is None:
            return [None] * len(docs)
        build = self.build
        return [build(view, doc) for doc in docs]

    def build(self, view: ObjectView, doc: dict[str, Any]) -> bytes:
        """The skeleton of one document."""
        return orjson.dumps(self._present(view, doc, False))

    def _present(self, view: ObjectView, doc: dict[str, Any], copy: bool) -> dict[str, Any]:
        """A document as it is serialized into its skeleton: its lines, data and copies the
        same way, in place, so that one serialization writes the whole record (``copy``: a
        record's copy kept in another, which leaves out the audit references as embedded
        records do)."""
        plan = self._plans.get((id(view), copy))
        if plan is None:
            plan = plan_of(self.views, view, copy)
            self._plans[(id(view), copy)] = plan
        shape = plan.shapes.get(tuple(doc)) or plan.shape(tuple(doc))
        # Copy the document whole and fix up the few fields that need work, rather than
        # looking at every field in Python: this is the hot loop.
        present = dict(doc)
        for name in shape.drop:
            del present[name]
        known = plain_ref_marks()
        for name, target_name, _ in shape.refs:
            value = doc[name]
            if value.__class__ is dict:
                # Most references are {"id": N} to records referred to before: inline.
                found = known.get((target_name, value.get("id"))) if len(value) == 1 else None
                present[name] = found if found is not None else ref_mark(target_name, value)
        nested = self._present
        for name, target in shape.data:
            value = doc[name]
            if value.__class__ is dict:
                present[name] = nested(target, value, False)
        for name, lines, stored in shape.lists:
            value = doc[name]
            if value.__class__ is not list:
                present[name] = []
            elif not stored:
                present[name] = [
                    nested(lines, i, False) if i.__class__ is dict else i  # type: ignore[arg-type]
                    for i in value
                ]
            else:
                present[name] = [self._member(lines, i) for i in value]
        for name in shape.custom:
            if doc[name].__class__ is not dict:
                present[name] = {}
        tail = shape.tail
        if tail is not None:
            present[tail[0]] = tail[1]
        return present

    def _member(self, target: ObjectView | None, item: Any) -> Any:
        """A member of a collection of stored records (a document's approvals): a copy kept
        in the document is rendered from it, a reference is marked."""
        if target is None or item.__class__ is not dict:
            return item
        if len(item) > 1:
            return self._present(target, item, True)
        if not target.stored:
            return item
        return ref_mark(target.name, item)
