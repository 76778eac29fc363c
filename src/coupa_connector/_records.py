"""Flat rows <-> nested Coupa records.

``flatten`` turns a record into one level of text columns for CSV and SQL:
``supplier.name``, ``invoice-lines[0].price``, ``custom-fields.cf-x``. ``unflatten`` builds
the nested record back from such a row. Values come back as text (a CSV has no types);
``unflatten(flatten(r))`` equals ``r`` with every scalar as its text form, empty containers
dropped and, with ``empty_as_none=True``, empty text as None.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ERRORS_KEY",
    "LINE_KEY",
    "RAW_KEY",
    "REJECTS_KEYS",
    "column_paths",
    "column_sort_key",
    "flatten",
    "format_value",
    "unflatten",
    "union_columns",
    "without_rejects_keys",
]

ERRORS_KEY = "_errors"
"""A rejects file carries each record's reasons under this key."""
LINE_KEY = "_line"
"""A rejects file of JSON records carries the source line a record started at under this key."""
RAW_KEY = "_raw"
"""An input entry no reader could parse is kept as its text under this key."""
REJECTS_KEYS = frozenset({ERRORS_KEY, LINE_KEY})
"""The keys a rejects file adds to a record; readers of records drop them, so a fixed rejects
file can be fed back as it is."""


def without_rejects_keys(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` without the keys a rejects file added (a new dict; keys as text)."""
    return {str(k): v for k, v in record.items() if k not in REJECTS_KEYS}


_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def format_value(value: Any) -> str:
    """The text form of a scalar: ``true``/``false``, numbers as written, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten a nested record into dotted text columns.

    Args:
        record: A record with nested dicts (associations) and lists (line collections).
        prefix: Column prefix (used in recursion).

    Returns:
        Column name -> text, in the record's order. Empty dicts and lists add no columns.
    """
    out: dict[str, str] = {}
    _flatten_into(out, record, prefix)
    return out


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _flatten_into(out: dict[str, str], value: Any, key: str) -> None:
    # A page of invoices with their lines is hundreds of thousands of values: exact type
    # checks come first because the ABC check behind isinstance(..., Mapping) costs several
    # times more.
    kind = type(value)
    if kind is str:
        out[key] = value
    elif kind in _SCALARS:
        out[key] = format_value(value)
    elif kind is dict or isinstance(value, Mapping):
        for name, item in value.items():
            name = str(name)
            if not name or "." in name or "[" in name or "]" in name:
                raise ValueError(
                    f"field name {name!r} cannot be flattened (empty, or has '.', '[' or ']')"
                )
            _flatten_into(out, item, f"{key}.{name}" if key else name)
    elif kind is list or kind is tuple or isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _flatten_into(out, item, f"{key}[{i}]")
    else:
        out[key] = format_value(value)


def _tokens(column: str) -> list[str | int]:
    tokens: list[str | int] = []
    pos = 0
    for m in _TOKEN.finditer(column):
        gap = column[pos : m.start()]
        if gap not in ("", "."):
            raise ValueError(f"column {column!r} is not a flattened field path")
        tokens.append(int(m.group(1)) if m.group(1) is not None else m.group(2))
        pos = m.end()
    if pos != len(column) or not tokens or isinstance(tokens[0], int):
        raise ValueError(f"column {column!r} is not a flattened field path")
    return tokens


def column_paths(columns: Iterable[str]) -> dict[str, list[str | int]]:
    """The field path of each column that is one, for ``unflatten(..., paths=)``: a file's
    header is split once instead of once per row."""
    paths: dict[str, list[str | int]] = {}
    for column in columns:
        # A column that is not a path is left to unflatten, which says what is wrong with it.
        with contextlib.suppress(ValueError):
            paths[column] = _tokens(column)
    return paths


def unflatten(
    row: Mapping[str, Any],
    *,
    empty_as_none: bool = False,
    paths: Mapping[str, list[str | int]] | None = None,
) -> dict[str, Any]:
    """Build a nested record from flattened columns (the inverse of ``flatten``).

    Args:
        row: Column -> value (``supplier.name``, ``invoice-lines[0].price``).
        empty_as_none: Turn empty text into None (a CSV cannot tell the two apart).
        paths: The columns' paths from ``column_paths``, when many rows share them.

    Returns:
        The nested record; list items are ordered by index, and gaps are dropped.

    An empty column that is also a container of other columns (``contract`` beside
    ``contract.id``: a file with invoices with and without a contract) is the object's
    place in a record without it: the object is empty (None with ``empty_as_none``) where
    all its columns are, and what its columns hold otherwise.

    Raises:
        ValueError: A column is not a field path, or the same path is both a value and a
            container (``supplier`` set to text beside ``supplier.name``).
    """
    root: dict[str, Any] = {}
    known = paths or {}
    tokens_of = {column: known.get(column) or _tokens(str(column)) for column in row}
    containers = {tuple(t[:k]) for t in tokens_of.values() for k in range(1, len(t))}
    # Objects empty here and set in other rows of the same file (a CSV holds the union of
    # the records' columns: ``contract`` of an invoice without one beside ``contract.id``).
    placeholders: list[tuple[list[str | int], Any]] = []
    for column, value in row.items():
        tokens = tokens_of[column]
        if empty_as_none and value == "":
            value = None
        if value in (None, "") and tuple(tokens) in containers:
            placeholders.append((tokens, value))
            continue
        node: Any = root
        for i, token in enumerate(tokens):
            last = i == len(tokens) - 1
            nxt = None if last else tokens[i + 1]
            if not isinstance(node, dict):
                raise ValueError(f"column {column!r} conflicts with another column")
            # Lists are built as {index: item} and ordered at the end, so columns may come in
            # any order and sparse indexes cannot raise.
            key: Any = token
            if last:
                if key in node:
                    raise ValueError(f"column {column!r} conflicts with another column")
                node[key] = value
            else:
                child = node.setdefault(key, _ListBuilder() if isinstance(nxt, int) else {})
                if isinstance(nxt, int) != isinstance(child, _ListBuilder):
                    raise ValueError(f"column {column!r} conflicts with another column")
                node = child
    for tokens, value in placeholders:
        _empty_unless_set(root, tokens, value)
    record: dict[str, Any] = _finish(root)
    return record


def _empty_unless_set(root: dict[str, Any], tokens: list[str | int], value: Any) -> None:
    """Make the object at ``tokens`` ``value`` (None or empty text) unless its columns hold
    something: a row whose object columns are all empty had no object."""
    node: Any = root
    for token in tokens[:-1]:
        node = node.get(token)
        if not isinstance(node, dict):
            return
    found = node.get(tokens[-1])
    if not _holds_value(found):
        node[tokens[-1]] = value


def _holds_value(node: Any) -> bool:
    if isinstance(node, dict):
        return any(_holds_value(v) for v in node.values())
    return node not in (None, "")


class _ListBuilder(dict[Any, Any]):
    """A dict keyed by list index, turned into a list by ``_finish``."""


def _finish(node: Any) -> Any:
    if isinstance(node, _ListBuilder):
        return [_finish(node[i]) for i in sorted(node)]
    if isinstance(node, dict):
        return {k: _finish(v) for k, v in node.items()}
    return node


def column_sort_key(column: str) -> tuple[Any, ...]:
    """Sort key that keeps ``lines[2]`` before ``lines[10]`` and a record's columns together."""
    return tuple((0, t) if isinstance(t, int) else (1, t) for t in _tokens(column))


def union_columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every column of ``rows``, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for column in row:
            seen.setdefault(column, None)
    return list(seen)
