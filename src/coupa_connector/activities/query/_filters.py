"""Query filters: the readable ``--where`` grammar, validation against the catalog, and
translation to Coupa's ``field[assoc][op]=value`` parameters.

Grammar (one condition per expression; conditions are ANDed, as in Coupa)::

    field=value          equals                 field!=value        not_eq
    field>value          gt                     field>=value        gt_or_eq
    field<value          lt                     field<=value        lt_or_eq
    field~value          contains               field^=value        starts_with
    field$=value         ends_with
    field in a,b,c       in                     field not in a,b    not_in
    field is blank       blank=true             field is not blank  blank=false
    field[op]=value      any Coupa operator by name (e.g. updated-at[gt_or_eq]=2024-01-01)

``field`` may be a dotted path through associations and line collections:
``supplier.name~Acme``, ``invoice-lines.account.code=X``. A path ending at an association
compares its id (``supplier=17`` is ``supplier[id]=17``). Values may be quoted with ' or ".
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from coupa_connector.catalog import (
    MAX_INTEGER,
    MIN_INTEGER,
    QUERY_OPERATORS,
    Catalog,
    FieldDef,
    ObjectDef,
    coupa_integer,
    wire_name,
)
from coupa_connector.catalog._dates import coupa_datetime
from coupa_connector.errors import QueryError

OPERATORS: tuple[str, ...] = ("eq", *QUERY_OPERATORS)
_SYMBOLS = {
    "=": "eq",
    "!=": "not_eq",
    ">": "gt",
    ">=": "gt_or_eq",
    "<": "lt",
    "<=": "lt_or_eq",
    "~": "contains",
    "^=": "starts_with",
    "$=": "ends_with",
}
_TEXT_OPS = frozenset({"contains", "starts_with", "ends_with"})
_ORDER_OPS = frozenset({"gt", "lt", "gt_or_eq", "lt_or_eq"})
_LIST_OPS = frozenset({"in", "not_in"})
# Which operators each field kind accepts (Coupa: no text operators or blank on datetimes).
_KIND_OPS: dict[str, frozenset[str]] = {
    "string": frozenset(OPERATORS),
    "text": frozenset(OPERATORS),
    "integer": frozenset(OPERATORS) - _TEXT_OPS,
    "decimal": frozenset(OPERATORS) - _TEXT_OPS,
    "float": frozenset(OPERATORS) - _TEXT_OPS,
    "boolean": frozenset({"eq", "not_eq", "blank"}),
    "datetime": frozenset({"eq", "not_eq", "in", "not_in"}) | _ORDER_OPS,
    "date": frozenset({"eq", "not_eq", "in", "not_in"}) | _ORDER_OPS,
}

_FIELD = r"[A-Za-z0-9_.\-]+"
_IS_BLANK = re.compile(rf"^\s*({_FIELD})\s+is\s+(not\s+)?blank\s*$", re.IGNORECASE)
_IN = re.compile(rf"^\s*({_FIELD})\s+(not\s+in|in)\s+(.*?)\s*$", re.IGNORECASE | re.DOTALL)
_BRACKETS = re.compile(rf"^\s*({_FIELD}(?:\[[A-Za-z0-9_\-]+\])+)\s*=\s*(.*?)\s*$", re.DOTALL)
_SYMBOL = re.compile(rf"^\s*({_FIELD})\s*(!=|>=|<=|\^=|\$=|~|=|>|<)\s*(.*?)\s*$", re.DOTALL)

MAX_LISTED = 40  # sub-fields named in a hint


@dataclass(frozen=True, slots=True)
class Filter:
    """One validated condition.

    Attributes:
        path: Wire names from the queried object down to the compared field
            (``("supplier", "name")``).
        op: Coupa operator name (``eq`` for plain equality).
        value: The compared text, or a tuple for ``in``/``not_in``.
    """

    path: tuple[str, ...]
    op: str
    value: str | tuple[str, ...]

    def param(self, key_style: str = "underscore") -> tuple[str, str]:
        """This condition as one Coupa query parameter ``(name, value)``."""
        names = [_key(p, key_style) for p in self.path]
        key = names[0] + "".join(f"[{n}]" for n in names[1:])
        if self.op != "eq":
            key += f"[{self.op}]"
        value = ",".join(self.value) if isinstance(self.value, tuple) else self.value
        return key, value

    def __str__(self) -> str:
        return f"{'.'.join(self.path)}[{self.op}]={self.value!r}"


def _key(name: str, style: str) -> str:
    # Coupa's reference asks for underscores in query parameters; hyphens work too.
    return name.replace("-", "_") if style == "underscore" else wire_name(name)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _split_list(text: str) -> tuple[str, ...]:
    items = tuple(_unquote(p) for p in text.split(",") if p.strip())
    return items


@dataclass(frozen=True, slots=True)
class RawCondition:
    """A parsed but not yet validated condition."""

    path: tuple[str, ...]
    op: str
    value: str | tuple[str, ...]
    source: str


def parse_expression(expr: str) -> RawCondition:
    """Parse one ``--where`` expression (see the module docstring for the grammar).

    Raises:
        QueryError: The expression matches no form of the grammar.
    """
    if m := _IS_BLANK.match(expr):
        blank = "false" if m.group(2) else "true"
        return RawCondition(_path(m.group(1), expr), "blank", blank, expr)
    if m := _IN.match(expr):
        op = "not_in" if m.group(2).lower().startswith("not") else "in"
        values = _split_list(m.group(3))
        if not values:
            raise QueryError(f"{expr!r}: '{op.replace('_', ' ')}' needs a comma-separated list.")
        return RawCondition(_path(m.group(1), expr), op, values, expr)
    if m := _BRACKETS.match(expr):
        parts = re.findall(r"[^\[\]]+", m.group(1))
        path = [*_path(parts[0], expr), *(wire_name(p) for p in parts[1:])]
        op = "eq"
        if path[-1].replace("-", "_") in OPERATORS and len(path) > 1:
            op = path.pop().replace("-", "_")
        value: str | tuple[str, ...] = _unquote(m.group(2))
        if op in _LIST_OPS:
            value = _split_list(str(value))
        return RawCondition(tuple(path), op, value, expr)
    if m := _SYMBOL.match(expr):
        op = _SYMBOLS[m.group(2)]
        return RawCondition(_path(m.group(1), expr), op, _unquote(m.group(3)), expr)
    raise QueryError(
        f"Cannot read the condition {expr!r}. Use field=value, field!=v, field>v, field>=v, "
        "field<v, field<=v, field~v (contains), field^=v (starts with), field$=v (ends with), "
        "'field in a,b', 'field not in a,b', 'field is blank', 'field is not blank', or "
        "field[operator]=value."
    )


def _path(dotted: str, source: str | None = None) -> tuple[str, ...]:
    parts = tuple(wire_name(p) for p in dotted.split("."))
    where = source if source is not None else dotted
    if not any(parts):
        raise QueryError(f"Empty field name in {where!r}.")
    if not all(parts):
        # ``custom-fields.=1`` or ``supplier..name``: a name is missing, and Coupa answers
        # such a parameter with a 400.
        raise QueryError(f"Empty field name in {where!r}: every '.' needs a name on each side.")
    return parts


def _close_names(obj: ObjectDef, name: str, catalog: Catalog | None) -> list[str]:
    """The object's fields (and its instance's custom fields) spelled closest to ``name``."""
    names = list(obj.fields)
    holder = _custom_holder(obj, catalog)
    if holder is not None:
        names += [n for n in holder.fields if n not in obj.fields]
    return difflib.get_close_matches(name, names, n=3, cutoff=0.6)


def _unknown_field(
    obj: ObjectDef, name: str, source: str, catalog: Catalog | None = None
) -> QueryError:
    """The refusal of a field the catalog (and the instance's overlay) does not know: the
    closest names and the way to send it anyway, never the list of every field."""
    close = _close_names(obj, name, catalog)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return QueryError(f"{obj.name} has no field {name!r} (in {source!r}).{hint} {PARAM_ESCAPE}")


PARAM_ESCAPE = (
    "To send a parameter as given, use --param NAME=VALUE (params: in an operation file, "
    "params= in Python); without --strict an unknown field is sent with a warning."
)


def _unknown_note(obj: ObjectDef, name: str, source: str, catalog: Catalog | None) -> str:
    close = _close_names(obj, name, catalog)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return (
        f"{obj.name} has no field {name!r} (in {source!r}) in the catalog or the instance's "
        f"overlay; it is sent as given, unchecked (instances carry their own fields).{hint}"
    )


def _custom_holder(obj: ObjectDef | None, catalog: Catalog | None) -> ObjectDef | None:
    """The object of an instance's custom fields (from its overlay), when there is one."""
    if obj is None or catalog is None:
        return None
    node = obj.fields.get("custom-fields")
    if node is None or not node.ref or node.ref not in catalog:
        return None
    return catalog.get(node.ref)


def _check_value(fdef: FieldDef, op: str, value: str | tuple[str, ...], where: str) -> None:
    values = value if isinstance(value, tuple) else (value,)
    if op == "blank":
        return
    for item in values:
        if fdef.kind == "integer" and not re.fullmatch(r"-?\d+", item):
            raise QueryError(f"{where}: {item!r} is not an integer.")
        if fdef.kind == "integer" and coupa_integer(item) is None:
            raise QueryError(
                f"{where}: {item!r} is out of range: Coupa's integers, ids too, go from "
                f"{MIN_INTEGER} to {MAX_INTEGER}."
            )
        if fdef.kind in ("decimal", "float") and not re.fullmatch(r"-?\d+(\.\d+)?", item):
            raise QueryError(f"{where}: {item!r} is not a number.")
        if fdef.kind == "boolean" and item.lower() not in ("true", "false"):
            raise QueryError(f"{where}: {item!r} is not true or false.")
        if fdef.kind in ("datetime", "date") and coupa_datetime(item) is None:
            # What Coupa (Rails) reads: ISO 8601, one-digit months and days too (2011-01-1).
            raise QueryError(
                f"{where}: {item!r} is not an ISO 8601 date or datetime "
                "(e.g. 2024-01-31 or 2024-01-31T18:38:00-07:00)."
            )
        if fdef.allowed and op in ("eq", "not_eq", "in", "not_in") and item not in fdef.allowed:
            raise QueryError(f"{where}: {item!r} is not one of {', '.join(fdef.allowed)}.")


def validate(
    raw: RawCondition,
    obj: ObjectDef,
    catalog: Catalog,
    *,
    strict: bool = False,
    notes: list[str] | None = None,
) -> Filter:
    """Check a condition against the catalog and return the filter Coupa will get.

    A field the catalog (and the instance's overlay) does not know is sent as given, its
    value unchecked, with a warning appended to ``notes``; with ``strict`` it is refused.
    An instance's custom field is compared by its own name, as Coupa documents
    (``erp-ref~X`` is ``erp_ref[contains]=X``), and checked by the type the overlay saw.

    Raises:
        QueryError: An unknown field with ``strict`` (naming the closest names and the
            ``--param`` escape), a path through a field that is not an association, an
            operator the field's type does not take, or a value of the wrong type.
    """
    if raw.op not in OPERATORS:
        close = difflib.get_close_matches(raw.op, OPERATORS, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise QueryError(
            f"Unknown operator {raw.op!r} in {raw.source!r}.{hint} "
            f"Valid operators: {', '.join(OPERATORS)}."
        )
    current: ObjectDef | None = obj
    path = list(raw.path)
    if path[0] == "custom-fields" and len(path) == 2:
        # Coupa filters custom fields by their own name, without the wrapper.
        path = path[1:]
        current = None
    elif path == ["custom-fields"]:
        raise QueryError(
            f"{raw.source!r}: name the custom field to compare, as custom-fields.<name>=value."
        )
    fdef: FieldDef | None = None
    for i, name in enumerate(path):
        if current is None:
            fdef = None  # beyond what the catalog describes: passed through unchecked
            continue
        if name not in current.fields:
            holder = _custom_holder(current, catalog)
            if name == "id":
                fdef = FieldDef("id", "integer")  # every Coupa record has one
            elif holder is not None and name in holder.fields:
                fdef = holder.fields[name]  # a custom field, by its own name
            elif strict:
                raise _unknown_field(current, name, raw.source, catalog)
            else:
                if notes is not None:
                    notes.append(_unknown_note(current, name, raw.source, catalog))
                fdef, current = None, None  # sent as given, beyond what the catalog knows
                continue
        else:
            fdef = current.fields[name]
        last = i == len(path) - 1
        if not last:
            if fdef.kind not in ("reference", "collection"):
                if i == len(path) - 2 and "[" in raw.source:
                    raise QueryError(
                        f"Unknown operator {path[-1]!r} in {raw.source!r}. "
                        f"Valid operators: {', '.join(OPERATORS)}."
                    )
                raise QueryError(
                    f"{current.name}.{name} is a {fdef.kind} field, not an association, so "
                    f"{'.'.join(path[: i + 2])!r} does not exist (in {raw.source!r})."
                )
            current = catalog.get(fdef.ref) if fdef.ref and fdef.ref in catalog else None
        elif fdef.kind in ("reference", "collection"):
            target = catalog.get(fdef.ref) if fdef.ref and fdef.ref in catalog else None
            if fdef.kind == "collection":
                hint = f" e.g. {name}.id" + (
                    f"; its fields: {', '.join(list(target.fields)[:MAX_LISTED])}" if target else ""
                )
                raise QueryError(
                    f"{raw.source!r}: {name} is a collection; name one of its fields,{hint}."
                )
            path.append("id")  # supplier=17 means supplier[id]=17
            fdef = FieldDef("id", "integer")
    where = f"{raw.source!r}"
    if fdef is not None:
        try:
            allowed = _KIND_OPS.get(fdef.kind, frozenset(OPERATORS))
            if raw.op not in allowed:
                raise QueryError(
                    f"{where}: operator {raw.op!r} does not apply to {'.'.join(path)} "
                    f"({fdef.kind}); valid: {', '.join(o for o in OPERATORS if o in allowed)}."
                )
            _check_value(fdef, raw.op, raw.value, where)
        except QueryError as exc:
            # A type only observed on one instance (its overlay) is a hint, not Coupa's rule.
            if strict or fdef.sources != ("instance",):
                raise
            if notes is not None:
                notes.append(f"{exc.message} The instance's overlay saw it so; sent as given.")
    if raw.op == "blank" and raw.value not in ("true", "false"):
        raise QueryError(f"{where}: blank takes true or false.")
    return Filter(tuple(path), raw.op, raw.value)


Where = str | Sequence["str | RawCondition"] | Mapping[str, Any] | None


def parse_where(where: Where) -> list[RawCondition]:
    """Turn the ``where`` argument into raw conditions.

    Accepts one expression, a list of expressions, or a mapping of ``field`` (or
    ``field[op]``, or a dotted path) to value; a list or tuple value means ``in``, None means
    ``is blank``.
    """
    if where is None:
        return []
    if isinstance(where, str):
        return [parse_expression(where)]
    if isinstance(where, Mapping):
        out: list[RawCondition] = []
        for key, value in where.items():
            if value is None:
                out.append(parse_expression(f"{key} is blank"))
            elif isinstance(value, (list, tuple, set, frozenset)):
                cond = parse_expression(f"{key}=x") if "[" in key else None
                path = cond.path if cond else _path(key)
                op = cond.op if cond and cond.op != "eq" else "in"
                source = f"{key}={value!r}"
                out.append(RawCondition(path, op, tuple(_text(v) for v in value), source))
            else:
                text = _text(value)
                cond = parse_expression(f"{key}=x")
                out.append(RawCondition(cond.path, cond.op, text, f"{key}={text}"))
        return out
    return [e if isinstance(e, RawCondition) else parse_expression(e) for e in where]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def build_filters(
    where: Where,
    obj: ObjectDef,
    catalog: Catalog,
    *,
    strict: bool = False,
    notes: list[str] | None = None,
) -> list[Filter]:
    """Parse and validate every condition of ``where`` against ``obj`` (see ``validate``).

    Raises:
        QueryError: A condition is invalid, or two of them contradict each other.
    """
    filters = [
        validate(raw, obj, catalog, strict=strict, notes=notes) for raw in parse_where(where)
    ]
    refuse_contradictions(filters)
    return filters


def refuse_contradictions(filters: Sequence[Filter]) -> None:
    """Refuse two equalities of one field of the record itself with different values
    (``exported=true`` and ``exported=false``): sent, they would match nothing, silently.

    Paths through associations are left alone: two lines of one invoice may each match.

    Raises:
        QueryError: Naming both conditions.
    """
    seen: dict[str, str] = {}
    for f in filters:
        if f.op != "eq" or len(f.path) != 1 or not isinstance(f.value, str):
            continue
        name, value = f.path[0], f.value.strip()
        earlier = seen.setdefault(name, value)
        if earlier.lower() != value.lower():
            raise QueryError(
                f"Contradictory conditions: {name}={earlier} and {name}={value} cannot both "
                "hold, so the query would match nothing; keep one of them."
            )


def fields_param(
    fields: Sequence[str],
    obj: ObjectDef,
    catalog: Catalog,
    *,
    strict: bool = True,
    notes: list[str] | None = None,
) -> list[Any]:
    """Coupa's ``fields`` JSON array from dotted paths, validated against the catalog.

    ``["id", "supplier.name", "invoice-lines.price"]`` becomes
    ``["id", {"supplier": ["name"]}, {"invoice_lines": ["price"]}]``. Without ``strict``, a
    name the catalog (and the overlay) does not know is asked for as given, with a warning
    in ``notes``.

    Raises:
        QueryError: A path names a field the object does not have (with ``strict``), or
            goes below a field that has no sub-fields.
    """
    tree: dict[str, Any] = {}
    for dotted in fields:
        path = _path(dotted)
        current: ObjectDef | None = obj
        node = tree
        for i, name in enumerate(path):
            if current is not None:
                holder = _custom_holder(current, catalog)
                custom = holder is not None and name in holder.fields
                if name not in current.fields and name != "id" and not custom:
                    if strict:
                        raise _unknown_field(current, name, f"fields {dotted}", catalog)
                    if notes is not None:
                        notes.append(_unknown_note(current, name, f"fields {dotted}", catalog))
                    current = None
                    node = node.setdefault(name, {})
                    continue
                if custom and name not in current.fields:
                    # Coupa returns custom fields inside their wrapper: ask for them there.
                    node = node.setdefault("custom-fields", {})
                    current = None
                    node = node.setdefault(name, {})
                    continue
                fdef = current.fields.get(name)
                if i < len(path) - 1:
                    if fdef is None or fdef.kind not in (
                        "reference",
                        "collection",
                        "custom-fields",
                    ):
                        raise QueryError(f"fields {dotted!r}: {name} has no sub-fields.")
                    current = catalog.get(fdef.ref) if fdef.ref and fdef.ref in catalog else None
            node = node.setdefault(name, {})
    return _fields_json(tree)


def _fields_json(tree: Mapping[str, Any]) -> list[Any]:
    out: list[Any] = []
    for name, sub in tree.items():
        key = name.replace("-", "_")
        out.append({key: _fields_json(sub)} if sub else key)
    return out
