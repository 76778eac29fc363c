"""Every code a finding can carry is produced by a record, at its level, with a message
that names the field; ``strict`` makes each one an error and ``off`` finds nothing."""

from __future__ import annotations

from typing import Any

import pytest

from coupa_connector.catalog import (
    CODES,
    InstanceField,
    Overlay,
    check_record,
    load_catalog,
    with_overlay,
)

_OVERLAY = with_overlay(
    load_catalog(),
    Overlay.build(
        "https://acme.coupahost.com",
        {"suppliers": [InstanceField("tier", "integer", ("custom-fields",), custom=True)]},
    ),
)
_NAME = {"name": "Acme", "po-method": "email"}

# code -> (object, mode, record, the path the finding names)
EXAMPLES: dict[str, tuple[str, str, dict[Any, Any], str]] = {
    "type": ("suppliers", "create", {**_NAME, "on-hold": "maybe"}, "on-hold"),
    "max_length": ("suppliers", "create", {**_NAME, "name": "x" * 300}, "name"),
    "allowed": ("suppliers", "create", {**_NAME, "status": "sleeping"}, "status"),
    "reference": ("suppliers", "create", {**_NAME, "payment-term": ["Net 30"]}, "payment-term"),
    "collection": (
        "suppliers",
        "create",
        {**_NAME, "remit-to-addresses": "not a list"},
        "remit-to-addresses",
    ),
    "custom_fields": ("suppliers", "create", {**_NAME, "custom-fields": "flat"}, "custom-fields"),
    "duplicate": ("suppliers", "create", {**_NAME, "po_method": "email"}, "po-method"),
    "identity": ("suppliers", "update", {"status": "active"}, ""),
    "required": ("suppliers", "create", {"po-method": "email"}, "name"),
    "field_name": ("suppliers", "create", {**_NAME, 7: "x"}, ""),
    "marker": ("suppliers", "update", {"id": 1, "_close": True}, "_close"),
    "read_only": ("suppliers", "create", {**_NAME, "created-at": "2024-01-01"}, "created-at"),
    "unknown_field": ("suppliers", "create", {**_NAME, "colour": "blue"}, "colour"),
    "required_unsure": (
        "supplier_sites",
        "create",
        {"code": "S1", "name": "Main", "po-change-method": "email"},
        "po-method",
    ),
    "instance_value": (
        "suppliers",
        "create",
        {**_NAME, "custom-fields": {"tier": "gold"}},
        "custom-fields.tier",
    ),
}


def test_every_code_has_an_example() -> None:
    assert set(EXAMPLES) == set(CODES)


@pytest.mark.parametrize("code", sorted(CODES))
def test_each_code_is_found_at_its_level(code: str) -> None:
    obj, mode, record, path = EXAMPLES[code]
    found = check_record(obj, record, mode, catalog=_OVERLAY).problems  # type: ignore[arg-type]
    [finding] = [p for p in found if p.code == code]
    assert (finding.path, finding.level, finding.rule) == (
        path,
        CODES[code].level,
        CODES[code].rule,
    )
    assert finding.message and (not path or path.split(".")[-1] in finding.message)
    strict = check_record(obj, record, mode, catalog=_OVERLAY, validation="strict")  # type: ignore[arg-type]
    assert {p.level for p in strict.problems if p.path == path} == {"error"}
    assert check_record(obj, record, mode, validation="off").problems == ()  # type: ignore[arg-type]


def test_a_custom_field_is_known_in_either_place() -> None:
    # Inside custom-fields, or as a top-level element (Coupa's "API Global Namespace").
    inside = {**_NAME, "custom-fields": {"tier": 3}}
    top = {**_NAME, "tier": 3}
    assert check_record("suppliers", inside, catalog=_OVERLAY).problems == ()
    assert check_record("suppliers", top, catalog=_OVERLAY).problems == ()
    [odd] = check_record("suppliers", {**_NAME, "tier": "gold"}, catalog=_OVERLAY).problems
    assert (odd.path, odd.code, odd.level) == ("tier", "instance_value", "warning")
    [unknown] = check_record("suppliers", top).problems
    assert unknown.code == "unknown_field"
