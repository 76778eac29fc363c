"""Data for ``build_catalog.py``: what Coupa's element tables leave out or get wrong.

Everything here is a deliberate decision about Coupa's reference, kept apart from the code that
reads the tables: object names and element names, scopes, lookup keys, documented actions, and
the field corrections, each with the reason that ends up in the field's ``note``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# --------------------------------------------------------------------------------------------
# Object-level knowledge from Coupa's documentation beyond the element tables
# --------------------------------------------------------------------------------------------

# Pages whose tables are not an object: examples, lists of countries, CSV layouts.
SKIP_PAGES: dict[str, str] = {
    "0213": "Field definitions of an example call (invoice payments), not an object table.",
    "0262": "Field definitions of example calls (requisition attachments), not an object table.",
    "0383": "Columns of a flat-file (CSV) import, not an API object.",
}

# Sections of a page that do not describe the page's own elements.
SKIP_SECTIONS: dict[str, str] = {
    "Country Specific Elements": "Lists which invoice elements apply per country; the elements "
    "themselves are in the page's main table.",
    "Catalog Fields": "Code lists for compliance fields, not elements.",
    "Compliant Country List": "A list of countries, not elements.",
    "Example API Calls": "Example URLs, not elements.",
}

# Extra element tables on one page that describe another object (page prefix -> table index).
EXTRA_TABLES: dict[tuple[str, int], str] = {
    ("0220", 1): "order-pad-line",
    ("0220", 2): "order-pad-section",
    ("0166", 1): "upload-error",
}

# Catalog names for pages whose resource path does not give a good one.
NAME_OVERRIDES: dict[str, str] = {
    "0071": "remit_to_addresses",
    "0130": "uoms",
    "0096": "tax_codes",
    "0217": "uom_translations",
    "0149": "contract_templates",
    "0087": "supplier_information",
    "0092": "supplier_information_sites",
    "0040": "budget_line_adjustments",
    "0168": "default_receiving_location",
    "0166": "data_file_source_loads",
    "0079": "supplier-proxy-supplier",
    "0471": "csp-invoice",
    "0109": "attachments",
    "0112": "comments",
    "0134": "asn_headers",
    "0135": "asn_lines",
    "0174": "expense_artifacts",
    "0150": "contract_terms",
    "0161": "coupa-pay-payments",
}

# Pages whose objects live only under several parents (no one collection path of their own).
NO_RESOURCE = {
    "0109": "Attachments are nested under their documents (Coupa: Attachments API).",
    "0112": "Comments are nested under invoices, orders, requisitions, expense reports, users.",
}

# Resource paths for pages that document an /api path but list no actions of their own.
RESOURCE_OVERRIDES: dict[str, str] = {
    "0130": "/api/uoms",
    "0096": "/api/tax_codes",
    "0071": "/api/suppliers/:supplier_id/addresses",
    "0134": "/api/asn/headers",
    "0135": "/api/asn/lines",
    "0174": "/api/expense_lines/expense_artifacts",
}

# Actions added by hand where Coupa's page has none but other sections document them.
EXTRA_ACTIONS: dict[str, list[tuple[str, str, str, str]]] = {
    "uoms": [
        ("index", "GET", "/api/uoms", "Query units of measure"),
        ("show", "GET", "/api/uoms/:id", "Show unit of measure"),
        ("create", "POST", "/api/uoms", "Create unit of measure"),
        ("update", "PUT", "/api/uoms/:id", "Update unit of measure"),
    ],
    "tax_codes": [
        ("index", "GET", "/api/tax_codes", "Query tax codes"),
        ("show", "GET", "/api/tax_codes/:id", "Show tax code"),
        ("create", "POST", "/api/tax_codes", "Create tax code"),
        ("update", "PUT", "/api/tax_codes/:id", "Update tax code"),
    ],
    "receiving_transactions": [],
}

# XML element names that are not the singular of the resource (Coupa: XML vs JSON samples).
ELEMENTS: dict[str, str] = {
    "invoices": "invoice-header",
    "purchase_orders": "order-header",
    "purchase_order_lines": "order-line",
    "purchase_order_changes": "order-header-change",
    "requisitions": "requisition-header",
    "receiving_transactions": "inventory-transaction",
    "expense_reports": "expense-report",
    "remit_to_addresses": "remit-to-address",
    "supplier_information": "supplier-information",
    "business_groups": "business-group",
    "asn_headers": "asn-header",
    "data_file_source_loads": "data-file-source",
    "default_receiving_location": "default-receiving-location",
    "attachments": "attachment",
    "comments": "comment",
}

# Child collections whose line object also has a resource of its own: the nested view gets
# its own catalog object, named by its element, so that ``field.ref`` names a line object.
NESTED_TWINS: dict[str, str] = {
    "purchase_order_lines": "order-line",
    "expense_lines": "expense-line",
}

# Objects that Coupa embeds inside another record with the fields of a resource object, but
# that are not records of that resource to look up: copy name -> (source object, reason).
EMBEDDED_COPIES: dict[str, tuple[str, str]] = {
    "supplier-address": (
        "addresses",
        "A supplier's primary address: the fields of an address, sent and returned inside the "
        "supplier (Coupa: Suppliers API examples) rather than referenced by id or key.",
    ),
}

# OAuth scopes per object (Coupa's OAuth scope list), as (read, write).
SCOPE_FAMILIES: dict[str, tuple[str, str]] = {
    "accounting": ("core.accounting.read", "core.accounting.write"),
    "common": ("core.common.read", "core.common.write"),
    "supplier": ("core.supplier.read", "core.supplier.write"),
    "invoice": ("core.invoice.read", "core.invoice.write"),
    "purchase_order": ("core.purchase_order.read", "core.purchase_order.write"),
    "requisition": ("core.requisition.read", "core.requisition.write"),
    "user": ("core.user.read", "core.user.write"),
    "user_group": ("core.user_group.read", "core.user_group.write"),
    "approval": ("core.approval.read", "core.approval.write"),
    "contract": ("core.contract.read", "core.contract.write"),
    "expense": ("core.expense.read", "core.expense.write"),
    "item": ("core.item.read", "core.item.write"),
    "catalog": ("core.catalog.read", "core.catalog.write"),
    "receiving": ("core.inventory.receiving.read", "core.inventory.receiving.write"),
    "budget": ("core.budget.read", "core.budget.write"),
    "integration": ("core.integration.read", "core.integration.write"),
    "comment": ("core.comment.read", "core.comment.write"),
    "uom": ("core.uom.read", "core.uom.write"),
}

SCOPE_OF: dict[str, str] = {
    "accounts": "accounting",
    "account_types": "accounting",
    "account_validation_rules": "accounting",
    "addresses": "common",
    "announcements": "common",
    "business_groups": "common",
    "commodities": "common",
    "currencies": "common",
    "departments": "common",
    "exchange_rates": "common",
    "lookups": "common",
    "lookup_values": "common",
    "payment_terms": "common",
    "shipping_terms": "common",
    "tax_codes": "common",
    "suppliers": "supplier",
    "remit_to_addresses": "supplier",
    "supplier_information": "supplier",
    "supplier_information_sites": "supplier",
    "supplier_information_tax_registrations": "supplier",
    "supplier_sites": "supplier",
    "invoices": "invoice",
    "tax_registrations": "invoice",
    "matching_allocations": "invoice",
    "purchase_orders": "purchase_order",
    "purchase_order_lines": "purchase_order",
    "purchase_order_changes": "purchase_order",
    "requisitions": "requisition",
    "users": "user",
    "user_groups": "user_group",
    "user_group_memberships": "user_group",
    "tasks": "user_group",
    "approvals": "approval",
    "contracts": "contract",
    "contract_terms": "contract",
    "contract_templates": "contract",
    "legal_documents": "contract",
    "expense_reports": "expense",
    "expense_lines": "expense",
    "items": "item",
    "supplier_items": "catalog",
    "receiving_transactions": "receiving",
    "budget_lines": "budget",
    "budget_line_adjustments": "budget",
    "integrations": "integration",
    "integration_runs": "integration",
    "integration_history_records": "integration",
    "integration_errors": "integration",
    "data_file_sources": "integration",
    "data_file_source_loads": "integration",
    "comments": "comment",
    "uoms": "uom",
}

# Per-action scopes that differ from the object's read/write pair (Coupa's OAuth scope list).
ACTION_SCOPES: dict[tuple[str, str], str] = {
    ("invoices", "create"): "core.invoice.create",
    ("invoices", "void"): "core.invoice.delete",
    ("invoices", "abandon"): "core.invoice.delete",
    ("invoices", "add_approver"): "core.invoice.approval.write",
    ("invoices", "remove_approval"): "core.invoice.approval.write",
    ("invoices", "restart_approvals"): "core.invoice.approval.write",
    ("invoices", "bypass_approvals"): "core.invoice.approval.bypass",
    ("invoices", "bypass_current_approval"): "core.invoice.approval.bypass",
    # uoms: index is also granted by core.common.read; show/create/update by core.uom.*.
    ("uoms", "index"): "core.common.read",
}

# Ways to identify one record when another record refers to it (Coupa: requisition API lookups).
LOOKUP_KEYS: dict[str, list[list[str]]] = {
    "users": [["id"], ["login"], ["email"], ["employee-number"]],
    "suppliers": [["id"], ["number"], ["name"]],
    "departments": [["id"], ["name"]],
    "addresses": [["id"], ["location-code"], ["name"]],
    "account_types": [["id"], ["name"]],
    "accounts": [["id"], ["code", "account-type"]],
    "currencies": [["id"], ["code"]],
    "uoms": [["id"], ["code"]],
    "payment_terms": [["id"], ["code"]],
    "shipping_terms": [["id"], ["code"]],
    "commodities": [["id"], ["name"]],
    "items": [["id"], ["item-number"], ["name"]],
    "contracts": [["id"], ["number"], ["name"]],
    "lookup_values": [["id"], ["external-ref-code"], ["name", "lookup"]],
    "lookups": [["id"], ["name"]],
    "exchange_rates": [["id"]],
    "invoices": [["id"], ["invoice-number", "supplier"]],
    "purchase_orders": [["id"], ["po-number"]],
    "purchase_order_lines": [["id"], ["line-num", "order-header-id"]],
    "order-line": [["id"], ["line-num", "order-header-id"]],
    "requisitions": [["id"]],
    "expense_reports": [["id"]],
    "expense_lines": [["id"]],
    "receiving_transactions": [["id"]],
    "approvals": [["id"]],
    "budget_lines": [["id"]],
    "remit_to_addresses": [["id"], ["remit-to-code", "supplier"]],
    "supplier_items": [["id"], ["supplier", "item"]],
    "tax_codes": [["id"], ["code", "country"]],
    "business_groups": [["id"], ["name"]],
    "country": [["id"], ["code"], ["name"]],
    # Budget lines name their period by name (Coupa: Budget Lines API examples,
    # ?period[name]=Q3FY09 and <period><name>Q2 2012</name></period>).
    "budget-period": [["id"], ["name"]],
}

# Action endpoints that Coupa's resource pages confirm, added when a page does not list them.
DOCUMENTED_ACTIONS: dict[str, list[tuple[str, str, str]]] = {
    "invoices": [
        ("submit", "PUT", "Submit a draft invoice for approval"),
        ("void", "PUT", "Void an invoice (draft, pending_receipt or approved)"),
        ("abandon", "PUT", "Abandon a draft invoice"),
        ("dispute", "PUT", "Dispute an invoice"),
        ("withdraw_dispute", "PUT", "Withdraw a dispute"),
    ],
    "purchase_orders": [
        ("cancel", "PUT", "Cancel a purchase order"),
        ("close", "PUT", "Close a purchase order"),
        ("reopen", "PUT", "Reopen a soft-closed purchase order"),
        ("issue", "PUT", "Issue and send the purchase order"),
        ("issue_without_send", "PUT", "Issue without sending to the supplier"),
    ],
    "approvals": [
        ("approve", "PUT", "Approve a pending approval"),
        ("reject", "PUT", "Reject a pending approval"),
        ("hold", "PUT", "Hold a pending approval"),
    ],
    "receiving_transactions": [("void", "PUT", "Void a receipt")],
    "expense_reports": [("submit", "PUT", "Submit an expense report")],
    "contracts": [
        ("submit_for_approval", "PUT", "Submit a contract for approval"),
        ("complete", "PUT", "Complete a contract"),
    ],
    "budget_lines": [("adjust", "PUT", "Adjust a budget line")],
    "purchase_order_lines": [
        ("soft_close_for_receiving", "PUT", "Soft-close a line for receiving"),
        ("soft_close_for_invoicing", "PUT", "Soft-close a line for invoicing"),
        ("reopen_for_receiving", "PUT", "Reopen a line for receiving"),
        ("reopen_for_invoicing", "PUT", "Reopen a line for invoicing"),
    ],
}

# --------------------------------------------------------------------------------------------
# Field-level corrections: each changes what Coupa's table says, and says why.
# --------------------------------------------------------------------------------------------

READ_ONLY_EVERYWHERE = {
    "id": "Assigned by Coupa; never accepted on create or update.",
    "created-at": "Set by Coupa when the record is created; read-only.",
    "updated-at": "Set by Coupa on every change; read-only.",
    "created-by": "Set by Coupa to the API user; read-only.",
    "updated-by": "Set by Coupa to the API user; read-only.",
}

EXPORT_FLAGS = {
    "exported": "Read-only in bodies: set with PUT .../:id?exported=true (Coupa: Querying "
    "Options, export flag).",
    "last-exported-at": "Set by Coupa when the record is marked exported; read-only.",
}


@dataclass(frozen=True)
class Correction:
    """One deliberate change to Coupa's table for one field of one object."""

    obj: str
    field: str
    changes: Mapping[str, Any]
    note: str


CORRECTIONS: list[Correction] = [
    # suppliers (Coupa: Suppliers API)
    Correction(
        "suppliers",
        "status",
        {"writable": True, "allowed": ["active", "inactive", "draft"]},
        "Table marks status output-only, but Coupa's examples set it (active/inactive/draft).",
    ),
    Correction(
        "suppliers",
        "po-change-method",
        {"required": False},
        "Table marks it required; suppliers are created without it (defaults to po-method).",
    ),
    Correction(
        "suppliers",
        "invoice-matching-level",
        {"required": False},
        "Table marks it required; Coupa applies the instance default when it is absent.",
    ),
    Correction(
        "suppliers",
        "payment-method",
        {"required": False},
        "Table marks it required; Coupa defaults payment-method to invoice (Coupa: Suppliers API).",
    ),
    Correction(
        "suppliers",
        "primary-address",
        {"required": False},
        "Table marks it required; Coupa's supplier examples create suppliers without one.",
    ),
    Correction(
        "suppliers",
        "primary-contact",
        {"required": False, "kind": "reference", "ref": "supplier-contact"},
        "Table gives no type and marks it required; it is a contact object (Coupa: Suppliers API) "
        "and suppliers are created without one.",
    ),
    Correction(
        "suppliers",
        "online-store",
        {"required": False},
        "Table marks it required; only buy_online suppliers have an online store.",
    ),
    Correction(
        "suppliers",
        "price-amount",
        {"required": False},
        "Table marks it required; it is an optional pricing setting.",
    ),
    Correction(
        "suppliers",
        "enterprise",
        {"required": False},
        "Table marks it required; the enterprise link is optional and set by Coupa.",
    ),
    # invoices (Coupa: Invoices API)
    Correction(
        "invoices",
        "status",
        {"writable": False},
        "Changes only through actions (submit, void, abandon, dispute).",
    ),
    Correction(
        "invoices",
        "document-type",
        {"writable": False},
        "Derived from is-credit-note; read-only.",
    ),
    Correction(
        "invoices",
        "remit-to-address",
        {"required": False},
        "Table marks it required; in practice it defaults from the supplier.",
    ),
    Correction(
        "invoices",
        "supplier-remit-to",
        {"required": False},
        "Table marks it required; in practice it defaults from the supplier.",
    ),
    Correction(
        "invoices",
        "invoice-from-address",
        {"required": False},
        "Required only for compliant (country-specific) invoicing.",
    ),
    Correction(
        "invoices",
        "ship-from-address",
        {"required": False},
        "Required only for compliant (country-specific) invoicing.",
    ),
    Correction(
        "invoices",
        "buyer-tax-registration",
        {"required": False},
        "Required only for compliant (country-specific) invoicing.",
    ),
    Correction(
        "invoices",
        "supplier-tax-registration",
        {"required": False},
        "Required only for compliant (country-specific) invoicing.",
    ),
    Correction(
        "invoices",
        "original-invoice-number",
        {"required": False},
        "Required only when is-credit-note is true.",
    ),
    Correction(
        "invoices",
        "original-invoice-date",
        {"required": False},
        "Required only when is-credit-note is true.",
    ),
    # invoice lines (Coupa: Invoice Line API)
    Correction(
        "invoice-line",
        "account",
        {"required": False},
        "Required unless account-allocations are given; Coupa also defaults it from the "
        "order line or the requester.",
    ),
    Correction(
        "invoice-line",
        "total",
        {"writable": True},
        "Table marks it output-only, but Coupa's invoice samples send it.",
    ),
    # purchase orders / lines (Coupa: Purchase Orders API)
    Correction(
        "purchase_orders",
        "status",
        {"writable": False},
        "Changes only through actions (cancel, close, reopen, issue).",
    ),
    Correction(
        "order-line",
        "account",
        {"required": False},
        "Required unless account-allocations are used (Coupa: Purchase Order Lines API).",
    ),
    Correction(
        "purchase_order_lines",
        "account",
        {"required": False},
        "Required unless account-allocations are used (Coupa: Purchase Order Lines API).",
    ),
    Correction(
        "order-line",
        "external-reference-number",
        {"required": False},
        "Table marks it required; it only links lines to an external system.",
    ),
    Correction(
        "purchase_order_lines",
        "external-reference-number",
        {"required": False},
        "Table marks it required; it only links lines to an external system.",
    ),
    # requisitions (Coupa: Requisitions API)
    Correction(
        "requisitions",
        "created-by",
        {"required": False},
        "Defaults to the API user; overriding it needs a Support setting.",
    ),
    Correction(
        "requisitions",
        "requested-by",
        {"required": False},
        "Output only; the input is requester.",
    ),
    Correction(
        "requisitions",
        "status",
        {"required": False},
        "Output only; requisitions are created as draft.",
    ),
    Correction(
        "requisition-line",
        "item",
        {"required": False},
        "Either item or description is needed; catalog lines give item, free-form lines "
        "give description (Coupa: Requisitions API).",
    ),
    Correction(
        "requisition-line",
        "description",
        {"required": False},
        "Required unless an item is given (Coupa: Requisitions API).",
    ),
    Correction(
        "requisition-line",
        "requisition-line-tax-detail",
        {"required": False},
        "Only used with a tax engine.",
    ),
    # receiving transactions (Coupa's reference)
    Correction(
        "receiving_transactions",
        "rfid-tag",
        {"required": False},
        "Table marks it required; only RFID-tracked receipts carry one.",
    ),
    # users (Coupa: Users API)
    Correction(
        "users",
        "salesforce-id",
        {"required": False},
        "Table marks it required; only Salesforce-linked users have one.",
    ),
    Correction(
        "users",
        "active",
        {"kind": "boolean", "writable": True, "readable": True},
        "Table row has shifted cells; active is a writable boolean. Coupa's ?status=active "
        "query parameter filters on it: users have no status element (Coupa: Users API, "
        "user payloads in the Delegates API examples).",
    ),
    Correction(
        "users",
        "default-currency",
        {"required": False, "unique": False},
        "Table row has shifted cells; its own text says it is not required.",
    ),
    Correction(
        "users",
        "default-locale",
        {"required": False, "unique": False},
        "Table row has shifted cells; a locale is neither required nor unique.",
    ),
    Correction(
        "users",
        "generate-password-and-notify",
        {
            "kind": "boolean",
            "required": False,
            "unique": False,
            "writable": True,
            "readable": False,
        },
        "Table row has shifted cells; it is an input-only yes/no flag.",
    ),
    # items (Coupa's reference)
    Correction(
        "items",
        "manufacturer-name",
        {"required": False},
        "Only name and description are required for items.",
    ),
    Correction("items", "net-weight", {"required": False}, "Optional logistics data."),
    Correction("items", "pack-qty", {"required": False}, "Optional logistics data."),
    Correction("items", "pack-weight", {"required": False}, "Optional logistics data."),
    # expense reports and lines (Coupa: Expense Reports API)
    Correction(
        "expense_reports",
        "start-date",
        {"kind": "date"},
        "Table types it boolean, an obvious error; it is a date.",
    ),
    Correction(
        "expense_reports",
        "end-date",
        {"kind": "date"},
        "Table types it boolean, an obvious error; it is a date.",
    ),
    Correction(
        "expense_reports",
        "status",
        {"writable": False},
        "Changes only through actions (submit, approvals).",
    ),
    Correction(
        "expense-line",
        "foreign-currency",
        {"required": False},
        "Only for expenses paid in another currency.",
    ),
    Correction(
        "expense_lines",
        "foreign-currency",
        {"required": False},
        "Only for expenses paid in another currency.",
    ),
    Correction(
        "expense-line", "start-date", {"required": False}, "Only for divided (per-day) expenses."
    ),
    Correction(
        "expense_lines", "start-date", {"required": False}, "Only for divided (per-day) expenses."
    ),
    # contracts (Coupa: Contracts API)
    Correction(
        "contracts",
        "no-of-renewals",
        {"required": False},
        "Only meaningful for auto_renew contracts.",
    ),
    Correction(
        "contracts",
        "renewal-length-unit",
        {"required": False},
        "Only meaningful for auto_renew contracts.",
    ),
    Correction(
        "contracts",
        "renewal-length-value",
        {"required": False},
        "Only meaningful for auto_renew contracts.",
    ),
    Correction(
        "contracts",
        "reason-insight-events",
        {"required": False},
        "Reason insights are optional annotations.",
    ),
    Correction(
        "contracts",
        "status",
        {"allowed": ["draft", "pending_approval", "published", "inactive", "expired"]},
        "Table gives 'draft' as the type; the samples use these states.",
    ),
    # addresses and remit-to addresses (Coupa's reference)
    Correction(
        "addresses",
        "local-tax-number",
        {"required": False},
        "Table marks it required; only some countries use a local tax number.",
    ),
    Correction(
        "remit_to_addresses",
        "local-tax-number",
        {"required": False},
        "Table marks it required; only some countries use a local tax number.",
    ),
    Correction(
        "remit_to_addresses",
        "active",
        {"description": "Whether the remit-to address is active."},
        "Coupa's description is copied from supplier items.",
    ),
    # payment terms (Coupa's reference)
    Correction(
        "payment_terms",
        "type",
        {"writable": True},
        "Table marks it output-only, but a payment term's type is chosen on create.",
    ),
    Correction(
        "payment_terms",
        "days-for-discount-payment",
        {"required": False},
        "Only for terms with an early-payment discount.",
    ),
    Correction(
        "payment_terms",
        "days-for-net-payment",
        {"required": False},
        "Only for DaysAfterNetPaymentTerm terms.",
    ),
    Correction(
        "payment_terms",
        "discount-due-month",
        {"required": False},
        "Only for end-of-month terms with a discount.",
    ),
    Correction(
        "payment_terms", "net-due-month", {"required": False}, "Only for end-of-month terms."
    ),
    Correction(
        "payment_terms", "net-due-day", {"required": False}, "Only for SpecificDayPaymentTerm."
    ),
    # account types, uoms, commodities: shifted 'active' rows
    Correction(
        "account_types",
        "active",
        {"required": False, "unique": False},
        "Table row has shifted cells; active is an optional flag.",
    ),
    Correction(
        "uoms",
        "active",
        {"required": False, "unique": False},
        "Table row has shifted cells; active is an optional flag.",
    ),
    Correction(
        "commodities",
        "active",
        {"required": False, "unique": False},
        "Table row has shifted cells; active is an optional flag.",
    ),
    # Types and references checked against Coupa's samples and field descriptions.
    Correction(
        "purchase_order_lines",
        "received",
        {"kind": "decimal"},
        "Coupa types it 'integer/decimal' and describes it as the quantity or amount "
        "received: a number, like its twin invoiced (decimal(32,6)).",
    ),
    Correction(
        "order-line",
        "received",
        {"kind": "decimal"},
        "Coupa types it 'integer/decimal' and describes it as the quantity or amount "
        "received: a number, like its twin invoiced (decimal(32,6)).",
    ),
    # The same line, as its own resource and as the element inside a purchase order.
    *(
        Correction(
            line,
            "requisition-line-id",
            {"kind": "integer"},
            "Coupa types it RequisitionLine, but the element is the id of the requisition line "
            "(its description says 'Requisition line ID'; coupa-api.md 7.5 lists "
            "requisition_line_id); an integer, not an object.",
        )
        for line in ("purchase_order_lines", "order-line")
    ),
    Correction(
        "suppliers",
        "primary-address",
        {"ref": "supplier-address"},
        "Coupa types it Supplier Information Address (the SIM bank and remit-to record), but "
        "its supplier examples send and return a plain address (street1, city, postal-code, "
        "country {code}); it is an address embedded in the supplier.",
    ),
    Correction(
        "suppliers",
        "commodity",
        {"kind": "reference", "ref": "commodities"},
        "Coupa's table gives no type; its description ('default commodity, selectable from "
        "drop-down') names a commodity record, which Coupa references by name or id.",
    ),
    Correction(
        "requisitions",
        "currency",
        {"kind": "reference", "ref": "currencies"},
        "Coupa's table puts an example value (USD) in the type column; the requisition's "
        "currency is a currency record ({id, code}) as on every other document.",
    ),
    Correction(
        "requisitions",
        "mobile-currency",
        {"kind": "reference", "ref": "currencies"},
        "Coupa's table puts an example value (USD) in the type column; like currency it is a "
        "currency record ({id, code}).",
    ),
    Correction(
        "requisitions",
        "hide-price",
        {"kind": "boolean"},
        "Coupa types it RequisitionHeader, but its description says 'True or False'.",
    ),
    Correction(
        "items",
        "item-type",
        {"kind": "string", "max_length": 255},
        "Coupa types it Item, but item payloads carry the type as text "
        "(<item-type>Item</item-type>); not a reference to another item.",
    ),
    Correction(
        "users",
        "can-expense-for",
        {"kind": "collection"},
        "Coupa types it User, but user payloads carry a list of users here (Coupa: Delegates "
        'API examples, "can-expense-for": []).',
    ),
    Correction(
        "users",
        "expenses-delegated-to",
        {"kind": "collection"},
        "Coupa types it User, but user payloads carry a list of users here (Coupa: Delegates "
        'API examples, "expenses-delegated-to": []).',
    ),
    Correction(
        "exchange_rates",
        "rate-date",
        {"unique": False, "unique_within": ["from-currency", "to-currency"]},
        "Coupa's table marks it unique, but rates for many currency pairs share a date; it "
        "is unique per currency pair.",
    ),
    Correction(
        "invoices",
        "invoice-number",
        {"unique_within": ["supplier"]},
        "Invoice numbers are the supplier's: unique per supplier, and the natural key is "
        "(invoice-number, supplier) (Coupa: Invoices API).",
    ),
    # Settled against Coupa's Swagger (R38, R39), where the table is plainly wrong.
    Correction(
        "requisitions",
        "status",
        {
            "allowed": [
                "draft",
                "cart",
                "pending_buyer_action",
                "pending_approval",
                "approved",
                "ordered",
                "partially_received",
                "received",
                "abandoned",
                "backgrounded",
                "withdrawn",
            ]
        },
        "Coupa's table lost the commas between approved, ordered and partially_received; "
        "Swagger lists the states one by one.",
    ),
    # Settled against Coupa's own example calls (tests/fixtures/coupa_conformance.json).
    Correction(
        "budget_lines",
        "amount",
        {"writable": True},
        "Table marks it output-only, but Coupa's budget line examples create a line with an "
        "amount and update it (PUT /api/budget_lines/616 with <amount>7500</amount>); Swagger "
        "has it writable.",
    ),
    Correction(
        "tasks",
        "quote-task-attributes",
        {"kind": "reference"},
        "Coupa's table types it QuoteTaskAttributes, a list; its Task API example sends one "
        'mapping ("quote_task_attributes": {"phase": "setup"}): the attributes of the task\'s '
        "one quote task.",
    ),
    Correction(
        "quote_requests",
        "content-groups",
        {"ref": "business_groups"},
        "Coupa's table links content groups to the budget period page; content groups are "
        "business groups (Swagger: BusinessGroup).",
    ),
    Correction(
        "purchase_orders",
        "reason-insight-events",
        {"ref": "reason-insights-events"},
        "Coupa's table names the type Reason Insight Event without a link and Swagger types it "
        "OrderHeader; the events are those of its Reason Insights Events API page (comment, "
        "reason-insight, eventable-type and -id), which an order's reason insight update "
        "records (Coupa: Purchase Orders API).",
    ),
]

# Objects that Coupa documents elsewhere (section 7, samples) but not with a table of their own.
HAND_CURATED: list[dict[str, Any]] = [
    {
        "name": "lookups",
        "title": "Lookups API (/lookups)",
        "element": "lookup",
        "resource": "/api/lookups",
        "note": "Hand-curated: Coupa's reference has no lookups page; fields from the lookup "
        "values page and its examples, and the scope list.",
        "fields": [
            {"name": "id", "kind": "integer"},
            {
                "name": "name",
                "kind": "string",
                "max_length": 255,
                "required": True,
                "unique": True,
                "description": "Name of the lookup.",
            },
            {"name": "description", "kind": "string", "max_length": 255},
            {"name": "active", "kind": "boolean"},
            # Hierarchy settings, as the lookup embedded in Coupa's lookup value examples shows.
            {"name": "fixed-depth", "kind": "integer"},
            *(
                {"name": f"level-{n}-name", "kind": "string", "max_length": 255}
                for n in range(1, 11)
            ),
            {"name": "created-at", "kind": "datetime"},
            {"name": "updated-at", "kind": "datetime"},
            {"name": "created-by", "kind": "reference", "ref": "users"},
            {"name": "updated-by", "kind": "reference", "ref": "users"},
        ],
        "actions": [
            ("index", "GET", "/api/lookups", "Query lookups"),
            ("show", "GET", "/api/lookups/:id", "Show lookup"),
            ("create", "POST", "/api/lookups", "Create lookup"),
            ("update", "PUT", "/api/lookups/:id", "Update lookup"),
        ],
    },
    {
        "name": "country",
        "title": "Country",
        "element": "country",
        "resource": None,
        "note": "Hand-curated: addresses carry country as a nested {id, code, name} "
        "(Coupa: Address API).",
        "fields": [
            {"name": "id", "kind": "integer"},
            {
                "name": "code",
                "kind": "string",
                "max_length": 2,
                "unique": True,
                "description": "ISO 3166 alpha-2 code.",
            },
            {"name": "name", "kind": "string", "max_length": 255},
        ],
        "actions": [],
    },
    {
        "name": "phone-number",
        "title": "Phone Number",
        "element": "phone-number",
        "resource": None,
        "note": "Hand-curated from Coupa's supplier docs (phone-work, phone-mobile, phone-fax).",
        "fields": [
            {"name": "id", "kind": "integer"},
            {"name": "country-code", "kind": "string", "max_length": 10},
            {"name": "area-code", "kind": "string", "max_length": 10},
            {"name": "number", "kind": "string", "max_length": 40},
            {"name": "extension", "kind": "string", "max_length": 10},
        ],
        "actions": [],
    },
    {
        "name": "supplier-contact",
        "title": "Supplier Contact",
        "element": "primary-contact",
        "resource": None,
        "note": "Hand-curated from Coupa's supplier docs: the supplier's primary contact.",
        "fields": [
            {"name": "id", "kind": "integer"},
            {"name": "email", "kind": "string", "max_length": 255},
            {"name": "name-prefix", "kind": "string", "max_length": 255},
            {"name": "name-given", "kind": "string", "max_length": 255},
            {"name": "name-additional", "kind": "string", "max_length": 255},
            {"name": "name-family", "kind": "string", "max_length": 255},
            {"name": "name-suffix", "kind": "string", "max_length": 255},
            {"name": "name-fullname", "kind": "string", "max_length": 255},
            {"name": "notes", "kind": "text"},
            {"name": "phone-work", "kind": "reference", "ref": "phone-number"},
            {"name": "phone-mobile", "kind": "reference", "ref": "phone-number"},
            {"name": "phone-fax", "kind": "reference", "ref": "phone-number"},
        ],
        "actions": [],
    },
]

# Fields Coupa's tables leave out but its documents rely on, added per object.
EXTRA_FIELDS: dict[str, list[dict[str, Any]]] = {
    "users": [
        {
            "name": "status",
            "kind": "string",
            "allowed": ["active", "inactive"],
            "writable": False,
            "readable": False,
            "query_alias": "active",
            "query_values": {"active": "true", "inactive": "false"},
            "description": "Query parameter: active or inactive users.",
            "note": "Query-only: Coupa documents ?status=active for users, whose records carry "
            "the boolean active rather than a status (Coupa: Users API); the parameter filters "
            "on active.",
        }
    ],
    "purchase_orders": [
        {
            "name": name,
            "kind": kind,
            **({"max_length": 255} if kind == "string" else {}),
            "readable": False,
            "description": description,
            "note": "Not in Coupa's table: its Purchase Orders API page updates an order with a "
            "reason insight this way (PUT /api/purchase_orders/:id).",
        }
        for name, kind, description in (
            ("reason-insight-id", "integer", "Id of the reason insight to record."),
            ("reason-insight-code", "string", "Code of the reason insight to record."),
            ("reason-insight-event-comment", "text", "Comment of the reason insight event."),
        )
    ],
    "purchase_order_changes": [
        {
            "name": "approver",
            "kind": "reference",
            "ref": "users",
            "readable": False,
            "description": "The approver to route the change to.",
            "note": "Not in Coupa's table: its Purchase Order Change API example sends the "
            "change with <approver><login>...</login></approver>.",
        }
    ],
    "quote_requests": [
        {
            "name": "source-id",
            "kind": "integer",
            "readable": False,
            "description": "Id of the template or event the new event copies.",
            "note": "Not in Coupa's table: its Quote Requests API examples create an event from "
            'a template with "source_id".',
        }
    ],
    "suppliers": [
        {
            "name": "reviews-count",
            "kind": "integer",
            "writable": False,
            "description": "Number of reviews of the supplier.",
            "note": "Not in Coupa's table: its Suppliers API example queries "
            "/api/suppliers?reviews-count[gt]=5.",
        }
    ],
    "pick_lists": [
        {
            "name": "qty-pick-amt",
            "kind": "decimal",
            "description": "Quantity to pick.",
            "note": "Not in Coupa's table: its Pick Lists / Fulfillment Reservations API "
            "example updates a reservation with <qty-pick-amt>5</qty-pick-amt>.",
        }
    ],
    "remit_to_addresses": [
        {
            "name": "supplier",
            "kind": "reference",
            "ref": "suppliers",
            "writable": False,
            "description": "The supplier the remit-to address belongs to.",
            "note": "Not in Coupa's table: the supplier comes from the path "
            "(/api/suppliers/:supplier_id/...); listed so the natural key "
            "(remit-to-code, supplier) can be expressed.",
        }
    ],
}

ATTACHMENT_REASON = (
    "Attachments are files nested under their documents (multipart uploads, no update), not "
    "records to query or write: list, upload and download them with coupa attachments or "
    "Connection.attachments, upload_attachment and download_attachment (docs/attachments.md). "
    "Attachments listed inside documents are still read as part of those documents."
)

# Objects that get a custom-fields node: every supported object that can be created or updated,
# and the line objects nested in them (Coupa: newer custom fields sit in a custom-fields wrapper).
CUSTOM_FIELDS_NOTE = (
    "Coupa's tables omit the custom-fields wrapper; it holds the instance's API-editable "
    "custom fields (Coupa: Custom Field Namespace)."
)

# Type names in the tables that do not match a page title, mapped to catalog names.
TYPE_ALIASES: dict[str, str] = {
    "user": "users",
    "users": "users",
    "uom": "uoms",
    "unitofmeasure": "uoms",
    "accounttype": "account_types",
    "paymentterm": "payment_terms",
    "shippingterm": "shipping_terms",
    "contentgroup": "business_groups",
    "businessgroup": "business_groups",
    "contentgroups": "business_groups",
    "businessgroups": "business_groups",
    "currencies": "currencies",
    "commodities": "commodities",
    "contracts": "contracts",
    "paymentterms": "payment_terms",
    "period": "budget-period",
    "remittoaddress": "remit_to_addresses",
    "supplierremitto": "supplier-remit-to",
    "lookup": "lookups",
    "lookupvalue": "lookup_values",
    "country": "country",
    "phonenumber": "phone-number",
    "orderline": "order-line",
    "requisitionline": "requisition-line",
    "invoiceline": "invoice-line",
    "expenseline": "expense-line",
    "invoiceheader": "invoices",
    "requisitionheader": "requisitions",
    "inventorytransaction": "receiving_transactions",
    "receipt": "receiving_transactions",
    "address": "addresses",
    "supplier": "suppliers",
    "item": "items",
    "account": "accounts",
    "department": "departments",
    "approval": "approvals",
    "currency": "currencies",
    "commodity": "commodities",
    "contract": "contracts",
    "taxcode": "tax_codes",
    "exchangerate": "exchange_rates",
    "budgetline": "budget_lines",
    "attachment": "attachments",
    "taggingapi": "tagging",
    "tagapi": "tag",
}

# --------------------------------------------------------------------------------------------
# Coupa's Swagger files (swagger_read.py, swagger_merge.py): how they map and merge
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeRule:
    """How a disagreement between the tables and Swagger on one attribute is settled.

    ``winner`` is ``tables``, ``swagger``, ``longest`` (the larger length) or ``union`` (every
    value either lists, the tables' first). The reason goes into the note of every field whose
    value the rule changes from the tables'.
    """

    winner: str
    reason: str


MERGE_RULES: dict[str, MergeRule] = {
    "kind": MergeRule(
        "tables",
        "Where both give a type and they differ, the table's is kept: Coupa's samples and the "
        "corrections were checked against it, and Swagger's types slip as well (custom-field-1 "
        "is text in the table and string(255) in Swagger; Money and Distance objects stand for "
        "the table's decimals).",
    ),
    "ref": MergeRule(
        "tables",
        "Where both name the object a reference points at and they differ, the table's "
        "link is kept.",
    ),
    "max_length": MergeRule(
        "longest",
        "Swagger and the table give different lengths; the longer is kept, so that no value "
        "Coupa stores is refused (Swagger's lengths are the database columns').",
    ),
    "required": MergeRule(
        "tables",
        "Swagger's required lists are the models' presence checks, which include fields Coupa "
        "computes or needs only in some cases (an invoice's origin-currency-gross is required "
        "and read-only); the table's flag is kept, and a field only Swagger lists is never "
        "required on its word alone. The disagreement is recorded.",
    ),
    "writable": MergeRule(
        "tables",
        "Where the table's api-in column and Swagger's readOnly disagree the table's is kept: "
        "Swagger's flag is wrong both ways (it leaves an announcement's subject and message "
        "writable, though the API only reads announcements), and the validation is built on "
        "the table's.",
    ),
    "allowed": MergeRule(
        "union",
        "Swagger and the table list different values; every value either lists is allowed. "
        "A list only Swagger gives is recorded, not enforced: some are format hints "
        "(YYYY-MM-DDTHH:MM:SS+HH:MM) or one value of many (accelerated).",
    ),
}

# Definitions that the element-or-name rule does not map, or maps wrongly: definition ->
# (catalog objects, reason). An empty tuple keeps a definition out of the catalog.
SWAGGER_DEFINITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "Period": (("budget-period",), "The budget period the tables call period."),
    "ReasonInsightEvent": (
        ("reason-insights-events",),
        "The table's page title is plural (Reason Insights Events).",
    ),
    "QuoteRequestsUser": (("quote-request-user",), "The table names it quote-request-user."),
    "OrderLineChange": (
        ("purchase-order-line-change",),
        "The table names the line of a purchase order change purchase-order-line-change.",
    ),
}

# Hand-curated objects that a Swagger definition describes too, besides the object the
# definition maps to: curated object -> (definition, reason). The object takes the
# definition's properties as fields, merged into its own; references typed as the definition
# keep pointing at the definition's own object.
CURATED_DEFINITIONS: dict[str, tuple[str, str]] = {
    "supplier-contact": (
        "Contact",
        "Swagger types a supplier's primary-contact as Contact, and Coupa's samples of an "
        "embedded supplier (Payments API) show its keys: active, purposes and the audit stamps "
        "besides the names, email and phones.",
    ),
}

# Definitions that are a slim view of another object, used for references to it: definition
# -> (catalog object, reason). Their properties must be fields of the object.
REFERENCE_SHAPES: dict[str, tuple[str, str]] = {
    "UserSimple": ("users", "The user block Coupa embeds under created-by, updated-by, approver."),
    "UserSimpleSerializer": ("users", "The same user block, named by its serializer."),
    "SupplierSimpleSerializer": ("suppliers", "A supplier reference, named by its serializer."),
}

# Fields that really point at a record of their own kind; any other property typed as its
# own definition is a slip of Coupa's generator (ExpenseReport.currency -> ExpenseReport).
SELF_REFERENCES = frozenset({"parent", "master-contract", "original-transaction"})

# GET routes that answer with a file, not a record, though Swagger types their answer as the
# record: their segment after the id; any segment starting with retrieve_ is one too (Coupa:
# "Clearance document attachment file name. Accessible via /retrieve_clearance_document";
# the summaries say "Download avatar", "Download all receipts ... in .zip file format").
BINARY_ROUTES = frozenset({"image", "download", "avatar"})

# Names for new objects whose collection path gives a poor one: collection -> name.
SWAGGER_RESOURCE_NAMES: dict[str, str] = {
    "/warehouses/{warehouse_id}/locations": "warehouse_locations",
}

# --------------------------------------------------------------------------------------------
# How certain each required flag is (catalog_certainty.py): validation refuses a create
# without a field only where Coupa certainly does; elsewhere a missing field is a warning.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequiredRule:
    """The certainty of a required flag, by what the sources say about the field."""

    certain: bool
    reason: str


# By the sources of a required, writable field (the first that applies).
REQUIRED_RULES: dict[str, RequiredRule] = {
    "disputed": RequiredRule(False, "Coupa's tables mark it required; its Swagger does not."),
    "agreed": RequiredRule(True, "Coupa's tables and its Swagger both mark it required."),
    "tables": RequiredRule(
        True, "Only Coupa's tables document the field, and they mark it required."
    ),
    "curated": RequiredRule(True, "The connector's curated data marks it required."),
}


@dataclass(frozen=True)
class RequiredCertainty:
    """A required flag whose certainty is known beyond what the sources say.

    ``certain`` False: Coupa can default the field, needs it only in some cases, or its own
    documented example leaves it out; a missing value is then a warning. ``certain`` True:
    Coupa's samples show the field refused when missing, though a source doubts it.
    """

    obj: str
    field: str
    certain: bool
    reason: str


_TAX_ENGINE = "Only used with a tax engine."
_RFID = "Only RFID-tracked transactions carry an RFID tag."
_ALLOCATIONS = "Required unless account-allocations are given; Coupa also defaults it."

REQUIRED_CERTAINTY: list[RequiredCertainty] = [
    RequiredCertainty(
        "quote_requests",
        "event-type",
        False,
        "Coupa defaults it: 'Include the <event-type> element or else Coupa will default to "
        "an RFI' (Coupa: Sourcing API); its Quote Requests API examples create events "
        "without it.",
    ),
    RequiredCertainty(
        "cycle-count-line-lot",
        "quantity",
        False,
        "A lot counted in two units gives order-quantity and consumption-quantity instead "
        "(Coupa: Cycle Count Lines API example).",
    ),
    RequiredCertainty(
        "business-entity-address",
        "local-tax-number",
        False,
        "Country-specific: only some countries use a local tax number.",
    ),
    *(
        RequiredCertainty(name, "rfid-tag", False, _RFID)
        for name in ("receipts", "inventory_adjustments", "inventory_consumptions")
    ),
    RequiredCertainty("inventory_transfers", "rfid-tag", False, _RFID),
    RequiredCertainty(
        "requisition-amount-line",
        "item",
        False,
        "Either item or description is needed (Coupa: Requisitions API).",
    ),
    RequiredCertainty(
        "requisition-amount-line",
        "description",
        False,
        "Required unless an item is given (Coupa: Requisitions API).",
    ),
    RequiredCertainty("requisition-amount-line", "requisition-line-tax-detail", False, _TAX_ENGINE),
    RequiredCertainty("order-amount-line", "order-line-tax-detail", False, _TAX_ENGINE),
    RequiredCertainty(
        "purchase-order-line-change", "order-line-change-tax-detail", False, _TAX_ENGINE
    ),
    RequiredCertainty("order-amount-line", "account", False, _ALLOCATIONS),
    RequiredCertainty("purchase-order-line-change", "account", False, _ALLOCATIONS),
    RequiredCertainty(
        "order-amount-line",
        "external-reference-number",
        False,
        "It only links lines to an external system.",
    ),
    RequiredCertainty(
        "supplier-user",
        "salesforce-id",
        False,
        "Only Salesforce-linked users have one.",
    ),
    RequiredCertainty(
        "itemized-expense-line",
        "foreign-currency",
        False,
        "Only for expenses paid in another currency.",
    ),
    RequiredCertainty(
        "itemized-expense-line", "start-date", False, "Only for divided (per-day) expenses."
    ),
]
