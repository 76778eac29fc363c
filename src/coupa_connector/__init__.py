"""coupa-connector: a connector for the Coupa Core REST API.

The public API is what this module exports; everything else is private.
"""

from __future__ import annotations

import logging

from coupa_connector.catalog import (
    Catalog,
    FieldDef,
    ObjectDef,
    Problem,
    json_schema,
    load_catalog,
    validate_record,
)
from coupa_connector.errors import (
    APIError,
    AuthenticationError,
    CatalogError,
    ConfigurationError,
    CoupaError,
    NotFoundError,
    PermissionDeniedError,
    QueryError,
    RateLimitError,
    ServerError,
    TransportError,
    UnknownFieldError,
    UnknownObjectError,
    ValidationError,
)

# A library adds only a NullHandler; applications (and our CLI) configure handlers.
logging.getLogger("coupa_connector").addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AuthenticationError",
    "Catalog",
    "CatalogError",
    "ConfigurationError",
    "CoupaError",
    "FieldDef",
    "NotFoundError",
    "ObjectDef",
    "PermissionDeniedError",
    "Problem",
    "QueryError",
    "RateLimitError",
    "ServerError",
    "TransportError",
    "UnknownFieldError",
    "UnknownObjectError",
    "ValidationError",
    "json_schema",
    "load_catalog",
    "validate_record",
]
