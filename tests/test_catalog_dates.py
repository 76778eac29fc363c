"""Dates as Coupa (Rails) reads them: what its own documentation sends is accepted by the
query filters and by validation, what it cannot read is still refused."""

from __future__ import annotations

import datetime as dt

import pytest

from coupa_connector.activities.query import build_query
from coupa_connector.catalog import check_record, load_catalog
from coupa_connector.catalog._dates import coupa_datetime
from coupa_connector.errors import QueryError

UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("2011-01-1", dt.date(2011, 1, 1)),  # Coupa's query documentation
        ("2015-04-16 22:00:00", dt.datetime(2015, 4, 16, 22)),  # the same, with a space
        ("'2015-04-16 22:00:00'", dt.datetime(2015, 4, 16, 22)),  # and in quotes
        ("2024-1-5T7:05", dt.datetime(2024, 1, 5, 7, 5)),
        (
            "2024-01-31T18:38:00-07:00",
            dt.datetime(2024, 1, 31, 18, 38, tzinfo=dt.timezone(-dt.timedelta(hours=7))),
        ),
        ("2024-01-31T18:38:00Z", dt.datetime(2024, 1, 31, 18, 38, tzinfo=UTC)),
        ("2024-01-31 18:38:00 UTC", dt.datetime(2024, 1, 31, 18, 38, tzinfo=UTC)),
        (
            "2024-01-31T18:38:00.5+0530",
            dt.datetime(
                2024,
                1,
                31,
                18,
                38,
                0,
                500000,
                tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)),
            ),
        ),
    ],
)
def test_what_coupa_reads(text: str, read: object) -> None:
    assert coupa_datetime(text) == read


@pytest.mark.parametrize(
    "text",
    ["yesterday", "2024-02-30", "2024-13-01", "2024-01-31T25:00", "2024-01-31Z", "31/01/2024", ""],
)
def test_what_it_does_not(text: str) -> None:
    assert coupa_datetime(text) is None


def test_queries_and_bodies_take_coupa_dates() -> None:
    catalog = load_catalog()
    spec = build_query(catalog, "invoices", where="updated-at>2011-01-1")
    assert ("updated_at[gt]", "2011-01-1") in spec.params()  # sent as written
    with pytest.raises(QueryError, match="not an ISO 8601 date"):
        build_query(catalog, "invoices", where="updated-at>2011-02-30")
    problems = check_record("invoices", {"invoice-date": "2024-5-1"}, "update").problems
    assert not [p for p in problems if p.path == "invoice-date"]
    refused = check_record("invoices", {"invoice-date": "May 1st"}, "update").problems
    assert [(p.path, p.code) for p in refused if p.path == "invoice-date"] == [
        ("invoice-date", "type")
    ]
