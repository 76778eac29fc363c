"""Coupa's query language, compiled to SQL over the store's JSON documents.

``GET /api/<resource>?<field>[<op>]=<value>&...`` with every condition ANDed (coupa-api.md
4.1-4.6): equality and eleven operators, conditions through single associations
(``supplier[name]=X``, ``account[account-type][name]=Y``), through line collections (a
record matches when any line matches: ``invoice-lines[account][code]=X``), foreign-key
shortcuts (``supplier_id=4``), custom fields, ISO 8601 dates read as instants, ``limit``,
``offset``, ``order_by``/``dir``, ``fields`` and ``return_object``. ``-`` and ``_`` are the same
in keys and field names.

Semantics where Coupa's documentation is silent ([I], chosen to match SQL as Coupa's MySQL
would): ``not_eq`` and ``not_in`` never match a null value; ``contains``, ``starts_with`` and
``ends_with`` ignore case; equality and ``in`` are exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from coupa_connector.catalog import PAGE_LIMIT, QUERY_OPERATORS, FieldDef, ObjectDef
from coupa_connector.sandbox._objects import CUSTOM_FIELDS, SCALAR_KINDS, ObjectView, Views
from coupa_connector.sandbox._types import FALSE_WORDS, TRUE_WORDS, KindError, coerce

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "OPERATORS",
    "FieldSpec",
    "QueryOptions",
    "QuerySpec",
    "RequestError",
    "parse_fields",
    "parse_query",
    "parse_return_object",
]

DEFAULT_LIMIT = PAGE_LIMIT
MAX_LIMIT = PAGE_LIMIT
OPERATORS = frozenset(QUERY_OPERATORS)
_COMPARE = {"eq": "=", "not_eq": "<>", "gt": ">", "lt": "<", "gt_or_eq": ">=", "lt_or_eq": "<="}
_TEXT_ONLY = frozenset({"contains", "starts_with", "ends_with"})
# Query parameters that are not filters.
RESERVED = frozenset(
    {
        "limit",
        "offset",
        "order_by",
        "dir",
        "fields",
        "return_object",
        "filter",
        "show_deleted_lines",
    }
)
# Indexed columns of the top-level row, by field.
_COLUMNS = {
    "id": "id",
    "created-at": "created_at",
    "updated-at": "updated_at",
    "status": "status",
    "exported": "exported",
}
_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
_MAX_CONDITIONS = 50
_MAX_DEPTH = 6
_MAX_IN_VALUES = 1000

ReturnObject = Literal["full", "limited", "shallow", "none"]
# A ``fields`` selection: name -> None (the field as is), a nested selection, or "all".
FieldSpec = dict[str, "FieldSpec | Literal['all'] | None"]


class RequestError(Exception):
    """A request the sandbox answers with a 4xx and Coupa-style messages."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class QueryOptions:
    """Query behaviours that Coupa's documentation leaves open ([I]).

    Attributes:
        like_ignores_case: ``contains``/``starts_with``/``ends_with`` ignore case.
        clamp_limit: A ``limit`` above 50 is lowered to 50 (else it is a 400).
    """

    like_ignores_case: bool = True
    clamp_limit: bool = True


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """A parsed, validated query, ready for the store."""

    where: str
    params: tuple[Any, ...]
    order: str
    limit: int
    offset: int
    fields: FieldSpec | None
    return_object: ReturnObject


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _json_path(parts: Sequence[str]) -> str:
    # Names are validated against _NAME (or come from the catalog), so quoting is safe.
    return "$" + "".join(f'."{p}"' for p in parts)


def _check_name(name: str, where: str) -> str:
    if not _NAME.fullmatch(name):
        raise RequestError(f"Invalid field name {name!r} in {where}.")
    return name


class _Compiler:
    """Builds one SQL condition per filter; each piece returns its own parameters."""

    def __init__(self, views: Views, options: QueryOptions) -> None:
        self.views = views
        self.options = options
        self.aliases = 0

    def alias(self, prefix: str) -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"

    def condition(
        self,
        view: ObjectView | None,
        doc: str,
        prefix: tuple[str, ...],
        row: str | None,
        segs: list[str],
        op: str,
        raw: str,
        key: str,
    ) -> tuple[str, list[Any]]:
        """SQL for ``segs[op]=raw`` on the object ``view`` found at ``doc``/``prefix``.

        ``row`` is the alias of the records row when ``doc`` is its top-level document
        (indexed columns usable), else None.
        """
        if len(segs) > _MAX_DEPTH:
            raise RequestError(f"Filter {key!r} is nested too deeply.")
        name = _norm(segs[0])
        rest = segs[1:]
        if view is None:
            # An embedded object the catalog does not describe: plain text fields.
            _check_name(name, key)
            if rest:
                return self.condition(None, doc, (*prefix, name), None, rest, op, raw, key)
            return self.scalar(
                "string", f"json_extract({doc}, '{_json_path((*prefix, name))}')", op, raw, key
            )
        fields = view.obj.fields
        fd = fields.get(name)
        if name == "custom-fields" and (fd is None or fd.kind == "custom-fields"):
            if len(rest) != 1:
                raise RequestError(f"Filter {key!r}: use custom-fields[<name>]=<value>.")
            cf = _check_name(_norm(rest[0]), key)
            expr = f"json_extract({doc}, '{_json_path((*prefix, 'custom-fields', cf))}')"
            return self.scalar("string", expr, op, raw, key)
        if fd is None:
            if name in CUSTOM_FIELDS.get(view.name, ()) and not rest:
                expr = f"json_extract({doc}, '{_json_path((*prefix, 'custom-fields', name))}')"
                return self.scalar("string", expr, op, raw, key)
            base = name[:-3] if name.endswith("-id") else ""
            base_fd = fields.get(base) if base else None
            if base_fd is not None and base_fd.kind == "reference":
                return self.condition(view, doc, prefix, row, [base, "id", *rest], op, raw, key)
            raise RequestError(
                f"Unknown field {segs[0]!r} in filter {key!r}: {view.obj.element} has no such "
                "field."
            )
        if fd.query_alias is not None and not rest:
            return self.condition(
                view, doc, prefix, row, [fd.query_alias], op, _alias_value(fd, op, raw, key), key
            )
        if fd.kind in SCALAR_KINDS:
            if len(rest) == 1:
                raise RequestError(
                    f"Unknown operator {rest[0]!r} in filter {key!r}; Coupa's operators are "
                    + ", ".join(sorted(OPERATORS))
                    + "."
                )
            if rest:
                raise RequestError(f"Filter {key!r}: {name} is a {fd.kind}, not an association.")
            if row is not None and not prefix and name in _COLUMNS:
                column = f"{row}.{_COLUMNS[name]}"
                return self.scalar(fd.kind, column, op, raw, key)
            return self.scalar(
                fd.kind, f"json_extract({doc}, '{_json_path((*prefix, name))}')", op, raw, key
            )
        if fd.kind == "custom-fields":
            raise RequestError(f"Filter {key!r}: use custom-fields[<name>]=<value>.")
        target = view.targets.get(name)
        target_view = self.views.view(target) if target is not None else None
        if fd.kind == "reference":
            rest = rest or ["id"]
            if target_view is not None and target_view.stored:
                id_expr = f"json_extract({doc}, '{_json_path((*prefix, name, 'id'))}')"
                return self.stored_match(target_view, id_expr, rest, op, raw, key)
            return self.condition(target_view, doc, (*prefix, name), None, rest, op, raw, key)
        # A collection: the record matches when any member matches.
        if not rest:
            raise RequestError(
                f"Filter {key!r}: {name} is a collection; name a field of its members, "
                f"e.g. {name}[id]=..."
            )
        each = self.alias("j")
        path = _json_path((*prefix, name))
        if target_view is not None and target_view.stored:
            inner, params = self.stored_match(
                target_view, f"json_extract({each}.value, '$.\"id\"')", rest, op, raw, key
            )
        else:
            inner, params = self.condition(
                target_view, f"{each}.value", (), None, rest, op, raw, key
            )
        return f"EXISTS (SELECT 1 FROM json_each({doc}, '{path}') AS {each} WHERE {inner})", params

    def stored_match(
        self, target: ObjectView, id_expr: str, rest: list[str], op: str, raw: str, key: str
    ) -> tuple[str, list[Any]]:
        """``id_expr`` points at a record of ``target`` that satisfies ``rest[op]=raw``."""
        if [_norm(s) for s in rest] == ["id"]:
            return self.scalar("integer", id_expr, op, raw, key)
        sub = self.alias("r")
        inner, params = self.condition(target, f"{sub}.doc", (), sub, rest, op, raw, key)
        sql = (
            f"{id_expr} IN (SELECT {sub}.id FROM records AS {sub} WHERE {sub}.res = ? AND {inner})"
        )
        return sql, [target.name, *params]

    def scalar(self, kind: str, expr: str, op: str, raw: str, key: str) -> tuple[str, list[Any]]:
        """SQL comparing one value expression of a kind with the filter's value."""
        if op == "blank":
            word = raw.strip().lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                raise RequestError(f"Filter {key!r}: blank takes true or false, not {raw!r}.")
            if word in TRUE_WORDS:
                return f"({expr} IS NULL OR {expr} = '')", []
            return f"({expr} IS NOT NULL AND {expr} <> '')", []
        if op in _TEXT_ONLY:
            if kind in ("datetime", "date", "boolean"):
                raise RequestError(f"Filter {key!r}: {op} does not apply to {kind} fields.")
            fold = self.options.like_ignores_case
            text = raw.casefold() if fold else raw
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = {
                "contains": f"%{escaped}%",
                "starts_with": f"{escaped}%",
                "ends_with": f"%{escaped}",
            }[op]
            if fold:
                # The store's casefold() (Python's) folds all of Unicode; lower() knows ASCII.
                return f"casefold({expr}) LIKE ? ESCAPE '\\'", [pattern]
            return f"CAST({expr} AS TEXT) GLOB ?", [_glob(raw, op)]
        lhs = f"CAST({expr} AS REAL)" if kind in ("decimal", "float") else expr
        if op in ("in", "not_in"):
            values = [v for v in raw.split(",")]
            if len(values) > _MAX_IN_VALUES:
                raise RequestError(f"Filter {key!r}: at most {_MAX_IN_VALUES} values.")
            parsed = [self.value(kind, v.strip(), key) for v in values]
            marks = ",".join("?" * len(parsed))
            word = "IN" if op == "in" else "NOT IN"
            return f"{lhs} {word} ({marks})", parsed
        return f"{lhs} {_COMPARE[op]} ?", [self.value(kind, raw, key)]

    def value(self, kind: str, raw: str, key: str) -> Any:
        """A filter value in the store's spelling for comparison."""
        if kind not in ("string", "text") and not raw.strip():
            raise RequestError(
                f"Filter {key!r}: an empty value only fits text fields; "
                "use [blank]=true to find unset values."
            )
        try:
            if kind in ("decimal", "float"):
                return float(coerce("decimal", raw))
            if kind == "boolean":
                word = raw.strip().lower()
                if word not in TRUE_WORDS | FALSE_WORDS:
                    raise KindError("is not a boolean (true or false)")
                return 1 if word in TRUE_WORDS else 0
            if kind == "integer":
                return coerce("integer", raw)
            if kind in ("datetime", "date"):
                return coerce(kind, raw)
        except KindError as exc:
            raise RequestError(f"Filter {key!r}: {raw!r} {exc.reason}.") from None
        return raw


def _glob(raw: str, op: str) -> str:
    escaped = re.sub(r"([*?\[])", r"[\1]", raw)
    return {"contains": f"*{escaped}*", "starts_with": f"{escaped}*", "ends_with": f"*{escaped}"}[
        op
    ]


def split_key(key: str) -> tuple[list[str], str]:
    """``supplier[name][contains]`` -> (["supplier", "name"], "contains")."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise RequestError(f"Malformed filter {key!r}: use field[sub-field][operator]=value.")
    segs = [match.group(1), *_SEGMENT.findall(match.group(2))]
    if any(not s.strip() for s in segs):
        raise RequestError(f"Malformed filter {key!r}: empty [] segment.")
    op = "eq"
    if len(segs) > 1 and segs[-1].strip().lower().replace("-", "_") in OPERATORS:
        op = segs.pop().strip().lower().replace("-", "_")
    return segs, op


def _int_param(name: str, raw: str) -> int:
    text = raw.strip()
    if not re.fullmatch(r"[+-]?\d{1,18}", text):
        raise RequestError(f"{name} must be a whole number, not {raw!r}.")
    return int(text)


def parse_return_object(raw: str | None, method: str) -> ReturnObject:
    """Validate ``return_object`` (limited, shallow; none only on writes)."""
    if raw is None or raw == "":
        return "full"
    value = raw.strip().lower()
    if value in ("limited", "shallow"):
        return value  # type: ignore[return-value]
    if value == "none":
        if method == "GET":
            raise RequestError("return_object=none is only valid on create and update.")
        return "none"
    raise RequestError(f"return_object must be limited, shallow or none, not {raw!r}.")


def parse_fields(views: Views, obj: ObjectDef, raw: str | None) -> FieldSpec | None:
    """Parse and validate a ``fields`` JSON selection against the catalog.

    Raises:
        RequestError: Not JSON, not a list of names and ``{name: [...]}`` objects, or a name
            the object does not have.
    """
    if raw is None or raw.strip() == "":
        return None
    if len(raw) > 20_000:
        raise RequestError("fields is too long.")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestError(
            'fields must be a JSON array, e.g. ["id","invoice_number",{"supplier":["name"]}].'
        ) from None
    return _field_spec(views, views.view(obj), data, 0)


def _field_spec(views: Views, view: ObjectView | None, data: Any, depth: int) -> FieldSpec:
    if depth > _MAX_DEPTH:
        raise RequestError("fields is nested too deeply.")
    if not isinstance(data, list):
        raise RequestError("fields must be a JSON array of names and {name: [...]} objects.")
    spec: FieldSpec = {}
    for item in data:
        if isinstance(item, str):
            known = _spec_name(view, item)
            if known is not None:
                spec[known] = None
        elif isinstance(item, dict):
            for key, sub in item.items():
                name = _spec_name(view, key)
                if name is None:
                    if not isinstance(sub, (dict, list)):
                        raise RequestError(
                            f"fields: the value of {key!r} must be a list of names or {{}}."
                        )
                    continue
                fd = view.obj.fields.get(name) if view is not None else None
                if isinstance(sub, dict) and not sub:
                    spec[name] = "all"
                elif isinstance(sub, list):
                    target = views.target(fd) if fd is not None else None
                    child = views.view(target) if target is not None else None
                    if fd is not None and fd.kind == "custom-fields":
                        child = None
                    spec[name] = _field_spec(views, child, sub, depth + 1)
                else:
                    raise RequestError(
                        f"fields: the value of {key!r} must be a list of names or {{}}."
                    )
        else:
            raise RequestError("fields may hold only names and {name: [...]} objects.")
    return spec


def _spec_name(view: ObjectView | None, raw: str) -> str | None:
    """A ``fields`` name as the object spells it; None for a name the object lacks.

    Coupa answers a ``fields`` list with the names it knows and leaves the others out (its
    response filters work the same way), so a client asking for a field of a newer release
    still gets the rest: see docs/sandbox.md, "Names Coupa does not know".
    """
    name = _norm(raw)
    if view is None:
        return name if _NAME.fullmatch(name) else None
    return name if name in view.obj.fields else None


def parse_query(
    views: Views,
    obj: ObjectDef,
    items: Iterable[tuple[str, str]],
    options: QueryOptions | None = None,
) -> QuerySpec:
    """Parse a query string's items into a validated ``QuerySpec``.

    Args:
        views: Catalog views.
        obj: The resource queried.
        items: The query parameters in order (repeated keys allowed; all are ANDed).
        options: Behaviours left open by Coupa's documentation.

    Returns:
        The SQL condition, order, paging and output choices.

    Raises:
        RequestError: An unknown field or operator, a malformed key or value, or an absurd
            paging parameter.
    """
    options = options or QueryOptions()
    view = views.view(obj)
    compiler = _Compiler(views, options)
    where: list[str] = []
    params: list[Any] = []
    control: dict[str, str] = {}
    conditions = 0
    for raw_key, raw_value in items:
        if "\x00" in raw_key or "\x00" in raw_value:
            # SQLite's LIKE and GLOB stop reading a pattern at a NUL, so "%\x00%" would
            # match everything; no stored value holds one, so it is a malformed query.
            raise RequestError(
                f"Parameter {raw_key.replace(chr(0), '%00')!r} holds a NUL byte (%00), "
                "which no value can contain."
            )
        key = raw_key.strip()
        plain = key.lower().replace("-", "_")
        if plain in RESERVED:
            control[plain] = raw_value
            continue
        conditions += 1
        if conditions > _MAX_CONDITIONS:
            raise RequestError(f"At most {_MAX_CONDITIONS} filters per query.")
        segs, op = split_key(key)
        sql, args = compiler.condition(view, "r0.doc", (), "r0", segs, op, raw_value, key)
        where.append(sql)
        params.extend(args)

    limit = DEFAULT_LIMIT
    if "limit" in control:
        limit = _int_param("limit", control["limit"])
        if limit < 1:
            raise RequestError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}.")
        if limit > MAX_LIMIT:
            if not options.clamp_limit:
                raise RequestError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}.")
            limit = MAX_LIMIT
    offset = 0
    if "offset" in control:
        offset = _int_param("offset", control["offset"])
        if offset < 0:
            raise RequestError(f"offset must be 0 or more, not {offset}.")

    direction = control.get("dir", "asc").strip().lower() or "asc"
    if direction not in ("asc", "desc"):
        raise RequestError(f"dir must be asc or desc, not {control['dir']!r}.")
    order = f"r0.id {direction.upper()}"
    name = _norm(control.get("order_by", ""))
    if name and name in obj.fields:
        # A name the object lacks orders by id, as Coupa does (a published chat-bot plugin
        # sends order_by=desc); a known field that cannot be ordered on is a 400.
        fd = obj.fields[name]
        if fd.kind not in SCALAR_KINDS:
            raise RequestError(
                f"order_by must name a field of {obj.element}, not {control['order_by']!r}."
            )
        if name in _COLUMNS:
            expr = f"r0.{_COLUMNS[name]}"
        else:
            expr = f"json_extract(r0.doc, '{_json_path((name,))}')"
            if fd.kind in ("decimal", "float"):
                expr = f"CAST({expr} AS REAL)"
        order = f"{expr} {direction.upper()}, r0.id {direction.upper()}"
        if name == "id":
            order = f"r0.id {direction.upper()}"

    return QuerySpec(
        where=" AND ".join(f"({w})" for w in where),
        params=tuple(params),
        order=order,
        limit=limit,
        offset=offset,
        fields=parse_fields(views, obj, control.get("fields")),
        return_object=parse_return_object(control.get("return_object"), "GET"),
    )


def _alias_value(fd: FieldDef, op: str, raw: str, key: str) -> str:
    """A query-only parameter's value as the value of the field it filters on."""
    if op not in ("eq", "not_eq", "in", "not_in"):
        raise RequestError(f"Filter {key!r}: {fd.name} takes only equality or in/not_in.")
    values = dict(fd.query_values)
    out = []
    for item in raw.split(","):
        if item.strip() not in values:
            raise RequestError(
                f"Filter {key!r}: {item.strip()!r} is not one of {', '.join(values)}."
            )
        out.append(values[item.strip()])
    return ",".join(out)
