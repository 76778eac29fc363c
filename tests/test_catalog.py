"""The shipped catalog: lookups, structure, and the 25 core objects checked against Coupa's
reference tables (resources.json), with every difference explained by a correction note."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from _catalog_support import THE_25
from _shared_docs import REFERENCE, SWAGGER, needs_shared
from coupa_connector import errors
from coupa_connector.catalog import Catalog, FieldDef, ObjectDef, load_catalog

REPO = Path(__file__).resolve().parents[1]

# The objects the catalog must get complete, with the page (number prefix) each comes from.
CORE_PAGES: dict[str, str] = {
    "suppliers": "0074",
    "supplier_items": "0082",
    "items": "0057",
    "invoices": "0205",
    "invoice-line": "0212",
    "purchase_orders": "0233",
    "order-line": "0240",
    "purchase_order_lines": "0240",
    "requisitions": "0261",
    "requisition-line": "0264",
    "receiving_transactions": "0255",
    "expense_reports": "0192",
    "expense-line": "0180",
    "users": "0100",
    "accounts": "0027",
    "account_types": "0030",
    "lookup_values": "0061",
    "exchange_rates": "0054",
    "payment_terms": "0064",
    "currencies": "0049",
    "uoms": "0130",
    "commodities": "0138",
    "departments": "0052",
    "addresses": "0034",
    "approvals": "0132",
    "contracts": "0139",
    "budget_lines": "0038",
    "remit_to_addresses": "0071",
}
# Pages linked from element tables, and the catalog object each one is.
PAGE_OBJECTS: dict[str, str] = {
    "0100": "users",
    "0074": "suppliers",
    "0027": "accounts",
    "0030": "account_types",
    "0034": "addresses",
    "0049": "currencies",
    "0064": "payment_terms",
    "0073": "shipping_terms",
    "0057": "items",
    "0138": "commodities",
    "0139": "contracts",
    "0130": "uoms",
    "0052": "departments",
    "0071": "remit_to_addresses",
    "0212": "invoice-line",
    "0264": "requisition-line",
    "0132": "approvals",
    "0061": "lookup_values",
}
# Child collections point at the nested twin of a line resource.
TWINS = {"0240": "order-line", "0180": "expense-line"}
PRIMITIVES = {
    "string": "string",
    "text": "text",
    "integer": "integer",
    "boolean": "boolean",
    "datetime": "datetime",
    "date": "date",
    "float": "float",
    "decimal": "decimal",
}
SKIPPED_SECTIONS = {
    "Country Specific Elements",
    "Catalog Fields",
    "Compliant Country List",
    "Example API Calls",
}


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


@cache
def reference_pages() -> dict[str, dict[str, Any]]:
    data = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return {entry["page"][:4]: entry for entry in data}


needs_reference = needs_shared(REFERENCE)


def wire(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", name.strip()).lower().replace("_", "-")


def reference_rows(page: str) -> dict[str, list[dict[str, Any]]]:
    """Element rows of a page by wire name (Coupa lists some elements twice)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in reference_pages()[page]["element_tables"]:
        if table["section"] in SKIPPED_SECTIONS:
            continue
        for row in table["rows"]:
            name = (row.get("name") or "").strip()
            if re.fullmatch(r"[A-Za-z0-9_\-]+", name):
                rows.setdefault(wire(name), []).append(row)
    return rows


def yes(value: str | None) -> bool:
    return (value or "").strip().lower() in {"yes", "true"}


def expected_primitive(type_text: str) -> tuple[str, int | None] | None:
    match = re.fullmatch(
        r"(string|text|integer|boolean|datetime|date|float|decimal)(\((\d+).*)?",
        type_text.strip(),
        re.IGNORECASE,
    )
    if not match:
        return None
    kind = PRIMITIVES[match.group(1).lower()]
    length = int(match.group(3)) if match.group(3) and kind == "string" else None
    return kind, length


# ------------------------------------------------------------------ loading and lookup


def test_load_catalog_is_cached(cat: Catalog) -> None:
    assert load_catalog() is cat
    assert len(cat) > 200


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("invoices", "invoices"),
        ("invoice", "invoices"),
        ("invoice-header", "invoices"),
        ("invoice_headers", "invoices"),
        ("purchase_orders", "purchase_orders"),
        ("purchase-orders", "purchase_orders"),
        ("order-header", "purchase_orders"),
        ("order-line", "order-line"),
        ("purchase_order_lines", "purchase_order_lines"),
        ("receiving_transactions", "receiving_transactions"),
        ("inventory-transaction", "receiving_transactions"),
        ("requisition-header", "requisitions"),
        ("expense-report", "expense_reports"),
        ("uom", "uoms"),
        ("lookup", "lookups"),
        ("Suppliers", "suppliers"),
    ],
)
def test_get_accepts_every_name_of_an_object(cat: Catalog, alias: str, name: str) -> None:
    assert cat.get(alias).name == name
    assert alias in cat


def test_unknown_object_suggests_close_names(cat: Catalog) -> None:
    with pytest.raises(errors.UnknownObjectError) as info:
        cat.get("invoces")
    assert "invoices" in info.value.suggestions
    assert "invoces" in str(info.value)
    assert isinstance(info.value, errors.CatalogError)


def test_unknown_field_suggests_close_names(cat: Catalog) -> None:
    with pytest.raises(errors.UnknownFieldError) as info:
        cat.get("invoices").field("invoice_numbr")
    assert "invoice-number" in info.value.suggestions
    assert cat.get("invoices").field("invoice_number").name == "invoice-number"


@pytest.mark.parametrize("name", THE_25)
def test_the_25_objects_are_complete(cat: Catalog, name: str) -> None:
    obj = cat.get(name)
    assert obj.supported
    assert obj.resource and obj.resource.startswith("/api/")
    assert obj.read_scope and obj.read_scope.startswith("core.")
    assert obj.can_query
    assert obj.lookup_keys and obj.lookup_keys[0] == ("id",)
    assert obj.fields["id"].kind == "integer" and not obj.fields["id"].writable
    assert len(obj.fields) >= 5
    for key in obj.lookup_keys:
        assert all(part in obj.fields for part in key), key


# ------------------------------------------------------------------ names, actions, scopes


@pytest.mark.parametrize(
    ("name", "element", "list_element", "resource"),
    [
        ("invoices", "invoice-header", "invoice-headers", "/api/invoices"),
        ("purchase_orders", "order-header", "order-headers", "/api/purchase_orders"),
        ("purchase_order_lines", "order-line", "order-lines", "/api/purchase_order_lines"),
        ("requisitions", "requisition-header", "requisition-headers", "/api/requisitions"),
        (
            "receiving_transactions",
            "inventory-transaction",
            "inventory-transactions",
            "/api/receiving_transactions",
        ),
        ("expense_reports", "expense-report", "expense-reports", "/api/expense_reports"),
        ("suppliers", "supplier", "suppliers", "/api/suppliers"),
        ("exchange_rates", "exchange-rate", "exchange-rates", "/api/exchange_rates"),
        ("addresses", "address", "addresses", "/api/addresses"),
        ("commodities", "commodity", "commodities", "/api/commodities"),
        ("uoms", "uom", "uoms", "/api/uoms"),
    ],
)
def test_element_names(
    cat: Catalog, name: str, element: str, list_element: str, resource: str
) -> None:
    obj = cat.get(name)
    assert (obj.element, obj.list_element, obj.resource) == (element, list_element, resource)


@pytest.mark.parametrize(
    ("name", "action", "verb", "path", "scope"),
    [
        ("invoices", "create", "POST", "/api/invoices", "core.invoice.create"),
        ("invoices", "update", "PUT", "/api/invoices/:id", "core.invoice.write"),
        ("invoices", "submit", "PUT", "/api/invoices/:id/submit", "core.invoice.write"),
        ("invoices", "void", "PUT", "/api/invoices/:id/void", "core.invoice.delete"),
        ("invoices", "abandon", "PUT", "/api/invoices/:id/abandon", "core.invoice.delete"),
        ("invoices", "dispute", "PUT", "/api/invoices/:id/dispute", "core.invoice.write"),
        ("invoices", "withdraw_dispute", "PUT", "/api/invoices/:id/withdraw_dispute", None),
        ("invoices", "index", "GET", "/api/invoices", "core.invoice.read"),
        ("purchase_orders", "cancel", "PUT", "/api/purchase_orders/:id/cancel", None),
        ("purchase_orders", "close", "PUT", "/api/purchase_orders/:id/close", None),
        ("purchase_orders", "reopen", "PUT", "/api/purchase_orders/:id/reopen", None),
        ("purchase_orders", "issue", "PUT", "/api/purchase_orders/:id/issue", None),
        (
            "purchase_orders",
            "issue_without_send",
            "PUT",
            "/api/purchase_orders/:id/issue_without_send",
            "core.purchase_order.write",
        ),
        ("approvals", "approve", "PUT", "/api/approvals/:id/approve", "core.approval.write"),
        ("approvals", "reject", "PUT", "/api/approvals/:id/reject", None),
        ("approvals", "hold", "PUT", "/api/approvals/:id/hold", None),
        (
            "requisitions",
            "submit_for_approval",
            "POST",
            "/api/requisitions/submit_for_approval",
            "core.requisition.write",
        ),
        ("receiving_transactions", "void", "PUT", "/api/receiving_transactions/:id/void", None),
        ("expense_reports", "submit", "PUT", "/api/expense_reports/:id/submit", None),
        ("contracts", "submit_for_approval", "PUT", "/api/contracts/:id/submit_for_approval", None),
        ("contracts", "complete", "PUT", "/api/contracts/:id/complete", None),
        ("budget_lines", "adjust", "PUT", "/api/budget_lines/:id/adjust", "core.budget.write"),
        (
            "purchase_order_lines",
            "soft_close_for_receiving",
            "PUT",
            "/api/purchase_order_lines/:id/soft_close_for_receiving",
            None,
        ),
        ("uoms", "index", "GET", "/api/uoms", "core.common.read"),
        ("uoms", "create", "POST", "/api/uoms", "core.uom.write"),
    ],
)
def test_actions(
    cat: Catalog, name: str, action: str, verb: str, path: str, scope: str | None
) -> None:
    found = cat.get(name).action(action)
    assert found is not None, f"{name} has no {action}"
    assert (found.verb, found.path) == (verb, path)
    assert found.scope is not None
    if scope:
        assert found.scope == scope


def test_action_names_and_paths_are_clean(cat: Catalog) -> None:
    for obj in cat:
        names = [a.name for a in obj.actions]
        assert len(names) == len(set(names)), obj.name
        for action in obj.actions:
            assert re.fullmatch(r"[a-z0-9_]+", action.name), (obj.name, action.name)
            assert re.fullmatch(r"/[a-z0-9_/:\-]+", action.path), (obj.name, action.path)
            # PATCH only where Coupa's Swagger has no PUT (quote_requests' go_to_production).
            assert action.verb in {"GET", "POST", "PUT", "PATCH", "DELETE"}, (obj.name, action.verb)


def test_no_invoice_approve_action(cat: Catalog) -> None:
    # Coupa has no /invoices/:id/approve: approvals go through /api/approvals.
    assert cat.get("invoices").action("approve") is None


@pytest.mark.parametrize(
    ("name", "read", "write"),
    [
        ("invoices", "core.invoice.read", "core.invoice.write"),
        ("purchase_orders", "core.purchase_order.read", "core.purchase_order.write"),
        ("suppliers", "core.supplier.read", "core.supplier.write"),
        ("remit_to_addresses", "core.supplier.read", "core.supplier.write"),
        ("accounts", "core.accounting.read", "core.accounting.write"),
        ("account_types", "core.accounting.read", "core.accounting.write"),
        ("lookups", "core.common.read", "core.common.write"),
        ("currencies", "core.common.read", "core.common.write"),
        ("users", "core.user.read", "core.user.write"),
        ("approvals", "core.approval.read", "core.approval.write"),
        ("contracts", "core.contract.read", "core.contract.write"),
        ("expense_reports", "core.expense.read", "core.expense.write"),
        ("items", "core.item.read", "core.item.write"),
        ("supplier_items", "core.catalog.read", "core.catalog.write"),
        (
            "receiving_transactions",
            "core.inventory.receiving.read",
            "core.inventory.receiving.write",
        ),
        ("budget_lines", "core.budget.read", "core.budget.write"),
        ("uoms", "core.uom.read", "core.uom.write"),
    ],
)
def test_scopes(cat: Catalog, name: str, read: str, write: str) -> None:
    obj = cat.get(name)
    assert (obj.read_scope, obj.write_scope) == (read, write)


def test_mark_exported_action_for_exportable_objects(cat: Catalog) -> None:
    for name in ("invoices", "purchase_orders", "expense_reports", "requisitions"):
        obj = cat.get(name)
        action = obj.action("mark_exported")
        assert action is not None, name
        assert (action.verb, action.path) == ("PUT", f"{obj.resource}/:id")
        assert action.scope == obj.write_scope
    assert cat.get("suppliers").action("mark_exported") is None  # no exported flag


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("users", (("id",), ("login",), ("email",), ("employee-number",))),
        ("suppliers", (("id",), ("number",), ("name",))),
        ("accounts", (("id",), ("code", "account-type"))),
        ("lookup_values", (("id",), ("external-ref-code",), ("name", "lookup"))),
        ("invoices", (("id",), ("invoice-number", "supplier"))),
        ("purchase_orders", (("id",), ("po-number",))),
        ("remit_to_addresses", (("id",), ("remit-to-code", "supplier"))),
        ("items", (("id",), ("item-number",), ("name",))),
        ("currencies", (("id",), ("code",))),
    ],
)
def test_lookup_keys(cat: Catalog, name: str, keys: tuple[tuple[str, ...], ...]) -> None:
    assert cat.get(name).lookup_keys == keys


# ------------------------------------------------------------------ references and lines


@pytest.mark.parametrize(
    ("name", "field", "kind", "ref"),
    [
        ("invoices", "invoice-lines", "collection", "invoice-line"),
        ("invoices", "supplier", "reference", "suppliers"),
        ("invoices", "currency", "reference", "currencies"),
        ("invoices", "account-type", "reference", "account_types"),
        ("invoices", "bill-to-address", "reference", "addresses"),
        ("invoices", "invoice-charges", "collection", "invoice-charge"),
        ("invoices", "tax-lines", "collection", "tax-line"),
        ("invoices", "created-by", "reference", "users"),
        ("invoice-line", "account", "reference", "accounts"),
        ("invoice-line", "uom", "reference", "uoms"),
        ("purchase_orders", "order-lines", "collection", "order-line"),
        ("purchase_orders", "supplier", "reference", "suppliers"),
        ("order-line", "account", "reference", "accounts"),
        ("requisitions", "requisition-lines", "collection", "requisition-line"),
        ("expense_reports", "expense-lines", "collection", "expense-line"),
        ("suppliers", "remit-to-addresses", "collection", "remit_to_addresses"),
        ("suppliers", "payment-term", "reference", "payment_terms"),
        ("suppliers", "primary-contact", "reference", "supplier-contact"),
        ("addresses", "country", "reference", "country"),
        ("users", "default-account-type", "reference", "account_types"),
        ("lookup_values", "lookup", "reference", "lookups"),
        ("exchange_rates", "from-currency", "reference", "currencies"),
        ("supplier_items", "item", "reference", "items"),
    ],
)
def test_references_resolve(cat: Catalog, name: str, field: str, kind: str, ref: str) -> None:
    fdef = cat.get(name).fields[field]
    assert (fdef.kind, fdef.ref) == (kind, ref)
    assert fdef.ref in cat


def test_every_ref_names_a_catalog_object(cat: Catalog) -> None:
    for obj in cat:
        for fdef in obj.fields.values():
            if fdef.ref is not None:
                assert fdef.ref in cat, f"{obj.name}.{fdef.name} -> {fdef.ref}"
                assert fdef.kind in ("reference", "collection")


def test_nested_lines_have_no_resource_but_their_twins_do(cat: Catalog) -> None:
    assert cat.get("order-line").resource is None
    assert cat.get("purchase_order_lines").resource == "/api/purchase_order_lines"
    assert set(cat.get("order-line").fields) >= set(cat.get("purchase_order_lines").fields)
    for name in ("invoice-line", "requisition-line", "tax-line", "invoice-charge", "expense-line"):
        assert cat.get(name).resource is None


def test_custom_fields_is_an_open_node(cat: Catalog) -> None:
    for name in ("invoices", "invoice-line", "suppliers", "purchase_orders", "order-line", "users"):
        fdef = cat.get(name).fields["custom-fields"]
        assert fdef.kind == "custom-fields"
        assert fdef.writable and fdef.readable


def test_attachments_are_marked_unsupported(cat: Catalog) -> None:
    obj = cat.get("attachments")
    assert not obj.supported
    assert "coupa attachments" in obj.unsupported_reason
    assert "Attachment" in obj.unsupported_reason
    assert all(o.supported for o in cat if o.name in THE_25)


# ------------------------------------------------------------------ corrections


def test_audit_fields_are_read_only_everywhere(cat: Catalog) -> None:
    for obj in cat:
        for name in ("id", "created-at", "updated-at", "created-by", "updated-by"):
            fdef = obj.fields.get(name)
            if fdef is not None:
                assert not fdef.writable, f"{obj.name}.{name}"
                assert not fdef.required, f"{obj.name}.{name}"


def test_export_flags_are_read_only(cat: Catalog) -> None:
    for name in ("invoices", "purchase_orders", "expense_reports", "receiving_transactions"):
        obj = cat.get(name)
        assert not obj.fields["exported"].writable
        assert obj.fields["exported"].kind == "boolean"
        assert not obj.fields["last-exported-at"].writable


@pytest.mark.parametrize(
    ("name", "field", "attr", "value"),
    [
        ("suppliers", "status", "writable", True),
        ("suppliers", "status", "allowed", ("active", "inactive", "draft")),
        ("suppliers", "po-change-method", "required", False),
        ("invoices", "status", "writable", False),
        ("invoices", "document-type", "writable", False),
        ("invoices", "remit-to-address", "required", False),
        ("invoices", "supplier-remit-to", "required", False),
        ("expense_reports", "start-date", "kind", "date"),
        ("expense_reports", "end-date", "kind", "date"),
        ("contracts", "renewal-length-unit", "required", False),
        ("contracts", "no-of-renewals", "required", False),
        ("invoice-line", "total", "writable", True),
    ],
)
def test_corrections_are_applied_with_a_reason(
    cat: Catalog, name: str, field: str, attr: str, value: object
) -> None:
    fdef = cat.get(name).fields[field]
    assert getattr(fdef, attr) == value
    assert fdef.note, f"{name}.{field} differs from Coupa's table without a note"


def test_type_spellings_are_normalized(cat: Catalog) -> None:
    kinds = {f.kind for o in cat for f in o.fields.values()}
    assert kinds <= {
        "string",
        "text",
        "integer",
        "decimal",
        "float",
        "boolean",
        "datetime",
        "date",
        "reference",
        "collection",
        "custom-fields",
    }
    inv = cat.get("invoices")
    assert inv.fields["invoice-number"].max_length == 40
    assert inv.fields["discount-amount"].kind == "decimal"  # decimal(32,4)
    assert cat.get("users").fields["created-at"].kind == "datetime"  # shifted row


# ------------------------------------------------------------------ against Coupa's tables


@needs_reference
@pytest.mark.parametrize("name", sorted(CORE_PAGES))
def test_fields_match_coupas_reference(cat: Catalog, name: str) -> None:
    """Every element Coupa lists is in the catalog; where the catalog disagrees with the
    table on type, length, required or writable, the field carries a note saying why."""
    obj = cat.get(name)
    page = CORE_PAGES[name]
    rows = reference_rows(page)
    assert rows, f"no element rows for page {page}"
    mismatches: list[str] = []
    for field_name, field_rows in rows.items():
        assert field_name in obj.fields, f"{name}: Coupa's {field_name!r} is missing"
        fdef = obj.fields[field_name]
        mismatches += _compare(obj, fdef, field_rows)
    assert not mismatches, "\n".join(mismatches)


def _compare(obj: ObjectDef, fdef: FieldDef, rows: list[dict[str, Any]]) -> list[str]:
    if fdef.note:
        return []  # a documented correction (or a repaired row) explains any difference
    out = []
    where = f"{obj.name}.{fdef.name}"
    first_type = next((r["type"].strip() for r in rows if (r.get("type") or "").strip()), "")
    primitive = expected_primitive(first_type)
    if primitive is not None:
        kind, length = primitive
        if fdef.kind != kind:
            out.append(f"{where}: kind {fdef.kind}, Coupa says {first_type}")
        if length is not None and fdef.max_length != length:
            out.append(f"{where}: max_length {fdef.max_length}, Coupa says {first_type}")
    required = any(yes(r.get("required")) for r in rows)
    if fdef.required != required:
        out.append(f"{where}: required {fdef.required}, Coupa says {required}")
    if any(r.get("api_in") is not None for r in rows):
        writable = any((r.get("api_in") or "").strip().lower() in ("yes", "true") for r in rows)
        if fdef.writable != writable:
            out.append(f"{where}: writable {fdef.writable}, Coupa says {writable}")
    linked = [r.get("type_ref_url") for r in rows if r.get("type_ref_url")]
    if linked:
        urls = {e["url"]: key for key, e in reference_pages().items()}
        page = urls.get(linked[0])
        expected = PAGE_OBJECTS.get(page or "")
        if fdef.kind == "collection" and page in TWINS:
            expected = TWINS[page]
        if expected and fdef.ref != expected:
            out.append(f"{where}: ref {fdef.ref}, Coupa links {expected}")
    return out


@needs_reference
def test_every_page_with_elements_is_in_the_catalog(cat: Catalog) -> None:
    from_pages = {o.doc_url for o in cat if o.doc_url}
    skipped = {"0213", "0262", "0383"}  # example calls and a CSV layout, not objects
    for key, entry in reference_pages().items():
        if entry.get("element_tables") and key not in skipped:
            assert entry["url"] in from_pages, f"page {entry['page']} has no catalog object"


@pytest.fixture
def generator(monkeypatch: pytest.MonkeyPatch) -> Any:
    """tools/build_catalog.py, imported as a module."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("build_catalog", REPO / "tools/build_catalog.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "build_catalog", module)  # dataclasses look it up
    monkeypatch.syspath_prepend(str(REPO / "tools"))  # for its data module, catalog_data
    spec.loader.exec_module(module)
    return module


@needs_shared(REFERENCE, SWAGGER)
def test_generator_output_is_up_to_date(generator: Any) -> None:
    shipped = (REPO / "src/coupa_connector/catalog/catalog.json").read_text(encoding="utf-8")
    built = generator.render(generator.build(REFERENCE, SWAGGER))
    assert built == shipped, "run tools/build_catalog.py"


def test_docs_list_every_correction(generator: Any) -> None:
    docs = (REPO / "docs/catalog.md").read_text(encoding="utf-8")
    assert generator.corrections_markdown() in docs, "run tools/build_catalog.py --corrections"
    assert generator.certainty_markdown() in docs, "run tools/build_catalog.py --corrections"


def test_catalog_file_is_deterministic_json() -> None:
    text = (REPO / "src/coupa_connector/catalog/catalog.json").read_text(encoding="utf-8")
    data = json.loads(text)
    names = [o["name"] for o in data["objects"]]
    assert names == sorted(names)
    assert len(names) == len(set(names))
    # The reference tables and the Swagger files: about 1.3 MB (docs/benchmarks.md).
    assert len(text) < 1_600_000


def test_allowed_values_split_on_coupas_period_slip() -> None:
    # Coupa's invoice status cell reads "abandoned. disputed. pending_approval" in one place.
    status = load_catalog().get("invoices").field("status")
    assert {"abandoned", "disputed", "pending_approval"} <= set(status.allowed)
    assert not [value for value in status.allowed if ". " in value]


def test_query_operators_are_coupas_eleven_and_both_sides_use_them() -> None:
    from coupa_connector.activities.query._filters import OPERATORS as CLIENT_OPERATORS
    from coupa_connector.catalog import PAGE_LIMIT, QUERY_OPERATORS
    from coupa_connector.sandbox._query import OPERATORS as SANDBOX_OPERATORS

    documented = {"contains", "starts_with", "ends_with", "gt", "lt", "gt_or_eq", "lt_or_eq",
                  "not_eq", "in", "not_in", "blank"}  # fmt: skip
    assert set(QUERY_OPERATORS) == documented and len(QUERY_OPERATORS) == 11
    assert set(CLIENT_OPERATORS) == documented | {"eq"}
    assert set(SANDBOX_OPERATORS) == documented
    assert PAGE_LIMIT == 50


def test_field_defaults_fill_what_a_field_leaves_out() -> None:
    # catalog.json says the sources and releases most fields of an object share once.
    obj = ObjectDef.from_dict(
        {
            "name": "things",
            "element": "thing",
            "list_element": "things",
            "releases": ["R38", "R39"],
            "field_defaults": {"sources": ["swagger", "tables"], "releases": ["R38", "R39"]},
            "fields": [
                {"name": "id", "kind": "integer"},
                {"name": "code", "kind": "string", "sources": ["tables"], "releases": []},
                {
                    "name": "size",
                    "kind": "string",
                    "disputed": {"max_length": {"tables": 10, "swagger": 255}},
                },
            ],
            "routes": [
                {"kind": "index", "name": "index", "verb": "GET", "path": "/api/things",
                 "collection": "/api/things"},
                {"kind": "action", "name": "go", "verb": "PUT", "path": "/api/things/:id/go",
                 "collection": "/api/things", "releases": ["R39"]},
            ],
        }
    )  # fmt: skip
    assert obj.fields["id"].sources == ("swagger", "tables")
    assert obj.fields["id"].releases == ("R38", "R39")
    assert (obj.fields["code"].sources, obj.fields["code"].releases) == (("tables",), ())
    dispute = obj.fields["size"].dispute("max_length")
    assert dispute is not None and (dispute.tables, dispute.swagger) == (10, 255)
    assert obj.fields["size"].dispute("kind") is None
    assert [r.releases for r in obj.routes] == [("R38", "R39"), ("R39",)]
