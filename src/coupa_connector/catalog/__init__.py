"""Coupa's objects, fields and actions as data, with lookup, validation and JSON Schema export."""

from __future__ import annotations

import functools
from importlib import resources

import orjson

from coupa_connector.catalog._api_facts import (
    MAX_INTEGER,
    MIN_INTEGER,
    PAGE_LIMIT,
    QUERY_OPERATORS,
    coupa_integer,
)
from coupa_connector.catalog._model import (
    ActionDef,
    Catalog,
    Dispute,
    FieldDef,
    FieldKind,
    ObjectDef,
    RouteDef,
    Source,
    wire_name,
)
from coupa_connector.catalog._schema import json_schema
from coupa_connector.catalog._validate import RULES, Problem, validate_record

__all__ = [
    "MAX_INTEGER",
    "MIN_INTEGER",
    "PAGE_LIMIT",
    "QUERY_OPERATORS",
    "RULES",
    "ActionDef",
    "Catalog",
    "Dispute",
    "FieldDef",
    "FieldKind",
    "ObjectDef",
    "Problem",
    "RouteDef",
    "Source",
    "coupa_integer",
    "json_schema",
    "load_catalog",
    "validate_record",
    "wire_name",
]

CATALOG_FILE = "catalog.json"


@functools.cache
def load_catalog() -> Catalog:
    """Load the shipped catalog (once per process; later calls return the same object)."""
    raw = resources.files(__package__).joinpath(CATALOG_FILE).read_bytes()
    data = orjson.loads(raw)
    return Catalog({o["name"]: ObjectDef.from_dict(o) for o in data["objects"]})
