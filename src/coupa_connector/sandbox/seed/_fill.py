"""Values for the documented fields the rest of the seed leaves unset, on the main objects.

Coupa's records carry most of their documented fields; a seed that sets only the few the
sandbox's rules use leaves clients reading nulls they would never see. Every main object's
readable scalar fields and references to seeded records that a record does not set get a
value here, drawn from the record's id (never from the random generator, so the rest of the
data stays as it was): a listed value of the field, a number, the record's creation time, a
label naming the field. Fields a record sets to null on purpose (``last-exported-at`` of a
record never exported) stay null, and so do secrets, ids of records that do not exist, and
embedded objects the seed does not model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from coupa_connector.catalog import FieldDef
from coupa_connector.sandbox._objects import EMBED_SKIP, ObjectView, Views, human_name

__all__ = ["FILLED", "FillPlan", "complete", "fill_plan"]

# The objects whose records are completed here. Invoices and suppliers get theirs from
# ``_details``, with values that follow from the record and what it points at (discounts
# from payment terms, addresses and account numbers from suppliers, country fields from
# where an invoice is issued).
FILLED = (
    "purchase_orders",
    "requisitions",
    "receiving_transactions",
    "users",
    "approvals",
    "contracts",
    "expense_reports",
)
# Names that stay null: secrets and passwords are not made up.
_NEVER = ("secret", "password", "token")

# Scalar kinds a small embedded object is made of, and how many fields make it small.
_SCALARS = frozenset({"string", "text", "integer", "decimal", "float", "datetime", "date"})
_SMALL = 12
# (record id, record) -> value.
_Maker = Callable[[int, dict[str, Any]], Any]
FillPlan = tuple[tuple[str, _Maker], ...]


def _text(fd: FieldDef) -> _Maker:
    if fd.allowed:
        allowed = fd.allowed
        return lambda rid, doc: allowed[rid % len(allowed)]
    label = human_name(fd.name)
    limit = fd.max_length or 255
    return lambda rid, doc: f"{label} {rid}"[:limit]


def _maker(
    fd: FieldDef, view: ObjectView, ids: Mapping[str, list[int]], views: Views | None = None
) -> _Maker | None:
    kind = fd.kind
    if kind in ("string", "text"):
        return _text(fd)
    if kind == "integer":
        return None if fd.name.endswith("-id") else (lambda rid, doc: rid % 97 + 1)
    if kind == "decimal":
        return lambda rid, doc: f"{(rid % 40) * 2.5:.2f}"
    if kind == "float":
        return lambda rid, doc: float(rid % 40) * 2.5
    if kind == "datetime":
        return lambda rid, doc: doc.get("created-at")
    if kind == "date":
        return lambda rid, doc: (doc.get("created-at") or "")[:10] or None
    if kind == "reference" and fd.name not in EMBED_SKIP:
        target = view.targets.get(fd.name)
        choices = ids.get(target.name, []) if target is not None else []
        if choices:
            return lambda rid, doc: {"id": choices[rid % len(choices)]}
        if target is not None and views is not None and not views.view(target).stored:
            return _embedded(views, views.view(target), ids)
    return None


def _embedded(views: Views, target: ObjectView, ids: Mapping[str, list[int]]) -> _Maker | None:
    """A small value object kept in the record (a phone number, an approval limit), made
    from its own scalar fields; larger embedded objects are not made up."""
    parts = [
        (name, maker)
        for name in target.order
        if target.obj.fields[name].kind in _SCALARS
        and (maker := _maker(target.obj.fields[name], target, ids)) is not None
    ]
    if not parts or len(parts) > _SMALL:
        return None
    return lambda rid, doc: {name: make(rid, doc) for name, make in parts}


def fill_plan(views: Views, res: str, ids: Mapping[str, list[int]]) -> FillPlan:
    """What to fill in records of ``res``: its readable fields with a way to make a value.

    Args:
        views: The catalog views.
        res: The resource.
        ids: Ids of the seeded records of each resource, for references.
    """
    view = views.view(views.catalog.get(res))
    plan: list[tuple[str, _Maker]] = []
    for name in view.order:
        fd = view.obj.fields[name]
        if fd.query_alias is not None or any(word in name for word in _NEVER):
            continue
        maker = _maker(fd, view, ids, views)
        if maker is not None:
            plan.append((name, maker))
    return tuple(plan)


def complete(plan: FillPlan, docs: list[dict[str, Any]]) -> None:
    """Give each record the planned fields it does not have."""
    for doc in docs:
        rid = doc["id"]
        for name, make in plan:
            if name not in doc:
                doc[name] = make(rid, doc)
