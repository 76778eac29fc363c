"""Which sheets of Coupa's CSV formats workbooks become ``coupa-csv`` formats, and how.

The workbooks describe each flat file as one sheet: one table of columns per record type
("Invoice Header Columns", "Invoice Line Columns", ...). What the sheets do not say is which
catalog object a file holds, which collection of the parent each record type fills, and
what its file names start with; that is this table. ``build_csv_formats.py`` reads it.

Each record type is keyed by the title of its table in the sheet (``None`` for a sheet with
a single untitled table) and gives its name, its parent record type and the field of the
parent that holds it. A table the sheet has and this file does not list is not part of the
format: ``SKIPPED`` says why, and the generator refuses a table that is in neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecordType:
    name: str
    parent: str | None = None
    collection: str | None = None  # field of the parent's record that holds these records
    marker: str | None = None  # the first-column value, where the sheet does not give one
    marker_reason: str = ""


@dataclass(frozen=True)
class FormatSpec:
    object: str
    direction: str  # "import" (into Coupa) or "export" (out of Coupa)
    sheet: str
    prefix: str  # Coupa's file names: {prefix}_{YYYYMMDD}_{HHMMSS}Z.csv
    record_types: dict[str | None, RecordType]
    skipped: dict[str, str] = field(default_factory=dict)


_NO_MARKER = "has no record-type column, so its rows cannot be told apart in one file"
_ANY_MARKER = "names no record-type value (its type column allows any value)"
_EXPENSE_MARKERS = (
    "every table's type column allows 'Header, Line, or Line Split.': each table takes "
    "the one value its title names"
)

FORMATS: tuple[FormatSpec, ...] = (
    # ---------------------------------------------------------------- exports (out of Coupa)
    FormatSpec(
        "invoices",
        "export",
        "Invoices",
        "invoices",
        {
            "Invoice Header Columns": RecordType("header"),
            "Invoice Line Columns": RecordType("line", "header", "invoice-lines"),
            "Invoice Line Allocation (Split) Columns": RecordType(
                "line-split", "line", "account-allocations"
            ),
            "Invoice Charge Columns": RecordType("charge", "header", "invoice-charges"),
            "Invoice Charge Allocations (Split) Columns": RecordType(
                "charge-split", "charge", "account-allocations"
            ),
            "Tax Line Columns": RecordType("tax-line", "line", "tax-lines"),
            "Withholding Tax Line Columns": RecordType(
                "withholding-tax-line", "line", "withholding-tax-lines"
            ),
            # The API has no field for a line's matching allocations: the rows are kept
            # under the line by the file's own name for them.
            "Matching Allocation": RecordType(
                "matching-allocation", "line", "matching-allocations"
            ),
        },
        {
            "Failed Tolerance Columns": _NO_MARKER,
            "Invoices Reconciliation Line Columns": _ANY_MARKER,
        },
    ),
    FormatSpec(
        "purchase_orders",
        "export",
        "Purchase Orders",
        "purchase_orders",
        {
            "Purchase Order Header Columns": RecordType("header"),
            "Purchase Order Line Columns": RecordType("line", "header", "order-lines"),
        },
        {"Purchase Order Line Allocation Columns": _ANY_MARKER},
    ),
    FormatSpec(
        "requisitions",
        "export",
        "Requisitions",
        "requisitions",
        {
            "Requisition Header Columns": RecordType("header"),
            "Requisition Line Columns": RecordType(
                "line",
                "header",
                "requisition-lines",
                "Requisition Lines",
                "the type column allows 'Requisition Lines, Line Split': the line split rows "
                "have their own table, so a line row is 'Requisition Lines'",
            ),
            "Requisition Line Allocation Columns": RecordType(
                "line-split", "line", "account-allocations"
            ),
        },
    ),
    FormatSpec(
        "receipts",
        "export",
        "Inventory Transactions (Receipt",
        "receipts",
        {
            "Inventory Transaction Header Columns": RecordType("header"),
            "Inventory Transaction Allocation (Line Split) Columns": RecordType(
                "line-split", "header", "account-allocations"
            ),
        },
        {"Inventory Transaction (Barcode Scanning) Columns": _ANY_MARKER},
    ),
    FormatSpec(
        "expense_reports",
        "export",
        "Expense Reports",
        "expense_reports",
        {
            "Expense Report Header Columns": RecordType(
                "header", marker="Header", marker_reason=_EXPENSE_MARKERS
            ),
            "Expense Report Line Columns": RecordType(
                "line", "header", "expense-lines", "Line", _EXPENSE_MARKERS
            ),
            "Expense Report Line Allocation Columns": RecordType(
                "line-split", "line", "account-allocations", "Line Split", _EXPENSE_MARKERS
            ),
            "Expense Report Line Taxes Columns": RecordType(
                "line-tax",
                "line",
                "expense-line-taxes",
                "Expense Line Tax",
                "the type column's description is 'Expense Line Tax' and it allows any value",
            ),
        },
    ),
    # ------------------------------------------------------------------ imports (into Coupa)
    FormatSpec("suppliers", "import", "Suppliers", "suppliers", {None: RecordType("record")}),
    FormatSpec("users", "import", "User", "users", {None: RecordType("record")}),
    FormatSpec("accounts", "import", "Accounts", "accounts", {None: RecordType("record")}),
    FormatSpec(
        "exchange_rates", "import", "Exchange Rates", "exchange_rates", {None: RecordType("record")}
    ),
    FormatSpec(
        "invoices",
        "import",
        "Invoices",
        "invoices",
        {
            "Invoice Header Columns": RecordType("header"),
            "Invoice Charge Columns": RecordType("charge", "header", "invoice-charges"),
            "Invoice Line Columns": RecordType("line", "header", "invoice-lines"),
            "Invoice Account Allocation Columns": RecordType(
                "line-split", "line", "account-allocations"
            ),
            "Tag Columns": RecordType("tag", "header", "tags"),
            "Invoice Tax Line Columns": RecordType("tax-line", "line", "tax-lines"),
        },
    ),
    FormatSpec(
        "lookup_values", "import", "Lookup Values", "lookup_values", {None: RecordType("record")}
    ),
    FormatSpec("items", "import", "Item", "items", {None: RecordType("record")}),
    FormatSpec(
        "budget_lines", "import", "Budget Lines", "budget_lines", {None: RecordType("record")}
    ),
)


# Columns whose names are not their API field's, named by hand: (direction, object, record
# type, column as the workbook spells it) -> field. Each is Coupa's own field for what the
# column's description says; the generator refuses an entry whose field the catalog lacks.
COLUMN_FIELDS: dict[tuple[str, str, str, str], str] = {
    ("import", "suppliers", "record", "PO cXML URL"): "cxml-url",
    ("import", "suppliers", "record", "PO cXML Domain"): "cxml-domain",
    ("import", "suppliers", "record", "PO cXML Identity"): "cxml-identity",
    ("import", "suppliers", "record", "PO cXML Supplier Domain"): "cxml-supplier-domain",
    ("import", "suppliers", "record", "PO cXML Supplier Identity"): "cxml-supplier-identity",
    ("import", "suppliers", "record", "PO cXML Secret"): "cxml-secret",
    ("import", "suppliers", "record", "PO cXML Protocol"): "cxml-protocol",
    (
        "import",
        "suppliers",
        "record",
        "cXML Invoicing - Supplier Domain",
    ): "cxml-invoice-supplier-domain",
    (
        "import",
        "suppliers",
        "record",
        "cXML Invoicing - Supplier Identity",
    ): "cxml-invoice-supplier-identity",
    ("import", "suppliers", "record", "cXML Invoicing - Buyer Domain"): "cxml-invoice-buyer-domain",
    (
        "import",
        "suppliers",
        "record",
        "cXML Invoicing - Buyer Identity",
    ): "cxml-invoice-buyer-identity",
    ("import", "suppliers", "record", "PO cXML HTTP Basic Auth Username"): "cxml-http-username",
    ("import", "suppliers", "record", "PO cXML HTTP Basic Auth Password"): "cxml-http-password",
    ("import", "suppliers", "record", "Savings (%)"): "savings-pct",
    ("import", "suppliers", "record", "Shipping Terms"): "shipping-term",
    ("import", "suppliers", "record", "Parent Company"): "parent",
    ("import", "suppliers", "record", "Request Change Requests"): "allow-change-requests",
    ("import", "suppliers", "record", "Remit-To Requirements"): "remit-to-requirement",
    ("import", "users", "record", "Generate Password And Notify User"): (
        "generate-password-and-notify"
    ),
    ("import", "lookup_values", "record", "Default"): "is-default",
    ("import", "budget_lines", "record", "Budget Overrun Calculation"): "overrun-calculation",
    ("import", "items", "record", "Allow Partial Qty"): "allow-partial-quantity",
    ("import", "items", "record", "Pack Quantity"): "pack-qty",
    ("import", "invoices", "header", "Payment Terms"): "payment-term",
    ("import", "invoices", "header", "Shipping Terms"): "shipping-term",
    ("import", "invoices", "header", "Invoice Reference Number (IRN)"): "invoice-reference-number",
    ("import", "invoices", "line", "Line Number*"): "line-num",
    ("import", "invoices", "line", "Billing Notes"): "billing-note",
    ("import", "invoices", "line", "HSN/SAC"): "hsn-sac-code",
    ("import", "invoices", "charge", "Line Number"): "line-num",
    ("import", "invoices", "charge", "Billing Notes"): "billing-note",
    ("export", "invoices", "line", "billing-notes"): "billing-note",
    ("export", "invoices", "line", "hsn-sac"): "hsn-sac-code",
    ("export", "invoices", "line-split", "billing-notes"): "billing-note",
    ("export", "invoices", "charge", "billing-notes"): "billing-note",
    ("export", "invoices", "charge-split", "billing-notes"): "billing-note",
    ("export", "purchase_orders", "header", "requisition-id"): "requisition-header.id",
    ("export", "purchase_orders", "header", "payment-terms-code"): "payment-term.code",
    ("export", "purchase_orders", "header", "Shipping-terms-code"): "shipping-term.code",
    ("export", "requisitions", "header", "Submitted At Date"): "submitted-at",
    ("export", "requisitions", "header", "Created At Date"): "created-at",
    ("export", "requisitions", "header", "Updated At Date"): "updated-at",
    ("export", "requisitions", "line", "Line Number"): "line-num",
    ("export", "requisitions", "line", "Price"): "unit-price",
    ("export", "requisitions", "line", "Total Quantity"): "quantity",
    ("export", "requisitions", "line", "Line Total"): "total",
    ("export", "requisitions", "line", "Payment Terms"): "payment-term",
    ("export", "requisitions", "line", "Shipping Terms"): "shipping-term",
    ("export", "expense_reports", "line", "External Source Name"): "external-src-name",
    ("export", "expense_reports", "line", "External Source Data"): "external-src-data",
    ("export", "expense_reports", "line", "External Source Ref"): "external-src-ref",
}
