"""Names the sandbox does not know, handled as Coupa handles them (docs/sandbox.md, "Names
Coupa does not know"), and the names of the merged catalog, which it knows."""

from __future__ import annotations

import json

import pytest

from _sandbox_api_support import Api, messages
from coupa_connector.catalog import load_catalog


def test_unknown_names_in_fields_are_left_out(api: Api) -> None:
    # Published clients ask for fields of newer releases; Coupa answers with the rest.
    fields = ["id", "total-with-estimated-tax", "status", {"no-such-assoc": ["id"]}]
    for fmt in ("json", "xml"):
        response = api.get("/api/invoices", {"limit": 2, "fields": json.dumps(fields)}, fmt=fmt)
        assert response.status_code == 200, response.text
    [first, _] = api.get("/api/invoices", {"limit": 2, "fields": json.dumps(fields)}).json()
    assert list(first) == ["id", "status"]


def test_unknown_names_inside_nested_fields_are_left_out(api: Api) -> None:
    fields = ["id", {"supplier": ["name", "no-such-name"]}, {"invoice-lines": ["id", "nope"]}]
    [record] = api.get("/api/invoices", {"limit": 1, "fields": json.dumps(fields)}).json()
    assert list(record["supplier"]) == ["name"]
    assert all(list(line) == ["id"] for line in record["invoice-lines"])


def test_a_fields_list_that_is_not_json_is_still_refused(api: Api) -> None:
    response = api.get("/api/invoices", {"fields": "[id"})
    assert response.status_code == 400
    assert any("fields must be a JSON array" in m for m in messages(response))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_filter_keys_get_an_error_naming_them(api: Api, fmt: str) -> None:
    response = api.get("/api/invoices", {"no_such_field": "1"}, fmt=fmt)
    assert response.status_code == 400
    assert any("no_such_field" in m for m in messages(response))


def test_unknown_body_elements_are_ignored(api: Api) -> None:
    supplier = api.one("suppliers")
    body = {"no-such-element": "x", "display-name": "Renamed Display", "id": 1}
    response = api.put(f"/api/suppliers/{supplier['id']}", body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["display-name"] == "Renamed Display" and "no-such-element" not in answer
    assert answer["id"] == supplier["id"]
    xml = (
        "<supplier><display-name>Again</display-name><made-up><x>1</x></made-up>"
        "<created-at>2001-01-01</created-at></supplier>"
    )
    response = api.put_xml(f"/api/suppliers/{supplier['id']}", xml)
    assert response.status_code == 200, response.text
    after = api.get(f"/api/suppliers/{supplier['id']}").json()
    assert after["display-name"] == "Again" and after["created-at"] == supplier["created-at"]


def test_every_served_object_renders_every_field_of_the_merged_catalog(api: Api) -> None:
    catalog = load_catalog()
    for name in ("invoices", "suppliers", "users", "purchase_orders", "contracts"):
        obj = catalog.get(name)
        swagger_fields = [
            n
            for n, f in obj.fields.items()
            if f.swagger_only and f.readable and n.isascii() and "?" not in n
        ]
        assert swagger_fields, name
        record = api.one(name)
        missing = [n for n in swagger_fields if n not in record]
        assert not missing, (name, missing)


def test_swagger_only_names_can_be_asked_for_and_filtered_on(api: Api) -> None:
    catalog = load_catalog()
    obj = catalog.get("invoices")
    name = next(
        n for n, f in obj.fields.items() if f.swagger_only and f.kind in ("string", "decimal")
    )
    response = api.get(
        "/api/invoices", {"limit": 1, "fields": json.dumps(["id", name]), f"{name}[blank]": "true"}
    )
    assert response.status_code == 200, response.text
    [record] = response.json()
    assert list(record) == ["id", name]
