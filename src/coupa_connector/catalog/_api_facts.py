"""Facts about Coupa's query language that hold for every object (coupa-api.md 4.2, 4.4).

Both sides use them: the client to check a query before sending it, the sandbox to know
which operators exist. What each operator *means* is implemented separately on each side,
so that the sandbox remains an independent check of the client.
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_INTEGER",
    "MIN_INTEGER",
    "PAGE_LIMIT",
    "QUERY_OPERATORS",
    "RAW_QUERY_PARAMETERS",
    "coupa_integer",
]

# Coupa's filter operators, written ``field[operator]=value``; plain equality has none.
QUERY_OPERATORS: tuple[str, ...] = (
    "not_eq",
    "contains",
    "starts_with",
    "ends_with",
    "gt",
    "lt",
    "gt_or_eq",
    "lt_or_eq",
    "in",
    "not_in",
    "blank",
)

# Query parameters that are no field of the queried object, with what each does (coupa-api.md
# 4.4-4.6: paging, sorting, trimming the answer, named filters).
RAW_QUERY_PARAMETERS: dict[str, str] = {
    "limit": "records per page (at most 50)",
    "offset": "records to skip, from 0",
    "order_by": "the field to sort by",
    "dir": "the sort direction, asc or desc",
    "fields": "the fields to return, as a JSON array",
    "return_object": "limited, shallow or none: how much of each record to return",
    "filter": "a named API response filter of the instance",
    "show_deleted_lines": "purchase orders: include deleted lines",
}

# Objects whose queries take ``show_deleted_lines=true`` (coupa-api.md 4.6: deleted lines of
# purchase orders, which ERP replication needs), with the line collection it concerns.
DELETED_LINES_SHOWN: dict[str, str] = {"purchase_orders": "order-lines"}

# Records in one page: Coupa's default and its maximum ``limit``.
PAGE_LIMIT = 50

# The range of integers (an id, a filter on an integer field) Coupa can hold. Coupa's
# Swagger (swagger/R39/Core_Platform_API.json, a Swagger 2.0 file) declares ids
# ``"type": "integer", "format": "integer"`` without a width, and Swagger 2.0 has no integer
# format wider than ``int64`` (signed 64 bits), so nothing outside -2**63 .. 2**63 - 1 is a
# Coupa integer. The sandbox's store draws the same line: past it, 400 "is out of range".
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**63 - 1
_MAX_DIGITS = len(str(MAX_INTEGER))
_INTEGER_TEXT = re.compile(r"[+-]?0*(\d+)")


def coupa_integer(text: str) -> int | None:
    """The integer ``text`` spells (``17``, ``-3``, ``+007``), if Coupa can hold it; else None.

    The digits are counted before they are parsed: a 5,000-digit string is never converted
    (Python refuses to, and it is out of range anyway).
    """
    match = _INTEGER_TEXT.fullmatch(text.strip())
    if match is None or len(match.group(1)) > _MAX_DIGITS:
        return None
    number = int(match.group(0))
    return number if MIN_INTEGER <= number <= MAX_INTEGER else None
