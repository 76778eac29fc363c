"""json_schema: the three uses, checked structurally and with jsonschema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from _catalog_support import THE_25
from coupa_connector import json_schema
from coupa_connector.catalog import load_catalog

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def refs_in(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.add(value)
            else:
                found |= refs_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= refs_in(item)
    return found


@pytest.mark.parametrize("name", THE_25)
@pytest.mark.parametrize("use", ["query", "create", "update"])
def test_schema_is_well_formed(name: str, use: str) -> None:
    schema = json_schema(name, use)  # type: ignore[arg-type]
    assert schema["$schema"] == DRAFT
    assert schema["type"] == "object"
    assert name in schema["$id"] and use in schema["$id"]
    json.dumps(schema)  # plain data all the way down
    defs = schema.get("$defs", {})
    for ref in refs_in(schema):
        assert ref.startswith("#/$defs/")
        assert ref.removeprefix("#/$defs/") in defs, ref


def test_strict_create_requires_the_required_fields_and_nothing_else() -> None:
    schema = json_schema("invoices", "create", strict=True)
    assert schema["required"] == [
        "account-type",
        "bill-to-address",
        "invoice-date",
        "invoice-number",
        "line-level-taxation",
    ]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert "status" not in props and "id" not in props and "exported" not in props
    assert props["invoice-number"]["maxLength"] == 40
    assert props["invoice-lines"]["items"] == {"$ref": "#/$defs/invoice-line"}
    line = schema["$defs"]["invoice-line"]
    assert line["required"] == ["description", "price"]
    assert line["properties"]["type"]["enum"] == ["InvoiceQuantityLine", "InvoiceAmountLine"]
    assert props["custom-fields"]["type"] == "object"


def test_update_requires_id_or_a_natural_key() -> None:
    schema = json_schema("invoices", "update")
    assert "required" not in schema
    assert schema["anyOf"] == [{"required": ["id"]}, {"required": ["invoice-number", "supplier"]}]
    assert "id" in schema["properties"]
    line = schema["$defs"]["invoice-line"]
    assert "_delete" in line["properties"] and "id" in line["properties"]
    assert line["anyOf"][0] == {"required": ["id"]}
    accounts = json_schema("accounts", "update")
    # code is read-only, but as half of a natural key it may name the record.
    assert "code" in accounts["properties"]
    assert {"required": ["code", "account-type"]} in accounts["anyOf"]


def test_query_describes_output_with_nullable_fields() -> None:
    schema = json_schema("invoices", "query")
    props = schema["properties"]
    assert schema["additionalProperties"] is True
    assert "status" in props and "id" in props
    assert "is-credit-note" not in props  # input-only
    assert {"type": "null"} in props["invoice-number"]["anyOf"]
    assert {"type": "integer"} in props["id"]["anyOf"]
    assert props["invoice-lines"]["type"] == "array"
    decimal = props["gross-total"]["anyOf"][0]  # the non-null branch
    assert {"type": "number"} in decimal["anyOf"]
    assert any(s.get("type") == "string" and "pattern" in s for s in decimal["anyOf"])


def test_references_accept_an_id_or_a_lookup_key() -> None:
    schema = json_schema("invoices", "create")
    assert schema["properties"]["supplier"] == {
        "description": "Supplier Name or Number",
        "$ref": "#/$defs/suppliers.ref",
    }
    supplier = schema["$defs"]["suppliers.ref"]
    identified = supplier["anyOf"][2]
    assert {"type": "integer"} in supplier["anyOf"]
    assert identified["anyOf"] == [
        {"required": ["id"]},
        {"required": ["number"]},
        {"required": ["name"]},
    ]


def test_read_only_fields_are_absent_from_write_schemas() -> None:
    cat = load_catalog()
    for name in THE_25:
        obj = cat.get(name)
        create = json_schema(obj, "create")["properties"]
        for fdef in obj.fields.values():
            if not fdef.writable:
                assert fdef.name not in create, f"{name}.{fdef.name}"


def test_bad_use_raises() -> None:
    with pytest.raises(ValueError, match="use"):
        json_schema("invoices", "delete")  # type: ignore[arg-type]


def test_schemas_agree_with_validate_record() -> None:
    import jsonschema

    from coupa_connector import validate_record

    good = {
        "invoice-number": "INV-1",
        "invoice-date": "2024-05-01",
        "supplier": {"number": "S-1"},
        "account-type": {"name": "COA"},
        "bill-to-address": 3,
        "line-level-taxation": "false",
        "invoice-lines": [{"description": "x", "price": "1.50"}],
    }
    bad = good | {"status": "approved", "invoice-lines": [{"price": "abc"}]}
    schema = json_schema("invoices", "create")
    validator = jsonschema.Draft202012Validator(schema)
    assert validate_record("invoices", good) == []
    assert list(validator.iter_errors(good)) == []
    assert validate_record("invoices", bad) != []
    assert list(validator.iter_errors(bad)) != []
