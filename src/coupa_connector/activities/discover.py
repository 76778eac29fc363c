"""Discovery: learn an instance's own fields from its records, and save them as its overlay.

Every Coupa instance adds custom ("flexible") fields to the objects it uses, and its records
carry fields Coupa's references leave out. Coupa publishes no API for custom field
definitions: the R38 and R39 Swagger files have no such path (their only "custom" paths are
custom object instances), and the documents name "custom field attributes" only as a part
of the ``core.common`` scope, without a route. What every instance does serve is its
records, and those carry each custom field either inside ``custom-fields`` or, for older
fields with "API Global Namespace" set, as top-level elements. So discovery reads a small
sample of each object's newest records, the lines nested in them included, and records
every member of ``custom-fields`` and every element the catalog lacks, with the type its
values show (``observe_records``).

The result is saved as the instance's overlay (one JSON file per instance URL in the user's
cache directory; see ``catalog._overlay``), which the connection then uses, so validation,
``--where``, ``--fields``, ``coupa schema`` and JSON Schema know the instance's fields.
Objects discovered again replace what the overlay knew of them; others are kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from coupa_connector.activities.write._send import Requester
from coupa_connector.catalog import (
    Catalog,
    InstanceField,
    ObjectDef,
    Overlay,
    load_catalog,
    load_overlay,
    observe_records,
    save_overlay,
    with_overlay,
)
from coupa_connector.errors import (
    AuthenticationError,
    ConfigurationError,
    CoupaError,
    NotFoundError,
    PermissionDeniedError,
)

__all__ = ["SAMPLE_SIZE", "DiscoverReport", "ObjectDiscovery", "default_objects", "discover"]

log = logging.getLogger("coupa_connector.discover")

SAMPLE_SIZE = 25
"""Records read per object: enough to see the fields in use, one page of Coupa's 50."""

CUSTOM_FIELDS = "custom-fields"


class _Requester(Requester, Protocol):
    """What discovery needs of a connection: requests, its catalog and its settings."""

    @property
    def catalog(self) -> Catalog: ...

    @property
    def config(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class ObjectDiscovery:
    """What discovery found for one object.

    Attributes:
        object: The catalog object's name.
        sampled: Records read.
        fields: The fields found beyond the catalog, the lines' under their own object.
        error: Why the object could not be read; None when it was.
        unavailable: The instance does not offer it to this connection (404: a module it
            does not have; 403: a scope the client lacks), rather than a failure.
    """

    object: str
    sampled: int = 0
    fields: Mapping[str, tuple[InstanceField, ...]] = field(default_factory=dict)
    error: str | None = None
    unavailable: bool = False


@dataclass(frozen=True, slots=True)
class DiscoverReport:
    """The outcome of ``discover``.

    Attributes:
        overlay: The instance's overlay after discovery (what was known of objects not
            discovered this time is kept).
        path: Where it was saved; None when ``save`` was false.
        objects: Each object tried, in order.
    """

    overlay: Overlay
    path: Path | None
    objects: tuple[ObjectDiscovery, ...]

    @property
    def catalog(self) -> Catalog:
        """The shipped catalog plus the overlay."""
        return with_overlay(load_catalog(), self.overlay)


def default_objects(catalog: Catalog) -> list[ObjectDef]:
    """The objects discovery reads by default: every object that can carry custom fields
    and can be queried on a resource of its own."""
    return [
        obj
        for obj in catalog
        if obj.supported
        and obj.resource
        and ":" not in obj.resource
        and obj.can_query
        and CUSTOM_FIELDS in obj.fields
    ]


async def discover(
    conn: _Requester,
    objects: Sequence[str | ObjectDef] | None = None,
    *,
    sample: int = SAMPLE_SIZE,
    save: bool = True,
    cache_dir: Path | str | None = None,
) -> DiscoverReport:
    """Read a sample of each object's records and save the fields found as the instance's
    overlay.

    Args:
        conn: An open connection.
        objects: The objects to read (any of their names); by default every object that
            can carry custom fields (``default_objects``).
        sample: Records read per object (newest first), 1 to 50.
        save: Save the overlay in the cache directory (and the connection uses it).
        cache_dir: The cache directory; the user's by default.

    Returns:
        The overlay, where it was saved, and what each object gave.

    Raises:
        UnknownObjectError: An object the catalog does not know (before any request).
        ConfigurationError: ``sample`` out of range, or an object with no query of its own.
        AuthenticationError: The credentials were refused (nothing is saved).
    """
    if not 1 <= sample <= 50:
        raise ConfigurationError(f"sample must be from 1 to 50 records, not {sample}.")
    shipped = load_catalog()
    if objects is None:
        targets = default_objects(shipped)
    else:
        targets = [o if isinstance(o, ObjectDef) else shipped.get(o) for o in objects]
        for obj in targets:
            if not obj.resource or ":" in obj.resource or not obj.can_query:
                raise ConfigurationError(
                    f"{obj.name} cannot be queried on a resource of its own, so its records "
                    "cannot be sampled; discover the object that holds it."
                )
    url = str(conn.config.url)
    # A few objects at once, within the connection's concurrency (and its rate limit).
    gate = asyncio.Semaphore(max(1, int(getattr(conn.config, "concurrency", 4) or 4)))

    async def one(obj: ObjectDef) -> ObjectDiscovery:
        async with gate:
            return await _discover_one(conn, shipped, obj, sample)

    outcomes = await asyncio.gather(*(one(obj) for obj in targets), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome  # refused credentials: no object can be read, nothing is saved
    found = [o for o in outcomes if isinstance(o, ObjectDiscovery)]
    learned: dict[str, list[InstanceField]] = {}
    for item in found:
        if item.error is None:
            for name, fields in item.fields.items():
                learned.setdefault(name, []).extend(fields)
    # What this discovery read replaces what the overlay knew of it; the rest is kept.
    tried = {n for item in found if item.error is None for n in (item.object, *item.fields)}
    before = load_overlay(url, cache_dir=cache_dir)
    kept = {
        name: list(fields)
        for name, fields in (before.objects.items() if before is not None else ())
        if name not in tried
    }
    overlay = Overlay.build(url, {**kept, **learned})
    path = save_overlay(overlay, cache_dir=cache_dir) if save else None
    if path is not None:
        log.info("instance overlay of %s saved to %s", overlay.instance, path)
    return DiscoverReport(overlay, path, tuple(found))


async def _discover_one(
    conn: _Requester, catalog: Catalog, obj: ObjectDef, sample: int
) -> ObjectDiscovery:
    # Newest first: the records most likely to carry the fields in use today.
    params = {"limit": str(sample), "order_by": "id", "dir": "desc"}
    assert obj.resource is not None
    try:
        data = await conn.request("GET", obj.resource, params=params, object_name=obj.name)
    except AuthenticationError:
        raise  # no object can be read: nothing to save
    except CoupaError as exc:
        # One object out of reach (a module the instance does not have, a missing scope)
        # does not stop the others; the report says which and why.
        log.info("discover: %s not read: %s", obj.name, exc)
        missing = isinstance(exc, NotFoundError | PermissionDeniedError)
        return ObjectDiscovery(obj.name, error=str(exc), unavailable=missing)
    records = [r for r in (data if isinstance(data, list) else []) if isinstance(r, Mapping)]
    fields: dict[str, list[InstanceField]] = {}
    _observe(catalog, obj, records, fields)
    return ObjectDiscovery(
        obj.name,
        sampled=len(records),
        fields={name: tuple(items) for name, items in fields.items() if items},
    )


def _observe(
    catalog: Catalog,
    obj: ObjectDef,
    records: list[Mapping[str, Any]],
    into: dict[str, list[InstanceField]],
) -> None:
    """The fields of ``records`` beyond ``obj`` in the catalog, and those of their lines."""
    seen = observe_records(catalog, obj, records)
    # Everything inside custom-fields is one of the instance's custom fields.
    into.setdefault(obj.name, []).extend(
        replace(f, custom=True) if CUSTOM_FIELDS in f.places else f for f in seen
    )
    for fdef in obj.fields.values():
        if fdef.kind != "collection" or not fdef.ref or fdef.ref not in catalog:
            continue
        line_obj = catalog.get(fdef.ref)
        if line_obj.resource is not None:
            continue  # associated records with their own resource: discovered on their own
        lines = [
            line
            for record in records
            if isinstance(record.get(fdef.name), list)
            for line in record[fdef.name]
            if isinstance(line, Mapping)
        ]
        if lines:
            _observe(catalog, line_obj, lines, into)
