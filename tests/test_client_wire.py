"""Wire codecs: XML and JSON decode to the same records; XML parsing is safe."""

from __future__ import annotations

import decimal

import pytest

from coupa_connector.catalog import load_catalog
from coupa_connector.client._wire import (
    DecodeError,
    decode,
    decode_json,
    decode_xml,
    encode_json,
    encode_xml,
    error_messages,
)

XML_PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<invoice-headers type="array">
  <invoice-header>
    <id type="integer">7</id>
    <invoice-number>INV-7</invoice-number>
    <total type="decimal">12.50</total>
    <exported type="boolean">false</exported>
    <created-at type="dateTime">2024-01-02T03:04:05Z</created-at>
    <comments nil="true"/>
    <internal-note></internal-note>
    <supplier><id type="integer">3</id><name>Acme &amp; Co</name></supplier>
    <invoice-lines type="array">
      <invoice-line><id type="integer">70</id><price type="decimal">1.25</price></invoice-line>
    </invoice-lines>
    <attachments type="array"/>
    <custom-fields><cf-x>y</cf-x></custom-fields>
  </invoice-header>
</invoice-headers>
"""

JSON_PAGE = b"""[{"id": 7, "invoice-number": "INV-7", "total": "12.50", "exported": false,
  "created-at": "2024-01-02T03:04:05Z", "comments": null, "internal-note": "",
  "supplier": {"id": 3, "name": "Acme & Co"},
  "invoice-lines": [{"id": 70, "price": "1.25"}], "attachments": [],
  "custom-fields": {"cf-x": "y"}}]"""


def test_xml_and_json_decode_to_identical_records() -> None:
    catalog = load_catalog()
    obj = catalog.get("invoices")
    from_xml = decode_xml(XML_PAGE, obj, catalog)
    from_json = decode_json(JSON_PAGE)
    assert from_xml == from_json


def test_single_line_collection_without_type_attribute_is_a_list() -> None:
    # Older Coupa payloads omit type="array"; the catalog says it is a collection.
    catalog = load_catalog()
    body = (
        b"<invoice-header><id type='integer'>1</id><invoice-lines>"
        b"<invoice-line><id type='integer'>5</id></invoice-line></invoice-lines></invoice-header>"
    )
    record = decode_xml(body, catalog.get("invoices"), catalog)
    assert record == {"id": 1, "invoice-lines": [{"id": 5}]}


def test_xml_root_identifies_the_object_when_not_given() -> None:
    catalog = load_catalog()
    assert decode(XML_PAGE, "application/xml", None, catalog) == decode_json(JSON_PAGE)


def test_empty_and_error_answers() -> None:
    assert decode_json(b"") is None and decode_json(b"[]") == []
    xml_errors = (
        b'<?xml version="1.0"?><errors><error>Login has already been taken</error>'
        b"<error><![CDATA[Email has already been taken]]></error></errors>"
    )
    assert error_messages(xml_errors, "application/xml") == [
        "Login has already been taken",
        "Email has already been taken",
    ]
    json_errors = b'{"errors": {"user": ["Login has already been taken"], "warnings": ["w"]}}'
    assert error_messages(json_errors, "application/json") == ["Login has already been taken"]
    assert error_messages(b'{"error": "invalid_scope"}') == ["invalid_scope"]
    assert error_messages(b"<html><body>bad gateway</body></html>", "text/html") == []


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b"<invoice-header><id>&lol2;</id></invoice-header>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<invoice-header><id>&xxe;</id></invoice-header>",
    ],
)
def test_xml_with_dtd_or_entities_is_refused(body: bytes) -> None:
    with pytest.raises(DecodeError, match="DTD"):
        decode_xml(body)


def test_malformed_bodies_raise_decode_errors() -> None:
    with pytest.raises(DecodeError):
        decode_xml(b"<invoice-header><id>1</invoice-header>")
    with pytest.raises(DecodeError):
        decode_json(b"{not json")


def test_xml_encoding_round_trips_through_the_decoder() -> None:
    catalog = load_catalog()
    obj = catalog.get("invoices")
    record = {
        "invoice-number": "INV-<1>",
        "total": decimal.Decimal("10.00"),
        "exported": True,
        "comments": None,
        "supplier": {"number": "SUP-1"},
        "invoice-lines": [{"line-num": 1, "price": decimal.Decimal("2.50")}],
    }
    body = encode_xml(record, obj.element, obj, catalog)
    assert b'<invoice-lines type="array"><invoice-line>' in body
    assert decode_xml(body, obj, catalog) == {
        "invoice-number": "INV-<1>",
        "total": "10.00",
        "exported": True,
        "comments": None,
        "supplier": {"number": "SUP-1"},
        "invoice-lines": [{"line-num": 1, "price": "2.50"}],
    }
    assert encode_json({"total": decimal.Decimal("1.10")}) == b'{"total":"1.10"}'
