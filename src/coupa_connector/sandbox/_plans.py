"""How to render each object, worked out once: its fields in output order with their kinds,
what its unset fields render as, and the shapes of its documents.

Documents of one object mostly share a few key sequences (shapes). For each, a ``Shape``
lists the few fields that need work (references, embedded data, collections, custom fields),
the keys to leave out and the JSON of every field the documents do not set, so that a
record is rendered by copying it and fixing those fields up rather than by looking at each
of its fields in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from coupa_connector.sandbox._marks import tail_mark
from coupa_connector.sandbox._objects import EMBED_SKIP, ObjectView, Views

__all__ = ["Plan", "Shape", "plan_of"]

# One step of a rendering plan: the field's kind and the target's view for associations.
_Step = tuple[str, ObjectView | None]
# What an unset field of a kind renders as: an empty list or set of custom fields, false for
# booleans (Rails boolean columns default to false, and Coupa sends false, never null),
# otherwise null.
_UNSET: dict[str, Any] = {"collection": [], "custom-fields": {}, "boolean": False}
# Kinds whose stored value is not output as is.
_WORK_KINDS = frozenset({"reference", "collection", "custom-fields"})
# Hand-written records can come in any number of shapes: at most this many kept per object.
_MAX_SHAPES = 1024


@dataclass(frozen=True)
class Shape:
    """How to turn a document with a given key sequence into JSON."""

    drop: tuple[str, ...]
    # References to stored records: (field, target name, target view).
    refs: tuple[tuple[str, str, ObjectView], ...]
    # Data embedded in the record (a supplier's primary contact): (field, its object).
    data: tuple[tuple[str, ObjectView], ...]
    # Collections: (field, the lines' object, whether they are records stored on their own).
    lists: tuple[tuple[str, ObjectView | None, bool], ...]
    custom: tuple[str, ...]
    # The fields the documents do not set, as the first of them and a mark standing for
    # the JSON of its value and of the rest (``"a":null,"b":false`` is ``a`` and a mark
    # for ``null,"b":false``), so that serializing a record writes them all out; None
    # when the documents set every field.
    tail: tuple[str, orjson.Fragment] | None


@dataclass(frozen=True)
class Plan:
    """How to render one object, computed once per object."""

    order: tuple[str, ...]
    steps: dict[str, _Step]
    template: dict[str, Any]
    stored_refs: tuple[tuple[str, ObjectView], ...]
    line_collections: tuple[tuple[str, ObjectView], ...]
    shapes: dict[tuple[str, ...], Shape]
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
            if name not in present or name in EMBED_SKIP:
                continue
            kind, sub = self.steps[name]
            if kind == "reference":
                refs.append((name, sub))
            elif kind != "collection":
                plain.append(name)
        found = (tuple(plain), tuple(refs))
        if len(self.embeddings) < _MAX_SHAPES:
            self.embeddings[keys] = found
        return found

    def shape(self, keys: tuple[str, ...]) -> Shape:
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
        tail = None
        if unset:
            first = next(iter(unset))
            after_key = orjson.dumps(unset)[len(orjson.dumps(first)) + 2 : -1]
            tail = (first, orjson.Fragment(tail_mark(after_key)))
        found = Shape(drop, tuple(refs), tuple(data), tuple(lists), tuple(custom), tail)
        if len(self.shapes) < _MAX_SHAPES:
            self.shapes[keys] = found
        return found


_PLANS: dict[tuple[int, str, bool], Plan] = {}


def plan_of(views: Views, view: ObjectView, embedded: bool = False) -> Plan:
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
        if embedded and name in EMBED_SKIP:
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
    found = Plan(
        view.order, steps, template, tuple(stored_refs), tuple(lines), {}, tuple(stored_lists)
    )
    _PLANS[key] = found
    return found
