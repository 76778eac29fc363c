"""Facts about Coupa's query language that hold for every object (coupa-api.md 4.2, 4.4).

Both sides use them: the client to check a query before sending it, the sandbox to know
which operators exist. What each operator *means* is implemented separately on each side,
so that the sandbox remains an independent check of the client.
"""

from __future__ import annotations

__all__ = ["PAGE_LIMIT", "QUERY_OPERATORS"]

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

# Records in one page: Coupa's default and its maximum ``limit``.
PAGE_LIMIT = 50
