"""Unit tests of the write activities' pure parts: keys, lookup batching, counts, the pipeline.

No server here: the key resolver gets a plain async function as its query runner, and the
pipeline gets jobs that are plain coroutines.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from coupa_connector.activities.write._keys import KeyResolver, KeySpec, get_path
from coupa_connector.activities.write._lines import Landed, added_lines, adds_lines, landed
from coupa_connector.activities.write._pipeline import (
    FatalWriteError,
    Item,
    Job,
    UnreadableRecord,
    run_pipeline,
)
from coupa_connector.activities.write._results import WriteOutcome, WriteResult, WriteSummary
from coupa_connector.activities.write._send import (
    Resolution,
    SendContext,
    WriteOptions,
    resolution,
    send_create,
)
from coupa_connector.catalog import load_catalog
from coupa_connector.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    UnknownFieldError,
    ValidationError,
)


def _obj(name: str) -> Any:
    return load_catalog().get(name)


# --------------------------------------------------------------------------- keys


def test_key_spec_parses_dotted_paths_and_underscores() -> None:
    spec = KeySpec.parse(_obj("invoices"), "invoice_number, supplier.number")
    assert spec.paths == (("invoice-number",), ("supplier", "number"))
    assert spec.text == "invoice-number,supplier.number"
    record = {"invoice_number": "INV-1", "supplier": {"number": "S-9"}}
    assert spec.value(record) == ("INV-1", "S-9")
    assert spec.missing({"invoice-number": "INV-1"}) == ["supplier.number"]
    assert spec.describe(("INV-1", "S-9")) == "invoice-number='INV-1', supplier.number='S-9'"


def test_key_spec_refuses_unknown_fields_and_collections() -> None:
    with pytest.raises(UnknownFieldError) as info:
        KeySpec.parse(_obj("suppliers"), "numbr")
    assert "number" in info.value.suggestions
    with pytest.raises(ConfigurationError, match="collection"):
        KeySpec.parse(_obj("invoices"), "invoice-lines")
    with pytest.raises(ConfigurationError, match="not a reference"):
        KeySpec.parse(_obj("suppliers"), "number.code")
    with pytest.raises(ConfigurationError, match="empty"):
        KeySpec.parse(_obj("suppliers"), " , ")


def test_reference_key_part_is_made_concrete_per_record() -> None:
    spec = KeySpec.default_for(_obj("invoices"))
    assert spec is not None and spec.paths == (("invoice-number",), ("supplier",))
    by_number = {"invoice-number": "A", "supplier": {"number": "S-1"}}
    by_name = {"invoice-number": "A", "supplier": {"name": "Acme"}}
    concrete = spec.concrete(by_number)
    assert concrete is not None and concrete.paths[1] == ("supplier", "number")
    concrete_name = spec.concrete(by_name)
    assert concrete_name is not None and concrete_name.paths[1] == ("supplier", "name")
    assert spec.value(by_name) == ("A", "Acme")
    assert spec.concrete({"invoice-number": "A"}) is None
    assert spec.missing({"invoice-number": "A", "supplier": {}}) == ["supplier"]


def test_fields_param_asks_for_id_and_key_parts_only() -> None:
    spec = KeySpec.parse(_obj("invoices"), "invoice-number,supplier.number")
    assert json.loads(spec.fields_param()) == [
        "id",
        "invoice_number",
        {"supplier": ["number"]},
    ]
    assert spec.filter_name(("supplier", "number")) == "supplier[number]"


def test_only_keys_the_catalog_marks_unique_are_unique() -> None:
    assert KeySpec.parse(_obj("suppliers"), "number").is_unique
    assert not KeySpec.parse(_obj("addresses"), "name").is_unique
    assert KeySpec.parse(_obj("addresses"), "location-code").is_unique
    # Unique within the supplier: only with the supplier in the key.
    assert KeySpec.parse(_obj("invoices"), "invoice-number,supplier.number").is_unique
    assert not KeySpec.parse(_obj("invoices"), "invoice-number").is_unique


class _FakeCoupa:
    """A query runner over an in-memory list: ``in`` and equality filters, ANDed."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.calls: list[dict[str, str]] = []

    async def fetch(self, params: Mapping[str, str]) -> AsyncIterator[Mapping[str, Any]]:
        self.calls.append(dict(params))
        tests = []
        for name, value in params.items():
            if name == "fields":
                continue
            is_in = name.endswith("[in]")
            path = name.removesuffix("[in]").replace("]", "").replace("_", "-").split("[")
            tests.append((path, set(value.split(",")) if is_in else {value}))
        for record in self.records:
            if all(str(get_path(record, path)) in wanted for path, wanted in tests):
                yield record


def test_resolver_batches_lookups_and_caches_answers() -> None:
    coupa = _FakeCoupa(
        [{"id": i, "number": f"S-{i}"} for i in range(1, 121)] + [{"id": 500, "number": "S-7"}]
    )
    resolver = KeyResolver(KeySpec.parse(_obj("suppliers"), "number"), coupa.fetch)
    keys = [(f"S-{i}",) for i in range(1, 121)] + [("S-none",)]

    found = asyncio.run(resolver.resolve(keys))

    assert found[("S-1",)] == (1,)
    assert found[("S-7",)] == (7, 500)  # several matches are all reported
    assert found[("S-none",)] == ()
    assert len(coupa.calls) == 3  # 121 values in chunks of at most 50
    assert all("number[in]" in c for c in coupa.calls)
    asyncio.run(resolver.resolve([("S-1",), ("S-none",)]))
    assert len(coupa.calls) == 3  # answered from the cache, misses included
    resolver.forget(("S-none",))
    asyncio.run(resolver.resolve([("S-none",)]))
    assert coupa.calls[-1] == {"number": "S-none", "fields": '["id","number"]'}


def test_resolver_sends_values_with_commas_as_equality() -> None:
    coupa = _FakeCoupa([{"id": 3, "number": "A,B"}])
    resolver = KeyResolver(KeySpec.parse(_obj("suppliers"), "number"), coupa.fetch)
    found = asyncio.run(resolver.resolve([("A,B",), ("C",)]))
    assert found == {("A,B",): (3,), ("C",): ()}
    assert {"number": "A,B", "fields": '["id","number"]'} in coupa.calls


def test_key_values_are_kept_as_given_and_padded_ones_asked_for_alone() -> None:
    spec = KeySpec.parse(_obj("suppliers"), "number")
    assert spec.value({"number": " WS-1 "}) == (" WS-1 ",)
    assert spec.value({"number": "   "}) is None
    coupa = _FakeCoupa([{"id": 3, "number": " WS-1 "}, {"id": 4, "number": "WS-1"}])
    resolver = KeyResolver(spec, coupa.fetch)
    found = asyncio.run(resolver.resolve([(" WS-1 ",), ("A",), ("B",)]))
    assert found == {(" WS-1 ",): (3,), ("A",): (), ("B",): ()}
    assert {"number": " WS-1 ", "fields": '["id","number"]'} in coupa.calls


def test_composite_key_batches_on_the_objects_own_field_and_narrows_by_shared_parts() -> None:
    invoices = [
        {"id": 1, "invoice-number": "A", "supplier": {"number": "S-1"}},
        {"id": 2, "invoice-number": "A", "supplier": {"number": "S-2"}},
        {"id": 3, "invoice-number": "B", "supplier": {"number": "S-1"}},
    ]
    coupa = _FakeCoupa(invoices)
    spec = KeySpec.parse(_obj("invoices"), "supplier.number,invoice-number")
    assert spec.pivot == 1
    resolver = KeyResolver(spec, coupa.fetch)
    found = asyncio.run(resolver.resolve([("S-1", "A"), ("S-1", "B"), ("S-1", "C")]))
    assert found == {("S-1", "A"): (1,), ("S-1", "B"): (3,), ("S-1", "C"): ()}
    (call,) = coupa.calls
    assert call["invoice_number[in]"] == "A,B,C"
    assert call["supplier[number]"] == "S-1"  # every key of the chunk shares it
    found = asyncio.run(resolver.resolve([("S-2", "A")]))
    assert found == {("S-2", "A"): (2,)}


# --------------------------------------------------------------------------- counts


def test_summary_counts_add_up() -> None:
    summary = WriteSummary()
    for n, outcome in enumerate(
        [WriteOutcome.CREATED, WriteOutcome.REJECTED, WriteOutcome.FAILED], start=1
    ):
        summary.add(WriteResult(n, outcome))
    summary.add(WriteResult(4, WriteOutcome.CREATED, recovered=True))
    assert summary.read == 4 == summary.written + summary.rejected + summary.failed
    assert summary.as_dict()["recovered"] == 1
    assert not summary.ok


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValidationError("x", status=400), Resolution.FAIL),
        (NotFoundError("x", status=404), Resolution.FAIL),
        (AuthenticationError("x", status=401), Resolution.FATAL),
        (PermissionDeniedError("x", status=403), Resolution.FATAL),
        (RateLimitError("x", status=429), Resolution.RESEND),
        (ServerError("x", status=503, retryable=True), Resolution.RESEND),
        (ServerError("x", status=500, retryable=True), Resolution.UNKNOWN),
        (ServerError("x", status=501, retryable=False), Resolution.FAIL),
        (TransportError("dropped"), Resolution.UNKNOWN),
    ],
)
def test_error_resolution_table(error: Any, expected: Resolution) -> None:
    assert resolution(error) is expected


def test_transport_failure_kinds_decide_between_resend_and_lookup() -> None:
    connect = TransportError("refused")
    connect.kind = "connect"  # type: ignore[attr-defined]
    dropped = TransportError("dropped")
    dropped.kind = "dropped"  # type: ignore[attr-defined]
    tls = TransportError("tls", retryable=False)
    tls.kind = "tls"  # type: ignore[attr-defined]
    assert resolution(connect) is Resolution.RESEND
    assert resolution(dropped) is Resolution.UNKNOWN
    assert resolution(tls) is Resolution.FATAL


# --------------------------------------------------------------------------- pipeline


def _collect(agen: AsyncIterator[WriteResult]) -> list[WriteResult]:
    async def go() -> list[WriteResult]:
        return [r async for r in agen]

    return asyncio.run(go())


def test_pipeline_gives_one_result_per_entry_with_bounded_concurrency() -> None:
    in_flight = 0
    peak = 0

    async def prepare(items: list[Item]) -> list[Job | WriteResult]:
        def job(item: Item) -> Job:
            async def run() -> WriteResult:
                nonlocal in_flight, peak
                in_flight += 1
                peak = max(peak, in_flight)
                await asyncio.sleep(0.001 * (item.position % 3))
                in_flight -= 1
                return WriteResult(item.position, WriteOutcome.CREATED, id=item.position)

            return Job(item, run)

        return [job(i) for i in items]

    source = [{"n": i} for i in range(200)] + ["not a record", UnreadableRecord("bad JSON")]
    results = _collect(run_pipeline(source, prepare, concurrency=4, batch_size=7))
    assert sorted(r.position for r in results) == list(range(1, 203))
    assert peak <= 4
    by_outcome = {r.position: r.outcome for r in results}
    assert by_outcome[201] is WriteOutcome.REJECTED and by_outcome[202] is WriteOutcome.REJECTED
    assert next(r for r in results if r.position == 202).messages == ("bad JSON",)


def test_pipeline_serializes_records_sharing_a_lock_key() -> None:
    order: list[int] = []

    async def prepare(items: list[Item]) -> list[Job | WriteResult]:
        def job(item: Item) -> Job:
            async def run() -> WriteResult:
                order.append(item.position)
                await asyncio.sleep(0.002 if item.position == 1 else 0)
                order.append(-item.position)
                return WriteResult(item.position, WriteOutcome.UPDATED)

            return Job(item, run, lock_key="same")

        return [job(i) for i in items]

    _collect(run_pipeline([{}, {}, {}], prepare, concurrency=3))
    assert order == [1, -1, 2, -2, 3, -3]


def test_pipeline_strips_rejects_error_column() -> None:
    seen: list[dict[str, Any]] = []

    async def prepare(items: list[Item]) -> list[Job | WriteResult]:
        seen.extend(i.body for i in items)
        return [WriteResult(i.position, WriteOutcome.VALID, record=i.record) for i in items]

    results = _collect(run_pipeline([{"name": "x", "_errors": ["old"]}], prepare, concurrency=1))
    assert seen == [{"name": "x"}]
    assert results[0].record == {"name": "x", "_errors": ["old"]}  # kept as given


def test_pipeline_fatal_error_answers_every_read_record_then_raises() -> None:
    error = PermissionDeniedError("no scope", status=403)

    async def prepare(items: list[Item]) -> list[Job | WriteResult]:
        def job(item: Item) -> Job:
            async def run() -> WriteResult:
                if item.position == 3:
                    raise FatalWriteError(error, WriteResult(item.position, WriteOutcome.FAILED))
                await asyncio.sleep(0.001)
                return WriteResult(item.position, WriteOutcome.CREATED)

            return Job(item, run)

        return [job(i) for i in items]

    results: list[WriteResult] = []

    async def go() -> None:
        async for result in run_pipeline(
            ({"n": i} for i in range(1000)), prepare, concurrency=2, batch_size=10
        ):
            results.append(result)

    with pytest.raises(PermissionDeniedError):
        asyncio.run(go())
    positions = sorted(r.position for r in results)
    assert positions == list(range(1, len(positions) + 1))  # no gap in what was read
    assert len(positions) < 1000  # reading stopped
    assert any("not sent" in m for r in results for m in r.messages)


def test_pipeline_keeps_records_read_before_an_input_error() -> None:
    def source() -> Any:
        yield {"n": 1}
        yield {"n": 2}
        raise ValueError("line 3: broken")

    async def prepare(items: list[Item]) -> list[Job | WriteResult]:
        return [WriteResult(i.position, WriteOutcome.VALID) for i in items]

    results: list[WriteResult] = []

    async def go() -> None:
        async for result in run_pipeline(source(), prepare, concurrency=1, batch_size=50):
            results.append(result)

    with pytest.raises(ValueError, match="broken"):
        asyncio.run(go())
    assert [r.position for r in results] == [1, 2]


def test_pipeline_closed_early_stops_reading_and_finishes_sends_in_flight(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started: list[int] = []
    finished: list[int] = []

    async def prepare(items: list[Item]) -> list[Job | WriteResult]:
        def job(item: Item) -> Job:
            async def run() -> WriteResult:
                started.append(item.position)
                await asyncio.sleep(0.05 if item.position > 1 else 0)
                finished.append(item.position)
                return WriteResult(
                    item.position, WriteOutcome.CREATED, id=1000 + item.position, attempts=1
                )

            return Job(item, run)

        return [job(i) for i in items]

    async def go() -> WriteResult:
        results = run_pipeline(({"n": i} for i in range(500)), prepare, concurrency=4)
        first = await results.__anext__()
        await asyncio.wait_for(results.aclose(), timeout=5)
        return first

    with caplog.at_level(logging.INFO, logger="coupa_connector.writes"):
        first = asyncio.run(go())
    assert first.position == 1
    assert len(started) < 100  # reading stopped with the consumer
    # Every send that started was finished, not cut off, and nobody lost its result.
    assert len(started) > 1 and sorted(finished) == sorted(started)
    late = [
        r.getMessage() for r in caplog.records if "after the results were closed" in r.getMessage()
    ]
    assert len(late) == len(started) - 1
    assert all(f"Coupa id {1000 + p}" in " ".join(late) for p in started if p != 1)


def test_pipeline_defect_in_a_job_is_accounted_for_then_raised() -> None:
    async def prepare(items: list[Item]) -> list[Job | WriteResult]:
        def job(item: Item) -> Job:
            async def run() -> WriteResult:
                if item.position == 2:
                    raise KeyError("boom")
                return WriteResult(item.position, WriteOutcome.CREATED)

            return Job(item, run)

        return [job(i) for i in items]

    results: list[WriteResult] = []

    async def go() -> None:
        async for result in run_pipeline([{}, {}, {}], prepare, concurrency=1):
            results.append(result)

    with pytest.raises(KeyError):
        asyncio.run(go())
    assert sorted(r.position for r in results) == [1, 2, 3]
    assert next(r for r in results if r.position == 2).outcome is WriteOutcome.FAILED


def test_the_write_api_is_exported() -> None:
    import coupa_connector

    assert {"WriteOptions", "WriteOutcome", "WriteResult", "WriteSummary"} <= set(
        coupa_connector.__all__
    )
    for cls in (coupa_connector.Connection, coupa_connector.AsyncConnection):
        for method in ("create", "update", "upsert", "action"):
            assert callable(getattr(cls, method)), (cls, method)


def test_only_bodies_that_add_collection_items_are_not_idempotent() -> None:
    assert not adds_lines({"name": "x", "supplier": {"number": "S-1"}})
    assert not adds_lines({"invoice-lines": [{"id": 4, "price": "1"}, {"id": 5, "_delete": True}]})
    assert adds_lines({"invoice-lines": [{"id": 4}, {"description": "Freight"}]})
    assert added_lines({"invoice-lines": [{"id": 4}, {"price": "1"}, {"price": "2"}]}) == {
        "invoice-lines": 2
    }
    # An item added inside an existing line cannot be counted by reading the header's lines.
    nested = {"invoice-lines": [{"id": 4, "account-allocations": [{"pct": "50"}]}]}
    assert adds_lines(nested) and added_lines(nested) is None


def test_a_reread_tells_whether_added_lines_landed() -> None:
    before = {"invoice-lines": frozenset({4, 5})}
    added = {"invoice-lines": 1}
    assert landed(before, {"invoice-lines": frozenset({4, 5})}, added) is Landed.NO
    assert landed(before, {"invoice-lines": frozenset({4, 5, 9})}, added) is Landed.YES
    assert landed(before, {"invoice-lines": frozenset({4, 9, 10})}, added) is Landed.UNKNOWN


class _Posts:
    """A requester whose POSTs meet the given errors in turn, then succeed."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent = 0

    async def request(self, method: str, path: str, **kw: Any) -> Any:
        self.sent += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"id": 99}


def test_a_refusal_after_a_lost_answer_looks_the_record_up_again() -> None:
    # The first send landed, the lookup just after it did not see it yet, the second send
    # is refused as a duplicate: the second lookup finds the record the first send made.
    conn = _Posts(
        ServerError("lost", status=502, retryable=True),
        ValidationError("taken", status=400, messages=["Number has already been taken"]),
    )
    answers = [(), (7,)]

    async def recover() -> tuple[int, ...]:
        return answers.pop(0)

    ctx = SendContext(conn, _obj("suppliers"), WriteOptions(retry_delay=0.0))
    item = Item(1, {"number": "S-1"}, {"number": "S-1"})
    result = asyncio.run(send_create(ctx, item, item.body, recover))

    assert conn.sent == 2 and not answers
    assert result.outcome is WriteOutcome.CREATED and result.id == 7 and result.recovered

    answers = [(), ()]
    conn = _Posts(
        ServerError("lost", status=502, retryable=True),
        ValidationError("taken", status=400, messages=["Number has already been taken"]),
    )
    ctx = SendContext(conn, _obj("suppliers"), WriteOptions(retry_delay=0.0))
    result = asyncio.run(send_create(ctx, item, item.body, recover))
    assert result.outcome is WriteOutcome.FAILED and result.status == 400
    assert result.messages == ("Number has already been taken",)
