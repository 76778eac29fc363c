"""Query building and paging, without a server: grammar, catalog validation, pagers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx2
import orjson
import pytest

from _client_fakes import FakeCoupa, config, invoices
from coupa_connector import Connection
from coupa_connector.activities.query import build_query
from coupa_connector.activities.query._batch import RecordBatch
from coupa_connector.activities.query._filters import OPERATORS, parse_expression
from coupa_connector.activities.query._paging import KeysetPager, OffsetPager, Params
from coupa_connector.catalog import (
    MAX_INTEGER,
    InstanceField,
    Overlay,
    load_catalog,
    with_overlay,
)
from coupa_connector.errors import QueryError, ServerError, UnknownObjectError


def params_of(*where: str, **kw: Any) -> list[tuple[str, str]]:
    return build_query(load_catalog(), "invoices", where=list(where), **kw).params()


@pytest.mark.parametrize(
    ("expr", "param"),
    [
        ("invoice-number=INV-1", ("invoice_number", "INV-1")),
        ("invoice-number!=INV-1", ("invoice_number[not_eq]", "INV-1")),
        ("gross-total>10", ("gross_total[gt]", "10")),
        ("gross-total>=10.5", ("gross_total[gt_or_eq]", "10.5")),
        ("id<5", ("id[lt]", "5")),
        ("updated-at<=2024-01-01", ("updated_at[lt_or_eq]", "2024-01-01")),
        ("invoice-number~INV", ("invoice_number[contains]", "INV")),
        ("invoice-number^=INV", ("invoice_number[starts_with]", "INV")),
        ("invoice-number$='-1'", ("invoice_number[ends_with]", "-1")),
        ("id in 1, 2,3", ("id[in]", "1,2,3")),
        ("id not in 4,5", ("id[not_in]", "4,5")),
        ("comments is blank", ("comments[blank]", "true")),
        ("comments is not blank", ("comments[blank]", "false")),
        ("supplier.name~Acme", ("supplier[name][contains]", "Acme")),
        ("supplier=17", ("supplier[id]", "17")),
        ("invoice-lines.account.code=X", ("invoice_lines[account][code]", "X")),
        (
            "updated-at[gt_or_eq]=2024-01-01T00:00:00Z",
            ("updated_at[gt_or_eq]", "2024-01-01T00:00:00Z"),
        ),
        ("supplier[name][starts_with]=Ac", ("supplier[name][starts_with]", "Ac")),
    ],
)
def test_grammar_to_coupa_parameters(expr: str, param: tuple[str, str]) -> None:
    assert params_of(expr, paging="offset") == [param]


def test_every_coupa_operator_has_a_form() -> None:
    ops = {
        parse_expression(e).op
        for e in (
            "a=1",
            "a!=1",
            "a>1",
            "a<1",
            "a>=1",
            "a<=1",
            "a~x",
            "a^=x",
            "a$=x",
            "a in 1",
            "a not in 1",
            "a is blank",
        )
    }
    assert ops == set(OPERATORS)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("stauts=approved", "no field 'stauts'.*Did you mean: status"),
        ("supplier.nmae=Acme", "suppliers has no field 'nmae'"),
        ("gross-total[bigger]=3", "Unknown operator 'bigger'.*Valid operators"),
        ("created-at~2024", "operator 'contains' does not apply to created-at"),
        ("invoice-number.x=1", "not an association"),
        ("invoice-lines=3", "is a collection"),
        ("id=abc", "'abc' is not an integer"),
        ("exported=maybe", "not true or false"),
        ("updated-at>yesterday", "not an ISO 8601"),
        ("what is this", "Cannot read the condition"),
        # Coupa answers these with a 400, as the sandbox does (test_query_bounds.py).
        ("custom-fields.=1", r"Empty field name in 'custom-fields\.=1'"),
        ("custom-fields=1", "name the custom field to compare"),
        ("custom-fields is blank", "name the custom field to compare"),
        ("supplier..name=Acme", "every '.' needs a name on each side"),
        (".status=approved", "every '.' needs a name on each side"),
        (f"id={'1' * 30}", f"'{'1' * 30}' is out of range"),
        (f"id={MAX_INTEGER + 1}", f"'{MAX_INTEGER + 1}' is out of range"),
        (f"id>-{MAX_INTEGER + 1}1", "is out of range"),
        (f"id in 1,{'1' * 30}", f"'{'1' * 30}' is out of range"),
        (f"supplier={'1' * 30}", "is out of range"),
        (f"supplier.id[gt]={'1' * 30}", "is out of range"),
        ("id=" + "9" * 5000, "is out of range"),
    ],
)
def test_bad_filters_are_refused_before_any_request(where: str, message: str) -> None:
    fake = FakeCoupa(records=invoices(3))
    with (
        Connection(config(), transport=fake.transport()) as conn,
        pytest.raises(QueryError, match=message),
    ):
        list(conn.query("invoices", where=where, strict=True))
    assert fake.calls == []


def test_an_unknown_field_is_sent_with_a_warning_unless_strict(
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalog = load_catalog()
    spec = build_query(catalog, "invoices", where=["erp-ref~X1", "status=approved"])
    assert ("erp_ref[contains]", "X1") in spec.params()
    assert len(spec.warnings) == 1 and "no field 'erp-ref'" in spec.warnings[0]
    assert "sent as given" in spec.warnings[0]
    # Beyond an unknown name nothing is checked: Coupa decides.
    nested = build_query(catalog, "invoices", where="supplier.acme-tier.code=7", fields=["x-y"])
    assert ("supplier[acme_tier][code]", "7") in nested.params()
    assert ("fields", '["id","x_y"]') in nested.params()
    assert len(nested.warnings) == 2
    fake = FakeCoupa(records=invoices(2))
    with (
        caplog.at_level(logging.WARNING, logger="coupa_connector.query"),
        Connection(config(), transport=fake.transport()) as conn,
    ):
        assert len(list(conn.query("invoices", where="erp-ref=X1"))) == 2
    assert [r.getMessage() for r in caplog.records if "erp-ref" in r.getMessage()]


def test_an_instance_custom_field_is_compared_by_its_own_name() -> None:
    fields = [
        InstanceField("erp-ref", "string", ("custom-fields",), custom=True),
        InstanceField("erp-count", "integer", ("custom-fields",), custom=True),
    ]
    view = with_overlay(load_catalog(), Overlay.build("https://a.example", {"invoices": fields}))
    spec = build_query(view, "invoices", where="erp-ref~X", fields=["erp-ref"], strict=True)
    assert ("erp_ref[contains]", "X") in spec.params() and spec.warnings == ()
    assert ("fields", '["id",{"custom_fields":["erp_ref"]}]') in spec.params()
    # The type an overlay saw is a hint: another value is sent with a warning...
    odd = build_query(view, "invoices", where="erp-count=many")
    assert ("erp_count", "many") in odd.params() and "sent as given" in odd.warnings[0]
    # ... and refused with --strict.
    with pytest.raises(QueryError, match="'many' is not an integer"):
        build_query(view, "invoices", where="erp-count=many", strict=True)


@pytest.mark.parametrize(
    ("where", "fields"),
    [("stauts=approved", None), ("status=approved", ["id", "invoice-numbr"])],
)
def test_strict_refuses_unknown_fields_with_close_names_and_the_param_escape(
    where: str, fields: list[str] | None
) -> None:
    with pytest.raises(QueryError) as caught:
        build_query(load_catalog(), "invoices", where=where, fields=fields, strict=True)
    message = str(caught.value)
    assert "Did you mean:" in message and "--param NAME=VALUE" in message
    # Close names only, never the list of every field.
    assert len(message) < 400 and "Valid fields" not in message


def test_other_refusals() -> None:
    catalog = load_catalog()
    with pytest.raises(UnknownObjectError):
        build_query(catalog, "invoicez")
    with pytest.raises(QueryError, match="managed by the pager"):
        build_query(catalog, "invoices", params={"offset": 50})
    with pytest.raises(QueryError, match="Keyset paging"):
        build_query(catalog, "invoices", order_by="updated-at", paging="keyset")
    with pytest.raises(QueryError, match="return_object"):
        build_query(catalog, "invoices", return_object="none")


@pytest.mark.parametrize(
    ("options", "paging", "order"),
    [
        ({"dir": "desc"}, "keyset", []),  # the pager sends order_by=id&dir=desc itself
        ({"order_by": "id", "dir": "desc"}, "keyset", []),
        ({"dir": "desc", "paging": "offset"}, "offset", [("order_by", "id"), ("dir", "desc")]),
        ({"order_by": "invoice-date"}, "offset", [("order_by", "invoice_date")]),
    ],
)
def test_a_direction_is_never_dropped(options: dict[str, Any], paging: str, order: Any) -> None:
    spec = build_query(load_catalog(), "invoices", **options)
    assert spec.paging == paging
    assert spec.descending == (options.get("dir") == "desc" and paging == "keyset")
    assert spec.params() == order


def test_mapping_where_and_fields_projection() -> None:
    spec = build_query(
        load_catalog(),
        "invoices",
        where={"status": ["approved", "voided"], "supplier.name[contains]": "Ac", "comments": None},
        fields=["invoice-number", "supplier.name", "invoice-lines.price"],
    )
    assert spec.paging == "keyset"
    assert spec.params() == [
        ("status[in]", "approved,voided"),
        ("supplier[name][contains]", "Ac"),
        ("comments[blank]", "true"),
        ("fields", '["id","invoice_number",{"supplier":["name"]},{"invoice_lines":["price"]}]'),
    ]


def _collect(pager: Any) -> list[Any]:
    async def go() -> list[Any]:
        return [page async for page in pager]

    return asyncio.run(go())


def fake_fetch(
    records: list[dict[str, Any]], calls: list[Params], fail_at: int | None = None
) -> Any:
    async def fetch(params: Params) -> RecordBatch:
        calls.append(params)
        q = dict(params)
        if fail_at is not None and q.get("offset") == str(fail_at):
            raise ServerError("Coupa failed", status=503)
        rows = [r for r in records if r["id"] > int(q.get("id[gt]", -1))]
        rows = [r for r in rows if r["id"] <= int(q.get("id[lt_or_eq]", 10**9))]
        if q.get("dir") == "desc":
            rows.reverse()
        offset = int(q.get("offset", 0))
        batch = RecordBatch.from_json(orjson.dumps(rows[offset : offset + int(q["limit"])]))
        assert batch is not None
        return batch

    return fetch


@pytest.mark.parametrize("concurrency", [1, 3, 8])
@pytest.mark.parametrize("n", [0, 1, 49, 50, 51, 100, 237])
def test_offset_pager_exactly_once(concurrency: int, n: int) -> None:
    records = [{"id": i} for i in range(1, n + 1)]
    calls: list[Params] = []
    pages = _collect(OffsetPager(fake_fetch(records, calls), [("status", "x")], concurrency))
    got = [r["id"] for p in pages for r in p.records]
    assert got == list(range(1, n + 1))
    # Each page after the first starts 5 records before the end of the one before.
    offsets = [int(dict(c)["offset"]) for c in calls]
    pages = 1 if n < 50 else (n - 50) // 45 + 2  # up to the first short page
    assert offsets[:pages] == [45 * k for k in range(pages)]
    assert len(calls) < pages + concurrency
    assert all(dict(c)["limit"] == "50" for c in calls)


def test_offset_pager_failure_names_its_position_and_never_skips() -> None:
    records = [{"id": i} for i in range(1, 201)]
    delivered: list[int] = []
    with pytest.raises(ServerError, match="offset 90 failed after 95 records"):
        for page in _collect_iter(OffsetPager(fake_fetch(records, [], fail_at=90), [], 4)):
            delivered.extend(r["id"] for r in page.records)
    assert delivered == list(range(1, 96))


def _collect_iter(pager: Any) -> Any:
    loop = asyncio.new_event_loop()
    it = pager.__aiter__()
    try:
        while True:
            try:
                yield loop.run_until_complete(it.__anext__())
            except StopAsyncIteration:
                return
    finally:
        loop.run_until_complete(it.aclose())
        loop.close()


def test_offset_pager_refuses_a_server_that_ignores_limit() -> None:
    async def fetch(params: Params) -> RecordBatch:
        return RecordBatch.of([{"id": i} for i in range(60)])

    with pytest.raises(QueryError, match="60 records for limit=50"):
        _collect(OffsetPager(fetch, []))


@pytest.mark.parametrize("concurrency", [1, 2, 5])
@pytest.mark.parametrize("n", [0, 30, 50, 120, 501])
def test_keyset_pager_exactly_once(concurrency: int, n: int) -> None:
    records = [{"id": i * 3} for i in range(1, n + 1)]  # sparse ids
    calls: list[Params] = []
    fetch = fake_fetch(records, calls)

    async def probe() -> int | None:
        rows = await fetch([("order_by", "id"), ("dir", "desc"), ("limit", "1")])
        return int(rows.ids[0]) if rows else None

    pager = KeysetPager(fetch, [], probe, concurrency)
    ids = sorted(r["id"] for p in _collect(pager) for r in p.records)
    assert ids == [r["id"] for r in records]
    assert all(("order_by", "id") in c for c in calls)


def test_keyset_pager_refuses_unordered_answers() -> None:
    async def fetch(params: Params) -> RecordBatch:
        return RecordBatch.of([{"id": 5}, {"id": 3}])

    async def probe() -> int | None:
        return 5

    with pytest.raises(QueryError, match="ignored order_by=id"):
        _collect(KeysetPager(fetch, [], probe, 1))


def test_limit_stops_early_in_both_modes() -> None:
    fake = FakeCoupa(records=invoices(300))
    with Connection(config(), transport=fake.transport()) as conn:
        assert len(list(conn.query("invoices", limit=120))) == 120
        assert len(list(conn.query("invoices", limit=7, paging="offset"))) == 7
    limits = [c.url.params.get("limit") for c in fake.api_calls()]
    assert limits == ["50", "50", "20", "7"]


def test_sync_query_through_mock_transport_uses_keyset_partitions() -> None:
    fake = FakeCoupa(records=invoices(420))
    with Connection(config(concurrency=4), transport=fake.transport()) as conn:
        ids = [r["id"] for r in conn.query("invoices")]
    assert sorted(ids) == list(range(1, 421)) and len(ids) == len(set(ids))
    probes = [c for c in fake.api_calls() if c.url.params.get("dir") == "desc"]
    assert len(probes) == 1
    assert all(c.url.params["limit"] in ("50", "1") for c in fake.api_calls())


def test_a_persistently_failing_page_fails_the_query() -> None:
    fake = FakeCoupa(records=invoices(120))
    fake.script = [lambda r: None, lambda r: None] + [lambda r: httpx2.Response(502)] * 10
    with Connection(config(max_retries=2), transport=fake.transport()) as conn:
        got: list[int] = []
        with pytest.raises(ServerError, match="failed after 50 records were delivered"):
            for record in conn.query("invoices", concurrency=1):
                got.append(record["id"])
    assert got == list(range(1, 51))
