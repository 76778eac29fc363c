"""Coupa's objects, fields and actions as data, with lookup, validation, JSON Schema export,
and each instance's own fields (overlays)."""

from __future__ import annotations

from coupa_connector.catalog._api_facts import (
    DELETED_LINES_SHOWN,
    MAX_INTEGER,
    MIN_INTEGER,
    PAGE_LIMIT,
    QUERY_OPERATORS,
    RAW_QUERY_PARAMETERS,
    coupa_integer,
)
from coupa_connector.catalog._attachments import attachment_parents
from coupa_connector.catalog._load import load_catalog
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
from coupa_connector.catalog._overlay import (
    InstanceField,
    Overlay,
    OverlayError,
    instance_catalog,
    instance_url,
    load_overlay,
    observe_records,
    overlay_path,
    read_overlay,
    save_overlay,
    with_overlay,
)
from coupa_connector.catalog._params import ParamMeaning, query_param
from coupa_connector.catalog._schema import json_schema
from coupa_connector.catalog._validate import (
    CODES,
    RULES,
    VALIDATIONS,
    Code,
    Level,
    Problem,
    RecordCheck,
    ValidationMode,
    check_record,
    validate_record,
)

__all__ = [
    "CODES",
    "DELETED_LINES_SHOWN",
    "MAX_INTEGER",
    "MIN_INTEGER",
    "PAGE_LIMIT",
    "QUERY_OPERATORS",
    "RAW_QUERY_PARAMETERS",
    "RULES",
    "VALIDATIONS",
    "ActionDef",
    "Catalog",
    "Code",
    "Dispute",
    "FieldDef",
    "FieldKind",
    "InstanceField",
    "Level",
    "ObjectDef",
    "Overlay",
    "OverlayError",
    "ParamMeaning",
    "Problem",
    "RecordCheck",
    "RouteDef",
    "Source",
    "ValidationMode",
    "attachment_parents",
    "check_record",
    "coupa_integer",
    "instance_catalog",
    "instance_url",
    "json_schema",
    "load_catalog",
    "load_overlay",
    "observe_records",
    "overlay_path",
    "query_param",
    "read_overlay",
    "save_overlay",
    "validate_record",
    "wire_name",
    "with_overlay",
]
