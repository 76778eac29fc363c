"""Problems of an operation file: the checker that collects them, each at its line, and the
checks every part of a file shares (secrets in URLs, mapped field paths, lookups).

Endpoint types check their own options (their ``EndpointType.check``); ``load`` checks the
file's shape.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from coupa_connector.catalog import Catalog, ObjectDef, load_catalog
from coupa_connector.errors import CatalogError, CoupaError
from coupa_connector.operations._projection import expression_paths
from coupa_connector.operations._transform import Expression, TransformSpec, function_calls
from coupa_connector.operations.opfile._yaml import LList, LMap, OperationProblem
from coupa_connector.operations.opfile.model import VARIABLE

__all__ = [
    "SECRET_KEYS",
    "Checker",
    "check_field_path",
    "check_lookups",
    "check_source_fields",
    "refuse_url_secrets",
    "url_secrets",
]

SECRET_KEYS = frozenset({"client_secret", "api_key", "password", "token", "access_token", "secret"})


class Checker:
    """Collects an operation file's problems, each with its line, while the file is read.

    Args:
        file: The file's name, for the problems.
        variables: ``${name}`` values (the file's vars with command-line overrides).
        written: Variables whose values are written in the file itself (not ``--var``).
    """

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

            return VARIABLE.sub(sub, value)
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


def url_secrets(url: str) -> list[tuple[str, str]]:
    """The secrets a database URL carries: its password and secret-named parameters."""
    try:
        parts = urlsplit(url)
        given = [("password", parts.password)] if parts.password else []
    except ValueError:
        return []  # not a URL at all; opening it will say so
    return given + [(k, v) for k, v in parse_qsl(parts.query) if k.lower() in SECRET_KEYS]


def refuse_url_secrets(
    check: Checker,
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
        ref = VARIABLE.fullmatch(value)
        if ref is not None and ref.group(1) not in check.written:
            continue
        source = "vars: in the file" if ref is not None else "the url"
        check.problem(
            line,
            f"{where}: {key}: a {what} in {source}; secrets never go in an operation file. "
            f"Write it as ${{VARIABLE}} (e.g. {example}) "
            "and set the environment variable or pass --var",
        )


def check_lookups(check: Checker, expr: Expression, line: int, what: str) -> None:
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


def check_field_path(check: Checker, op: str, obj: ObjectDef, dotted: str, line: int) -> None:
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


def check_source_fields(
    check: Checker, op: str, obj_name: str, spec: TransformSpec, node: LMap
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
