"""coupa-connector: a connector for the Coupa Core REST API.

The public API is what this module exports; everything else is private.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from coupa_connector.catalog import (
    Catalog,
    FieldDef,
    InstanceField,
    ObjectDef,
    Overlay,
    OverlayError,
    Problem,
    RecordCheck,
    check_record,
    json_schema,
    load_catalog,
    load_overlay,
    save_overlay,
    validate_record,
    with_overlay,
)
from coupa_connector.errors import (
    APIError,
    AuthenticationError,
    CatalogError,
    ConfigurationError,
    CoupaError,
    FileError,
    FileTooLargeError,
    IncompleteDownloadError,
    NotFoundError,
    PagingError,
    PermissionDeniedError,
    QueryError,
    RateLimitError,
    ServerError,
    TransportError,
    UnknownFieldError,
    UnknownObjectError,
    ValidationError,
)

if TYPE_CHECKING:
    from coupa_connector._connection import AsyncConnection, Connection
    from coupa_connector._records import flatten, unflatten
    from coupa_connector.activities.attachments import Attachment, BulkDownloadResult, Downloaded
    from coupa_connector.activities.discover import DiscoverReport, ObjectDiscovery, discover
    from coupa_connector.activities.flatfile import FileLoad, PollPolicy, RowError
    from coupa_connector.activities.query import Page, QueryOptions, QuerySpec, build_query
    from coupa_connector.activities.write._results import WriteOutcome, WriteResult, WriteSummary
    from coupa_connector.activities.write._send import WriteOptions
    from coupa_connector.client import (
        CheckResult,
        ConnectionConfig,
        ConnectionStats,
        ConnectionTestReport,
        RateLimit,
        RetryPolicy,
        SecretStr,
        Timeout,
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
    from coupa_connector.operations.extract._extract import ExtractResult, extract
    from coupa_connector.operations.files.coupa_csv import read_coupa_csv, write_coupa_csv

# Heavier parts load on first use, so `import coupa_connector` and the CLI start fast.
_LAZY: dict[str, str] = {
    "AsyncConnection": "coupa_connector._connection",
    "Attachment": "coupa_connector.activities.attachments",
    "BulkDownloadResult": "coupa_connector.activities.attachments",
    "Downloaded": "coupa_connector.activities.attachments",
    "CheckResult": "coupa_connector.client",
    "Connection": "coupa_connector._connection",
    "ConnectionConfig": "coupa_connector.client",
    "ConnectionStats": "coupa_connector.client",
    "ConnectionTestReport": "coupa_connector.client",
    "DiscoverReport": "coupa_connector.activities.discover",
    "ExtractResult": "coupa_connector.operations.extract._extract",
    "FileLoad": "coupa_connector.activities.flatfile",
    "PollPolicy": "coupa_connector.activities.flatfile",
    "RowError": "coupa_connector.activities.flatfile",
    "ObjectDiscovery": "coupa_connector.activities.discover",
    "OpLog": "coupa_connector.operations",
    "OperationFileError": "coupa_connector.operations",
    "Page": "coupa_connector.activities.query",
    "QueryOptions": "coupa_connector.activities.query",
    "QuerySpec": "coupa_connector.activities.query",
    "RateLimit": "coupa_connector.client",
    "RetryPolicy": "coupa_connector.client",
    "RunResult": "coupa_connector.operations",
    "SecretStr": "coupa_connector.client",
    "Timeout": "coupa_connector.client",
    "WriteOptions": "coupa_connector.activities.write._send",
    "WriteOutcome": "coupa_connector.activities.write._results",
    "WriteResult": "coupa_connector.activities.write._results",
    "WriteSummary": "coupa_connector.activities.write._results",
    "build_query": "coupa_connector.activities.query",
    "discover": "coupa_connector.activities.discover",
    "extract": "coupa_connector.operations.extract._extract",
    "flatten": "coupa_connector._records",
    "load_operation_file": "coupa_connector.operations",
    "open_writer": "coupa_connector.operations",
    "read_coupa_csv": "coupa_connector.operations.files.coupa_csv",
    "read_records": "coupa_connector.operations",
    "run_operations": "coupa_connector.operations",
    "unflatten": "coupa_connector._records",
    "write_coupa_csv": "coupa_connector.operations.files.coupa_csv",
}

# A library adds only a NullHandler; applications (and our CLI) configure handlers.
logging.getLogger("coupa_connector").addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AsyncConnection",
    "Attachment",
    "AuthenticationError",
    "BulkDownloadResult",
    "Catalog",
    "CatalogError",
    "CheckResult",
    "ConfigurationError",
    "Connection",
    "ConnectionConfig",
    "ConnectionStats",
    "ConnectionTestReport",
    "CoupaError",
    "DiscoverReport",
    "Downloaded",
    "ExtractResult",
    "FieldDef",
    "FileError",
    "FileLoad",
    "FileTooLargeError",
    "IncompleteDownloadError",
    "InstanceField",
    "NotFoundError",
    "ObjectDef",
    "ObjectDiscovery",
    "OpLog",
    "OperationFileError",
    "Overlay",
    "OverlayError",
    "Page",
    "PagingError",
    "PermissionDeniedError",
    "PollPolicy",
    "Problem",
    "QueryError",
    "QueryOptions",
    "QuerySpec",
    "RateLimit",
    "RateLimitError",
    "RecordCheck",
    "RetryPolicy",
    "RowError",
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
    "check_record",
    "discover",
    "extract",
    "flatten",
    "json_schema",
    "load_catalog",
    "load_operation_file",
    "load_overlay",
    "open_writer",
    "read_coupa_csv",
    "read_records",
    "run_operations",
    "save_overlay",
    "unflatten",
    "validate_record",
    "with_overlay",
    "write_coupa_csv",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'coupa_connector' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
