"""Natural keys compared by catalog kind: one spelling for a file's value and Coupa's answer."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import pytest

from coupa_connector.activities.write._key_types import key_text
from coupa_connector.activities.write._keys import KeyResolver, KeySpec
from coupa_connector.catalog import MAX_INTEGER, MIN_INTEGER, load_catalog


def _spec(obj: str, key: str) -> KeySpec:
    return KeySpec.parse(load_catalog().get(obj), key)


@pytest.mark.parametrize(
    "given",
    [
        "2032-03-03",  # a day alone is midnight UTC
        "2032-03-03T00:00:00+00:00",  # Coupa's own spelling
        "2032-03-03T00:00:00Z",
        "2032-03-03T00:00:00.000Z",  # a zero fraction is the same second
        "2032-03-02T19:00:00-05:00",  # another offset, the same instant
        "2032-03-03T09:00:00+09:00",
        "2032-03-03 00:00:00",  # no offset is UTC
        " 2032-03-03T00:00:00+00:00 ",
        dt.date(2032, 3, 3),
        dt.datetime(2032, 3, 3, tzinfo=dt.UTC),
        dt.datetime(2032, 3, 3),
    ],
)
def test_datetimes_are_spelled_as_their_utc_instant(given: Any) -> None:
    assert key_text("datetime", given) == "2032-03-03T00:00:00+00:00"


def test_datetimes_of_different_instants_differ() -> None:
    assert key_text("datetime", "2032-03-03T00:00:01Z") == "2032-03-03T00:00:01+00:00"
    assert key_text("datetime", "2032-03-03T00:00:00.5Z") == "2032-03-03T00:00:00.500000+00:00"
    assert key_text("datetime", "2032-03-03T00:00:00-08:00") == "2032-03-03T08:00:00+00:00"
    for bad in ("soon", "2032-13-01", "2032-03-03T25:00:00", "0001-01-01T00:00:00+01:00", "9" * 50):
        assert key_text("datetime", bad) is None, bad


@pytest.mark.parametrize(
    "given",
    ["2032-03-03", "2032-03-03T00:00:00+00:00", "2032-03-03T23:30:00-05:00", dt.date(2032, 3, 3)],
)
def test_dates_are_spelled_as_the_day_as_written(given: Any) -> None:
    assert key_text("date", given) == "2032-03-03"


def test_unreadable_dates_name_nothing() -> None:
    assert key_text("date", "03/03/2032") is None
    assert key_text("date", 20320303) is None


@pytest.mark.parametrize(
    ("given", "spelled"),
    [
        ("10.5", "10.5"),
        ("10.50", "10.5"),
        (" 10.500 ", "10.5"),
        (10.5, "10.5"),
        (Decimal("10.50"), "10.5"),
        ("10", "10"),
        ("10.0", "10"),
        ("1E+1", "10"),
        ("100", "100"),
        ("0.00", "0"),
        ("-0", "0"),
        ("-1.230", "-1.23"),
        ("0.000001", "0.000001"),
    ],
)
def test_decimals_are_spelled_without_trailing_zeros(given: Any, spelled: str) -> None:
    assert key_text("decimal", given) == spelled
    assert key_text("float", given) == spelled


def test_unreadable_decimals_name_nothing() -> None:
    for bad in ("ten", "NaN", "Infinity", "1,5", True):
        assert key_text("decimal", bad) is None, bad


@pytest.mark.parametrize(
    ("given", "spelled"),
    [("17", "17"), ("007", "7"), (17, "17"), (17.0, "17"), ("+17", "17"), (" 17 ", "17")],
)
def test_integers_are_spelled_as_plain_numbers(given: Any, spelled: str) -> None:
    assert key_text("integer", given) == spelled


def test_integers_beyond_coupas_range_name_nothing() -> None:
    assert key_text("integer", str(MAX_INTEGER)) == str(MAX_INTEGER)
    assert key_text("integer", str(MIN_INTEGER)) == str(MIN_INTEGER)
    for bad in (str(MAX_INTEGER + 1), str(MIN_INTEGER - 1), "1" * 30, "1.5", 1.5, True, "x"):
        assert key_text("integer", bad) is None, bad


@pytest.mark.parametrize(
    ("given", "spelled"),
    [
        (True, "true"),
        ("true", "true"),
        ("True", "true"),
        ("TRUE", "true"),
        ("1", "true"),
        (1, "true"),
        (False, "false"),
        ("false", "false"),
        ("False", "false"),
        ("0", "false"),
        (0, "false"),
    ],
)
def test_booleans_are_spelled_true_or_false(given: Any, spelled: str) -> None:
    assert key_text("boolean", given) == spelled


def test_unreadable_booleans_name_nothing() -> None:
    for bad in ("yes please", "2", 2):
        assert key_text("boolean", bad) is None, bad


def test_strings_are_kept_exactly_as_given() -> None:
    assert key_text("string", " S-1 ") == " S-1 "
    assert key_text("string", "10.50") == "10.50"
    assert key_text("string", "2032-03-03") == "2032-03-03"
    assert key_text("string", True) == "true"
    assert key_text("string", 7) == "7"
    for nothing in (None, "", "   ", {"code": "x"}, ["x"]):
        assert key_text("string", nothing) is None
        assert key_text("datetime", nothing) is None


def test_key_parts_know_their_catalog_kinds() -> None:
    spec = _spec("exchange_rates", "rate-date,from-currency.code,rate,id")
    assert spec.kinds == ("datetime", "string", "decimal", "integer")
    invoice = _spec("invoices", "invoice-number,supplier")
    assert invoice.kinds == ("string", "reference")
    concrete = invoice.concrete({"invoice-number": "A", "supplier": 17})
    assert concrete is not None and concrete.kinds == ("string", "integer")
    assert invoice.value({"invoice-number": "A", "supplier": "0017"}) == ("A", "17")


def test_a_file_record_and_coupas_answer_have_the_same_key() -> None:
    spec = _spec("exchange_rates", "rate-date,from-currency.code,to-currency.code,rate")
    from_file = {
        "rate-date": "2032-03-03",
        "from-currency": {"code": "EUR"},
        "to-currency": {"code": "USD"},
        "rate": "1.10",
    }
    from_coupa = {
        "id": 9,
        "rate-date": "2032-03-03T00:00:00+00:00",
        "from-currency": {"id": 2, "code": "EUR"},
        "to-currency": {"id": 1, "code": "USD"},
        "rate": "1.1",
    }
    assert spec.value(from_file) == spec.value(from_coupa)
    assert spec.value({**from_file, "from-currency": {"code": " EUR"}}) != spec.value(from_coupa)


def test_key_parts_that_do_not_read_as_their_kind_say_why() -> None:
    spec = _spec("exchange_rates", "rate-date,from-currency.code")
    record = {"rate-date": "soon", "from-currency": {"code": "EUR"}}
    assert spec.value(record) is None
    assert spec.missing(record) == []
    assert spec.unreadable(record) == [
        "rate-date: 'soon' is not an ISO 8601 date or datetime "
        "(2032-03-03, 2032-03-03T10:00:00+02:00)"
    ]
    ids = _spec("purchase_order_lines", "line-num,order-header-id")
    assert ids.unreadable({"line-num": "1", "order-header-id": "1" * 30}) == [
        f"order-header-id: {'1' * 30!r} is not a whole number from {MIN_INTEGER} to {MAX_INTEGER}"
    ]


class _Answers:
    """A fetch that records each query and answers with Coupa's spelling of the records."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.calls: list[dict[str, str]] = []

    async def fetch(self, params: Mapping[str, str]) -> AsyncIterator[Mapping[str, Any]]:
        self.calls.append(dict(params))
        for record in self.records:
            yield record


@pytest.mark.parametrize(
    ("obj", "key", "stored", "given", "sent"),
    [
        (
            "exchange_rates",
            "rate-date",
            "2032-03-03T00:00:00+00:00",
            "2032-03-03",
            "2032-03-03T00:00:00+00:00",
        ),
        (
            "exchange_rates",
            "rate-date",
            "2032-03-02T16:00:00-08:00",
            "2032-03-03T00:00:00.000Z",
            "2032-03-03T00:00:00+00:00",
        ),
        ("expense_reports", "start-date", "2032-03-03", "2032-03-03T00:00:00+00:00", "2032-03-03"),
        ("exchange_rates", "rate", "10.50", "10.5", "10.5"),
        ("invoices", "tax-rate", 7.25, "7.250", "7.25"),
        ("purchase_order_lines", "order-header-id", 42, "042", "42"),
        ("accounts", "active", True, "True", "true"),
        ("accounts", "active", "false", "0", "false"),
        ("suppliers", "number", " S-1 ", " S-1 ", " S-1 "),
    ],
)
def test_lookups_send_coupas_form_and_match_its_answer(
    obj: str, key: str, stored: Any, given: Any, sent: str
) -> None:
    spec = _spec(obj, key)
    name = key.replace("-", "_")
    coupa = _Answers([{"id": 5, name.replace("_", "-"): stored}, {"id": 6}])
    resolver = KeyResolver(spec, coupa.fetch)
    value = spec.value({key: given})
    assert value is not None

    found = asyncio.run(resolver.resolve([value]))

    assert found == {value: (5,)}
    (call,) = coupa.calls
    assert call[name] == sent


def test_a_chunk_of_dates_is_one_in_query_in_coupas_form() -> None:
    spec = _spec("exchange_rates", "rate-date,from-currency.code,to-currency.code")
    days = ["2032-03-03", "2032-03-04"]
    stored = [
        {
            "id": 10 + n,
            "rate-date": f"{day}T00:00:00+00:00",
            "from-currency": {"code": "EUR"},
            "to-currency": {"code": "USD"},
        }
        for n, day in enumerate(days)
    ]
    coupa = _Answers(stored)
    resolver = KeyResolver(spec, coupa.fetch)
    keys = [
        spec.value(
            {"rate-date": d, "from-currency": {"code": "EUR"}, "to-currency": {"code": "USD"}}
        )
        for d in days
    ]

    found = asyncio.run(resolver.resolve([k for k in keys if k is not None]))

    assert list(found.values()) == [(10,), (11,)]
    (call,) = coupa.calls
    assert call["rate_date[in]"] == "2032-03-03T00:00:00+00:00,2032-03-04T00:00:00+00:00"
    assert call["from_currency[code]"] == "EUR" and call["to_currency[code]"] == "USD"
