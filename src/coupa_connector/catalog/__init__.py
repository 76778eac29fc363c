"""Coupa's objects, fields and actions as data, with lookup, validation and JSON Schema export."""

from __future__ import annotations

import functools
import json
from importlib import resources

from coupa_connector.catalog._model import (
    ActionDef,
    Catalog,
    FieldDef,
    FieldKind,
    ObjectDef,
    wire_name,
)

__all__ = [
    "ActionDef",
    "Catalog",
    "FieldDef",
    "FieldKind",
    "ObjectDef",
    "load_catalog",
    "wire_name",
]

CATALOG_FILE = "catalog.json"


@functools.cache
def load_catalog() -> Catalog:
    """Load the shipped catalog (once per process; later calls return the same object)."""
    raw = resources.files(__package__).joinpath(CATALOG_FILE).read_bytes()
    data = json.loads(raw)
    return Catalog({o["name"]: ObjectDef.from_dict(o) for o in data["objects"]})
