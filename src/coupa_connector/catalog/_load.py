"""Loading the shipped catalog file, once per process."""

from __future__ import annotations

import functools
from importlib import resources

import orjson

from coupa_connector.catalog._model import Catalog, ObjectDef

__all__ = ["CATALOG_FILE", "load_catalog"]

CATALOG_FILE = "catalog.json"


@functools.cache
def load_catalog() -> Catalog:
    """Load the shipped catalog (once per process; later calls return the same object)."""
    raw = resources.files("coupa_connector.catalog").joinpath(CATALOG_FILE).read_bytes()
    data = orjson.loads(raw)
    return Catalog({o["name"]: ObjectDef.from_dict(o) for o in data["objects"]})
