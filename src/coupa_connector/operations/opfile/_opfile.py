"""Operation files: parse and check a YAML file of a connection and named operations.

Everything is checked before any data moves, and every problem is reported at once with its
file and line: YAML syntax, unknown keys and endpoint types, missing settings, mapping fields
the Coupa target object does not have, unknown transform functions, chains to operations that
do not exist, a missing or secret-bearing connection.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from coupa_connector._csv_formulas import csv_formulas_mode
from coupa_connector.catalog import (
    VALIDATIONS,
    Catalog,
    ObjectDef,
    ValidationMode,
    instance_catalog,
    load_catalog,
)
from coupa_connector.errors import CatalogError, ConfigurationError, CoupaError
from coupa_connector.operations._functions import TransformValueError, parse_when
from coupa_connector.operations._projection import expression_paths
from coupa_connector.operations._transform import (
    Expression,
    TransformSpec,
    compile_expression,
    function_calls,
)
from coupa_connector.operations.files._files import FORMATS, RecordFileError, guess_format
from coupa_connector.operations.opfile._yaml import (
    LList,
    LMap,
    OperationFileError,
    OperationProblem,
    load_yaml,
)

__all__ = [
    "COUPA_SOURCES",
    "COUPA_TARGETS",
    "ENDPOINTS",
    "ConnectionSpec",
    "EndpointSpec",
    "OperationFile",
    "OperationSpec",
    "load_operation_file",
    "url_secrets",
    "variable_names",
]

COUPA_SOURCES = ("coupa.query",)
COUPA_TARGETS = ("coupa.create", "coupa.update", "coupa.upsert", "coupa.action")


@dataclass(frozen=True, slots=True)
class _EndpointKind:
    roles: tuple[str, ...]  # "source", "target"
    required: dict[str, tuple[str, ...]]  # role -> required keys
    options: frozenset[str]


# What each endpoint type accepts; the runner's endpoint classes read the same keys.
ENDPOINTS: dict[str, _EndpointKind] = {
    "coupa.query": _EndpointKind(
        ("source",),
        {"source": ("object",)},
        frozenset(
            {
                "object",
                "where",
                "fields",
                "order_by",
                "dir",
                "limit",
                "return_object",
                "incremental",
                "since",
                "mark_exported",
                "params",
                "projection",
            }
        ),
    ),
    "coupa.create": _EndpointKind(
        ("target",), {"target": ("object",)}, frozenset({"object", "validate"})
    ),
    "coupa.update": _EndpointKind(
        ("target",), {"target": ("object",)}, frozenset({"object", "key", "validate"})
    ),
    "coupa.upsert": _EndpointKind(
        ("target",), {"target": ("object",)}, frozenset({"object", "key", "validate"})
    ),
    "coupa.action": _EndpointKind(
        ("target",), {"target": ("object", "action")}, frozenset({"object", "action", "id_field"})
    ),
    "file": _EndpointKind(
        ("source", "target"),
        {"source": ("path",), "target": ("path",)},
        frozenset({"path", "format", "columns", "encoding", "csv_formulas"}),
    ),
    "sql": _EndpointKind(
        ("source", "target"),
        {"source": ("query",), "target": ("table",)},
        frozenset({"url", "query", "table", "mode", "key", "columns", "params"}),
    ),
}

_TOP_KEYS = frozenset({"connection", "operations", "vars", "description"})
_OP_KEYS = frozenset(
    {
        "source",
        "transform",
        "target",
        "on_success",
        "on_failure",
        "debug",
        "batch_size",
        "rejects",
        "description",
    }
)
_TRANSFORM_KEYS = frozenset({"mapping", "keep", "group_by", "lines", "keep_nulls"})
_SECRET_KEYS = frozenset(
    {"client_secret", "api_key", "password", "token", "access_token", "secret"}
)
_CONNECTION_SETTINGS = frozenset(
    {
        "url",
        "client_id",
        "scopes",
        "token_url",
        "timeout",
        "verify",
        "ca_bundle",
        "proxy",
        "rate_limit",
        "burst",
        "rate_limit_backend",
        "rate_limit_fallback_share",
        "concurrency",
        "max_retries",
        "wire_format",
        "allow_http",
        "max_response_bytes",
        "client_secret_env",
        "api_key_env",
    }
)
# The embedded sandbox's options: what each holds and, for counts, the least it may be.
_SANDBOX_OPTIONS: dict[str, tuple[type, str, int | None]] = {
    "seed_size": (int, "a whole number of invoices, 0 or more", 0),
    "seed": (int, "a whole number", None),
    "latency_ms": (int, "a whole number of milliseconds, 0 or more", 0),
    "rate_limit": (bool, "true or false", None),
}
# Stands in for a secret read from the environment when the run starts: validating a file
# needs no secrets.
_SECRET_PLACEHOLDER = "read-from-the-environment-at-run-time"


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
    """A source or target: its type and options (with ``${var}`` already filled)."""

    type: str
    options: Mapping[str, Any]
    line: int = 0

    @property
    def is_coupa(self) -> bool:
        return self.type.startswith("coupa.")


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One named operation of a file."""

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
        return any(op.source.is_coupa or op.target.is_coupa for op in self.operations.values())


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def variable_names(text: str) -> list[str]:
    """The ``${name}`` variables an operation file's text uses, in order of first use."""
    return list(dict.fromkeys(_VAR.findall(text)))


class _Checker:
    def __init__(
        self, file: str, variables: Mapping[str, str], written: frozenset[str] = frozenset()
    ) -> None:
        self.file = file
        self.vars = dict(variables)
        # Variables whose values are written in the file itself (vars:, not --var).
        self.written = written
        self.problems: list[OperationProblem] = []
        self.catalog = load_catalog()

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(OperationProblem(self.file, line, message))

    def fill(self, value: Any, line: int) -> Any:
        """Fill ``${name}`` from the file's vars, command-line vars, then the environment."""
        if isinstance(value, str):

            def sub(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in self.vars:
                    return self.vars[name]
                if name in os.environ:
                    return os.environ[name]
                self.problem(
                    line,
                    f"${{{name}}} is not set (define it under vars:, pass --var "
                    f"{name}=..., or set the environment variable)",
                )
                return match.group(0)

            return _VAR.sub(sub, value)
        if isinstance(value, LMap):
            out = LMap({k: self.fill(v, value.line_of(k)) for k, v in value.items()})
            out.line, out.key_lines = value.line, value.key_lines
            return out
        if isinstance(value, LList):
            items = LList(self.fill(v, value.line_of(i)) for i, v in enumerate(value))
            items.line, items.item_lines = value.line, value.item_lines
            return items
        return value

    def object(self, name: Any, line: int) -> ObjectDef | None:
        if not isinstance(name, str) or not name:
            self.problem(line, "object must be a Coupa object name such as invoices")
            return None
        try:
            return self.catalog.get(name)
        except CatalogError as exc:
            self.problem(line, str(exc))
            return None


def load_operation_file(
    path: str | os.PathLike[str], variables: Mapping[str, str] | None = None
) -> OperationFile:
    """Read and check an operation file.

    Args:
        path: The YAML file.
        variables: ``${name}`` values that override the file's ``vars``.

    Returns:
        The parsed file.

    Raises:
        OperationFileError: Anything wrong, every problem with its line.
    """
    file = os.fspath(path)
    try:
        text = Path(file).read_bytes()
    except OSError as exc:
        raise OperationFileError(
            [OperationProblem(file, None, f"cannot read the file: {exc.strerror}")]
        ) from None
    doc = load_yaml(text, file)
    if not isinstance(doc, LMap):
        raise OperationFileError(
            [
                OperationProblem(
                    file,
                    getattr(doc, "line", 1) or 1,
                    "an operation file is a mapping with connection: and operations:",
                )
            ]
        )
    file_vars = doc.get("vars") or {}
    merged = (
        {str(k): str(v) for k, v in file_vars.items()} if isinstance(file_vars, Mapping) else {}
    )
    merged.update(variables or {})
    check = _Checker(file, merged, frozenset(merged) - set(variables or {}))
    if "vars" in doc and not isinstance(file_vars, Mapping):
        check.problem(doc.line_of("vars"), "vars must be a mapping of name: value")
    for key in doc:
        if key not in _TOP_KEYS:
            check.problem(
                doc.line_of(key),
                f"unknown top-level key {key!r}; expected one of {', '.join(sorted(_TOP_KEYS))}",
            )
    connection = _connection(check, doc)
    # The instance's own fields (its overlay, from coupa discover) are known to the checks.
    check.catalog = _instance_catalog(connection)
    ops_node = doc.get("operations")
    operations: dict[str, OperationSpec] = {}
    if not isinstance(ops_node, LMap) or not ops_node:
        check.problem(
            doc.line_of("operations") or 1, "operations: must map operation names to operations"
        )
    else:
        for name, body in ops_node.items():
            op = _operation(check, name, body, ops_node.line_of(name))
            if op is not None:
                operations[name] = op
        for op in operations.values():
            for which, names in (("on_success", op.on_success), ("on_failure", op.on_failure)):
                for nxt in names:
                    if nxt not in ops_node:
                        body = ops_node[op.name]
                        check.problem(
                            body.line_of(which) if isinstance(body, LMap) else op.line,
                            f"{op.name}: {which} names {nxt!r}, "
                            "which is not an operation in this file",
                        )
    needs = [op for op in operations.values() if op.source.is_coupa or op.target.is_coupa]
    if needs and connection is None:
        first = needs[0]
        where = first.source if first.source.is_coupa else first.target
        check.problem(
            where.line,
            f"{first.name} uses {where.type} but the file has no connection: block "
            "(use connection: {env: true}, {profile: NAME} or {sandbox: true})",
        )
    if check.problems:
        raise OperationFileError(sorted(check.problems, key=lambda p: p.line or 0))
    return OperationFile(Path(file).resolve(), connection, operations, merged)


def _instance_catalog(connection: ConnectionSpec | None) -> Catalog:
    """The catalog plus the overlay of the instance the file connects to, when its URL can
    be told without secrets (a URL in the file, COUPA_URL, a profile's url)."""
    url: Any = None
    if connection is None or connection.kind == "sandbox":
        url = None
    elif connection.kind == "settings":
        url = connection.settings.get("url")
    elif connection.kind == "env":
        url = os.environ.get("COUPA_URL")
    elif connection.kind == "profile" and connection.profile:
        from coupa_connector.client import ConnectionConfig

        try:
            url = ConnectionConfig.from_profile(connection.profile).url
        except CoupaError:
            url = None  # a profile that does not load is reported when the run connects
    return instance_catalog(url if isinstance(url, str) else None)


def _connection(check: _Checker, doc: LMap) -> ConnectionSpec | None:
    node = doc.get("connection")
    if node is None:
        return None
    line = doc.line_of("connection")
    if not isinstance(node, LMap):
        check.problem(line, "connection must be a mapping, e.g. {env: true} or {profile: prod}")
        return None
    secrets = [k for k in node if k.lower() in _SECRET_KEYS]
    for key in secrets:
        check.problem(
            node.line_of(key),
            f"connection.{key}: secrets never go in an operation file; use {key}_env: VARIABLE, "
            "a profile, or COUPA_* environment variables",
        )
    if secrets:
        return None
    if isinstance(node.get("proxy"), str):
        _refuse_url_secrets(
            check,
            "connection",
            node["proxy"],
            node.line_of("proxy"),
            key="proxy",
            example="http://proxyuser:${PROXY_PASSWORD}@proxy.example.com:3128",
        )
    if isinstance(node.get("rate_limit_backend"), str):
        _refuse_url_secrets(
            check,
            "connection",
            node["rate_limit_backend"],
            node.line_of("rate_limit_backend"),
            key="rate_limit_backend",
            example="redis://:${REDIS_PASSWORD}@cache:6379/0",
        )
    node = check.fill(node, line)
    modes = [k for k in ("sandbox", "profile", "env") if node.get(k) not in (None, False)]
    if len(modes) > 1:
        check.problem(
            line, f"connection: choose one of sandbox, profile or env, not {' and '.join(modes)}"
        )
        return None
    if modes == ["sandbox"]:
        opts = node["sandbox"]
        settings: dict[str, Any] = {}
        if isinstance(opts, LMap):
            _check_sandbox_options(check, opts)
            settings = dict(opts)
        elif opts is not True:
            check.problem(
                node.line_of("sandbox"),
                "connection.sandbox must be true or a mapping of sandbox options",
            )
        return ConnectionSpec("sandbox", settings=settings, line=line)
    if modes == ["profile"]:
        extra = [k for k in node if k != "profile"]
        for key in extra:
            check.problem(
                node.line_of(key), f"connection.{key}: with a profile, settings live in the profile"
            )
        return ConnectionSpec("profile", profile=str(node["profile"]), line=line)
    if modes == ["env"]:
        return ConnectionSpec("env", line=line)
    known = ", ".join(sorted(_CONNECTION_SETTINGS))
    for key in node:
        if key not in _CONNECTION_SETTINGS:
            check.problem(node.line_of(key), f"connection: unknown key {key!r}; known: {known}")
    if "url" not in node:
        check.problem(
            line,
            "connection: give url (with client_id and client_secret_env), or env: true, "
            "profile: NAME, sandbox: true",
        )
    else:
        _check_connection_settings(check, node)
    return ConnectionSpec("settings", settings=dict(node), line=line)


def _check_sandbox_options(check: _Checker, opts: LMap) -> None:
    for key, value in opts.items():
        if key not in _SANDBOX_OPTIONS:
            check.problem(
                opts.line_of(key),
                f"connection.sandbox: unknown option {key!r}; "
                f"known: {', '.join(sorted(_SANDBOX_OPTIONS))}",
            )
            continue
        kind, expected, least = _SANDBOX_OPTIONS[key]
        # bool is an int to Python, but never a count.
        wrong = not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)
        if wrong or (least is not None and value < least):
            check.problem(
                opts.line_of(key), f"connection.sandbox.{key} must be {expected}, not {value!r}"
            )


def _check_connection_settings(check: _Checker, node: LMap) -> None:
    """Build the connection's settings as the run will, so a bad one fails before the run.

    ``ConnectionConfig`` checks its own settings but stops at the first bad one; each it
    names is reported at its line and left out, and the rest are checked again.
    """
    from coupa_connector.client import ConnectionConfig

    settings = {k: v for k, v in node.items() if k in _CONNECTION_SETTINGS}
    lines = {k: node.line_of(k) for k in settings}
    for name in ("client_secret", "api_key"):
        var = settings.pop(f"{name}_env", None)
        if var is None:
            continue
        if not isinstance(var, str) or not var.strip():
            check.problem(
                node.line_of(f"{name}_env"),
                f"connection.{name}_env must name an environment variable, not {var!r}",
            )
        settings[name] = _SECRET_PLACEHOLDER
        lines[name] = node.line_of(f"{name}_env")
    while settings:
        try:
            ConnectionConfig(**settings)
            return
        except CoupaError as exc:
            message = str(exc)
            culprit = next((k for k in settings if message.startswith(f"{k} ")), None)
            check.problem(lines.get(culprit or "", node.line), f"connection: {message}")
            if culprit is None or culprit == "url":
                return
            del settings[culprit]


def _names(check: _Checker, value: Any, line: int, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    check.problem(line, f"{what} must be an operation name or a list of them")
    return ()


def _operation(check: _Checker, name: str, body: Any, line: int) -> OperationSpec | None:
    if not isinstance(body, LMap):
        check.problem(line, f"operation {name!r} must be a mapping with source: and target:")
        return None
    for key in body:
        if key not in _OP_KEYS:
            check.problem(
                body.line_of(key),
                f"{name}: unknown key {key!r}; expected one of {', '.join(sorted(_OP_KEYS))}",
            )
    source = _endpoint(check, name, "source", body)
    target = _endpoint(check, name, "target", body)
    transform = _transform(
        check, name, body.get("transform"), body.line_of("transform"), target, source
    )
    batch = body.get("batch_size", 50)
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= 10_000:
        check.problem(
            body.line_of("batch_size"), f"{name}: batch_size must be a whole number from 1 to 10000"
        )
        batch = 50
    debug = body.get("debug", False)
    if not isinstance(debug, bool):
        check.problem(body.line_of("debug"), f"{name}: debug must be true or false")
    rejects = check.fill(body.get("rejects"), body.line_of("rejects"))
    if rejects is not None and not isinstance(rejects, str):
        check.problem(body.line_of("rejects"), f"{name}: rejects must be a file path")
    if source is None or target is None:
        return None
    return OperationSpec(
        name=name,
        source=source,
        target=target,
        transform=transform,
        on_success=_names(
            check, body.get("on_success"), body.line_of("on_success"), f"{name}: on_success"
        ),
        on_failure=_names(
            check, body.get("on_failure"), body.line_of("on_failure"), f"{name}: on_failure"
        ),
        debug=bool(debug),
        batch_size=batch,
        rejects=rejects,
        description=str(body.get("description", "")),
        line=line,
    )


def _endpoint(check: _Checker, op: str, role: str, body: LMap) -> EndpointSpec | None:
    node = body.get(role)
    line = body.line_of(role)
    if node is None:
        check.problem(body.line or 1, f"{op}: {role}: is missing")
        return None
    if not isinstance(node, LMap):
        check.problem(line, f"{op}: {role} must be a mapping with a type:")
        return None
    kind_name = node.get("type")
    if kind_name not in ENDPOINTS:
        usable = [k for k, v in ENDPOINTS.items() if role in v.roles]
        check.problem(
            node.line_of("type"),
            f"{op}: {role} type {kind_name!r} is not an endpoint; use one of {', '.join(usable)}",
        )
        return None
    kind = ENDPOINTS[kind_name]
    if role not in kind.roles:
        check.problem(node.line_of("type"), f"{op}: {kind_name} cannot be a {role}")
        return None
    if kind_name == "sql" and isinstance(node.get("url"), str):
        _refuse_url_secrets(check, f"{op}: {role}", node["url"], node.line_of("url"))
    opts = check.fill(node, line)
    for key in opts:
        if key != "type" and key not in kind.options:
            check.problem(
                opts.line_of(key),
                f"{op}: {role} ({kind_name}) has no option {key!r}; "
                f"options: {', '.join(sorted(kind.options))}",
            )
    for key in kind.required[role]:
        if opts.get(key) in (None, ""):
            check.problem(line, f"{op}: {role} ({kind_name}) needs {key}:")
    spec = EndpointSpec(kind_name, {k: v for k, v in opts.items() if k != "type"}, line)
    _check_endpoint(check, op, role, spec, opts)
    return spec


def url_secrets(url: str) -> list[tuple[str, str]]:
    """The secrets a database URL carries: its password and secret-named parameters."""
    try:
        parts = urlsplit(url)
        given = [("password", parts.password)] if parts.password else []
    except ValueError:
        return []  # not a URL at all; opening it will say so
    return given + [(k, v) for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_KEYS]


def _refuse_url_secrets(
    check: _Checker,
    where: str,
    url: str,
    line: int,
    *,
    key: str = "url",
    example: str = "postgresql://erp:${ERP_DB_PASSWORD}@db/erp",
) -> None:
    """A URL (a database's, the proxy's, Redis's) may name its password only as ``${VARIABLE}``
    set outside the file."""
    given = url_secrets(url)
    for what, value in given:
        ref = _VAR.fullmatch(value)
        if ref is not None and ref.group(1) not in check.written:
            continue
        source = "vars: in the file" if ref is not None else "the url"
        check.problem(
            line,
            f"{where}: {key}: a {what} in {source}; secrets never go in an operation file. "
            f"Write it as ${{VARIABLE}} (e.g. {example}) "
            "and set the environment variable or pass --var",
        )


def _check_endpoint(check: _Checker, op: str, role: str, spec: EndpointSpec, node: LMap) -> None:
    o = spec.options
    where = f"{op}: {role}"
    if spec.type == "file":
        if isinstance(o.get("path"), str):
            try:
                guess_format(o["path"], o.get("format"))
            except RecordFileError as exc:
                check.problem(
                    node.line_of("format") if "format" in o else node.line_of("path"),
                    f"{where}: {exc}",
                )
        if o.get("format") is not None and str(o["format"]).lower() not in (*FORMATS, "ndjson"):
            pass  # reported by guess_format above
        if "csv_formulas" in o:
            try:
                csv_formulas_mode(o["csv_formulas"], f"{where}: csv_formulas")
            except ConfigurationError as exc:
                check.problem(node.line_of("csv_formulas"), str(exc))
        return
    if spec.type == "sql":
        if role == "target":
            mode = o.get("mode", "insert")
            if mode not in ("insert", "upsert"):
                check.problem(node.line_of("mode"), f"{where}: mode must be insert or upsert")
            if mode == "upsert" and not o.get("key"):
                check.problem(
                    node.line_of("mode"),
                    f"{where}: upsert needs key: (the column or columns that identify a row)",
                )
            _check_sql_columns(check, where, o, node)
        return
    obj = check.object(o.get("object"), node.line_of("object"))
    if obj is None:
        return
    if spec.type == "coupa.query":
        if not obj.can_query:
            check.problem(node.line_of("object"), f"{where}: {obj.name} cannot be queried")
        _check_incremental(check, where, obj, o, node)
        if o.get("mark_exported") and not obj.has_field("exported"):
            check.problem(
                node.line_of("mark_exported"), f"{where}: {obj.name} has no exported flag to mark"
            )
        fields = o.get("fields")
        if fields is not None and not isinstance(fields, list):
            check.problem(node.line_of("fields"), f"{where}: fields must be a list")
        if not isinstance(o.get("projection", True), bool):
            check.problem(node.line_of("projection"), f"{where}: projection must be true or false")
        _check_query(check, where, obj, o, node)
        return
    if "validate" in o:
        try:
            validation_mode(o["validate"])
        except ConfigurationError as exc:
            check.problem(node.line_of("validate"), f"{where}: {exc}")
    if spec.type == "coupa.create" and not obj.can_create:
        check.problem(node.line_of("object"), f"{where}: Coupa cannot create {obj.name}")
    if spec.type in ("coupa.update", "coupa.upsert") and not obj.can_update:
        check.problem(node.line_of("object"), f"{where}: Coupa cannot update {obj.name}")
    if spec.type in ("coupa.update", "coupa.upsert") and o.get("key") is not None:
        keys = [o["key"]] if isinstance(o["key"], str) else o["key"]
        for key in keys if isinstance(keys, list) else []:
            if not obj.has_field(str(key)):
                check.problem(
                    node.line_of("key"), f"{where}: {obj.name} has no field {key!r} to match on"
                )
    if (
        spec.type == "coupa.action"
        and isinstance(o.get("action"), str)
        and obj.action(o["action"]) is None
    ):
        names = ", ".join(
            a.name for a in obj.actions if a.name not in ("index", "show", "create", "update")
        )
        check.problem(
            node.line_of("action"),
            f"{where}: {obj.name} has no action {o['action']!r}; actions: {names}",
        )


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


def sql_columns(options: Mapping[str, Any]) -> list[str] | None:
    """The column names a SQL target declares (``columns:``), or None when it declares none."""
    declared = options.get("columns")
    if isinstance(declared, Mapping | list) and declared:
        return [str(name) for name in declared]
    return None


def _check_sql_columns(check: _Checker, where: str, o: Mapping[str, Any], node: LMap) -> None:
    """Declared columns as the table will be created from them: known types, the key in."""
    from coupa_connector.operations.endpoints.sql import COLUMN_TYPES

    declared = o.get("columns")
    if declared is None:
        return
    line = node.line_of("columns")
    if not isinstance(declared, Mapping | list):
        check.problem(line, f"{where}: columns must be a list of names or a mapping of name: type")
        return
    if isinstance(declared, LMap):
        for name, kind in declared.items():
            if str(kind).lower() not in COLUMN_TYPES:
                check.problem(
                    declared.line_of(name),
                    f"{where}: column {name} has unknown type {kind!r}; "
                    f"use one of {', '.join(sorted(COLUMN_TYPES))}",
                )
    names = sql_columns(o) or []
    key = o.get("key")
    keys = [key] if isinstance(key, str) else key if isinstance(key, list) else []
    missing = [str(k) for k in keys if str(k) not in names]
    if missing:
        check.problem(
            node.line_of("key"),
            f"{where}: key column(s) {', '.join(missing)} are not among the declared columns",
        )


def _check_incremental(
    check: _Checker, where: str, obj: ObjectDef, o: Mapping[str, Any], node: LMap
) -> None:
    """The tracked field must be a timestamp (the window is run start times), ``since`` one."""
    tracked = o.get("incremental")
    if tracked and tracked is not True:
        try:
            kind = obj.field(str(tracked)).kind
        except CatalogError as exc:
            check.problem(node.line_of("incremental"), f"{where}: incremental: {exc}")
        else:
            if kind != "datetime":
                check.problem(
                    node.line_of("incremental"),
                    f"{where}: incremental: {obj.name}.{tracked} is a {kind}, not a datetime; "
                    "track a timestamp such as updated-at (or give true)",
                )
    since = o.get("since")
    if since is None:
        return
    if not tracked:
        check.problem(node.line_of("since"), f"{where}: since: applies only with incremental:")
    # YAML reads an unquoted timestamp as a date or datetime already.
    if not isinstance(since, date):
        try:
            parse_when(since if isinstance(since, str) else repr(since))
        except TransformValueError as exc:
            check.problem(node.line_of("since"), f"{where}: since: {exc}")


def _check_query(
    check: _Checker, where: str, obj: ObjectDef, o: Mapping[str, Any], node: LMap
) -> None:
    """Check the query as the query activity will, so a bad filter fails before the run.

    Each option (and each condition of ``where``) is checked alone, so every problem is
    reported at its own line at once; then all together, for what only their mix can break.
    """
    from coupa_connector.activities.query import build_query

    def problem_of(**args: Any) -> str | None:
        try:
            # Strict: a file is checked before it runs, and a field the catalog (and the
            # instance's overlay) does not know is more often a typo than a custom field;
            # ``params:`` sends a parameter as given.
            build_query(check.catalog, obj, strict=True, **args)
        except CoupaError as exc:
            return str(exc)
        return None

    raw = o.get("params")
    params_ok = isinstance(raw, Mapping) and not any(
        isinstance(v, Mapping | list) or v is None for v in raw.values()
    )
    if raw is not None and not params_ok:
        check.problem(
            node.line_of("params"),
            f"{where}: params must map Coupa parameter names to values "
            "(e.g. supplier[name][starts_with]: Ac)",
        )
    names: tuple[str, ...] = ("where", "fields", "order_by", "dir", "limit", "return_object")
    if params_ok:
        names = (*names, "params")
    if not isinstance(o.get("fields", []), list):
        names = tuple(n for n in names if n != "fields")  # reported already
    limit = o.get("limit")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        check.problem(node.line_of("limit"), f"{where}: limit must be a whole number")
        return
    found = False
    for name in names:
        if name not in o:
            continue
        value = o[name]
        parts: list[tuple[Any, int]] = [(value, node.line_of(name))]
        if name == "where" and isinstance(value, LList):
            parts = [(item, value.line_of(i)) for i, item in enumerate(value)]
        elif name == "where" and isinstance(value, LMap):
            parts = [({k: v}, value.line_of(k)) for k, v in value.items()]
        for part, line in parts:
            message = problem_of(**{name: part})
            if message is not None:
                check.problem(line, f"{where}: {message}")
                found = True
    if not found:
        message = problem_of(**{k: o[k] for k in names if k in o})
        if message is not None:
            check.problem(node.line_of("object"), f"{where}: {message}")


def _mapping(
    check: _Checker, node: Any, line: int, what: str
) -> tuple[tuple[str, Expression], ...]:
    if node is None:
        return ()
    if not isinstance(node, LMap):
        check.problem(line, f"{what} must be a mapping of target-field: expression")
        return ()
    pairs: list[tuple[str, Expression]] = []
    for key, value in node.items():
        try:
            expr = compile_expression(value)
        except ValueError as exc:
            check.problem(node.line_of(key), f"{what}.{key}: {exc}")
            continue
        pairs.append((key, expr))
        _check_lookups(check, expr, node.line_of(key), f"{what}.{key}")
    return tuple(pairs)


def _check_lookups(check: _Checker, expr: Expression, line: int, what: str) -> None:
    """``lookup_coupa`` with a literal object or field: check them as the query will."""
    from coupa_connector.activities.query import build_query

    if expr.parsed is None:
        return
    for name, args in function_calls(expr.parsed):
        if name != "lookup_coupa" or len(args) != 4:
            continue
        literal = [a["value"] if a.get("type") == "literal" else None for a in args]
        obj_name, key_field, _key, return_field = literal
        if not isinstance(obj_name, str):
            continue  # chosen per record; only the run can tell
        try:
            obj = check.catalog.get(obj_name)
        except CatalogError as exc:
            check.problem(line, f"{what}: lookup_coupa: {exc}")
            continue
        for field_name in (key_field, return_field):
            if not isinstance(field_name, str):
                continue
            try:
                build_query(check.catalog, obj, fields=[field_name], strict=True)
            except CoupaError as exc:
                check.problem(line, f"{what}: lookup_coupa: {exc}")


def _transform(
    check: _Checker,
    op: str,
    node: Any,
    line: int,
    target: EndpointSpec | None,
    source: EndpointSpec | None = None,
) -> TransformSpec:
    if node is None:
        return TransformSpec()
    if not isinstance(node, LMap):
        check.problem(line, f"{op}: transform must be a mapping with mapping:")
        return TransformSpec()
    for key in node:
        if key not in _TRANSFORM_KEYS:
            check.problem(
                node.line_of(key),
                f"{op}: transform has no option {key!r}; "
                f"options: {', '.join(sorted(_TRANSFORM_KEYS))}",
            )
    mapping_node = node.get("mapping")
    mapping = _mapping(check, mapping_node, node.line_of("mapping"), f"{op}: transform.mapping")
    group_exprs: list[Expression] = []
    raw_group = node.get("group_by")
    if raw_group is not None:
        items = [raw_group] if isinstance(raw_group, str) else raw_group
        if not isinstance(items, list) or not items:
            check.problem(
                node.line_of("group_by"), f"{op}: group_by must be a field or a list of fields"
            )
        else:
            for item in items:
                try:
                    group_exprs.append(compile_expression(str(item)))
                except ValueError as exc:
                    check.problem(node.line_of("group_by"), f"{op}: group_by: {exc}")
    lines_field: str | None = None
    lines_mapping: tuple[tuple[str, Expression], ...] = ()
    lines = node.get("lines")
    if lines is not None:
        if not group_exprs:
            check.problem(
                node.line_of("lines"), f"{op}: lines: needs group_by: (which rows make one record)"
            )
        if not isinstance(lines, LMap) or "field" not in lines or "mapping" not in lines:
            check.problem(
                node.line_of("lines"), f"{op}: lines needs field: (e.g. invoice-lines) and mapping:"
            )
        else:
            lines_field = str(lines["field"])
            lines_mapping = _mapping(
                check, lines["mapping"], lines.line_of("mapping"), f"{op}: transform.lines.mapping"
            )
    spec = TransformSpec(
        mapping=mapping,
        keep=bool(node.get("keep", False)),
        group_by=tuple(group_exprs),
        lines_field=lines_field,
        lines_mapping=lines_mapping,
        keep_nulls=bool(node.get("keep_nulls", False)),
    )
    if target is not None and target.is_coupa and isinstance(target.options.get("object"), str):
        _check_target_fields(check, op, target.options["object"], spec, node)
    if source is not None and source.is_coupa and isinstance(source.options.get("object"), str):
        _check_source_fields(check, op, source.options["object"], spec, node)
    if target is not None and target.type == "sql":
        columns = sql_columns(target.options)
        if columns is not None:
            _check_target_columns(check, op, columns, spec, node)
    return spec


def _check_source_fields(
    check: _Checker, op: str, obj_name: str, spec: TransformSpec, node: LMap
) -> None:
    """Every field a mapping reads from a Coupa record must be one its records can carry
    (the catalog's, or the instance's from its overlay); otherwise the column comes out
    empty in every record and nobody is told."""
    try:
        obj = check.catalog.get(obj_name)
    except CatalogError:
        return  # reported with the source
    mapping_node = node.get("mapping")
    exprs = [(key, expr, mapping_node) for key, expr in spec.mapping]
    exprs += [("group_by", e, None) for e in spec.group_by]
    for key, expr, where_node in exprs:
        line = where_node.line_of(key) if isinstance(where_node, LMap) else node.line
        for path in expression_paths(expr):
            reason = _unknown_path(check.catalog, obj, path)
            if reason:
                check.problem(
                    line,
                    f"{op}: transform.mapping.{key} reads {'.'.join(path)!r}: {reason} "
                    "(an instance's own fields are known after coupa discover; "
                    "custom-fields.<name> reads a custom field)",
                )


def _unknown_path(catalog: Catalog, obj: ObjectDef, path: tuple[str, ...]) -> str:
    """Why records of ``obj`` cannot carry ``path``, or "" when they can (or may: past a
    custom-fields wrapper or an object the catalog does not describe)."""
    import difflib  # only when a mapping reads a Coupa record

    current: ObjectDef | None = obj
    for name in path:
        if current is None:
            return ""
        fdef = current.fields.get(name)
        if fdef is None:
            if name == "id":
                return ""
            close = difflib.get_close_matches(name, list(current.fields), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            return f"{current.name} has no field {name!r}{hint}"
        if fdef.kind == "custom-fields" and not fdef.ref:
            return ""  # the instance's own fields, unknown without its overlay
        if fdef.kind not in ("reference", "collection", "custom-fields"):
            return ""  # a scalar: what follows is an expression's business
        # A reference, or a collection whose items the path goes on into.
        current = catalog.get(fdef.ref) if fdef.ref and fdef.ref in catalog else None
    return ""


def _check_target_columns(
    check: _Checker, op: str, columns: list[str], spec: TransformSpec, node: LMap
) -> None:
    """Every mapped field must be a declared column of the SQL target (nested fields are
    dotted columns); otherwise each record would be rejected at run time."""
    mapping_node = node.get("mapping")
    for key, _expr in spec.mapping:
        # A mapped nested record becomes its dotted columns (supplier -> supplier.name).
        if not any(c == key or c.startswith((f"{key}.", f"{key}[")) for c in columns):
            check.problem(
                mapping_node.line_of(key) if isinstance(mapping_node, LMap) else node.line,
                f"{op}: transform.mapping.{key}: the sql target declares no column {key!r}; "
                f"columns: {', '.join(columns)}",
            )


def _check_target_fields(
    check: _Checker, op: str, obj_name: str, spec: TransformSpec, node: LMap
) -> None:
    try:
        obj = check.catalog.get(obj_name)
    except CatalogError:
        return  # reported with the target
    mapping_node = node.get("mapping")
    for key, _expr in spec.mapping:
        line = mapping_node.line_of(key) if isinstance(mapping_node, LMap) else node.line
        _check_field_path(check, op, obj, key, line)
    if spec.lines_field:
        lines = node["lines"]
        try:
            lines_def = obj.field(spec.lines_field)
        except CatalogError as exc:
            check.problem(lines.line_of("field"), f"{op}: transform.lines.field: {exc}")
            return
        if lines_def.kind != "collection" or not lines_def.ref:
            check.problem(
                lines.line_of("field"),
                f"{op}: {obj.name}.{spec.lines_field} is not a list of lines",
            )
            return
        try:
            line_obj = check.catalog.get(lines_def.ref)
        except CatalogError:
            return
        lmap = lines.get("mapping")
        for key, _expr in spec.lines_mapping:
            line = lmap.line_of(key) if isinstance(lmap, LMap) else lines.line
            _check_field_path(check, op, line_obj, key, line)


def _check_field_path(check: _Checker, op: str, obj: ObjectDef, dotted: str, line: int) -> None:
    """A mapping's target field must exist on the object, through references for dotted names."""
    current = obj
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        try:
            fdef = current.field(part)
        except CatalogError as exc:
            check.problem(line, f"{op}: transform.mapping.{dotted}: {exc}")
            return
        if i == len(parts) - 1:
            return
        if fdef.kind == "custom-fields":
            return  # custom fields are the instance's own; any name may be valid
        if fdef.kind not in ("reference", "collection") or not fdef.ref:
            check.problem(
                line,
                f"{op}: transform.mapping.{dotted}: {current.name}.{part} is a {fdef.kind}, "
                "not a reference",
            )
            return
        try:
            current = check.catalog.get(fdef.ref)
        except CatalogError:
            return
