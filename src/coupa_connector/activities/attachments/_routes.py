"""Where attachments and documents live, from the catalog's routes.

The parents are the objects Coupa lists ``/api/<parent>/:id/attachments`` routes under; the
documents of an object are its ``binary`` routes (``retrieve_image_scan``,
``retrieve_legal_agreement``, ``download``), and its ``upload`` routes take files
(``image_scan``). Short kind names for the command line map onto route names here.
"""

from __future__ import annotations

from coupa_connector.catalog import Catalog, ObjectDef, RouteDef, attachment_parents
from coupa_connector.errors import ConfigurationError

__all__ = ["DOCUMENT_ALIASES", "attachment_parents", "document_route", "number_field", "parent"]

# Short names for documents: alias -> the binary route's name.
DOCUMENT_ALIASES: dict[str, str] = {
    "scan": "retrieve_image_scan",
    "legal-pdf": "retrieve_legal_invoice_pdf",
    "clearance": "retrieve_clearance_document",
    "legal-agreement": "retrieve_legal_agreement",
    "receipts": "download",
}


def parent(catalog: Catalog, name: str | ObjectDef) -> ObjectDef:
    """The parent object of attachments, by any of its names.

    Raises:
        ConfigurationError: Coupa has no attachments under it.
    """
    obj = name if isinstance(name, ObjectDef) else catalog.get(name)
    if obj.name not in attachment_parents(catalog):
        known = ", ".join(sorted(attachment_parents(catalog)))
        raise ConfigurationError(
            f"{obj.name} have no attachments in Coupa's API; these do: {known}."
        )
    return obj


def _resource_segment(obj: ObjectDef) -> str:
    assert obj.resource is not None
    return obj.resource.rsplit("/", 1)[-1]


def attachments_path(obj: ObjectDef, parent_id: int, attachment_id: int | None = None) -> str:
    path = f"/api/{_resource_segment(obj)}/{int(parent_id)}/attachments"
    return path if attachment_id is None else f"{path}/{int(attachment_id)}"


def document_kinds(obj: ObjectDef) -> list[str]:
    """The documents an object has: its binary routes' names."""
    return sorted({r.name for r in obj.routes if r.kind == "binary" and ":id" in r.path})


def document_route(obj: ObjectDef, kind: str, *, upload: bool = False) -> RouteDef:
    """The route of one document of ``obj``: ``scan``, ``retrieve_image_scan``,
    ``image_scan`` all name the image scan.

    Raises:
        ConfigurationError: ``obj`` has no such document; the message lists what it has.
    """
    wanted = DOCUMENT_ALIASES.get(kind, kind).replace("-", "_")
    base = wanted.removeprefix("retrieve_")
    for route in obj.routes:
        if ":id" not in route.path or route.nested:
            continue
        if upload and route.kind == "upload" and route.name == base and route.verb == "PUT":
            return route
        if not upload and route.kind == "binary" and route.name in (wanted, f"retrieve_{base}"):
            return route
    if upload:
        names = sorted({r.name for r in obj.routes if r.kind == "upload"})
        raise ConfigurationError(
            f"{obj.name} take no {kind} upload; "
            + (f"uploads: {', '.join(names)}." if names else "they take no document uploads.")
        )
    have = document_kinds(obj)
    aliases = [a for a, route in DOCUMENT_ALIASES.items() if route in have]
    raise ConfigurationError(
        f"{obj.name} have no {kind!r} document; "
        + (f"they have: {', '.join(aliases + have)}." if have else "they have no documents.")
    )


def route_path(route: RouteDef, record_id: int) -> str:
    return route.path.replace(":id", str(int(record_id)))


def number_field(obj: ObjectDef) -> str | None:
    """The field that numbers an object's records for people (``invoice-number``,
    ``po-number``, ``number``): the first lookup key's lead field that is a number."""
    for key in obj.lookup_keys:
        if key and key[0] != "id" and key[0].endswith("number"):
            return key[0]
    return None
