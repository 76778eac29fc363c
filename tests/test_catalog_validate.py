"""The catalog's checks of a record: good records pass, bad ones get every finding with its
path and rule (errors and warnings alike; tests/test_catalog_levels.py tells them apart)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from coupa_connector import Problem, check_record
from coupa_connector.catalog import RULES, load_catalog
from coupa_connector.errors import UnknownObjectError


def good_invoice() -> dict[str, Any]:
    return {
        "invoice-number": "INV-1001",
        "invoice-date": "2024-05-01",
        "currency": {"code": "USD"},
        "supplier": {"number": "SUP-42"},
        "account-type": {"name": "US COA"},
        "bill-to-address": {"location-code": "HQ"},
        "line-level-taxation": False,
        "invoice-lines": [
            {
                "line-num": 1,
                "type": "InvoiceQuantityLine",
                "description": "Toner",
                "quantity": "2",
                "price": "15.00",
                "uom": {"code": "EA"},
                "account": {"code": "HQ-IT-100", "account-type": {"name": "US COA"}},
            },
            {"line-num": 2, "type": "InvoiceAmountLine", "description": "Setup", "price": 40},
        ],
    }


def findings(*args: Any, **kwargs: Any) -> list[Problem]:
    """Every finding of a record, whatever its level."""
    return list(check_record(*args, **kwargs).problems)


def rules(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.path, p.rule) for p in problems}


def test_good_invoice_has_no_problems() -> None:
    assert findings("invoices", good_invoice()) == []


def test_a_custom_field_without_an_overlay_is_a_warning_and_sent() -> None:
    record = good_invoice() | {"custom-fields": {"cost-center": "42"}}
    check = check_record("invoices", record)
    [warning] = check.problems
    assert (warning.path, warning.code, warning.level) == (
        "custom-fields.cost-center",
        "unknown_field",
        "warning",
    )
    assert "coupa discover" in warning.message and "sent as given" in warning.message
    assert check.ok and check.body["custom-fields"] == {"cost-center": "42"}
    strict = check_record("invoices", record, validation="strict")
    assert [p.level for p in strict.problems] == ["error"]


def test_underscore_keys_are_the_same_fields() -> None:
    record = {k.replace("-", "_"): v for k, v in good_invoice().items()}
    assert findings("invoices", record) == []


def test_accepts_the_object_itself_and_native_python_values() -> None:
    obj = load_catalog().get("invoices")
    record = good_invoice() | {"invoice-date": dt.date(2024, 5, 1), "supplier": 17}
    assert findings(obj, record) == []


def test_missing_required_fields() -> None:
    record = good_invoice()
    del record["invoice-number"]
    record["bill-to-address"] = None
    record["account-type"] = "  "
    problems = findings("invoices", record)
    assert rules(problems) == {
        ("invoice-number", "required"),
        ("bill-to-address", "required"),
        ("account-type", "required"),
    }
    assert all("required to create invoices" in p.message for p in problems)


def test_wrong_types_each_named_with_the_value() -> None:
    record = good_invoice() | {
        "invoice-date": "last tuesday",
        "line-level-taxation": "maybe",
        "supplier-total": "12,50",
        "discount-percent": True,
    }
    problems = findings("invoices", record)
    assert rules(problems) == {
        ("invoice-date", "type"),
        ("line-level-taxation", "type"),
        ("supplier-total", "type"),
        ("discount-percent", "type"),
    }
    by_path = {p.path: p for p in problems}
    assert by_path["invoice-date"].value == "last tuesday"
    assert "invoice-date" in by_path["invoice-date"].message
    assert "date-time" in by_path["invoice-date"].message


@pytest.mark.parametrize(
    ("kind_field", "value"),
    [
        ("supplier-total", "12.50"),
        ("supplier-total", 12.5),
        ("supplier-total", "-3"),
        ("line-level-taxation", "true"),
        ("line-level-taxation", "FALSE"),
        ("invoice-date", "2024-05-01T10:00:00-07:00"),
        ("invoice-date", "2024-05-01T10:00:00Z"),
        ("exchange-rate", "1.5e2"),
    ],
)
def test_strings_that_parse_are_accepted(kind_field: str, value: Any) -> None:
    assert findings("invoices", good_invoice() | {kind_field: value}) == []


def test_unknown_field_suggests_the_closest() -> None:
    problems = findings("invoices", good_invoice() | {"invoice-numbr": "X"})
    assert rules(problems) == {("invoice-numbr", "unknown_field")}
    assert "invoice-number" in problems[0].message


def test_read_only_fields_are_refused_on_write() -> None:
    record = good_invoice() | {"id": 5, "status": "approved", "exported": True}
    problems = findings("invoices", record)
    assert rules(problems) == {
        ("id", "read_only"),
        ("status", "read_only"),
        ("exported", "read_only"),
    }
    assert "?exported=true" in next(p for p in problems if p.path == "exported").message


def test_value_outside_allowed_values() -> None:
    record = good_invoice()
    record["invoice-lines"][1]["type"] = "InvoiceWeirdLine"
    problems = findings("invoices", record)
    assert rules(problems) == {("invoice-lines[1].type", "allowed")}
    assert "InvoiceQuantityLine" in problems[0].message
    assert problems[0].value == "InvoiceWeirdLine"


def test_max_length() -> None:
    problems = findings("invoices", good_invoice() | {"invoice-number": "N" * 41})
    assert rules(problems) == {("invoice-number", "max_length")}
    assert "40" in problems[0].message


def test_bad_nested_lines_are_reported_with_their_index() -> None:
    record = good_invoice()
    record["invoice-lines"] = [
        {"description": "ok", "price": "1.00"},
        {"description": "no price"},
        {"price": "abc", "description": "bad price", "quantity": [1]},
        "not a line",
        {"description": "x", "price": 1, "uom": ["EA"], "id": 9},
    ]
    problems = findings("invoices", record)
    assert rules(problems) == {
        ("invoice-lines[1].price", "required"),
        ("invoice-lines[2].price", "type"),
        ("invoice-lines[2].quantity", "type"),
        ("invoice-lines[3]", "collection"),
        ("invoice-lines[4].uom", "reference"),
        ("invoice-lines[4].id", "read_only"),
    }


def test_lines_must_be_a_list() -> None:
    problems = findings("invoices", good_invoice() | {"invoice-lines": {"price": 1}})
    assert rules(problems) == {("invoice-lines", "collection")}


def test_reference_shapes() -> None:
    record = good_invoice() | {
        "supplier": {"nickname": "Acme"},
        "currency": ["USD"],
        "account-type": {},
        "bill-to-address": "HQ",
    }
    problems = findings("invoices", record)
    assert rules(problems) == {
        ("supplier", "reference"),
        ("supplier.nickname", "unknown_field"),
        ("currency", "reference"),
        ("account-type", "reference"),
        ("bill-to-address", "reference"),
    }
    assert "id or number or name" in next(p for p in problems if p.path == "supplier").message


def test_reference_by_id_and_nested_natural_key() -> None:
    record = good_invoice() | {"supplier": "17", "account-type": {"id": 3}}
    assert findings("invoices", record) == []
    record["invoice-lines"][0]["account"] = {"code": "A", "account-type": {"id": "x"}}
    problems = findings("invoices", record)
    assert rules(problems) == {("invoice-lines[0].account.account-type.id", "type")}


def test_custom_fields_must_be_a_mapping() -> None:
    problems = findings("invoices", good_invoice() | {"custom-fields": ["a"]})
    assert rules(problems) == {("custom-fields", "custom_fields")}
    record = good_invoice()
    record["invoice-lines"][0]["custom-fields"] = {"project": {"code": "P1"}}
    # Any value will do: without an overlay the instance's custom fields are not known.
    [warning] = findings("invoices", record)
    assert (warning.path, warning.level) == ("invoice-lines[0].custom-fields.project", "warning")


def test_all_problems_at_once() -> None:
    record = good_invoice() | {"foo": 1, "status": "x", "invoice-date": "?"}
    del record["invoice-number"]
    assert len(findings("invoices", record)) == 4


def test_update_needs_id_or_a_natural_key() -> None:
    problems = findings("invoices", {"supplier-note": "x"}, "update")
    assert rules(problems) == {("", "identity")}
    assert "invoice-number + supplier" in problems[0].message
    assert findings("invoices", {"id": 7, "supplier-note": "x"}, "update") == []
    by_key = {"invoice-number": "INV-1", "supplier": {"number": "S1"}, "supplier-note": "x"}
    assert findings("invoices", by_key, "update") == []
    assert rules(findings("invoices", {"invoice-number": "INV-1"}, "update")) == {("", "identity")}


def test_update_may_name_the_record_by_a_read_only_natural_key() -> None:
    record = {"code": "HQ-IT-100", "account-type": {"name": "US COA"}, "active": False}
    assert findings("accounts", record, "update") == []
    assert rules(findings("accounts", record, "create")) == {("code", "read_only")}


def test_update_does_not_enforce_required_but_checks_everything_else() -> None:
    problems = findings("invoices", {"id": 1, "status": "paid", "paid": "?"}, "update")
    assert rules(problems) == {("status", "read_only"), ("paid", "type")}


def test_update_lines_change_delete_and_add() -> None:
    record = {
        "id": 1,
        "invoice-lines": [
            {"id": 11, "price": "2.00"},
            {"id": 12, "_delete": True},
            {"description": "new line", "price": "3"},
            {"description": "new line without price"},
            {"_delete": True, "description": "no id", "price": 1},
        ],
    }
    problems = findings("invoices", record, "update")
    assert rules(problems) == {
        ("invoice-lines[3].price", "required"),
        ("invoice-lines[4]._delete", "identity"),
    }


def test_delete_marker_is_not_accepted_on_create() -> None:
    record = good_invoice()
    record["invoice-lines"][0]["_delete"] = True
    assert rules(findings("invoices", record)) == {("invoice-lines[0]._delete", "unknown_field")}


def test_header_markers_follow_the_objects_actions() -> None:
    assert findings("purchase_orders", {"id": 1, "_cancel": True}, "update") == []
    problems = findings("suppliers", {"id": 1, "_cancel": True}, "update")
    assert rules(problems) == {("_cancel", "unknown_field")}


def test_duplicate_spellings_are_reported() -> None:
    record = good_invoice() | {"invoice_number": "OTHER"}
    assert rules(findings("invoices", record)) == {("invoice-number", "duplicate")}


def test_not_a_mapping_is_one_problem_not_an_exception() -> None:
    problems = findings("suppliers", ["name", "Acme"])
    assert rules(problems) == {("", "type")}
    assert findings("suppliers", {1: "x", "name": "A"})[0].rule == "unknown_field"


def test_supplier_status_is_writable_but_limited() -> None:
    assert findings("suppliers", {"name": "Acme", "status": "active"}) == []
    problems = findings("suppliers", {"name": "Acme", "status": "archived"})
    assert rules(problems) == {("status", "allowed")}


def test_secrets_are_never_echoed() -> None:
    record = {
        "login": "jdoe",
        "email": "j@example.com",
        "firstname": "J",
        "lastname": "D",
        "password": ["hunter2"],
    }
    problems = findings("users", record)
    assert rules(problems) == {("password", "type")}
    assert "hunter2" not in repr(problems)
    assert problems[0].value == "**********"


def test_problem_is_a_frozen_value() -> None:
    problem = findings("suppliers", {})[0]
    assert problem == Problem("name", "required", problem.message, None)
    assert str(problem) == problem.message
    with pytest.raises(AttributeError):
        problem.path = "x"  # type: ignore[misc]
    assert problem.rule in RULES


def test_input_is_not_modified() -> None:
    record = good_invoice() | {"invoice_number": "X", "foo": 1}
    before = copy.deepcopy(record)
    findings("invoices", record)
    assert record == before


def test_unknown_object_and_bad_mode_raise() -> None:
    with pytest.raises(UnknownObjectError):
        findings("invoicez", {})
    with pytest.raises(ValueError, match="mode"):
        findings("invoices", {}, "upsert")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "record"),
    [
        ("suppliers", {"name": "Acme", "number": "S-1", "po-method": "email"}),
        ("users", {"login": "a", "email": "a@x", "firstname": "A", "lastname": "B"}),
        ("departments", {"name": "Finance", "active": True}),
        ("uoms", {"code": "EA", "name": "Each", "allowable-precision": 0}),
        (
            "exchange_rates",
            {
                "from-currency": {"code": "EUR"},
                "to-currency": {"code": "USD"},
                "rate": "1.08",
                "rate-date": "2024-05-01T00:00:00Z",
            },
        ),
        ("lookup_values", {"name": "CC-100", "lookup": {"name": "Cost Center"}}),
        ("items", {"name": "Toner", "description": "Black toner", "uom": {"code": "EA"}}),
        (
            "purchase_orders",
            {
                "po-number": "PO-1",
                "supplier": {"name": "Acme"},
                "ship-to-user": {"login": "jdoe"},
                "type": "ExternalOrderHeader",
                "order-lines": [
                    {
                        "description": "Paper",
                        "price": "5",
                        "currency": {"code": "USD"},
                        "quantity": 10,
                        "line-num": "1",
                    }
                ],
            },
        ),
        (
            "requisitions",
            {
                "requester": {"login": "jdoe"},
                "ship-to-address": {"name": "HQ"},
                "requisition-lines": [
                    {
                        "line-num": 1,
                        "description": "Chair",
                        "quantity": 2,
                        "unit-price": "99.5",
                        "currency": {"code": "USD"},
                    }
                ],
            },
        ),
    ],
)
def test_good_records_of_other_objects(name: str, record: dict[str, Any]) -> None:
    assert findings(name, record) == []
