"""Updates that add lines: not idempotent, so a lost answer is settled by re-reading the record.

A PUT that only sets fields, or updates and removes lines by ``id``, does the same thing
however often it is sent. A line without ``id`` is *added* by every PUT that carries it, so
such a PUT is sent once per decision: the line ids of the record are read before the send,
and after a lost answer they are read again. New line ids as many as the lines added mean the
change landed; none means it did not (it is sent again); anything else cannot be told apart
from someone else's edit, and the record fails with a message asking to check Coupa.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from coupa_connector.activities.write._keys import get_path

__all__ = ["Landed", "LineIds", "ReadRecord", "added_lines", "adds_lines", "landed", "line_ids"]

ReadRecord = Callable[[Mapping[str, str]], Awaitable[Any]]
"""Reads the record with the given query parameters (``GET`` of the record's path)."""

LineIds = dict[str, frozenset[int]]
"""The ids of a record's items per collection (``invoice-lines``), as read from Coupa."""


class Landed(enum.Enum):
    """What a re-read says about a PUT whose answer was lost."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


def _is_new_item(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("id") in (None, "")


def adds_lines(body: Any) -> bool:
    """True when a body holds, at any depth, a collection item without ``id``: sending it
    twice adds that item twice."""
    if isinstance(body, Mapping):
        return any(adds_lines(v) for v in body.values())
    if isinstance(body, list):
        return any(_is_new_item(v) or adds_lines(v) for v in body)
    return False


def added_lines(body: Mapping[str, Any]) -> dict[str, int] | None:
    """How many items the body adds to each of the record's own collections; None when an
    item without ``id`` sits inside an existing item (an allocation added to line 4), where a
    re-read of the record's items cannot count it."""
    counts: dict[str, int] = {}
    for name, value in body.items():
        if not isinstance(value, list):
            if adds_lines(value):
                return None
            continue
        for entry in value:
            if _is_new_item(entry):
                # Whatever a new item holds lands with it, in the same commit.
                counts[name] = counts.get(name, 0) + 1
            elif adds_lines(entry):
                return None
    return counts


async def line_ids(read: ReadRecord, collections: list[str]) -> LineIds | None:
    """The ids of the record's items in ``collections``; None when Coupa's answer does not
    show one of them (nothing could then be compared).

    Raises:
        CoupaError: The read failed.
    """
    fields: list[Any] = ["id", *({name.replace("-", "_"): ["id"]} for name in collections)]
    record = await read({"fields": json.dumps(fields, separators=(",", ":"))})
    if not isinstance(record, Mapping):
        return None
    found: LineIds = {}
    for name in collections:
        items = get_path(record, (name,))
        if not isinstance(items, list):
            return None
        ids = [item.get("id") if isinstance(item, Mapping) else None for item in items]
        if not all(isinstance(i, int) for i in ids):
            return None
        found[name] = frozenset(i for i in ids if isinstance(i, int))
    return found


def landed(before: LineIds, after: LineIds, added: Mapping[str, int]) -> Landed:
    """Whether the lines a PUT adds are in the record now, by the ids that are new."""
    new = [len(after[name] - before[name]) for name in added]
    if all(n == 0 for n in new):
        return Landed.NO
    if all(n == added[name] for n, name in zip(new, added, strict=True)):
        return Landed.YES
    return Landed.UNKNOWN
