"""Loading an operation file: read the YAML, fill in ``${var}`` values and check everything
before any data moves, every problem reported at once with its file and line (YAML syntax,
unknown keys and endpoint types, missing settings, mapping fields the target does not have,
unknown transform functions, chains to operations that do not exist, a missing or
secret-bearing connection). Endpoint options are checked by their type's registry entry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coupa_connector.activities.monitoring import MonitorSettings, monitor_settings
from coupa_connector.catalog import Catalog, instance_catalog
from coupa_connector.errors import CoupaError
from coupa_connector.operations._transform import Expression, TransformSpec, compile_expression
from coupa_connector.operations.endpoints.registry import REGISTRY
from coupa_connector.operations.opfile._yaml import (
    LMap,
    OperationFileError,
    OperationProblem,
    load_yaml,
)
from coupa_connector.operations.opfile.model import (
    ConnectionSpec,
    EndpointSpec,
    OperationFile,
    OperationSpec,
)
from coupa_connector.operations.opfile.problems import (
    SECRET_KEYS,
    Checker,
    check_lookups,
    refuse_url_secrets,
)

__all__ = ["load_operation_file"]

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
        "coupa_monitoring",
        "watermark",
    }
)
_TRANSFORM_KEYS = frozenset({"mapping", "keep", "group_by", "lines", "keep_nulls"})
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
        "max_file_bytes",
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
# Connection settings that are URLs, which may name a password only as ${VARIABLE}.
_URL_SETTINGS = {
    "proxy": "http://proxyuser:${PROXY_PASSWORD}@proxy.example.com:3128",
    "rate_limit_backend": "redis://:${REDIS_PASSWORD}@cache:6379/0",
}
# Stands in for a secret read from the environment when the run starts: validating a file
# needs no secrets.
_SECRET_PLACEHOLDER = "read-from-the-environment-at-run-time"


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
    check = Checker(file, merged, frozenset(merged) - set(variables or {}))
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
    needs = [op for op in operations.values() if op.needs_coupa]
    if needs and connection is None:
        first = needs[0]
        where = first.source if first.source.is_coupa else first.target
        uses = where.type if where.is_coupa else "coupa_monitoring"
        check.problem(
            where.line if where.is_coupa else first.line,
            f"{first.name} uses {uses} but the file has no connection: block "
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


def _connection(check: Checker, doc: LMap) -> ConnectionSpec | None:
    node = doc.get("connection")
    if node is None:
        return None
    line = doc.line_of("connection")
    if not isinstance(node, LMap):
        check.problem(line, "connection must be a mapping, e.g. {env: true} or {profile: prod}")
        return None
    secrets = [k for k in node if k.lower() in SECRET_KEYS]
    for key in secrets:
        check.problem(
            node.line_of(key),
            f"connection.{key}: secrets never go in an operation file; use {key}_env: VARIABLE, "
            "a profile, or COUPA_* environment variables",
        )
    if secrets:
        return None
    for key, example in _URL_SETTINGS.items():
        if isinstance(node.get(key), str):
            refuse_url_secrets(
                check, "connection", node[key], node.line_of(key), key=key, example=example
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


def _check_sandbox_options(check: Checker, opts: LMap) -> None:
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


def _check_connection_settings(check: Checker, node: LMap) -> None:
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


def _names(check: Checker, value: Any, line: int, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    check.problem(line, f"{what} must be an operation name or a list of them")
    return ()


def _operation(check: Checker, name: str, body: Any, line: int) -> OperationSpec | None:
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
    monitoring, watermark = _bookkeeping(check, name, body, source, target)
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
        monitoring=monitoring,
        watermark=watermark,
    )


def _bookkeeping(
    check: Checker,
    name: str,
    body: LMap,
    source: EndpointSpec | None,
    target: EndpointSpec | None,
) -> tuple[MonitorSettings | None, str]:
    """An operation's ``coupa_monitoring`` and ``watermark``, checked; and that its
    tombstones (``detect_deletes``) go where they can be applied."""
    deletes = source is not None and bool(source.options.get("detect_deletes"))
    if deletes and target is not None and target.is_coupa:
        check.problem(
            body.line_of("source"),
            f"{name}: detect_deletes makes tombstones, which a {target.type} target "
            "cannot apply; send them to a sql or file target",
        )
    monitoring: MonitorSettings | None = None
    node = check.fill(body.get("coupa_monitoring"), body.line_of("coupa_monitoring"))
    if node is not None:
        try:
            monitoring = monitor_settings(node, f"{name}: coupa_monitoring")
        except CoupaError as exc:
            check.problem(body.line_of("coupa_monitoring"), str(exc))
    watermark = body.get("watermark", "local")
    line = body.line_of("watermark")
    if watermark not in ("local", "coupa"):
        check.problem(line, f"{name}: watermark must be local or coupa, not {watermark!r}")
        return monitoring, "local"
    if watermark == "coupa":
        if node is None:
            check.problem(
                line,
                f"{name}: watermark: coupa keeps the watermark in the integration's runs; "
                "give coupa_monitoring: {integration: CODE}",
            )
        if source is not None and not source.options.get("incremental"):
            check.problem(line, f"{name}: watermark: coupa needs an incremental source")
    return monitoring, str(watermark)


def _endpoint(check: Checker, op: str, role: str, body: LMap) -> EndpointSpec | None:
    node = body.get(role)
    line = body.line_of(role)
    if node is None:
        check.problem(body.line or 1, f"{op}: {role}: is missing")
        return None
    if not isinstance(node, LMap):
        check.problem(line, f"{op}: {role} must be a mapping with a type:")
        return None
    kind_name = node.get("type")
    if not isinstance(kind_name, str) or kind_name not in REGISTRY:
        check.problem(
            node.line_of("type"),
            f"{op}: {role} type {kind_name!r} is not an endpoint; "
            f"use one of {', '.join(REGISTRY.for_role(role))}",
        )
        return None
    kind = REGISTRY[kind_name]
    if role not in kind.roles:
        check.problem(node.line_of("type"), f"{op}: {kind_name} cannot be a {role}")
        return None
    where = f"{op}: {role}"
    if kind.check_raw is not None:
        kind.check_raw(check, where, role, EndpointSpec(kind_name, node, line), node)
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
    spec = EndpointSpec(
        kind_name, {k: v for k, v in opts.items() if k != "type"}, line, is_coupa=kind.uses_coupa
    )
    if kind.check is not None:
        kind.check(check, where, role, spec, opts)
    return spec


def _mapping(check: Checker, node: Any, line: int, what: str) -> tuple[tuple[str, Expression], ...]:
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
        check_lookups(check, expr, node.line_of(key), f"{what}.{key}")
    return tuple(pairs)


def _transform(
    check: Checker,
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
    if target is not None:
        check_mapping = REGISTRY[target.type].check_mapping
        if check_mapping is not None:
            check_mapping(check, op, target, spec, node)
    if source is not None:
        check_reads = REGISTRY[source.type].check_source_mapping
        if check_reads is not None:
            check_reads(check, op, source, spec, node)
    return spec
