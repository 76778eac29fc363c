"""Projection from a mapping: which fields of the source records an operation reads.

A page of 50 full invoices is about 600 kB, and Coupa's page time grows with what it renders.
When an operation's transformation reads a few fields, its Coupa query asks for exactly those
(``fields=[...]``), nested paths included. The paths come from the JMESPath expressions of the
mapping, the ``group_by`` keys and the lines mapping, read from their syntax trees.

The reading is conservative: anything that needs the whole record (``@`` at the top, a
transformation with ``keep: true`` or none at all) or that cannot be followed to a field path
(an expression applied to a computed value whose inputs are unknown) gives ``None``, and the
query asks for whole records as before. A path the catalog cannot resolve (a custom field the
catalog does not list, a typo) also gives ``None``: asking for less than the mapping reads
would silently empty a column.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from coupa_connector.activities.query._filters import fields_param
from coupa_connector.activities.query._projection import projection
from coupa_connector.catalog import Catalog, ObjectDef
from coupa_connector.errors import CoupaError
from coupa_connector.operations._transform import Expression, TransformSpec

__all__ = ["expression_paths", "mapping_projection", "source_paths"]

Path = tuple[str, ...]


class _WholeRecord(Exception):
    """The expression reads the record as a whole (or in a way that cannot be followed)."""


def _plain(node: dict[str, Any]) -> Path | None:
    """The field path of a chain of names (``a.b[0].c`` -> ``(a, b, c)``), or None."""
    kind = node.get("type")
    if kind == "field":
        return (str(node["value"]),)
    if kind in ("index_expression", "flatten"):
        return _plain(node["children"][0])
    if kind == "subexpression":
        path: Path = ()
        for child in node["children"]:
            part = _plain(child)
            if part is None:
                return None
            path += part
        return path
    return None


def _refs(node: dict[str, Any], prefix: Path) -> set[Path]:
    """Absolute paths that ``node``, evaluated at ``prefix``, reads."""
    kind = node.get("type")
    children: list[dict[str, Any]] = node.get("children", [])
    plain = _plain(node)
    if plain is not None:
        return {prefix + plain}
    if kind in ("index_expression", "flatten"):
        return _refs(children[0], prefix)
    if kind in ("current", "identity"):
        if not prefix:
            raise _WholeRecord
        return {prefix}
    if kind in ("literal", "index", "slice"):
        return set()
    if kind in ("subexpression", "pipe", "projection", "value_projection", "filter_projection"):
        left, rest = children[0], children[1:]
        base = _plain(left)
        if base is None:
            if kind == "subexpression" and len(children) > 2:
                # a.f(x).b: fold the chain left to right.
                return _refs({"type": kind, "children": children[:2]}, prefix)
            # The right side works on a computed value: what it reads comes from the left.
            return _refs(left, prefix)
        found: set[Path] = set()
        for child in rest:
            found |= _refs(child, prefix + base)
        return found or {prefix + base}
    if kind == "function_expression":
        return _function_refs(children, prefix)
    if kind in (
        "or_expression",
        "and_expression",
        "not_expression",
        "comparator",
        "multi_select_list",
        "multi_select_dict",
        "key_val_pair",
    ):
        found = set()
        for child in children:
            found |= _refs(child, prefix)
        return found
    raise _WholeRecord


def _function_refs(args: list[dict[str, Any]], prefix: Path) -> set[Path]:
    # ``&expr`` arguments (sort_by, max_by, map) run on the elements of the array argument.
    arrays = [_plain(a) for a in args if a.get("type") != "expref"]
    element = next((p for p in arrays if p is not None), None)
    found: set[Path] = set()
    for arg in args:
        if arg.get("type") == "expref":
            if element is None:
                raise _WholeRecord
            found |= _refs(arg["children"][0], prefix + element)
        else:
            found |= _refs(arg, prefix)
    return found


def _expressions(spec: TransformSpec) -> Iterable[Expression]:
    yield from (e for _, e in spec.mapping)
    yield from spec.group_by
    yield from (e for _, e in spec.lines_mapping)


def expression_paths(expression: Expression) -> list[Path]:
    """The field paths one expression reads from its record, nested ones absolute
    (``invoice-lines[].price`` reads ``("invoice-lines", "price")``); none for a constant
    or an expression that reads the record as a whole."""
    if expression.parsed is None:
        return []
    try:
        return sorted(_refs(expression.parsed.parsed, ()))
    except _WholeRecord:
        return []


def source_paths(spec: TransformSpec) -> list[str] | None:
    """The dotted source paths the transformation reads, in first-use order; None when it
    passes or reads whole records."""
    if spec.identity or spec.keep:
        return None
    paths: dict[str, None] = {}
    try:
        for expression in _expressions(spec):
            if expression.parsed is None:
                continue
            for path in sorted(_refs(expression.parsed.parsed, ())):
                paths[".".join(path)] = None
    except _WholeRecord:
        return None
    # A whole value read somewhere covers its parts: ``invoice-lines`` beside
    # ``invoice-lines.price`` must ask for whole lines.
    return [p for p in paths if not any(p.startswith(q + ".") for q in paths if q != p)]


def mapping_projection(
    spec: TransformSpec, obj: ObjectDef, catalog: Catalog, *, also: Iterable[str] = ()
) -> list[str] | None:
    """The ``fields`` to ask for when ``spec`` transforms records of ``obj``, or None for
    whole records.

    Args:
        also: Fields the operation needs besides the mapping's (an incremental field).
    """
    paths = source_paths(spec)
    if paths is None:
        return None
    wanted = projection(obj, [*paths, *also])
    if wanted is None:
        return None
    try:
        fields_param(wanted, obj, catalog)
    except CoupaError:
        return None
    return wanted
