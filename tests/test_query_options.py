"""One frozen QueryOptions from the command line to the request, the keywords typed alike."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from _write_support import shared
from coupa_connector import AsyncConnection, Connection, QueryOptions
from coupa_connector.activities.query import QueryKeywords, build_query
from coupa_connector.catalog import load_catalog
from coupa_connector.sandbox import Sandbox


def test_the_keywords_are_the_options_fields_in_order() -> None:
    names = [f.name for f in dataclasses.fields(QueryOptions)]
    assert names == list(QueryKeywords.__annotations__)
    assert len(names) == 13


def test_options_are_frozen_and_keywords_go_on_top() -> None:
    base = QueryOptions(where="status=approved", limit=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        base.limit = 6  # type: ignore[misc]
    merged = QueryOptions.of(base, limit=2, fields=["id"])
    assert (merged.where, merged.limit, merged.fields) == ("status=approved", 2, ["id"])
    assert base.limit == 5 and QueryOptions.of(base) is base
    with pytest.raises(TypeError):
        QueryOptions.of(base, limt=2)


def test_an_options_object_builds_the_query_its_keywords_build() -> None:
    catalog = load_catalog()
    options = QueryOptions(where=["status=approved"], fields=["id"], order_by="id", dir="desc")
    by_object = build_query(catalog, "invoices", options)
    by_keywords = build_query(
        catalog, "invoices", where=["status=approved"], fields=["id"], order_by="id", dir="desc"
    )
    assert by_object == by_keywords
    assert build_query(catalog, "invoices", options, dir="asc").dir == "asc"


def test_the_connection_takes_options_or_keywords_alike(sandbox: Sandbox) -> None:
    conn = shared(sandbox)
    options = QueryOptions(fields=["id"], limit=3, order_by="id")
    by_object = [r["id"] for r in conn.query_all("suppliers", options)]
    by_keywords = [
        r["id"] for r in conn.query_all("suppliers", fields=["id"], limit=3, order_by="id")
    ]
    assert by_object == by_keywords and len(by_object) == 3
    assert len(conn.query_all("suppliers", options, limit=1)) == 1


@pytest.mark.parametrize("cls", [AsyncConnection, Connection])
def test_the_facades_keywords_are_typed(cls: type) -> None:
    # No ``**options: Any``: every keyword argument of a public method has a declared type.
    for name, method in vars(cls).items():
        if name.startswith("_") or not callable(method):
            continue
        for param in inspect.signature(method).parameters.values():
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                assert str(param.annotation).startswith("Unpack["), (name, param.annotation)
