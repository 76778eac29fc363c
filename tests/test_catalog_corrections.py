"""Corrections of kinds, references and uniqueness that Coupa's tables get wrong.

Each case is checked against what Coupa's samples and descriptions show, and each corrected
field must say why in its note.
"""

from __future__ import annotations

import pytest

from coupa_connector.catalog import (
    Catalog,
    FieldDef,
    check_record,
    load_catalog,
    validate_record,
)


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


@pytest.mark.parametrize(
    ("obj", "field", "kind", "ref", "because"),
    [
        # Quantities: Coupa's type cell says 'integer/decimal'.
        ("order-line", "received", "decimal", None, "quantity or amount received"),
        ("purchase_order_lines", "received", "decimal", None, "quantity or amount received"),
        ("order-line", "requisition-line-id", "integer", None, "id of the requisition line"),
        ("purchase_order_lines", "requisition-line-id", "integer", None, "Requisition line ID"),
        # Plain address and contact objects embedded in the supplier (sample 0081).
        ("suppliers", "primary-address", "reference", "supplier-address", "plain address"),
        ("suppliers", "primary-contact", "reference", "supplier-contact", "contact object"),
        # Scalars that are references.
        ("suppliers", "commodity", "reference", "commodities", "commodity record"),
        ("requisitions", "currency", "reference", "currencies", "currency record"),
        ("requisitions", "mobile-currency", "reference", "currencies", "currency record"),
        # References that point at implausible objects.
        ("requisitions", "hide-price", "boolean", None, "True or False"),
        ("items", "item-type", "string", None, "<item-type>Item</item-type>"),
        # Lists of users in Coupa's user payloads (Delegates API examples).
        ("users", "can-expense-for", "collection", "users", "list of users"),
        ("users", "expenses-delegated-to", "collection", "users", "list of users"),
    ],
)
def test_corrected_kind_and_ref_with_reason(
    cat: Catalog, obj: str, field: str, kind: str, ref: str | None, because: str
) -> None:
    fdef = cat.get(obj).field(field)
    assert (fdef.kind, fdef.ref) == (kind, ref)
    assert because in fdef.note


def test_invoiced_was_already_a_decimal(cat: Catalog) -> None:
    for obj in ("order-line", "purchase_order_lines"):
        assert cat.get(obj).field("invoiced").kind == "decimal"


def test_corrected_types_drop_the_resolvers_opaque_object_note(cat: Catalog) -> None:
    received = cat.get("order-line").field("received")
    assert "opaque object" not in received.note
    assert "integer/decimal" in received.note


def test_supplier_address_has_the_fields_of_an_address_and_no_resource(cat: Catalog) -> None:
    embedded, address = cat.get("supplier-address"), cat.get("addresses")
    assert embedded.resource is None and embedded.actions == ()
    assert set(embedded.fields) == set(address.fields) - {"custom-fields"}
    for name in ("street1", "city", "postal-code", "state", "name", "attention"):
        assert embedded.field(name).kind == address.field(name).kind == "string"
    country = embedded.field("country")
    assert (country.kind, country.ref) == ("reference", "country")
    assert all("primary address" in f.note for f in embedded.fields.values())
    # The name of the resource still finds the resource, not the embedded copy.
    assert cat.get("address").name == "addresses"


def test_supplier_contact_is_the_contact_shape_of_the_samples(cat: Catalog) -> None:
    contact = cat.get("supplier-contact")
    assert contact.resource is None
    for name in ("email", "name-given", "name-family", "notes"):
        assert name in contact.fields
    for name in ("phone-work", "phone-mobile", "phone-fax"):
        assert contact.field(name).ref == "phone-number"


def test_scoped_uniqueness_is_not_global_uniqueness(cat: Catalog) -> None:
    rate_date = cat.get("exchange_rates").field("rate-date")
    assert not rate_date.unique
    assert rate_date.unique_within == ("from-currency", "to-currency")
    assert "per currency pair" in rate_date.note
    number = cat.get("invoices").field("invoice-number")
    assert not number.unique
    assert number.unique_within == ("supplier",)
    assert "per supplier" in number.note
    # Everything else keeps the default: no scope.
    assert cat.get("suppliers").field("name").unique_within == ()


def test_unique_within_names_fields_of_the_same_object(cat: Catalog) -> None:
    for obj in cat:
        for fdef in obj.fields.values():
            for part in fdef.unique_within:
                assert part in obj.fields, (obj.name, fdef.name, part)


def test_field_from_dict_reads_unique_within_as_a_tuple() -> None:
    fast = FieldDef.from_dict({"name": "n", "kind": "string", "unique_within": ["a", "b"]})
    slow = FieldDef.from_dict({"name": "n", "kind": "string", "unique_within": ["a"], "x": 1})
    assert fast.unique_within == ("a", "b")
    assert slow.unique_within == ("a",)
    assert FieldDef.from_dict({"name": "n", "kind": "string"}).unique_within == ()


def test_users_default_account_references_are_not_swapped(cat: Catalog) -> None:
    users = cat.get("users")
    account, account_type = users.field("default-account"), users.field("default-account-type")
    assert account.ref == "accounts"
    assert account_type.ref == "account_types"
    # Coupa's links point at the wrong pages; the notes say so.
    assert "account-group page" in account.note
    assert "accounts page" in account_type.note


def test_users_have_active_and_status_only_as_a_query_parameter(cat: Catalog) -> None:
    users = cat.get("users")
    status = users.field("status")
    # Never an element of a user record: a query parameter that filters on active.
    assert not status.readable and not status.writable
    assert status.query_alias == "active"
    assert dict(status.query_values) == {"active": "true", "inactive": "false"}
    assert "Query-only" in status.note
    active = users.field("active")
    assert active.kind == "boolean" and active.writable
    assert "?status=active" in active.note


def test_budget_lines_have_segments_not_an_account(cat: Catalog) -> None:
    budget = cat.get("budget_lines")
    assert "account" not in budget.fields
    assert {f"segment-{n}" for n in range(1, 21)} <= set(budget.fields)
    period = budget.field("period")
    assert (period.kind, period.ref, period.required) == ("reference", "budget-period", True)


def test_budget_period_and_country_are_nested_and_found_by_name(cat: Catalog) -> None:
    assert cat.get("budget-period").resource is None
    assert cat.get("country").resource is None
    assert ("name",) in cat.get("budget-period").lookup_keys
    assert ("code",) in cat.get("country").lookup_keys


# Supplier bodies from Coupa's supplier examples (sample 0081: files 10, 17, 19 and 27).
SUPPLIER_EXAMPLES = [
    {
        "name": "CDW",
        "primary-contact": {
            "email": "joe.smith@cdw.com",
            "name-family": "Smith",
            "name-given": "Joe",
            "phone-work": {"area-code": "650", "country-code": "1", "number": "4442932"},
        },
    },
    {
        "name": "Test Supplier",
        "primary-address": {
            "street1": "425 Market Street # 2250",
            "street2": "",
            "city": "San Francisco",
            "state": "CA",
            "postal_code": "94105",
            "country": {"code": "US"},
        },
    },
    {"name": "Contact only", "primary-contact": {"email": "test@test.com"}},
    {"name": "With commodity", "commodity": {"name": "IT Hardware"}},
]


@pytest.mark.parametrize("body", SUPPLIER_EXAMPLES)
def test_coupas_supplier_examples_validate(body: dict[str, object]) -> None:
    assert validate_record("suppliers", body, mode="create") == []


def test_embedded_objects_still_check_their_fields() -> None:
    body = {
        "name": "X",
        "primary-address": {"street1": "1 Main St", "citty": "Springfield"},
        "primary-contact": {"phone-work": {"number": 5551234}},
    }
    found = check_record("suppliers", body, mode="create").problems
    problems = {(p.path, p.rule) for p in found}
    assert ("primary-address.citty", "unknown_field") in problems
    assert ("primary-contact.phone-work.number", "type") not in problems
    assert len(problems) == 1


def test_references_to_resources_still_need_a_key() -> None:
    body = {"name": "X", "commodity": {"category": "goods"}}
    problems = validate_record("suppliers", body, mode="create")
    assert [(p.path, p.rule) for p in problems] == [("commodity", "reference")]
    assert "name" in problems[0].message


def test_a_commodity_string_is_no_longer_a_valid_supplier_commodity() -> None:
    problems = validate_record("suppliers", {"name": "X", "commodity": "IT"}, mode="create")
    assert [(p.path, p.rule) for p in problems] == [("commodity", "reference")]


def test_received_quantities_validate_as_numbers() -> None:
    line = {"description": "Paper", "price": "10", "currency": {"code": "USD"}}
    ok = validate_record("purchase_order_lines", {**line, "received": "2.5"}, mode="create")
    assert [p for p in ok if p.path == "received"] == []
    bad = validate_record("purchase_order_lines", {**line, "received": "two"}, mode="create")
    assert [(p.path, p.rule) for p in bad if p.path == "received"] == [("received", "type")]


def test_lookups_have_the_hierarchy_fields_of_the_examples(cat: Catalog) -> None:
    lookups = cat.get("lookups")
    assert lookups.field("fixed-depth").kind == "integer"
    for n in range(1, 11):
        assert lookups.field(f"level-{n}-name").kind == "string"
    assert "examples" in lookups.field("fixed-depth").note
