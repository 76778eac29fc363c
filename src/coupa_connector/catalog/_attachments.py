"""Which objects have attachments: the parents of the catalog's attachment routes."""

from __future__ import annotations

import functools

from coupa_connector.catalog._model import Catalog

__all__ = ["attachment_parents"]

ATTACHMENTS = "attachments"


@functools.lru_cache(maxsize=4)
def attachment_parents(catalog: Catalog) -> frozenset[str]:
    """Catalog names of the objects Coupa lists ``/api/<parent>/:id/attachments`` under:
    the parents of Swagger's nested attachment routes and of the reference's
    ``create_under_*`` actions, where the catalog serves them as resources."""
    obj = catalog.get(ATTACHMENTS)
    names = {r.parent for r in obj.routes if r.nested and r.parent}
    for action in obj.actions:
        parts = action.path.strip("/").split("/")
        if len(parts) == 4 and parts[0] == "api" and parts[3] == ATTACHMENTS:
            names.add(parts[1])
    return frozenset(n for n in names if n in catalog and catalog.get(n).resource)
