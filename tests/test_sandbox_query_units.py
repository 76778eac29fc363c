"""Pure functions of the sandbox's query and wire layers: no server needed."""

from __future__ import annotations

import pytest

from coupa_connector.catalog import load_catalog
from coupa_connector.sandbox._objects import Views, human_name
from coupa_connector.sandbox._query import RequestError, parse_query, split_key
from coupa_connector.sandbox._types import KindError, coerce, parse_instant
from coupa_connector.sandbox._wire import BodyError, parse_body, render_xml


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("2024-05-01", "2024-05-01T00:00:00+00:00"),
        ("2024-05-01T10:00:00-07:00", "2024-05-01T17:00:00+00:00"),
        ("2024-05-01T17:00:00Z", "2024-05-01T17:00:00+00:00"),
        ("2024-05-01T17:00:00", "2024-05-01T17:00:00+00:00"),
        ("2024-05-01 17:00:00+02:00", "2024-05-01T15:00:00+00:00"),
        ("2024-12-31T23:30:00-01:00", "2025-01-01T00:30:00+00:00"),
    ],
)
def test_instants_are_read_as_coupa_reads_them(text: str, stored: str) -> None:
    assert parse_instant(text) == stored


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "", "9" * 50, "2024-05-01T25:00"])
def test_bad_instants_are_refused(text: str) -> None:
    with pytest.raises(KindError):
        parse_instant(text)


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        ("decimal", "15", "15"),
        ("decimal", 4.5, "4.5"),
        ("decimal", "0.10", "0.10"),
        ("integer", "7", 7),
        ("integer", 7.0, 7),
        ("boolean", "true", True),
        ("boolean", "0", False),
        ("float", "2", 2.0),
        ("date", "2024-05-01T10:00:00-07:00", "2024-05-01"),
        ("string", 12, "12"),
        ("integer", "", None),
    ],
)
def test_values_are_stored_in_coupas_spelling(kind: str, value: object, stored: object) -> None:
    assert coerce(kind, value) == stored


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("decimal", "abc", "is not a number"),
        ("decimal", "NaN", "is not a number"),
        ("integer", "1.5", "must be an integer"),
        ("integer", True, "is not a number"),
        ("boolean", "perhaps", "is not a boolean"),
        ("string", {"a": 1}, "must be a single value"),
    ],
)
def test_values_that_do_not_fit_are_refused(kind: str, value: object, reason: str) -> None:
    with pytest.raises(KindError) as caught:
        coerce(kind, value)
    assert reason in caught.value.reason


@pytest.mark.parametrize(
    ("key", "segments", "op"),
    [
        ("status", ["status"], "eq"),
        ("supplier[name]", ["supplier", "name"], "eq"),
        ("supplier[name][contains]", ["supplier", "name"], "contains"),
        ("order_lines[account][code][not-in]", ["order_lines", "account", "code"], "not_in"),
        ("created-at[gt_or_eq]", ["created-at"], "gt_or_eq"),
    ],
)
def test_filter_keys_split_into_path_and_operator(key: str, segments: list[str], op: str) -> None:
    assert split_key(key) == (segments, op)


@pytest.mark.parametrize("key", ["status[", "status]x", "a[]", "[name]"])
def test_malformed_filter_keys(key: str) -> None:
    with pytest.raises(RequestError):
        split_key(key)


def test_filters_compile_to_parameterized_sql() -> None:
    views = Views(load_catalog())
    invoices = load_catalog().get("invoices")
    spec = parse_query(views, invoices, [("supplier[name]", "Robert'); DROP TABLE records;--")])
    assert "DROP" not in spec.where and spec.params[-1].startswith("Robert')")
    assert spec.limit == 50 and spec.offset == 0 and spec.order == "r0.id ASC"


def test_human_names_follow_rails() -> None:
    assert human_name("invoice-number") == "Invoice number"
    assert human_name("account_type") == "Account type"
    assert human_name("supplier-id") == "Supplier"


def test_xml_bodies_parse_with_arrays_nils_and_underscores() -> None:
    invoices = load_catalog().get("invoices")
    body = parse_body(
        b"<invoice-header><invoice_number>A1</invoice_number><comments nil='true'/>"
        b"<invoice-lines type='array'><invoice-line><price>1</price></invoice-line>"
        b"</invoice-lines></invoice-header>",
        "application/xml",
        invoices,
    )
    assert body == {"invoice-number": "A1", "comments": None, "invoice-lines": [{"price": "1"}]}


def test_entity_declarations_are_refused() -> None:
    invoices = load_catalog().get("invoices")
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<invoice-header><comments>&x;</comments></invoice-header>"
    )
    with pytest.raises(BodyError) as caught:
        parse_body(bomb, "application/xml", invoices)
    assert caught.value.status == 400


def test_xml_rendering_escapes_and_types() -> None:
    catalog = load_catalog()
    invoices = catalog.get("invoices")
    xml = render_xml(
        catalog,
        invoices,
        [
            {
                "id": 1,
                "comments": "a < b & c",
                "paid": True,
                "gross-total": "1.50",
                "custom-fields": {"x": None},
            }
        ],
    )
    text = xml.decode()
    assert '<invoice-headers type="array">' in text
    assert "<comments>a &lt; b &amp; c</comments>" in text
    assert '<paid type="boolean">true</paid>' in text
    assert '<gross-total type="decimal">1.50</gross-total>' in text
    assert '<x nil="true"/>' in text


def test_options_for_what_coupa_leaves_open() -> None:
    from coupa_connector.sandbox._query import QueryOptions
    from coupa_connector.sandbox._wire import WireOptions

    catalog = load_catalog()
    views = Views(catalog)
    invoices = catalog.get("invoices")
    with pytest.raises(RequestError, match="limit must be between 1 and 50"):
        parse_query(views, invoices, [("limit", "51")], QueryOptions(clamp_limit=False))
    assert parse_query(views, invoices, [("limit", "51")]).limit == 50
    exact = parse_query(
        views, invoices, [("invoice-number[contains]", "Ab")], QueryOptions(like_ignores_case=False)
    )
    assert "GLOB" in exact.where and exact.params == ("*Ab*",)
    record = {"id": 1, "created-at": "2024-05-01T00:00:00+00:00", "invoice-lines": [{"id": 2}]}
    spelled = render_xml(catalog, invoices, record, WireOptions(datetime_type="dateTime"))
    assert b'<created-at type="dateTime">' in spelled
    bare = render_xml(catalog, invoices, record, WireOptions(array_attribute_on_nested=False))
    assert b"<invoice-lines>" in bare and b'<invoice-lines type="array">' not in bare


def test_strict_references_on_update_is_an_option() -> None:
    from coupa_connector.sandbox._store import Store
    from coupa_connector.sandbox._writes import WriteError, WriteOptions, Writer
    from coupa_connector.sandbox.seed import seed_store

    store = Store(None, seed_size=3, seeder=seed_store)
    try:
        views = Views(load_catalog())
        suppliers = views.view(views.catalog.get("suppliers"))
        current = store.get("suppliers", 1)
        assert current is not None
        lenient = Writer(views, store).update(
            suppliers, current, {"payment-term": {"code": "Net 999"}}, "api_user"
        )
        assert lenient["payment-term"] == current["payment-term"]
        strict = Writer(views, store, WriteOptions(strict_update_references=True))
        with pytest.raises(WriteError) as caught:
            strict.update(suppliers, current, {"payment-term": {"code": "Net 999"}}, "api_user")
        assert caught.value.messages == ["Payment term is invalid"]
    finally:
        store.close()
