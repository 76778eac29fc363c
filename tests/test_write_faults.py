"""Writes under faults: lost answers after a commit make no duplicates, storms lose nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

from _write_support import FAST, call, find, invoice, invoice_refs, run_writes, supplier, tag
from coupa_connector.activities.write._results import WriteOutcome, WriteResult, WriteSummary
from coupa_connector.activities.write.create import create
from coupa_connector.activities.write.update import update, upsert
from coupa_connector.sandbox import Sandbox


def _names(sandbox: Sandbox, prefix: str) -> Counter[str]:
    found = find(sandbox, "suppliers", **{"name[starts_with]": prefix}, fields='["id","name"]')
    return Counter(s["name"] for s in found)


def test_commit_then_drop_on_creates_makes_no_duplicates(sandbox: Sandbox) -> None:
    t = tag()
    records = [supplier(f"Drop {t} {i:02d}", f"DR-{t}-{i:02d}") for i in range(20)]
    sandbox.set_faults(methods=["POST"], path="^/api/suppliers$", commit_drop_count=6)

    results, summary = run_writes(
        sandbox, lambda conn: create(conn, "suppliers", records, options=FAST)
    )

    assert sandbox.faults()["injected"].get("commit_drop", 0) == 6
    assert summary.created == 20 and summary.failed == 0
    assert summary.recovered == 6  # found by natural key instead of being sent again
    names = _names(sandbox, f"Drop {t} ")
    assert len(names) == 20 and set(names.values()) == {1}
    stored = {
        s["name"]: s["id"]
        for s in find(sandbox, "suppliers", **{"name[starts_with]": f"Drop {t} "})
    }
    assert {r.id for r in results} == set(stored.values())
    recovered = [r for r in results if r.recovered]
    assert all(r.outcome is WriteOutcome.CREATED and "lost" in r.messages[0] for r in recovered)


def test_lost_answer_without_a_natural_key_is_not_sent_again(sandbox: Sandbox) -> None:
    rate_date = "2031-01-0" + str(int(tag(), 16) % 9 + 1) + "T00:00:00Z"
    record = {
        "from-currency": {"code": "EUR"},
        "to-currency": {"code": "USD"},
        "rate": "1.2345",
        "rate-date": rate_date,
    }
    before = len(find(sandbox, "exchange_rates", **{"rate-date": rate_date}))
    sandbox.set_faults(methods=["POST"], commit_drop_count=1)

    results, summary = run_writes(
        sandbox, lambda conn: create(conn, "exchange_rates", [record], options=FAST)
    )

    assert summary.failed == 1
    assert "not sent again" in results[0].messages[0]
    after = find(sandbox, "exchange_rates", **{"rate-date": rate_date})
    assert len(after) == before + 1  # the one commit, no second copy


def test_5xx_storm_on_creates_and_updates_loses_nothing(sandbox: Sandbox) -> None:
    t = tag()
    records = [supplier(f"Storm {t} {i:02d}", f"ST-{t}-{i:02d}") for i in range(25)]
    sandbox.set_faults(error_count=30, error_statuses=[500, 502, 503, 504], seed=3)

    results, summary = run_writes(
        sandbox, lambda conn: create(conn, "suppliers", records, options=FAST)
    )

    assert summary.created == 25, [r.messages for r in results if not r.ok]
    names = _names(sandbox, f"Storm {t} ")
    assert len(names) == 25 and set(names.values()) == {1}

    # A share of every request fails now, lookups included.
    sandbox.set_faults(error_rate=0.3, error_statuses=[500, 502, 503], seed=4)
    changes = [{"number": f"ST-{t}-{i:02d}", "display-name": f"calm {i}"} for i in range(25)]
    _, summary = run_writes(
        sandbox, lambda conn: update(conn, "suppliers", changes, key="number", options=FAST)
    )
    assert summary.updated == 25
    sandbox.clear_faults()
    stored = find(sandbox, "suppliers", **{"number[starts_with]": f"ST-{t}-"})
    assert sorted(s["display-name"] for s in stored) == sorted(f"calm {i}" for i in range(25))


def test_429_storm_and_dropped_connections_lose_nothing(sandbox: Sandbox) -> None:
    t = tag()
    records = [supplier(f"Thr {t} {i:02d}", f"TH-{t}-{i:02d}") for i in range(20)]
    sandbox.set_faults(
        rules=[
            {"throttle_count": 25, "retry_after": 0},
            {"methods": ["PUT"], "drop_count": 5},
        ]
    )

    _, created = run_writes(
        sandbox, lambda conn: upsert(conn, "suppliers", records, key="number", options=FAST)
    )
    changes = [
        {"number": f"TH-{t}-{i:02d}", "website": f"https://w{i}.example.com"} for i in range(20)
    ]
    _, updated = run_writes(
        sandbox, lambda conn: update(conn, "suppliers", changes, key="number", options=FAST)
    )

    injected = sandbox.faults()["injected"]
    assert injected.get("throttle", 0) == 25 and injected.get("drop", 0) == 5
    assert created.created == 20 and updated.updated == 20
    names = _names(sandbox, f"Thr {t} ")
    assert len(names) == 20 and set(names.values()) == {1}
    one = find(sandbox, "suppliers", number=f"TH-{t}-07")[0]
    assert (
        call(sandbox, "GET", f"/api/suppliers/{one['id']}")["website"] == "https://w7.example.com"
    )


def test_dropped_creates_that_never_landed_are_sent_again_once(sandbox: Sandbox) -> None:
    t = tag()
    records = [supplier(f"Lost {t} {i:02d}", f"LO-{t}-{i:02d}") for i in range(10)]
    sandbox.set_faults(methods=["POST"], path="^/api/suppliers$", drop_count=3)

    results, summary = run_writes(
        sandbox, lambda conn: create(conn, "suppliers", records, options=FAST)
    )

    assert sandbox.faults()["injected"].get("drop", 0) == 3
    assert summary.created == 10 and summary.recovered == 0  # looked up, not found, re-sent
    assert sum(r.attempts > 1 for r in results) == 3
    names = _names(sandbox, f"Lost {t} ")
    assert len(names) == 10 and set(names.values()) == {1}


def _create_under_faults(
    sandbox: Sandbox, obj: str, record: dict[str, Any], key: str | None = None, **faults: Any
) -> tuple[list[WriteResult], WriteSummary]:
    """Create one record while POSTs of its object meet ``faults``."""
    sandbox.set_faults(methods=["POST"], path=f"^/api/{obj}$", **faults)
    try:
        return run_writes(sandbox, lambda conn: create(conn, obj, [record], key=key, options=FAST))
    finally:
        sandbox.clear_faults()


def _address_named_like_an_old_one(sandbox: Sandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    """A seeded address, and a new address record with the same name."""
    old = find(sandbox, "addresses", fields='["id","name"]')[0]
    record = {
        "name": old["name"],
        "street1": f"1 New Street {tag()}",
        "city": "Newtown",
        "postal-code": "99999",
        "country": {"code": "US"},
    }
    return old, record


def test_lost_create_is_not_taken_for_an_older_record_with_the_same_name(
    sandbox: Sandbox,
) -> None:
    # Addresses share names: a name cannot tell the record a create made from another.
    _, record = _address_named_like_an_old_one(sandbox)

    results, summary = _create_under_faults(
        sandbox, "addresses", record, error_count=1, error_statuses=[502]
    )

    assert summary.failed == 1 and summary.recovered == 0
    assert results[0].id is None and "check Coupa" in results[0].messages[0]
    assert "no unique natural key" in results[0].messages[0]


def test_lost_create_whose_key_names_an_existing_record_is_sent_again(sandbox: Sandbox) -> None:
    taken = find(sandbox, "suppliers", fields='["id","number"]')[0]
    record = supplier(f"Brand New {tag()}", taken["number"])

    results, summary = _create_under_faults(
        sandbox, "suppliers", record, error_count=1, error_statuses=[500]
    )

    assert summary.failed == 1 and summary.recovered == 0
    assert results[0].status == 400 and results[0].id is None
    assert any("already been taken" in m for m in results[0].messages)
    assert not find(sandbox, "suppliers", name=record["name"])


def test_lost_create_with_an_explicit_shared_key_finds_only_the_new_record(
    sandbox: Sandbox,
) -> None:
    old, record = _address_named_like_an_old_one(sandbox)

    results, summary = _create_under_faults(
        sandbox, "addresses", record, key="name", commit_drop_count=1
    )

    made = find(sandbox, "addresses", street1=record["street1"], fields='["id"]')
    assert summary.created == 1 and summary.recovered == 1
    assert [a["id"] for a in made] == [results[0].id] and results[0].id != old["id"]


def _freight_line(sandbox: Sandbox, description: str) -> dict[str, Any]:
    refs = invoice_refs(sandbox)
    return {
        "description": description,
        "price": "12.00",
        "quantity": "1",
        "account": refs["account"],
    }


def _draft_invoice(sandbox: Sandbox) -> dict[str, Any]:
    created = call(
        sandbox, "POST", "/api/invoices", body=invoice(invoice_refs(sandbox), f"INV-{tag()}", 1)
    )
    return dict(call(sandbox, "GET", f"/api/invoices/{created['id']}"))


def _descriptions(sandbox: Sandbox, rid: int) -> Counter[str]:
    lines = call(sandbox, "GET", f"/api/invoices/{rid}")["invoice-lines"]
    return Counter(line["description"] for line in lines)


def test_lost_answer_to_an_update_that_adds_a_line_adds_it_once(sandbox: Sandbox) -> None:
    inv = _draft_invoice(sandbox)
    change = {"id": inv["id"], "invoice-lines": [_freight_line(sandbox, "Freight once")]}
    sandbox.set_faults(methods=["PUT"], path=f"^/api/invoices/{inv['id']}$", commit_drop_count=1)

    results, summary = run_writes(
        sandbox, lambda conn: update(conn, "invoices", [change], options=FAST)
    )

    assert sandbox.faults()["injected"].get("commit_drop", 0) == 1
    sandbox.clear_faults()
    assert summary.updated == 1 and results[0].recovered
    assert "lost" in results[0].messages[0]
    assert _descriptions(sandbox, inv["id"])["Freight once"] == 1


def test_update_that_adds_a_line_is_sent_again_when_it_did_not_land(sandbox: Sandbox) -> None:
    inv = _draft_invoice(sandbox)
    change = {
        "invoice-number": inv["invoice-number"],
        "supplier": {"id": inv["supplier"]["id"]},
        "invoice-lines": [_freight_line(sandbox, "Freight again")],
    }
    sandbox.set_faults(
        methods=["PUT"], path=f"^/api/invoices/{inv['id']}$", error_count=1, error_statuses=[502]
    )

    results, summary = run_writes(
        sandbox,
        lambda conn: upsert(
            conn, "invoices", [change], key="invoice-number,supplier", options=FAST
        ),
    )

    sandbox.clear_faults()
    assert summary.updated == 1 and not results[0].recovered and results[0].attempts == 2
    assert _descriptions(sandbox, inv["id"])["Freight again"] == 1


def test_lost_create_with_spaces_around_its_key_is_found_by_the_value_sent(
    sandbox: Sandbox,
) -> None:
    t = tag()
    record = supplier(f"WS Sup {t} ", f" WS-{t} ")

    results, summary = _create_under_faults(sandbox, "suppliers", record, commit_drop_count=1)

    stored = find(sandbox, "suppliers", number=f" WS-{t} ", fields='["id","number"]')
    assert summary.created == 1 and summary.recovered == 1, results[0].messages
    assert [s["id"] for s in stored] == [results[0].id]
