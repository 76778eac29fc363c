"""The sandbox as an instance with fields of its own: a custom field inside custom-fields set
through the API, and legacy ones as top-level elements, served, stored and filtered the way
Coupa does."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest

from _sandbox_api_support import Api
from coupa_connector.catalog import load_catalog
from coupa_connector.sandbox._instance_fields import INSTANCE_FIELDS
from coupa_connector.sandbox._objects import CUSTOM_FIELDS

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")


def test_the_instance_fields_are_beyond_the_catalog() -> None:
    # Were the catalog to know one, it would prove nothing about discovering it.
    catalog = load_catalog()
    for resource, fields in INSTANCE_FIELDS.items():
        assert not {f.name for f in fields} & set(catalog.get(resource).fields), resource
    assert "erp-ref" in CUSTOM_FIELDS["invoices"] and "project-code" in CUSTOM_FIELDS["invoices"]


def test_a_legacy_field_is_a_top_level_element_of_every_record(api: Api) -> None:
    [invoice] = api.get("/api/invoices", {"limit": 1}).json()
    assert "erp-batch" in invoice and invoice["erp-batch"] is None
    xml = ET.fromstring(api.get("/api/invoices", {"limit": 1}, fmt="xml").content)
    element = xml.find("./invoice-header/erp-batch")
    assert element is not None and element.get("nil") == "true"


def test_custom_and_legacy_fields_are_written_and_filtered(api: Api) -> None:
    t = uuid.uuid4().hex[:8]
    body = {"name": f"Inst {t}", "number": f"IN-{t}", "status": "active"}
    made = api.post("/api/suppliers", {**body, "legacy-vendor-code": f"LV{t}"})
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    assert api.get(f"/api/suppliers/{sid}").json()["legacy-vendor-code"] == f"LV{t}"
    found = api.get("/api/suppliers", {"legacy_vendor_code": f"LV{t}"}).json()
    assert [s["id"] for s in found] == [sid]
    [draft] = api.get("/api/invoices", {"status": "draft", "limit": 1}).json()
    changed = api.put(f"/api/invoices/{draft['id']}", {"custom-fields": {"erp-ref": f"X{t}"}})
    assert changed.status_code == 200, changed.text
    # A wrapped custom field is filtered by its own name, as Coupa documents.
    by_name = api.get("/api/invoices", {"erp_ref[contains]": t}).json()
    assert [i["id"] for i in by_name] == [draft["id"]]
    assert by_name[0]["custom-fields"]["erp-ref"] == f"X{t}"
    assert by_name[0]["custom-fields"]["project-code"] == draft["custom-fields"]["project-code"]
