"""The shipped catalog checked against Coupa's Swagger files (R38, R39), the way
``test_catalog.py`` checks it against the reference tables: every definition and its
properties, every path, and each property's type, length, read-only flag and values either
match or carry a recorded disagreement or correction.

The files are read here on their own, not through the generator's reader, so that a slip in
the generator cannot hide itself.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest

from _shared_docs import SWAGGER, needs_shared
from coupa_connector.catalog import Catalog, FieldDef, ObjectDef, check_record, load_catalog

pytestmark = needs_shared(SWAGGER)

RELEASES = ("R38", "R39")
# Slim views of another object (tools/catalog_data.py REFERENCE_SHAPES).
SHAPES = {"UserSimple": "users", "UserSimpleSerializer": "users"}


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


@cache
def swagger() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, list[str]]], set[tuple]]:
    """(definition -> release -> raw definition, definition -> property -> releases,
    {(verb, path, release)})."""
    definitions: dict[str, dict[str, Any]] = {}
    prop_releases: dict[str, dict[str, list[str]]] = {}
    routes: set[tuple[str, str, str]] = set()
    for release in RELEASES:
        folder = SWAGGER / release
        for path in sorted(folder.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            for name, raw in data["definitions"].items():
                if release in definitions.setdefault(name, {}):
                    continue
                definitions[name][release] = raw
                for prop in raw.get("properties", {}):
                    prop_releases.setdefault(name, {}).setdefault(prop, []).append(release)
            for template, ops in data["paths"].items():
                for verb in ops:
                    if verb in {"get", "post", "put", "patch", "delete"}:
                        routes.add((verb.upper(), template, release))
    return definitions, prop_releases, routes


def newest(raw_by_release: dict[str, Any]) -> dict[str, Any]:
    return raw_by_release[max(raw_by_release, key=RELEASES.index)]


def objects_of(cat: Catalog, definition: str) -> list[ObjectDef]:
    return [o for o in cat if definition in o.definitions]


def expected_kind(prop: dict[str, Any]) -> tuple[str | None, int | None]:
    """Swagger's type as a catalog kind and length; None where it says nothing usable."""
    if "$ref" in prop:
        return "reference", None
    kind_of, fmt = prop.get("type"), str(prop.get("format") or "").lower()
    if kind_of == "array":
        return "collection", None
    if kind_of is None:
        return "reference", None
    simple = {"integer": "integer", "boolean": "boolean"}
    if kind_of in simple:
        return simple[kind_of], None
    if kind_of == "number":
        return ("float" if fmt == "float" else "decimal"), None
    match = re.fullmatch(r"string\((\d+)\)", fmt)
    if match:
        return "string", int(match.group(1))
    by_format = {"string": "string", "text": "text", "datetime": "datetime"}
    by_format |= {"date": "date", "time": "string", "int": "integer", "tinyint(1)": "boolean"}
    return by_format.get(fmt), None


def explained(fdef: FieldDef, attribute: str) -> bool:
    """A difference is fine when the field records the disagreement or says why."""
    return fdef.dispute(attribute) is not None or bool(fdef.note)


# ------------------------------------------------------------------ definitions and fields


def test_every_definition_with_properties_is_an_object(cat: Catalog) -> None:
    definitions, _, _ = swagger()
    missing = [
        name
        for name, raw in sorted(definitions.items())
        if any("properties" in r for r in raw.values())
        and name not in SHAPES
        and not objects_of(cat, name)
    ]
    assert missing == []


def test_every_property_is_a_field_of_its_objects_with_its_releases(cat: Catalog) -> None:
    definitions, prop_releases, _ = swagger()
    problems = []
    for name in sorted(definitions):
        for obj in objects_of(cat, name):
            for prop, releases in prop_releases.get(name, {}).items():
                fdef = obj.fields.get(prop)
                if fdef is None:
                    problems.append(f"{obj.name}: {name}.{prop} missing")
                elif "swagger" not in fdef.sources or fdef.releases != tuple(releases):
                    problems.append(f"{obj.name}.{prop}: {fdef.sources} {fdef.releases}")
    assert problems == []


def test_reference_shapes_are_views_of_their_object(cat: Catalog) -> None:
    definitions, _, _ = swagger()
    for name, target in SHAPES.items():
        props = newest(definitions[name]).get("properties", {})
        assert set(props) <= set(cat.get(target).fields), name


def test_types_lengths_read_only_and_values_match_or_are_explained(cat: Catalog) -> None:
    definitions, _, _ = swagger()
    problems: list[str] = []
    for name in sorted(definitions):
        raw = newest(definitions[name])
        for obj in objects_of(cat, name):
            for prop_name, prop in raw.get("properties", {}).items():
                problems += _compare(obj, obj.fields[prop_name], name, prop)
    assert problems == [], "\n".join(problems[:50])


def _compare(obj: ObjectDef, fdef: FieldDef, definition: str, prop: dict[str, Any]) -> list[str]:
    where = f"{obj.name}.{fdef.name} ({definition})"
    out = []
    own_type = prop.get("$ref", prop.get("items", {}).get("$ref", "")).endswith(f"/{definition}")
    kind, length = expected_kind(prop)
    if kind is not None and not own_type and fdef.kind != kind and not explained(fdef, "kind"):
        out.append(f"{where}: kind {fdef.kind}, Swagger {kind}")
    if length and fdef.kind == "string" and fdef.max_length != length:
        out += [] if explained(fdef, "max_length") else [f"{where}: max_length {fdef.max_length}"]
    writable_differs = "readOnly" in prop and fdef.writable == bool(prop["readOnly"])
    if writable_differs and not explained(fdef, "writable"):
        out.append(f"{where}: writable {fdef.writable}, Swagger readOnly {prop['readOnly']}")
    values = {str(v) for v in prop.get("enum") or () if str(v) != ""}
    closed = values and fdef.kind in {"string", "text", "integer"}
    if closed and not values <= set(fdef.allowed) and not explained(fdef, "allowed"):
        out.append(f"{where}: allowed {fdef.allowed}, Swagger {sorted(values)}")
    return out


def test_swagger_alone_requires_nothing_and_closes_no_list(cat: Catalog) -> None:
    # Swagger's required lists name computed fields, its enums hint at formats: on its word
    # alone nothing is refused, and its claim is kept as an unconfirmed fact.
    amount = cat.get("items").fields["pack-uom-id"]
    assert amount.swagger_only and not amount.required
    dispute = amount.dispute("required")
    assert dispute is not None and (dispute.tables, dispute.swagger) == (None, True)
    po_type = cat.get("purchase_orders").fields["type"]
    assert po_type.allowed == ()
    dispute = po_type.dispute("allowed")
    assert dispute is not None and dispute.swagger == ("ExternalOrderHeader",)


@pytest.mark.parametrize(
    ("obj", "field", "attribute", "tables", "swagger", "kept"),
    [
        # Required in the table, not in Swagger: kept, and known to be unsure.
        ("supplier_sites", "po-method", "required", True, False, True),
        # Required and read-only in Swagger: a computed total.
        ("invoices", "origin-currency-gross", "required", False, True, False),
        # Lengths: the longer wins.
        ("invoices", "confirmation", "max_length", 50, 255, 255),
        # Values: every value either source lists.
        ("payment_terms", "type", "allowed", None, None, None),
        # Writable in the table, read-only in Swagger: the table's word is kept.
        ("invoices", "amount-of-advance-payment", "writable", True, False, True),
    ],
)
def test_disagreements_keep_both_facts(
    cat: Catalog, obj: str, field: str, attribute: str, tables: Any, swagger: Any, kept: Any
) -> None:
    fdef = cat.get(obj).fields[field]
    dispute = fdef.dispute(attribute)
    assert dispute is not None, f"{obj}.{field} records no {attribute} dispute"
    if attribute == "allowed":
        assert set(dispute.swagger) - set(dispute.tables) <= set(fdef.allowed)
        assert set(dispute.tables) <= set(fdef.allowed)
        return
    assert (dispute.tables, dispute.swagger) == (tables, swagger)
    assert getattr(fdef, attribute) == kept


def test_fields_record_their_sources(cat: Catalog) -> None:
    invoices = cat.get("invoices")
    assert invoices.fields["invoice-number"].sources == ("swagger", "tables")
    assert invoices.fields["amount-due"].sources == ("swagger",)  # only Swagger lists it
    assert invoices.fields["amount-due"].releases == ("R38", "R39")
    assert not invoices.fields["amount-due"].writable  # readOnly: Coupa computes it
    assert invoices.fields["custom-fields"].sources == ("curated",)
    assert cat.get("lookups").sources == ("curated", "swagger")
    kinds = {s for o in cat for f in o.fields.values() for s in f.sources}
    assert kinds == {"curated", "swagger", "tables"}
    assert all(f.sources for o in cat for f in o.fields.values())


def test_a_release_only_field_names_its_release(cat: Catalog) -> None:
    # Worker Management's paths are in R38 only; R39 adds supplier detail objects.
    routes = cat.get("services_procurement_job_titles").routes
    assert routes and all(r.releases == ("R38",) for r in routes)
    assert cat.get("supplier-tax-detail").releases == ("R39",)


def test_validation_knows_the_swagger_fields(cat: Catalog) -> None:
    # Coupa's invoice example sends amount-due: no longer an unknown field, but read-only.
    record = {"invoice-number": "INV-1", "amount-due": "12.00"}
    checked = check_record("invoices", record, mode="update")
    rules = {p.path: p.rule for p in checked.problems}
    assert rules.get("amount-due") == "read_only"
    assert "amount-due" not in checked.body


# ------------------------------------------------------------------ paths and routes


def test_every_path_is_a_route_of_an_object(cat: Catalog) -> None:
    _, _, routes = swagger()
    have = {(r.verb, r.path) for o in cat for r in o.routes}
    puts = {path for verb, path, _ in routes if verb == "PUT"}
    missing = []
    for verb, template, _ in sorted(routes):
        if verb == "PATCH" and template in puts:
            continue  # Coupa's alias of PUT
        path = "/api" + re.sub(r"\{([a-z_]+)\}", r":\1", re.sub(r"\(.*?\)", "", template))
        if (verb, path) not in have:
            missing.append(f"{verb} {template}")
    assert missing == []


def test_routes_have_a_release_each_object_has(cat: Catalog) -> None:
    for obj in cat:
        for route in obj.routes:
            assert route.releases and set(route.releases) <= set(RELEASES), obj.name
            assert route.path.startswith(route.collection), (obj.name, route.path)


@pytest.mark.parametrize(
    ("obj", "verb", "path", "kind", "name", "parent"),
    [
        ("invoices", "GET", "/api/invoices", "index", "index", None),
        ("invoices", "PUT", "/api/invoices/:id/submit", "action", "submit", None),
        ("invoices", "GET", "/api/invoices/:id/retrieve_image_scan", "binary", None, None),
        ("invoices", "PUT", "/api/invoices/:id/image_scan", "upload", "image_scan", None),
        ("attachments", "GET", "/api/invoices/:invoice_id/attachments", "nested-index",
         "index", "invoices"),
        ("attachments", "POST", "/api/invoices/:invoice_id/attachments", "nested-upload",
         "create", "invoices"),
        ("comments", "GET", "/api/purchase_orders/:purchase_order_id/comments/:id",
         "nested-show", "show", "purchase_orders"),
        ("addresses", "GET", "/api/users/:user_id/addresses", "nested-index", "index", "users"),
        ("accounts", "GET", "/api/accounts/favorites", "action", "favorites", None),
        ("contract_templates", "GET", "/api/contracts/templates", "index", "index", None),
        ("asn_lines", "PUT", "/api/asn/lines/receive", "action", "receive", None),
        ("expense_artifacts", "GET",
         "/api/expense_lines/:expense_line_id/expense_artifacts/:id/image", "nested-binary",
         "image", "expense_lines"),
    ],
)  # fmt: skip
def test_route_kinds(
    cat: Catalog, obj: str, verb: str, path: str, kind: str, name: str | None, parent: str | None
) -> None:
    found = [r for r in cat.get(obj).routes if (r.verb, r.path) == (verb, path)]
    assert len(found) == 1, [(r.verb, r.path) for r in cat.get(obj).routes]
    [route] = found
    assert route.kind == kind
    if name:
        assert route.name == name
    assert route.parent == parent


def test_uploads_name_their_form_fields(cat: Catalog) -> None:
    [upload] = [r for r in cat.get("attachments").routes if r.path == "/api/attachments"
                and r.verb == "POST"]  # fmt: skip
    assert upload.form == ("attachment[file]", "attachment[type]")
    images = [r for r in cat.get("expense_artifacts").routes if r.optional]
    assert images and all(r.optional == "/:style" and r.kind == "nested-binary" for r in images)


def test_swagger_actions_join_the_tables_actions(cat: Catalog) -> None:
    projects = cat.get("projects")
    draft = projects.action("draft")
    assert draft is not None and (draft.verb, draft.path) == ("POST", "/api/projects/:id/draft")
    go = cat.get("quote_requests").action("go_to_production")
    assert go is not None and go.verb == "PATCH"  # Swagger gives no PUT for it
    # The tables' actions are kept as they were.
    assert cat.get("invoices").action("submit").description == "Submit draft invoice for approval"


# ------------------------------------------------------------------ new objects


@pytest.mark.parametrize(
    ("name", "element", "list_element", "resource", "copied_from"),
    [
        ("invoice_emails", "invoice-email", "invoice-emails", "/api/invoice_emails", None),
        ("coupa_pay_invoices", "coupa-pay-invoice", "coupa-pay-invoices",
         "/api/coupa_pay/invoices", None),
        ("inventory_transactions", "inventory-transaction", "inventory-transactions",
         "/api/inventory_transactions", "receiving_transactions"),
        ("warehouses", "warehouse", "warehouses", "/api/warehouses", "warehouse"),
        ("services_procurement_job_titles", "job-title", "job-titles",
         "/api/services_procurement/job_titles", None),
    ],
)  # fmt: skip
def test_new_objects_from_swagger_collections(
    cat: Catalog,
    name: str,
    element: str,
    list_element: str,
    resource: str,
    copied_from: str | None,
) -> None:
    obj = cat.get(name)
    assert obj.name == name and obj.swagger_only
    assert (obj.element, obj.list_element, obj.resource) == (element, list_element, resource)
    assert obj.can_query and obj.lookup_keys == (("id",),)
    if copied_from:
        # Same definition, same fields: the tables' facts come along.
        assert set(cat.get(copied_from).fields) - {"custom-fields"} <= set(obj.fields)


def test_swagger_names_do_not_take_the_tables_aliases(cat: Catalog) -> None:
    assert cat.get("inventory-transaction").name == "receiving_transactions"
    assert cat.get("order-line").name == "order-line"
    assert cat.get("supplier").name == "suppliers"
    assert cat.get("warehouse").name == "warehouse"  # the nested object of the tables


def test_nested_objects_for_definitions_without_a_collection(cat: Catalog) -> None:
    group = cat.get("approval-group")
    assert group.resource is None and group.definitions == ("ApprovalGroup",)
    assert cat.get("invoice-line").fields["failed-tolerances"].ref == "invoice-failed-tolerance"


def test_types_without_properties_stay_opaque(cat: Catalog) -> None:
    # Money has no properties in Swagger: a reference to it points nowhere.
    assert "money" not in cat
    fdef = next(f for o in cat for f in o.fields.values() if "Money without properties" in f.note)
    assert fdef.kind == "reference" and fdef.ref is None


def test_object_level_disagreements(cat: Catalog) -> None:
    dispute = next(d for d in cat.get("inventory_adjustments").disputed)
    assert (dispute.attribute, dispute.tables, dispute.swagger) == (
        "list_element",
        "inventory-adjustments",
        "inventory-transactions",
    )
