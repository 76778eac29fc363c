"""What the integrations share: which objects can be read, and what a projection asks for.

Built on the public catalog only (``load_catalog``, ``ObjectDef``): object knowledge stays
data, and the integrations have no per-object code.
"""

from __future__ import annotations

from collections.abc import Sequence

from coupa_connector import Catalog, ObjectDef
from coupa_connector.activities.query._projection import (
    ID,
    UPDATED_AT,
    is_incremental,
    projection,
    wire,
)

__all__ = [
    "ID",
    "UPDATED_AT",
    "is_incremental",
    "projection",
    "readable_object",
    "readable_objects",
    "split_paths",
    "wire",
]


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
