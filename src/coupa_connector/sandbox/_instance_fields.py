"""The sandbox instance's own fields beyond its seeded custom fields, served the way Coupa
serves them.

Every Coupa instance adds fields of its own to the objects it uses (coupa-api.md 3.2): newer
custom fields inside the ``custom-fields`` wrapper, older ones with "API Global Namespace"
as top-level elements of the record. The catalog cannot know them; a real instance has them.
Besides the custom fields its seed fills (``CUSTOM_FIELDS`` in ``_objects``), the sandbox
declares here a wrapped one set only through the API and legacy top-level ones, and serves,
stores and filters them like its other fields: a wrapped one by its own name
(``?erp_ref[contains]=X``), a top-level one (``<erp-batch>``) on every record, null until
set. Clients learn them from records (``coupa discover``), as from a real instance.

The declaration is an instance overlay (``catalog._overlay``): the sandbox serves the catalog
plus it, so the top-level fields are fields of their objects like any other.
"""

from __future__ import annotations

import functools

from coupa_connector.catalog import Catalog, InstanceField, Overlay, load_catalog, with_overlay
from coupa_connector.catalog._overlay import Place

__all__ = ["INSTANCE_FIELDS", "SANDBOX_INSTANCE", "sandbox_catalog", "with_declared_custom_fields"]

SANDBOX_INSTANCE = "https://sandbox.coupa.invalid"

_WRAPPED: tuple[Place, ...] = ("custom-fields",)
_TOP_LEVEL: tuple[Place, ...] = ("top-level",)

# [I] Which fields exist is each instance's own; these are the sandbox's, set by the API.
INSTANCE_FIELDS: dict[str, tuple[InstanceField, ...]] = {
    "invoices": (
        InstanceField("erp-ref", "string", _WRAPPED, custom=True, max_length=40),
        InstanceField("erp-batch", "string", _TOP_LEVEL, custom=True, max_length=20),
    ),
    "suppliers": (InstanceField("legacy-vendor-code", "string", _TOP_LEVEL, custom=True),),
}


@functools.cache
def sandbox_catalog() -> Catalog:
    """The catalog the sandbox serves: the shipped one plus the sandbox instance's fields."""
    return with_overlay(load_catalog(), Overlay.build(SANDBOX_INSTANCE, INSTANCE_FIELDS))


def with_declared_custom_fields(
    seeded: dict[str, tuple[str, ...]],
) -> dict[str, tuple[str, ...]]:
    """The custom fields filterable by name: those the seed fills, and the declared ones
    inside ``custom-fields``."""
    out = dict(seeded)
    for resource, fields in INSTANCE_FIELDS.items():
        wrapped = tuple(f.name for f in fields if "custom-fields" in f.places)
        out[resource] = tuple(dict.fromkeys((*out.get(resource, ()), *wrapped)))
    return out
