"""Coupa's named API response filters (``GET /api/invoices?filter=default_invoices_filter``).

A Coupa administrator defines a filter as a name, the resources it serves, the fields it
returns and conditions it always applies (coupa-api.md 4.6; Coupa's "API Response Filters"
page lists invoices, order headers, order lines, users, expense headers, expense lines and
requisitions). The sandbox keeps its filters in the store, under a name no resource has, so
they survive with a database file and go away with a reset; the seed makes one per main
object, named as Coupa's docs name them, and the admin API changes them
(``/__sandbox__/api-filters``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from coupa_connector.sandbox._store import Store

__all__ = [
    "FILTER_STORE",
    "ApiFilter",
    "FilterError",
    "default_filters",
    "delete_filter",
    "find_filter",
    "list_filters",
    "save_filter",
]

# The store's name for filter records: "@" is in no resource name, so /api never serves it.
FILTER_STORE = "@api_filters"


class FilterError(ValueError):
    """A filter definition that cannot be used; the message names the part."""


@dataclass(frozen=True, slots=True)
class ApiFilter:
    """One named filter.

    Attributes:
        name: What ``filter=`` names.
        resources: The resources it applies to (``purchase_orders``).
        fields: A ``fields`` selection, as the query parameter spells it (a JSON list);
            empty for every field.
        conditions: Query conditions it always adds (``{"status[not_in]": "draft"}``).
    """

    name: str
    resources: tuple[str, ...]
    fields: tuple[Any, ...] = ()
    conditions: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "resources": list(self.resources),
            "fields": list(self.fields),
            "conditions": dict(self.conditions),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiFilter:
        """Build a filter from its JSON form; ``FilterError`` names what is wrong."""
        name = data.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise FilterError("name: expected a name of 1 to 100 characters")
        resources = data.get("resources")
        if not isinstance(resources, list) or not resources:
            raise FilterError("resources: expected a list of resource names")
        if not all(isinstance(r, str) and r for r in resources):
            raise FilterError("resources: expected a list of resource names")
        fields = data.get("fields", [])
        if not isinstance(fields, list):
            raise FilterError("fields: expected a JSON list, as the fields parameter takes")
        conditions = data.get("conditions", {})
        if not isinstance(conditions, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in conditions.items()
        ):
            raise FilterError("conditions: expected an object of query keys and values")
        return cls(name.strip(), tuple(resources), tuple(fields), tuple(sorted(conditions.items())))

    @property
    def fields_param(self) -> str | None:
        """The ``fields`` parameter the filter stands for (None: every field)."""
        return orjson.dumps(list(self.fields)).decode() if self.fields else None


def default_filters() -> list[ApiFilter]:
    """One filter per object Coupa's response filters serve, named ``default_<resource>_
    filter`` as Coupa's docs name ``default_purchase_orders_filter``."""
    supplier = {"supplier": ["id", "name", "number"]}
    return [
        ApiFilter(
            "default_invoices_filter",
            ("invoices",),
            (
                "id",
                "invoice-number",
                "invoice-date",
                "status",
                "total-with-taxes",
                "exported",
                "updated-at",
                supplier,
                {"currency": ["code"]},
                {"invoice-lines": ["id", "line-num", "total", "po-number", "order-line-num"]},
            ),
        ),
        ApiFilter(
            "default_purchase_orders_filter",
            ("purchase_orders",),
            (
                "id",
                "po-number",
                "status",
                "version",
                "total",
                "exported",
                "updated-at",
                supplier,
                {"order-lines": ["id", "line-num", "description", "quantity", "price"]},
            ),
            (("status[not_in]", "draft"),),
        ),
        ApiFilter(
            "default_purchase_order_lines_filter",
            ("purchase_order_lines",),
            ("id", "line-num", "order-header-id", "description", "quantity", "price", "status"),
        ),
        ApiFilter(
            "default_requisitions_filter",
            ("requisitions",),
            ("id", "status", "req-title", "total", "submitted-at", "updated-at"),
        ),
        ApiFilter(
            "default_users_filter",
            ("users",),
            ("id", "login", "email", "firstname", "lastname", "active", "employee-number"),
            (("active", "true"),),
        ),
        ApiFilter(
            "default_expense_reports_filter",
            ("expense_reports",),
            ("id", "title", "status", "total", "exported", "updated-at"),
        ),
        ApiFilter(
            "default_expense_lines_filter",
            ("expense_lines",),
            ("id", "expense-report-id", "description", "amount", "expense-date"),
        ),
    ]


def list_filters(store: Store) -> list[ApiFilter]:
    """Every filter, by name."""
    return sorted(
        (ApiFilter.from_dict(doc) for doc in store.select(FILTER_STORE)), key=lambda f: f.name
    )


def find_filter(store: Store, name: str) -> ApiFilter | None:
    """The filter of that name, if any."""
    store.value_index("name")
    docs = store.select(FILTER_STORE, "json_extract(r0.doc, '$.\"name\"') = ?", (name,))
    return ApiFilter.from_dict(docs[0]) if docs else None


def save_filter(store: Store, api_filter: ApiFilter) -> None:
    """Add a filter or replace the one of the same name."""
    store.value_index("name")
    ids = store.select_ids(
        FILTER_STORE, "json_extract(r0.doc, '$.\"name\"') = ?", (api_filter.name,)
    )
    rid = ids[0] if ids else store.next_id(FILTER_STORE)
    store.put(FILTER_STORE, {"id": rid, **api_filter.as_dict()})


def delete_filter(store: Store, name: str) -> bool:
    """Remove a filter; whether there was one."""
    return store.delete_where(FILTER_STORE, "json_extract(r0.doc, '$.\"name\"') = ?", (name,)) > 0
