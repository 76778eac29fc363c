"""Requests that published Coupa clients send, replayed against the sandbox.

Each pattern is written down from the client's published source or documentation, named in
its comment; the request is sent as the client sends it (path, parameters, ``fields`` list,
body, format) and the answer is checked for what that client reads: the status, the element
names, derived fields that must not be null, and the end of paging.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from _sandbox_api_support import Api
from _sandbox_tiny import loopback
from coupa_connector.sandbox import Sandbox

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")


@dataclass(frozen=True)
class Pattern:
    """One request a client sends and what it needs from the answer.

    ``query`` is the raw query string; ``{name}`` placeholders in the path, query and body
    are filled from the sandbox's data (see ``VALUES``). ``keys`` must be in every record
    (dotted paths reach into nested records and lists), ``present`` must be non-null in at
    least one record, ``pages`` pages by offset to the end.
    """

    name: str
    method: str
    path: str
    query: str = ""
    fmt: str = "json"
    accept: str = ""
    body: Any = None
    status: int = 200
    keys: tuple[str, ...] = ()
    present: tuple[str, ...] = ()
    pages: bool = False
    check: Callable[[Any], bool] | None = field(default=None, compare=False)


_FIELDS_INVOICE = json.dumps(
    [
        "invoice-number",
        "total-with-taxes",
        "status",
        "invoice-date",
        "net-due-date",
        {"supplier": ["name"]},
    ]
)
_FIELDS_EXPENSES = json.dumps(
    [
        "id",
        "title",
        "total",
        "audit-score",
        "status",
        "updated-at",
        "created-at",
        {
            "expense_lines": [
                "id",
                "description",
                "amount",
                "expense-date",
                {"expense_category": ["name"]},
            ]
        },
        {"expensed_by": ["id", "firstname", "lastname"]},
        {"expense_policy_violations": ["id", "limit-exceeded", "receipt-missing"]},
    ]
)
_ACCOUNT = [
    "id",
    "created_at",
    "updated_at",
    "name",
    "code",
    "active",
    "account_type_id",
    *(f"segment_{n}" for n in range(1, 21)),
]
_ORDER_LINE = [
    "id",
    "created_at",
    "updated_at",
    "accounting_total",
    {"accounting_total_currency": ["id", "code", "decimals"]},
    {"custom_fields": ["start_date", "end_date", "payment_method"]},
    "description",
    "line_num",
    "order_header_id",
    "order_header_number",
    "price",
    "quantity",
    "source_part_num",
    "status",
    "sub_line_num",
    "total",
    "type",
    "version",
    "supplier_order_number",
    {"account": _ACCOUNT},
    {"currency": ["id", "code", "decimals"]},
    {"supplier": ["id", "name", "display_name", "number"]},
    {"uom": ["id", "created_at", "updated_at", "code", "name", "allowable_precision", "active"]},
]
_FIELDS_PO = json.dumps(
    [
        "id",
        "created_at",
        "updated_at",
        "po_number",
        "status",
        "version",
        "payment_method",
        "ship_to_attention",
        {
            "ship_to_address": [
                "id",
                "name",
                "location_code",
                "street1",
                "city",
                "postal_code",
                "active",
                "vat_number",
                {"country": ["id", "code", "name"]},
            ]
        },
        {"supplier": ["id", "name", "display_name", "number"]},
        {"order_lines": _ORDER_LINE},
    ]
)
_FIELDS_SUPPLIER = json.dumps(
    [
        "id",
        "created_at",
        "updated_at",
        "name",
        "display_name",
        "number",
        "status",
        "po_email",
        "account_number",
        "tax_id",
        {
            "primary_contact": [
                "id",
                "created_at",
                "updated_at",
                "email",
                "name_prefix",
                "name_suffix",
                "name_additional",
                "name_given",
                "name_family",
                "name_fullname",
                "notes",
                "active",
                "purposes",
            ]
        },
        {
            "primary_address": [
                "id",
                "name",
                "location_code",
                "street1",
                "street2",
                "city",
                "state",
                "postal_code",
                "attention",
                "active",
                "vat_number",
                {"country": ["id", "code", "name"]},
                {"vat_country": ["id", "code", "name"]},
            ]
        },
        {
            "remit_to_addresses": [
                "id",
                "remit_to_code",
                "name",
                "street1",
                "city",
                "active",
                {"country": ["id", "code", "name"]},
            ]
        },
    ]
)
_FIELDS_LOOKUP_VALUES = json.dumps(
    [
        "id",
        "name",
        "external-ref-num",
        "external-ref-code",
        "active",
        {
            "parent": [
                "id",
                "name",
                "active",
                {"custom_fields": {}},
                {"parent": ["id", "name", "active", {"custom_fields": {}}]},
            ]
        },
        {"lookup": ["id", "name", "active"]},
        {"custom_fields": {}},
    ]
)
_FIELDS_KB_REQUISITION = json.dumps(
    [
        "id",
        "submitted_at",
        "us_estimated_tax",
        {"currency": ["code"]},
        {
            "ship_to_address": [
                "id",
                "name",
                "location_code",
                "street1",
                "city",
                "postal_code",
                {"country": ["code"]},
                {"custom_fields": {}},
            ]
        },
        {
            "requisition_lines": [
                "id",
                "description",
                "line_num",
                "need_by_date",
                "order_line_id",
                "quantity",
                "status",
                "total",
                "line_type",
                "unit_price",
                {"account": ["name", "code", {"account_type": ["name"]}]},
                {"uom": ["code"]},
                {"shipping_term": ["code"]},
                {"supplier": ["id", "name", "number"]},
                {"commodity": ["name"]},
                {"custom_fields": {}},
            ]
        },
        {
            "current_approval": [
                "id",
                "created_at",
                "updated_at",
                "position",
                "approval_chain_id",
                "status",
                "approval_date",
                "note",
                "type",
                "approvable_type",
                "approvable_id",
                "delegate_id",
                "holdable",
            ]
        },
        {"custom_fields": {}},
    ]
)
_ROSSUM_SCOPES = (
    "core.accounting.read, core.business_entity.read, core.catalog.read, core.comment.read, "
    "core.common.read, core.expense.read, core.expense.secure.read, core.integration.read, "
    "core.inventory.adjustment.read, core.invoice.assignment.read, core.invoice.read, "
    "core.legal_entity.read, core.notifications_summary.read, core.pay.charges.read, "
    "core.pay.payments.read, core.payables.invoice.read, core.project.read, "
    "core.punchout_site.read, core.purchase_order_change.read, core.purchase_order.read, "
    "core.requisition.assignment.read, core.requisition.read, core.sourcing.read, "
    "core.supplier_sites.read, core.supplier.read, core.translation.read, core.uom.read, "
    "core.user_group.read, core.user.read"
)


def _marked_exported(root: ET.Element) -> bool:
    return root.findtext("exported") == "true"


PATTERNS: list[Pattern] = [
    # --- hotglue tap-coupa (Singer tap), tap_coupa/client.py and streams.py: OAuth form body,
    # JSON, limit=50 from offset=1, updated_at[gt] from Python's isoformat(); invoice lines
    # read order-header-num and order-line-num.
    Pattern("tap-coupa token", "TOKEN", "", body={"scope": "core.common.read core.invoice.read"}),
    Pattern(
        "tap-coupa invoices",
        "GET",
        "/api/invoices",
        # requests encodes "+" as %2B.
        "limit=50&offset=1&updated_at[gt]=2024-01-01T00:00:00.123456%2B00:00",
        keys=(
            "id",
            "invoice-number",
            "updated-at",
            "invoice-lines",
            "supplier.number",
            "payment-term.code",
            "image-scan-url",
            "supplier-total",
        ),
        present=(
            "invoice-lines.order-header-num",
            "invoice-lines.order-line-num",
            "invoice-lines.po-number",
        ),
        pages=True,
    ),
    Pattern(
        "tap-coupa suppliers",
        "GET",
        "/api/suppliers",
        "limit=50&offset=1",
        keys=(
            "name",
            "number",
            "primary-address.country",
            "shipping-term",
            "remit-to-addresses",
            "on-hold",
            "buyer-hold",
        ),
        pages=True,
    ),
    Pattern(
        "tap-coupa selected filter",
        "GET",
        "/api/invoices",
        "limit=50&offset=1&supplier[id][in]={supplier_id},{supplier_id2}",
        keys=("supplier.id",),
    ),
    Pattern(
        "tap-coupa paging end",
        "GET",
        "/api/invoices",
        "limit=50&offset=999999",
        check=lambda body: body == [],
    ),
    # --- Moveworks plugins (chat-bot plugins / agent tool kits), developer-docs/plugins/coupa-*.
    Pattern(
        "moveworks my invoices by supplier",
        "GET",
        "/api/invoices",
        f"offset=0&limit=50&fields={_FIELDS_INVOICE}&supplier[name]={{supplier_name}}",
        keys=("invoice-number", "total-with-taxes", "supplier.name"),
    ),
    Pattern(
        "moveworks my invoices by date",
        "GET",
        "/api/invoices",
        f"invoice-date[gt]=2024-01-01&invoice-date[lt]=2026-01-01&limit=50&offset=0"
        f"&fields={_FIELDS_INVOICE}",
        keys=("invoice-number", "net-due-date"),
    ),
    Pattern(
        "moveworks approvals history",
        "GET",
        "/api/approvals",
        "created_at[gt_or_eq]=2024-01-01&created_at[lt_or_eq]=2026-12-31&limit=100&offset=0"
        "&order_by=desc",
        keys=("id", "approver-id", "approver-type", "approvable-type", "status"),
        present=("approver-id", "approver.login"),
    ),
    Pattern(
        "moveworks pending requisition approvals",
        "GET",
        "/api/approvals",
        "updated-at[gt_or_eq]=2024-08-08&approvable_type=RequisitionHeader&status=pending_approval",
        keys=("approvable-id", "approver-id"),
        check=lambda body: (
            bool(body) and {a["approvable-type"] for a in body} == {"RequisitionHeader"}
        ),
    ),
    Pattern(
        "moveworks approve",
        "PUT",
        "/api/approvals/{pending_approval}/approve",
        check=lambda body: body["status"] == "approved",
    ),
    Pattern(
        "moveworks reject",
        "PUT",
        "/api/approvals/{pending_approval2}/reject",
        check=lambda body: body["status"] == "rejected",
    ),
    Pattern(
        "moveworks purchase orders",
        "GET",
        "/api/purchase_orders",
        keys=("po-number", "order-lines", "supplier"),
    ),
    Pattern(
        "moveworks expense reports",
        "GET",
        "/api/expense_reports",
        keys=("title", "status", "approvals", "expense-lines"),
    ),
    Pattern("moveworks users", "GET", "/api/users", keys=("login", "email", "active")),
    Pattern("moveworks vendor onboarding", "GET", "/api/suppliers", keys=("status", "name")),
    Pattern(
        "moveworks expense policy violations",
        "GET",
        "/api/expense_reports",
        "created-at[gt_or_eq]=2024-01-01T00:00:00Z&created-at[lt_or_eq]=2026-12-31T23:59:59Z"
        f"&fields={_FIELDS_EXPENSES}&limit=100",
        keys=("id", "title", "expense-lines", "expensed-by.firstname"),
        present=("expense-lines.expense-category.name",),
    ),
    # --- Coupa's NetSuite bundle (ERP bundle), SuiteScripts: XML (ACCEPT text/xml), dates
    # built as Y-M-DT00:00:00-08:00 without zero padding, exported flag set in the body.
    Pattern(
        "netsuite approved invoices",
        "GET",
        "/api/invoices",
        "exported=false&status=approved&updated-at[gt_or_eq]=2024-1-5T00:00:00-08:00",
        fmt="xml",
        accept="text/xml",
        keys=("invoice-number", "exported", "invoice-lines"),
    ),
    Pattern(
        "netsuite approved invoices to a date",
        "GET",
        "/api/invoices",
        "exported=false&status=approved&updated-at[lt_or_eq]=2026-12-31T00:00:00-08:00",
        fmt="xml",
        accept="text/xml",
        keys=("invoice-number",),
    ),
    Pattern(
        "netsuite voided invoices",
        "GET",
        "/api/invoices",
        "exported=false&status=voided&invoice-date[gt_or_eq]=2024-1-1T00:00:00-08:00",
        fmt="xml",
        accept="text/xml",
    ),
    Pattern(
        "netsuite invoice by number and supplier",
        "GET",
        "/api/invoices",
        "invoice-number={invoice_number}&&supplier[number]={invoice_supplier_number}",
        check=lambda body: len(body) == 1,
    ),
    Pattern(
        "netsuite expense report exported",
        "PUT",
        "/api/expense_reports/{expense_report}",
        "exported=true",
        fmt="xml",
        accept="text/xml",
        body="<?xml version='1.0' encoding='UTF-8'?><expense-report>"
        "<exported type='boolean'>true</exported></expense-report>",
        keys=("exported",),
        check=_marked_exported,
    ),
    Pattern(
        "netsuite expense report custom export field",
        "PUT",
        "/api/expense_reports/{expense_report2}",
        fmt="xml",
        accept="text/xml",
        body="<expense-report><exported-to-erp>true</exported-to-erp></expense-report>",
    ),
    Pattern(
        "netsuite invoice exported in the body",
        "PUT",
        "/api/invoices/{unexported_invoice}",
        fmt="xml",
        body='<invoice-header><exported type="boolean">true</exported></invoice-header>',
        check=_marked_exported,
    ),
    # --- A PHP invoice integration (Guzzle, ACCEPT application/xml): mark exported.
    Pattern(
        "php invoice export",
        "PUT",
        "/api/invoices/{unexported_invoice2}",
        "exported=true",
        fmt="xml",
        check=_marked_exported,
    ),
    # --- An AppSheet bot (Google Apps Script UrlFetchApp): a PO by number, JSON.
    Pattern(
        "appsheet po by number",
        "GET",
        "/api/purchase_orders",
        "po-number={po_number}",
        keys=("po-number", "order-lines"),
        check=lambda body: len(body) == 1,
    ),
    # --- A contract middleware (Node, axios): supplier item custom field update, JSON.
    Pattern(
        "middleware supplier item custom field",
        "PUT",
        "/api/supplier_items/{supplier_item}",
        body={"id": "{supplier_item}", "custom-fields": {"sap-oa-line": "10"}},
        check=lambda body: body["custom-fields"]["sap-oa-line"] == "10",
    ),
    # --- A Java user lookup (HttpURLConnection, XML by default).
    Pattern(
        "java user by login",
        "GET",
        "/api/users",
        "login={user_login}",
        fmt="xml",
        keys=("login", "email"),
    ),
    # --- A Streamlit invoice tool (requests, JSON): one invoice by id.
    Pattern(
        "streamlit invoice status",
        "GET",
        "/api/invoices/{invoice_id}",
        keys=("status", "invoice-number"),
    ),
    # --- Rossum's Coupa import configurations (data-platform connector), university docs.
    Pattern("rossum token, comma-separated scopes", "TOKEN", "", body={"scope": _ROSSUM_SCOPES}),
    Pattern(
        "rossum lookup values",
        "GET",
        "/api/lookup_values",
        f"fields={_FIELDS_LOOKUP_VALUES}&order_by=created_at"
        "&updated-at[gt_or_eq]=2020-01-01T00:00:00Z&limit=50",
        keys=("id", "name", "lookup.name", "custom-fields"),
        pages=True,
    ),
    Pattern(
        "rossum purchase orders",
        "GET",
        "/api/purchase_orders",
        f"dir=desc&fields={_FIELDS_PO}&order_by=created_at&updated-at[gt_or_eq]=2020-01-01",
        keys=("po-number", "supplier.number", "order-lines.account.code"),
        present=("order-lines.account.account-type-id", "ship-to-address.country.code"),
    ),
    Pattern(
        "rossum purchase order lines",
        "GET",
        "/api/purchase_order_lines",
        "dir=desc&fields=" + json.dumps(_ORDER_LINE) + "&order_by=created_at",
        keys=("line-num", "order-header-id", "account.code"),
        present=("account.account-type-id",),
    ),
    Pattern(
        "rossum suppliers",
        "GET",
        "/api/suppliers",
        f"fields={_FIELDS_SUPPLIER}",
        # The contact's active and purposes are not in the catalog's supplier contact yet:
        # they are left out, as Coupa leaves out names it does not know.
        keys=("number", "primary-contact.email", "primary-address.country", "remit-to-addresses"),
    ),
    Pattern(
        "rossum currencies",
        "GET",
        "/api/currencies",
        'fields=["id","code","decimals"]',
        keys=("code", "decimals"),
    ),
    Pattern(
        "rossum tax codes", "GET", "/api/tax_codes", "updated-at[gt_or_eq]=2020-01-01T00:00:00Z"
    ),
    Pattern(
        "rossum uoms",
        "GET",
        "/api/uoms",
        'fields=["id","name","code","allowable_precision","active"]',
        keys=("code", "allowable-precision"),
    ),
    Pattern(
        "rossum supplier information",
        "GET",
        "/api/supplier_information",
        'fields=["id","supplier_id","name","status","tax_classification","po_method",'
        '{"custom_fields":["vendor_region"]},{"supplier_information_addresses":["bank_name"]}]'
        "&updated-at[gt_or_eq]=2020-01-01",
    ),
    # --- Coupa's "fields" knowledge-base article, whose examples integrators copy.
    Pattern(
        "kb requisitions fields",
        "GET",
        "/api/requisitions",
        'status=ordered&fields=["id","status"]&limit=1',
        keys=("id", "status"),
    ),
    Pattern(
        "kb requisition nested fields",
        "GET",
        "/api/requisitions",
        f"status=pending_approval&limit=1&fields={_FIELDS_KB_REQUISITION}",
        keys=("current-approval.status", "requisition-lines.uom.code"),
        present=("current-approval.id",),
    ),
    Pattern(
        "kb approvals fields",
        "GET",
        "/api/approvals",
        "approvable-type=InvoiceHeader&status[in]=pending_approval,approved"
        '&updated-at[gt_or_eq]=2021-11-01T00:00:00&fields=["id","approvable-type","approvable-id"]',
        keys=("id", "approvable-type", "approvable-id"),
    ),
    Pattern(
        "kb contracts fields",
        "GET",
        "/api/contracts",
        'status=published&fields=["id","status"]&limit=1',
        keys=("status",),
    ),
    Pattern(
        "kb charges fields",
        "GET",
        "/api/charges",
        'fields=["id","external-ref-id",{"currency":["code"]}]&limit=1',
    ),
]


# ------------------------------------------------------------------------------ the replay

VALUES: dict[str, Callable[[Api], Any]] = {
    "supplier_id": lambda api: api.one("suppliers")["id"],
    "supplier_id2": lambda api: api.get("/api/suppliers", {"limit": 2}).json()[1]["id"],
    "supplier_name": lambda api: api.one("invoices")["supplier"]["name"],
    "invoice_id": lambda api: api.one("invoices")["id"],
    "invoice_number": lambda api: api.one("invoices")["invoice-number"],
    "invoice_supplier_number": lambda api: api.one("invoices")["supplier"]["number"],
    "unexported_invoice": lambda api: api.one("invoices", {"exported": "false"})["id"],
    "unexported_invoice2": lambda api: api.get(
        "/api/invoices", {"exported": "false", "limit": 2}
    ).json()[1]["id"],
    "pending_approval": lambda api: api.one("approvals", {"status": "pending_approval"})["id"],
    "pending_approval2": lambda api: api.get(
        "/api/approvals", {"status": "pending_approval", "limit": 2}
    ).json()[1]["id"],
    "expense_report": lambda api: api.one("expense_reports")["id"],
    "expense_report2": lambda api: api.get("/api/expense_reports", {"limit": 2}).json()[1]["id"],
    "po_number": lambda api: api.one("purchase_orders")["po-number"],
    "supplier_item": lambda api: api.one("supplier_items")["id"],
    "user_login": lambda api: api.one("users")["login"],
}


def _fill(text: str, api: Api, seen: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in seen:
            seen[name] = VALUES[name](api)
        return str(seen[name])

    return re.sub(r"\{([a-z_0-9]+)\}", value, text)


def _fill_body(body: Any, api: Api, seen: dict[str, Any]) -> Any:
    if isinstance(body, str):
        return _fill(body, api, seen)
    if isinstance(body, dict):
        return {k: _fill_body(v, api, seen) for k, v in body.items()}
    return body


def _walk(record: Any, path: str) -> list[Any]:
    """Every value at a dotted path, through nested records and lists; missing keys absent."""
    values = [record]
    for part in path.split("."):
        found: list[Any] = []
        for value in values:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and part in item:
                    found.append(item[part])
        values = found
    return values


def _xml_records(root: ET.Element) -> list[dict[str, Any]]:
    def node(element: ET.Element) -> Any:
        children = list(element)
        if not children:
            return None if element.get("nil") == "true" else (element.text or "")
        if element.get("type") == "array":
            return [node(child) for child in children]
        return {child.tag: node(child) for child in children}

    if root.get("type") == "array":
        return [node(child) for child in root]
    return [node(root)]


def _token(sandbox: Sandbox, form: dict[str, str]) -> Any:
    return loopback().post(
        f"{sandbox.url}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            **form,
        },
    )


def replay(pattern: Pattern, api: Api, sandbox: Sandbox) -> None:
    seen: dict[str, Any] = {}
    if pattern.method == "TOKEN":
        response = _token(sandbox, pattern.body)
        assert response.status_code == pattern.status, response.text
        assert response.json()["access_token"]
        return
    path = _fill(pattern.path, api, seen)
    query = _fill(pattern.query, api, seen)
    accept = pattern.accept or ("application/json" if pattern.fmt == "json" else "application/xml")
    headers = {"Accept": accept}
    body = _fill_body(pattern.body, api, seen)
    content: bytes | None = None
    if isinstance(body, str):
        content, headers["Content-Type"] = body.encode(), accept
    elif body is not None:
        content, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    url = f"{path}?{query}" if query else path
    response = api.http.request(pattern.method, url, headers=headers, content=content)
    empty_xml_page = (
        pattern.fmt == "xml" and response.status_code == 404 and b"No results" in (response.content)
    )
    if not empty_xml_page:
        assert response.status_code == pattern.status, (pattern.name, response.text[:500])
    if pattern.fmt == "json":
        data = response.json()
        records = data if isinstance(data, list) else [data]
        parsed: Any = data
    else:
        root = ET.fromstring(response.content)
        records = [] if empty_xml_page else _xml_records(root)
        parsed = root
    if pattern.keys:
        assert records, f"{pattern.name}: no records to check"
    for key in pattern.keys:
        missing = [r.get("id") for r in records if not _walk(r, key) and not _empty_list(r, key)]
        assert not missing, f"{pattern.name}: {key} missing in records {missing[:5]}"
    for key in pattern.present:
        assert any(v is not None for r in records for v in _walk(r, key)), (
            f"{pattern.name}: {key} is null in every record"
        )
    if pattern.check is not None:
        assert pattern.check(parsed), (pattern.name, response.text[:500])
    if pattern.pages:
        _page_to_the_end(api, path, query, headers)


def _empty_list(record: dict[str, Any], key: str) -> bool:
    """A dotted path through an empty list has nothing to hold the key: that is no gap."""
    head = key.split(".")[0]
    return "." in key and record.get(head) in ([], None)


def _page_to_the_end(api: Api, path: str, query: str, headers: dict[str, str]) -> None:
    base = re.sub(r"(^|&)(offset|limit)=[^&]*", "", query).strip("&")
    offset, pages = 0, 0
    while True:
        paging = f"limit=50&offset={offset}"
        url = f"{path}?{base}&{paging}" if base else f"{path}?{paging}"
        page = api.http.get(url, headers=headers).json()
        pages += 1
        assert pages < 1000, "paging does not end"
        if len(page) < 50:
            return
        offset += 50


@pytest.mark.parametrize("pattern", PATTERNS, ids=[p.name for p in PATTERNS])
def test_published_client_request(pattern: Pattern, api: Api, sandbox: Sandbox) -> None:
    replay(pattern, api, sandbox)


def test_the_replay_holds_enough_patterns() -> None:
    clients = {p.name.split()[0] for p in PATTERNS}
    print(f"\n  replay: {len(PATTERNS)} request patterns from {len(clients)} published clients")
    assert len(PATTERNS) >= 40
