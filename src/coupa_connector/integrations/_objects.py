"""What the integrations share: which objects can be read, and what a projection asks for.

Built on the public catalog only (``load_catalog``, ``ObjectDef``): object knowledge stays
data, and the integrations have no per-object code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from coupa_connector import Catalog, ObjectDef

ID = "id"
UPDATED_AT = "updated-at"


def wire(name: str) -> str:
    """A field or object name as Coupa spells it on the wire (``invoice_lines`` ->
    ``invoice-lines``)."""
    return name.strip().lower().replace("_", "-")


def readable_objects(catalog: Catalog) -> list[ObjectDef]:
    """Every object that can be read on its own with a query, sorted by name.

    Objects listed per parent record (``/api/invoices/:id/...``) and those the connector
    leaves out are not among them: their records come inside their parent's.
    """
    return [
        obj
        for obj in catalog.resources()
        if obj.supported and obj.can_query and obj.resource and ":" not in obj.resource
    ]


def readable_object(catalog: Catalog, name: str) -> ObjectDef:
    """One object by any of its names, checked to be readable on its own.

    Raises:
        UnknownObjectError: The catalog does not know the name.
        ValueError: The object cannot be queried by itself.
    """
    obj = catalog.get(name)
    if obj not in readable_objects(catalog):
        raise ValueError(
            f"{obj.name} cannot be read on its own (no query of its own in Coupa's API); "
            "read the object whose records carry it."
        )
    return obj


def is_incremental(obj: ObjectDef) -> bool:
    """Whether the object's records carry ``updated-at``, the replication key."""
    return UPDATED_AT in obj.fields


def projection(obj: ObjectDef, paths: Iterable[str] | None) -> list[str] | None:
    """The dotted paths to send as ``fields=`` for a consumer that uses ``paths``.

    None (ask for whole records) when ``paths`` is None or names every readable field of
    the object. Otherwise the paths, with ``id`` (the primary key and the pager's cursor)
    and ``updated-at`` (the replication key) added when the object has them, in order and
    without repeats.
    """
    if paths is None:
        return None
    wanted = [wire(p) for p in paths]
    tops = {p.split(".", 1)[0] for p in wanted}
    readable = {name for name, f in obj.fields.items() if f.readable}
    if readable <= tops and all("." not in p for p in wanted):
        return None
    keys = [ID, *([UPDATED_AT] if is_incremental(obj) else [])]
    return list(dict.fromkeys([*keys, *wanted]))


def split_paths(paths: Sequence[str]) -> dict[str, list[str]]:
    """Dotted paths grouped by their first part (``invoice-lines.price`` under
    ``invoice-lines``); a bare name maps to an empty list (the whole value)."""
    groups: dict[str, list[str]] = {}
    for path in paths:
        head, _, rest = wire(path).partition(".")
        sub = groups.setdefault(head, [])
        if rest:
            sub.append(rest)
    return groups
