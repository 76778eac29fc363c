"""Findings have levels: errors where Coupa certainly refuses, warnings where it tolerates.

Each level of finding has a test here; ``strict`` turns warnings into errors (the behaviour
before levels existed) and ``off`` checks nothing. The required flags' certainty is catalog
data, with reasons.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from coupa_connector import RecordCheck, check_record, json_schema, validate_record
from coupa_connector.catalog import CODES, VALIDATIONS, Problem, load_catalog


def supplier(**extra: Any) -> dict[str, Any]:
    return {"name": "Acme", "number": "S-1", **extra}


def codes(problems: tuple[Problem, ...] | list[Problem]) -> set[tuple[str, str, str]]:
    return {(p.path, p.code, p.level) for p in problems}


# ------------------------------------------------------------------ errors: Coupa refuses


@pytest.mark.parametrize(
    ("record", "path", "code", "says"),
    [
        (supplier(**{"savings-pct": "lots"}), "savings-pct", "type", "'lots' is not a decimal"),
        (supplier(name="N" * 101), "name", "max_length", "Coupa accepts at most 100"),
        (supplier(status="archived"), "status", "allowed", "not one of active, inactive, draft"),
        ({"number": "S-1"}, "name", "required", "name is required to create suppliers"),
        (supplier(**{"remit-to-addresses": "x"}), "remit-to-addresses", "collection", "list"),
        (supplier(**{"payment-term": ["Net 30"]}), "payment-term", "reference", "an id or"),
    ],
)
def test_errors_refuse_the_record_with_a_clear_message(
    record: dict[str, Any], path: str, code: str, says: str
) -> None:
    checked = check_record("suppliers", record)
    assert codes(checked.problems) == {(path, code, "error")}
    assert says in checked.problems[0].message and path in checked.problems[0].message
    assert not checked.ok
    assert [p.code for p in validate_record("suppliers", record)] == [code]


def test_a_missing_lookup_key_on_update_is_an_error() -> None:
    checked = check_record("invoices", {"supplier-note": "x"}, "update")
    assert codes(checked.problems) == {("", "identity", "error")}
    assert "needs id or invoice-number + supplier" in checked.problems[0].message


def test_malformed_lines_are_errors() -> None:
    record = {"invoice-number": "1", "invoice-lines": ["not a line", {"price": "x"}]}
    found = codes(check_record("invoices", record, "update", validation="lenient").problems)
    assert ("invoice-lines[0]", "collection", "error") in found
    assert ("invoice-lines[1].price", "type", "error") in found


# ------------------------------------------------------------------ warnings: Coupa tolerates


def test_a_read_only_field_is_dropped_and_reported() -> None:
    record = supplier(id=7, **{"created-at": "2024-01-01T00:00:00Z"})
    before = copy.deepcopy(record)
    checked = check_record("suppliers", record)
    assert codes(checked.problems) == {
        ("id", "read_only", "warning"),
        ("created-at", "read_only", "warning"),
    }
    assert "left out of the body sent" in checked.problems[0].message
    assert checked.ok and validate_record("suppliers", record) == []
    # The body to send has neither; the caller's record is untouched.
    assert checked.body == {"name": "Acme", "number": "S-1"}
    assert checked.dropped == ("id", "created-at")
    assert record == before


def test_read_only_fields_inside_lines_are_dropped_too() -> None:
    record = {"id": 3, "invoice-lines": [{"id": 9, "total": "1.00", "accounting-total": "1"}]}
    checked = check_record("invoices", record, "update")
    assert ("invoice-lines[0].accounting-total", "read_only", "warning") in codes(checked.problems)
    assert checked.body["invoice-lines"] == [{"id": 9, "total": "1.00"}]
    assert record["invoice-lines"][0]["accounting-total"] == "1"


def test_an_unknown_field_is_sent_as_given_with_a_warning() -> None:
    record = supplier(**{"erp_vendor_code": "V-9"})
    checked = check_record("suppliers", record)
    assert codes(checked.problems) == {("erp-vendor-code", "unknown_field", "warning")}
    assert "sent as given" in checked.problems[0].message
    assert checked.body == record  # kept, in the caller's spelling


def test_an_unsure_required_field_is_a_warning_with_its_reason() -> None:
    fdef = load_catalog().get("supplier_sites").fields["po-method"]
    assert fdef.required and not fdef.required_certain
    record = {"code": "S1", "name": "Main", "po-change-method": "email"}
    checked = check_record("supplier_sites", record)
    [problem] = checked.problems
    assert (problem.path, problem.code, problem.level) == (
        "po-method",
        "required_unsure",
        "warning",
    )
    assert problem.rule == "required" and "may accept the record without it" in problem.message
    assert fdef.required_reason in problem.message


def test_a_certain_required_field_stays_an_error() -> None:
    fdef = load_catalog().get("suppliers").fields["name"]
    assert fdef.certainly_required and "both mark it required" in fdef.required_reason
    assert codes(check_record("suppliers", {}).problems) == {("name", "required", "error")}


# ------------------------------------------------------------------ the modes


def test_strict_turns_every_warning_into_an_error_as_before() -> None:
    record = supplier(id=7, colour="red")
    problems = validate_record("suppliers", record, validation="strict")
    assert codes(problems) == {("id", "read_only", "error"), ("colour", "unknown_field", "error")}
    # Today's messages, word for word.
    assert [p.message for p in problems] == [
        "id is read-only: it is set by Coupa.",
        "colour: suppliers has no field 'colour'.",
    ]
    unsure = check_record("supplier_sites", {"code": "S1", "name": "M"}, validation="strict")
    assert {(p.path, p.code, p.level) for p in unsure.problems} == {
        ("po-method", "required_unsure", "error"),
        ("po-change-method", "required_unsure", "error"),
    }
    assert "po-method is required to create supplier_sites." in [p.message for p in unsure.problems]


def test_off_checks_nothing_and_sends_the_record_as_given() -> None:
    record = {"savings-pct": "lots", "id": 1}
    checked = check_record("suppliers", record, validation="off")
    assert checked == RecordCheck((), record, (), "off")
    assert validate_record("suppliers", record, validation="off") == []
    with pytest.raises(ValueError, match="validation"):
        check_record("suppliers", record, validation="loose")  # type: ignore[arg-type]
    assert VALIDATIONS == ("lenient", "strict", "off")


def test_the_default_view_is_errors_only() -> None:
    record = supplier(id=7, colour="red", **{"savings-pct": "x"})
    assert [p.code for p in validate_record("suppliers", record)] == ["type"]
    assert len(check_record("suppliers", record).problems) == 3


def test_every_code_has_one_rule_and_one_level() -> None:
    assert {c.level for c in CODES.values()} == {"error", "warning"}
    warnings = {name for name, c in CODES.items() if c.level == "warning"}
    assert warnings == {"read_only", "unknown_field", "required_unsure", "instance_value"}
    problem = Problem("x", "type", "m")
    assert (problem.code, problem.level, problem.is_error) == ("type", "error", True)


# ------------------------------------------------------------------ certainty as catalog data


def test_every_required_writable_field_says_how_certain_it_is() -> None:
    unsure = []
    for obj in load_catalog():
        for fdef in obj.fields.values():
            if fdef.required and fdef.writable:
                assert fdef.required_reason, (obj.name, fdef.name)
                if not fdef.required_certain:
                    unsure.append((obj.name, fdef.name))
    # Swagger disagrees, Coupa's example omits it, or it is needed only in some cases.
    assert ("supplier_sites", "po-method") in unsure  # Swagger does not mark it required
    assert ("quote_requests", "event-type") in unsure  # Coupa's example omits it
    assert ("business-entity-address", "local-tax-number") in unsure  # country-specific


def test_json_schema_requires_only_what_coupa_certainly_requires() -> None:
    lenient = json_schema("supplier_sites", "create")
    strict = json_schema("supplier_sites", "create", strict=True)
    assert "po-method" not in lenient.get("required", [])
    assert "po-method" in strict["required"]
    assert "may accept a record without it" in lenient["properties"]["po-method"]["description"]


def test_yes_is_true_but_no_is_refused() -> None:
    # Coupa's lookup value example sends <active>yes</active>; Rails reads it as true. It also
    # reads "no" as true, so "no" is refused rather than sent.
    assert validate_record("lookup_values", {"id": 1, "active": "yes"}, "update") == []
    [problem] = validate_record("lookup_values", {"id": 1, "active": "no"}, "update")
    assert "Coupa would read it as true" in problem.message
