"""coupa-connector: a connector for the Coupa Core REST API.

The public API is what this module exports; everything else is private.
"""

from __future__ import annotations

import logging

from coupa_connector._records import flatten, unflatten
from coupa_connector.activities._extract import ExtractResult, extract
from coupa_connector.activities._writes_model import WriteOutcome, WriteResult, WriteSummary
from coupa_connector.activities._writes_send import WriteOptions
from coupa_connector.activities.query import Page, QuerySpec, build_query
from coupa_connector.catalog import (
    Catalog,
    FieldDef,
    ObjectDef,
    Problem,
    json_schema,
    load_catalog,
    validate_record,
)
from coupa_connector.client import (
    AsyncConnection,
    CheckResult,
    Connection,
    ConnectionConfig,
    ConnectionStats,
    ConnectionTestReport,
    RateLimit,
    RetryPolicy,
    SecretStr,
    Timeout,
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
from coupa_connector.operations import (
    OperationFileError,
    OpLog,
    RunResult,
    load_operation_file,
    open_writer,
    read_records,
    run_operations,
)

# A library adds only a NullHandler; applications (and our CLI) configure handlers.
logging.getLogger("coupa_connector").addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AsyncConnection",
    "AuthenticationError",
    "Catalog",
    "CatalogError",
    "CheckResult",
    "ConfigurationError",
    "Connection",
    "ConnectionConfig",
    "ConnectionStats",
    "ConnectionTestReport",
    "CoupaError",
    "ExtractResult",
    "FieldDef",
    "NotFoundError",
    "ObjectDef",
    "OpLog",
    "OperationFileError",
    "Page",
    "PermissionDeniedError",
    "Problem",
    "QueryError",
    "QuerySpec",
    "RateLimit",
    "RateLimitError",
    "RetryPolicy",
    "RunResult",
    "SecretStr",
    "ServerError",
    "Timeout",
    "TransportError",
    "UnknownFieldError",
    "UnknownObjectError",
    "ValidationError",
    "WriteOptions",
    "WriteOutcome",
    "WriteResult",
    "WriteSummary",
    "build_query",
    "extract",
    "flatten",
    "json_schema",
    "load_catalog",
    "load_operation_file",
    "open_writer",
    "read_records",
    "run_operations",
    "unflatten",
    "validate_record",
]
