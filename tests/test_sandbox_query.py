"""The sandbox's Coupa query engine over real HTTP: every operator, associations, line
collections, custom fields, dates, paging and ordering.

Expected results are computed here, in Python, from the unfiltered records; the sandbox's
filtered answers must match them exactly.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from _sandbox_api_support import Api, messages

SNAPSHOT_FIELDS = [
    "id",
    "status",
    "invoice-number",
    "gross-total",
    "created-at",
    "updated-at",
    "invoice-date",
    "exported",
    "paid",
    "comments",
    {"supplier": ["id", "name", "number"]},
    {"currency": ["code"]},
    {"account-type": ["name"]},
    {"invoice-lines": ["id", "price", {"account": ["code", {"account-type": ["name"]}]}]},
    {"custom-fields": {}},
]

Record = dict[str, Any]


@pytest.fixture
def invoices(api: Api) -> list[Record]:
    records = api.all("invoices", fields=SNAPSHOT_FIELDS)
    assert len(records) >= 150
    return records


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _median(values: list[Any]) -> Any:
    return sorted(values)[len(values) // 2]


def _lines(r: Record) -> list[Record]:
    return list(r["invoice-lines"])


def cases(invoices: list[Record]) -> list[tuple[str, str, Callable[[Record], bool]]]:
    """(query key, value, predicate) for every operator and path kind."""
    numbers = sorted(r["invoice-number"] for r in invoices)
    sample_number = numbers[len(numbers) // 3]
    middle = sample_number[4:9].lower()
    suffix = sample_number[-2:]
    total = _median([Decimal(r["gross-total"]) for r in invoices])
    created = _median([instant(r["created-at"]) for r in invoices])
    # The same instant written in another offset: Coupa compares instants, not text.
    created_pacific = created.astimezone(dt.timezone(dt.timedelta(hours=-7))).isoformat()
    day = created.date()
    supplier = invoices[len(invoices) // 2]["supplier"]
    account_code = _lines(invoices[3])[0]["account"]["code"]
    project = invoices[5]["custom-fields"]["project-code"]
    cost_center = invoices[7]["custom-fields"]["cost-center"]
    return [
        ("status", "approved", lambda r: r["status"] == "approved"),
        ("status[not_eq]", "approved", lambda r: r["status"] != "approved"),
        ("status[in]", "approved,voided", lambda r: r["status"] in ("approved", "voided")),
        ("status[not_in]", "draft,approved", lambda r: r["status"] not in ("draft", "approved")),
        (
            "invoice-number[contains]",
            middle.upper(),
            lambda r: middle in r["invoice-number"].lower(),
        ),
        ("invoice_number[starts_with]", "INV-1", lambda r: r["invoice-number"].startswith("INV-1")),
        ("invoice-number[ends_with]", suffix, lambda r: r["invoice-number"].endswith(suffix)),
        ("gross-total[gt]", str(total), lambda r: Decimal(r["gross-total"]) > total),
        ("gross-total[lt]", str(total), lambda r: Decimal(r["gross-total"]) < total),
        ("gross-total[gt_or_eq]", str(total), lambda r: Decimal(r["gross-total"]) >= total),
        ("gross-total[lt_or_eq]", str(total), lambda r: Decimal(r["gross-total"]) <= total),
        ("created-at[gt]", created_pacific, lambda r: instant(r["created-at"]) > created),
        ("created_at[lt_or_eq]", created_pacific, lambda r: instant(r["created-at"]) <= created),
        (
            "created-at[gt_or_eq]",
            day.isoformat(),
            lambda r: instant(r["created-at"]) >= dt.datetime.combine(day, dt.time(), dt.UTC),
        ),
        ("comments[blank]", "true", lambda r: not r["comments"]),
        ("comments[blank]", "false", lambda r: bool(r["comments"])),
        ("exported", "false", lambda r: r["exported"] is False),
        ("paid", "true", lambda r: r["paid"] is True),
        ("supplier[name]", supplier["name"], lambda r: r["supplier"]["name"] == supplier["name"]),
        (
            "supplier[number][not_eq]",
            supplier["number"],
            lambda r: r["supplier"]["number"] != supplier["number"],
        ),
        ("supplier_id", str(supplier["id"]), lambda r: r["supplier"]["id"] == supplier["id"]),
        ("supplier[id]", str(supplier["id"]), lambda r: r["supplier"]["id"] == supplier["id"]),
        ("account-type[name]", "US COA", lambda r: r["account-type"]["name"] == "US COA"),
        (
            "invoice-lines[account][code]",
            account_code,
            lambda r: any(li["account"]["code"] == account_code for li in _lines(r)),
        ),
        (
            "invoice_lines[account][account_type][name]",
            "EU COA",
            lambda r: any(li["account"]["account-type"]["name"] == "EU COA" for li in _lines(r)),
        ),
        (
            "invoice-lines[price][gt]",
            "400",
            lambda r: any(Decimal(li["price"]) > 400 for li in _lines(r)),
        ),
        ("currency[code][in]", "EUR,GBP", lambda r: r["currency"]["code"] in ("EUR", "GBP")),
        ("project-code", project, lambda r: r["custom-fields"]["project-code"] == project),
        (
            "custom_fields[cost_center]",
            cost_center,
            lambda r: r["custom-fields"]["cost-center"] == cost_center,
        ),
    ]


def test_every_operator_matches_an_independent_expectation(
    api: Api, invoices: list[Record]
) -> None:
    everything = {r["id"] for r in invoices}
    for key, value, predicate in cases(invoices):
        expected = {r["id"] for r in invoices if predicate(r)}
        assert expected, f"{key}={value} selects nothing in the seed; the case proves nothing"
        if key not in ("created-at[gt_or_eq]",):
            assert expected != everything, f"{key}={value} selects everything"
        got = api.ids("invoices", {key: value})
        assert len(got) == len(set(got)), f"{key}: duplicate records"
        assert set(got) == expected, f"{key}={value}"


def test_conditions_are_anded(api: Api, invoices: list[Record]) -> None:
    expected = {r["id"] for r in invoices if r["status"] == "approved" and not r["exported"]}
    got = api.ids("invoices", {"status": "approved", "exported": "false"})
    assert expected and set(got) == expected


def test_repeated_keys_are_anded(api: Api, invoices: list[Record]) -> None:
    low, high = Decimal("100"), Decimal("900")
    expected = {r["id"] for r in invoices if low <= Decimal(r["gross-total"]) < high}
    response = api.get(
        "/api/invoices",
        [("gross-total[gt_or_eq]", "100"), ("gross-total[lt]", "900"), ("fields", '["id"]')],
    )
    assert response.status_code == 200
    first_page = {r["id"] for r in response.json()}
    assert first_page <= expected and len(first_page) == min(50, len(expected))


def test_queries_in_xml_return_the_same_records(api: Api, invoices: list[Record]) -> None:
    expected = sorted(r["id"] for r in invoices if r["status"] == "voided")[:50]
    response = api.get("/api/invoices", {"status": "voided"}, fmt="xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "invoice-headers" and root.get("type") == "array"
    got = [int(e.findtext("id") or 0) for e in root.findall("invoice-header")]
    assert got == expected


def test_paging_returns_every_record_exactly_once(api: Api, invoices: list[Record]) -> None:
    everything = sorted(r["id"] for r in invoices)
    for limit in (7, 50):
        seen = [
            r["id"] for page in api.pages("invoices", {"fields": '["id"]'}, limit) for r in page
        ]
        assert seen == everything, f"limit={limit}"


def test_default_limit_and_cap_are_fifty(api: Api) -> None:
    default = api.get("/api/invoices", {"fields": '["id"]'}).json()
    capped = api.get("/api/invoices", {"fields": '["id"]', "limit": 500}).json()
    assert len(default) == 50 and len(capped) == 50
    assert [r["id"] for r in default] == [r["id"] for r in capped]


def test_offset_is_zero_based(api: Api, invoices: list[Record]) -> None:
    everything = sorted(r["id"] for r in invoices)
    first = api.get("/api/invoices", {"fields": '["id"]', "limit": 2, "offset": 0}).json()
    second = api.get("/api/invoices", {"fields": '["id"]', "limit": 2, "offset": 1}).json()
    assert [r["id"] for r in first] == everything[:2]
    assert [r["id"] for r in second] == everything[1:3]


def test_order_by_and_dir(api: Api, invoices: list[Record]) -> None:
    by_created = sorted(invoices, key=lambda r: (instant(r["created-at"]), r["id"]), reverse=True)
    got = api.all("invoices", {"order_by": "created_at", "dir": "desc"}, ["id"])
    assert [r["id"] for r in got] == [r["id"] for r in by_created]
    by_total = sorted(invoices, key=lambda r: (Decimal(r["gross-total"]), r["id"]))
    got = api.all("invoices", {"order_by": "gross-total", "dir": "asc"}, ["id"])
    assert [r["id"] for r in got] == [r["id"] for r in by_total]


def test_updated_at_window_pages_like_an_incremental_sync(api: Api, invoices: list[Record]) -> None:
    mark = _median([instant(r["updated-at"]) for r in invoices])
    expected = [
        r["id"]
        for r in sorted(invoices, key=lambda r: (instant(r["updated-at"]), r["id"]))
        if instant(r["updated-at"]) >= mark
    ]
    params = {"updated-at[gt_or_eq]": mark.isoformat(), "order_by": "updated_at", "dir": "asc"}
    got = api.all("invoices", params, ["id"])
    assert [r["id"] for r in got] == expected


def test_an_empty_result_is_a_404_in_xml_and_an_empty_array_in_json(api: Api) -> None:
    json_answer = api.get("/api/invoices", {"invoice-number": "no-such-invoice"})
    assert json_answer.status_code == 200 and json_answer.json() == []
    xml_answer = api.get("/api/invoices", {"invoice-number": "no-such-invoice"}, fmt="xml")
    assert xml_answer.status_code == 404
    assert messages(xml_answer) == ["No results match your search criteria."]
    past_the_end = api.get("/api/invoices", {"offset": 10_000_000}, fmt="xml")
    assert past_the_end.status_code == 404


def test_return_object_limited_and_shallow(api: Api) -> None:
    limited = api.get("/api/invoices", {"limit": 3, "return_object": "limited"}).json()
    assert limited == [{"id": r["id"]} for r in limited] and len(limited) == 3
    shallow = api.get("/api/invoices", {"limit": 1, "return_object": "shallow"}).json()[0]
    assert set(shallow["currency"]) == {"id", "code"}
    assert set(shallow["supplier"]) == {"id", "number", "name"}
    assert shallow["invoice-lines"] and all(set(li) == {"id"} for li in shallow["invoice-lines"])
    full = api.get("/api/invoices", {"limit": 1}).json()[0]
    assert "decimals" in full["currency"] and "line-num" in full["invoice-lines"][0]


def test_fields_selects_nested_members_with_either_spelling(api: Api) -> None:
    fields = '["id","invoice_number",{"invoice_lines":["id","line_num"]},{"supplier":["name"]}]'
    [record] = api.get("/api/invoices", {"limit": 1, "fields": fields}).json()
    assert set(record) == {"id", "invoice-number", "invoice-lines", "supplier"}
    assert set(record["supplier"]) == {"name"}
    assert all(set(li) == {"id", "line-num"} for li in record["invoice-lines"])
    [custom] = api.get("/api/invoices", {"limit": 1, "fields": '[{"custom_fields":{}}]'}).json()
    assert set(custom) == {"custom-fields"} and "project-code" in custom["custom-fields"]


def test_fields_applies_to_xml_too(api: Api) -> None:
    response = api.get("/api/invoices", {"limit": 1, "fields": '["id","status"]'}, fmt="xml")
    root = ET.fromstring(response.content)
    [record] = list(root)
    assert [child.tag for child in record] == ["id", "status"]
    assert record.find("id").get("type") == "integer"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"no_such_field": "1"}, "Unknown field 'no_such_field'"),
        ({"status[resembles]": "x"}, "Unknown operator 'resembles'"),
        ({"supplier[no_such]": "x"}, "Unknown field 'no_such'"),
        ({"status[name]": "x"}, "Unknown operator 'name'"),
        ({"invoice-lines": "1"}, "collection"),
        ({"created-at[contains]": "2024"}, "does not apply to datetime"),
        ({"created-at[gt]": "yesterday"}, "is not a valid date and time"),
        ({"gross-total[gt]": "lots"}, "is not a number"),
        ({"id": "1.5"}, "must be an integer"),
        ({"exported": "maybe"}, "is not a boolean"),
        ({"comments[blank]": "perhaps"}, "blank takes true or false"),
        ({"status[": "x"}, "Malformed filter"),
        ({"limit": "ten"}, "limit must be a whole number"),
        ({"limit": "0"}, "limit must be between 1 and 50"),
        ({"offset": "-5"}, "offset must be 0 or more"),
        ({"offset": "1e9"}, "offset must be a whole number"),
        ({"dir": "sideways"}, "dir must be asc or desc"),
        ({"order_by": "supplier"}, "order_by must name a field"),
        ({"fields": "[id"}, "fields must be a JSON array"),
        ({"fields": '{"id": 1}'}, "fields must be a JSON array"),
        ({"return_object": "everything"}, "return_object must be limited, shallow or none"),
        ({"return_object": "none"}, "only valid on create and update"),
    ],
)
def test_bad_queries_are_clean_400s_in_both_formats(
    api: Api, params: dict[str, str], expected: str
) -> None:
    for fmt in ("json", "xml"):
        response = api.get("/api/invoices", params, fmt=fmt)
        assert response.status_code == 400, (fmt, response.text)
        assert any(expected in m for m in messages(response)), (fmt, messages(response))


def test_json_errors_are_keyed_by_the_model(api: Api) -> None:
    response = api.get("/api/invoices", {"no_such_field": "1"})
    assert list(response.json()["errors"]) == ["invoice_header"]


def test_filters_through_a_resource_without_lines(api: Api) -> None:
    accounts = api.all("accounts", fields=["id", "code", {"account-type": ["name"]}])
    expected = {a["id"] for a in accounts if a["account-type"]["name"] == "EU COA"}
    assert expected and len(expected) < len(accounts)
    assert set(api.ids("accounts", {"account-type[name]": "EU COA"})) == expected
    suppliers = api.all("suppliers", fields=["id", {"primary-contact": ["email"]}])
    emails = {s["id"]: (s["primary-contact"] or {}).get("email") or "" for s in suppliers}
    domain = next(e for e in emails.values() if e).split("@")[1]
    found = api.ids("suppliers", {"primary-contact[email][contains]": domain})
    assert set(found) == {rid for rid, email in emails.items() if domain in email}


def test_receipts_filter_through_their_order_line(api: Api) -> None:
    receipts = api.all("receiving_transactions", fields=["id", {"order-line": ["id", "status"]}])
    expected = {r["id"] for r in receipts if r["order-line"]["status"] == "received"}
    assert expected
    got = api.ids("receiving_transactions", {"order-line[status]": "received"})
    assert set(got) == expected


def test_show_returns_the_singular_root(api: Api) -> None:
    invoice_id = api.one("invoices")["id"]
    response = api.get(f"/api/invoices/{invoice_id}", fmt="xml")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == "invoice-header" and root.findtext("id") == str(invoice_id)
    assert api.get(f"/api/invoices/{invoice_id}").json()["id"] == invoice_id
    by_query = api.get("/api/invoices", {"id": invoice_id}).json()
    assert isinstance(by_query, list) and [r["id"] for r in by_query] == [invoice_id]


def test_unknown_ids_and_resources_are_404s(api: Api) -> None:
    missing = api.get("/api/invoices/99999999")
    assert missing.status_code == 404 and messages(missing)
    assert api.get("/api/invoices/abc").status_code == 404
    assert api.get("/api/no_such_things").status_code == 404
    assert api.get("/api/no_such_things", fmt="xml").status_code == 404
