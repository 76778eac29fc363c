"""What the catalog's tests share."""

from __future__ import annotations

# The 25 core objects the catalog must get complete and supported.
THE_25 = [
    "suppliers",
    "supplier_items",
    "items",
    "invoices",
    "purchase_orders",
    "purchase_order_lines",
    "requisitions",
    "receiving_transactions",
    "expense_reports",
    "users",
    "accounts",
    "account_types",
    "lookups",
    "lookup_values",
    "exchange_rates",
    "payment_terms",
    "currencies",
    "uoms",
    "commodities",
    "departments",
    "addresses",
    "approvals",
    "contracts",
    "budget_lines",
    "remit_to_addresses",
]
