"""Operations: move records from a source through a transformation to a target, with a log.

Also the record-file readers and writers every layer uses for CSV, JSONL, JSON and XML files.
"""

from __future__ import annotations

from coupa_connector.operations._functions import FUNCTION_HELP, TransformFunctions
from coupa_connector.operations._oplog import (
    Counts,
    OpLog,
    RecordOutcome,
    default_log_path,
    scope_instance,
)
from coupa_connector.operations._runner import (
    Progress,
    Runner,
    RunResult,
    connection_config,
    run_operations,
)
from coupa_connector.operations._transform import (
    Item,
    Transformed,
    Transformer,
    TransformSpec,
    compile_expression,
)
from coupa_connector.operations.endpoints.registry import REGISTRY
from coupa_connector.operations.files._files import (
    FORMATS,
    BadRecord,
    RecordFileError,
    expand_path,
    guess_format,
    read_records,
)
from coupa_connector.operations.files._output import RecordWriter, open_writer
from coupa_connector.operations.opfile._yaml import OperationFileError, OperationProblem
from coupa_connector.operations.opfile.load import load_operation_file
from coupa_connector.operations.opfile.model import (
    ConnectionSpec,
    EndpointSpec,
    OperationFile,
    OperationSpec,
    variable_names,
)

ENDPOINTS = REGISTRY
"""The endpoint types by name (the registry; the earlier name)."""

__all__ = [
    "ENDPOINTS",
    "FORMATS",
    "FUNCTION_HELP",
    "REGISTRY",
    "BadRecord",
    "ConnectionSpec",
    "Counts",
    "EndpointSpec",
    "Item",
    "OpLog",
    "OperationFile",
    "OperationFileError",
    "OperationProblem",
    "OperationSpec",
    "Progress",
    "RecordFileError",
    "RecordOutcome",
    "RecordWriter",
    "RunResult",
    "Runner",
    "TransformFunctions",
    "TransformSpec",
    "Transformed",
    "Transformer",
    "compile_expression",
    "connection_config",
    "default_log_path",
    "expand_path",
    "guess_format",
    "load_operation_file",
    "open_writer",
    "read_records",
    "run_operations",
    "scope_instance",
    "variable_names",
]
