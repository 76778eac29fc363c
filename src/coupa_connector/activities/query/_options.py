"""The options of a query, declared once: ``QueryOptions`` travels from the CLI to the request.

``QueryOptions`` is the value (frozen: a query's options do not change on the way);
``QueryKeywords`` is the same names as keyword arguments, so the public methods
(``AsyncConnection.query``, ``Connection.query``, ``build_query``, ``extract``) take either an
options object or keywords, typed (``**keywords: Unpack[QueryKeywords]``), without
declaring the options again. A test holds the two lists equal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from coupa_connector.activities.query._filters import Where

__all__ = ["Bound", "Paging", "QueryKeywords", "QueryOptions", "RawParams"]

Paging = Literal["auto", "offset", "keyset"]
Bound = str | dt.datetime | dt.date
RawParams = Mapping[str, Any] | Sequence[tuple[str, Any]]


@dataclass(frozen=True, slots=True)
class QueryOptions:
    """What a query asks for and how it is fetched.

    Attributes:
        where: Conditions: an expression (``"status=approved"``), a list of them, or a
            mapping (``{"status": ["approved", "voided"], "supplier.name[contains]": "Ac"}``).
        fields: Dotted paths to return (``["id", "supplier.name"]``); all when omitted.
        return_object: ``limited`` (ids only) or ``shallow``.
        order_by: Field to sort by; anything but ``id`` pages by offset.
        dir: ``asc`` or ``desc``.
        limit: Most records to return.
        params: Raw Coupa parameters, passed through unchecked.
        since: Only records with ``updated-at`` at or after this.
        until: Only records with ``updated-at`` before this.
        concurrency: Pages (or keyset partitions) fetched at once; the connection's setting
            when omitted.
        paging: ``auto`` (keyset by id unless another order is asked for), ``keyset`` or
            ``offset``.
        show_deleted_lines: Include the lines deleted from each record
            (``show_deleted_lines=true``; purchase orders only, as Coupa documents it).
        strict: Refuse fields the catalog (and the instance's overlay) does not know in
            ``where`` and ``fields``; by default they are sent as given, with a warning
            (``QuerySpec.warnings``), since instances carry their own fields.
    """

    where: Where = None
    fields: Sequence[str] | None = None
    return_object: str | None = None
    order_by: str | None = None
    dir: str | None = None
    limit: int | None = None
    params: RawParams | None = None
    since: Bound | None = None
    until: Bound | None = None
    concurrency: int | None = None
    paging: Paging = "auto"
    show_deleted_lines: bool = False
    strict: bool = False

    @classmethod
    def of(cls, options: QueryOptions | None = None, **keywords: Any) -> QueryOptions:
        """``options`` (or the defaults) with ``keywords`` on top.

        Raises:
            TypeError: A keyword that is not a query option.
        """
        base = options if options is not None else cls()
        return dataclasses.replace(base, **keywords) if keywords else base

    def replace(self, **changes: Any) -> QueryOptions:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)


class QueryKeywords(TypedDict, total=False):
    """``QueryOptions``'s fields as keyword arguments (see there)."""

    where: Where
    fields: Sequence[str] | None
    return_object: str | None
    order_by: str | None
    dir: str | None
    limit: int | None
    params: RawParams | None
    since: Bound | None
    until: Bound | None
    concurrency: int | None
    paging: Paging
    show_deleted_lines: bool
    strict: bool
