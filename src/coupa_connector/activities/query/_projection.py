"""What a projection asks for: the ``fields`` paths for a consumer that reads a few fields."""

from __future__ import annotations

from collections.abc import Iterable

from coupa_connector.catalog import ObjectDef

ID = "id"
UPDATED_AT = "updated-at"


def wire(name: str) -> str:
    """A field or object name as Coupa spells it on the wire (``invoice_lines`` ->
    ``invoice-lines``)."""
    return name.strip().lower().replace("_", "-")


def is_incremental(obj: ObjectDef) -> bool:
    """Whether the object's records carry ``updated-at``, the replication key."""
    return UPDATED_AT in obj.fields


def projection(obj: ObjectDef, paths: Iterable[str] | None) -> list[str] | None:
    """The dotted paths to send as ``fields=`` for a consumer that uses ``paths``.

    None (ask for whole records) when ``paths`` is None or names every readable field of
    the object. Otherwise the paths, with ``id`` (the primary key and the pager's cursor)
    and ``updated-at`` (the replication key) added when the object has them, in order and
    without repeats.
    """
    if paths is None:
        return None
    wanted = [wire(p) for p in paths]
    tops = {p.split(".", 1)[0] for p in wanted}
    readable = {name for name, f in obj.fields.items() if f.readable}
    if readable <= tops and all("." not in p for p in wanted):
        return None
    keys = [ID, *([UPDATED_AT] if is_incremental(obj) else [])]
    return list(dict.fromkeys([*keys, *wanted]))
