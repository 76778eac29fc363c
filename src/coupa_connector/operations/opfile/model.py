"""The model of an operation file: a connection and named operations, each a source, a
transformation and a target. Plain data, built and checked by ``load``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coupa_connector.activities.monitoring import MonitorSettings
from coupa_connector.catalog import VALIDATIONS, ValidationMode
from coupa_connector.errors import ConfigurationError
from coupa_connector.operations._transform import TransformSpec

__all__ = [
    "VARIABLE",
    "ConnectionSpec",
    "EndpointSpec",
    "OperationFile",
    "OperationSpec",
    "validation_mode",
    "variable_names",
]


@dataclass(frozen=True, slots=True)
class ConnectionSpec:
    """Where the operations' Coupa is.

    Attributes:
        kind: ``sandbox`` (embedded), ``profile``, ``env`` (``COUPA_*`` variables) or
            ``settings`` (given in the file, secrets from named environment variables).
        profile: Profile name for ``profile``.
        settings: ``ConnectionConfig`` arguments for ``settings``; sandbox options for
            ``sandbox``.
        line: Line of the ``connection`` key.
    """

    kind: str
    profile: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """A source or target: its type and options (with ``${var}`` already filled); what the
    type means is its entry in ``endpoints.registry.REGISTRY``."""

    type: str
    options: Mapping[str, Any]
    line: int = 0
    is_coupa: bool = False
    """Whether it talks to Coupa (from the type's registry entry, set on load)."""


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One named operation of a file.

    ``monitoring`` is its ``coupa_monitoring`` (an integration run in Coupa per run);
    ``watermark`` says where an incremental source's watermark is kept: ``local`` (the
    operation log) or ``coupa`` (the integration's runs, shared by every machine).
    """

    name: str
    source: EndpointSpec
    target: EndpointSpec
    transform: TransformSpec = field(default_factory=TransformSpec)
    on_success: tuple[str, ...] = ()
    on_failure: tuple[str, ...] = ()
    debug: bool = False
    batch_size: int = 50
    rejects: str | None = None
    description: str = ""
    line: int = 0
    monitoring: MonitorSettings | None = None
    watermark: str = "local"

    @property
    def needs_coupa(self) -> bool:
        """Whether it talks to Coupa: through an endpoint, or to keep its run there."""
        return self.source.is_coupa or self.target.is_coupa or self.monitoring is not None


@dataclass(frozen=True, slots=True)
class OperationFile:
    """A parsed, checked operation file.

    Attributes:
        path: The file, resolved.
        connection: Its connection (None when no operation needs Coupa).
        operations: Operations by name, in file order.
        vars: Variables after command-line overrides.
    """

    path: Path
    connection: ConnectionSpec | None
    operations: Mapping[str, OperationSpec]
    vars: Mapping[str, str] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        """Folder that relative input paths (file sources, lookup files) are resolved in."""
        return self.path.parent

    @property
    def needs_coupa(self) -> bool:
        return any(op.needs_coupa for op in self.operations.values())


VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def variable_names(text: str) -> list[str]:
    """The ``${name}`` variables an operation file's text uses, in order of first use."""
    return list(dict.fromkeys(VARIABLE.findall(text)))


def validation_mode(value: Any) -> ValidationMode:
    """A Coupa target's ``validate:`` setting as a validation mode: ``lenient`` (the
    default: warnings are reported, the record is sent), ``strict`` (warnings refuse the
    record) or ``off`` (sent unchecked); true and false read as lenient and off.

    Raises:
        ConfigurationError: Any other value.
    """
    if value is None or value is True:
        return "lenient"
    if value is False:
        return "off"
    if isinstance(value, str) and value in VALIDATIONS:
        return value
    raise ConfigurationError(
        f"validate must be one of {', '.join(VALIDATIONS)} (or true/false), not {value!r}"
    )
