"""The sandbox's store and seed data: deterministic, related, persistent; and the resources
that are served from them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _sandbox_api_support import Api
from coupa_connector.sandbox._store import Store
from coupa_connector.sandbox.seed import BASE_DATE, seed_store


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    seeded = Store(None, seed_size=120, seed=7, seeder=seed_store)
    yield seeded
    seeded.close()


def ids(store: Store, res: str) -> set[int]:
    return set(store.select_ids(res))


def test_the_same_seed_gives_the_same_data() -> None:
    first, second, other = (Store(None, seed_size=25, seed=s, seeder=seed_store) for s in (3, 3, 4))
    try:
        for res in ("invoices", "suppliers", "purchase_orders", "approvals", "users"):
            assert first.select(res) == second.select(res), res
        assert first.select("invoices") != other.select("invoices")
    finally:
        for s in (first, second, other):
            s.close()


def test_seed_size_is_the_number_of_invoices(store: Store) -> None:
    counts = store.counts()
    assert counts["invoices"] == 120
    for res in (
        "currencies",
        "uoms",
        "payment_terms",
        "account_types",
        "accounts",
        "departments",
        "addresses",
        "users",
        "commodities",
        "suppliers",
        "items",
        "supplier_items",
        "contracts",
        "lookups",
        "lookup_values",
        "exchange_rates",
        "budget_lines",
        "requisitions",
        "purchase_orders",
        "purchase_order_lines",
        "receiving_transactions",
        "approvals",
        "expense_reports",
    ):
        assert counts.get(res, 0) > 0, res


def test_records_point_at_records_that_exist(store: Store) -> None:
    suppliers, users = ids(store, "suppliers"), ids(store, "users")
    po_lines = {d["id"]: d for d in store.select("purchase_order_lines")}
    purchase_orders = {d["id"]: d for d in store.select("purchase_orders")}
    requisitions = ids(store, "requisitions")
    for po in purchase_orders.values():
        assert po["supplier"]["id"] in suppliers and po["requisition-header"]["id"] in requisitions
        for line in po["order-lines"]:
            assert po_lines[line["id"]] == line and line["order-header-id"] == po["id"]
    for receipt in store.select("receiving_transactions"):
        line = po_lines[receipt["order-line"]["id"]]
        assert purchase_orders[line["order-header-id"]]["status"] in (
            "issued",
            "closed",
            "soft_closed",
        )
    for invoice in store.select("invoices"):
        assert invoice["supplier"]["id"] in suppliers
        assert invoice["created-by"]["id"] in users
        for line in invoice["invoice-lines"]:
            if line["order-line-id"] is not None:
                billed = purchase_orders[po_lines[line["order-line-id"]]["order-header-id"]]
                assert billed["supplier"]["id"] == invoice["supplier"]["id"]
                assert billed["po-number"] == line["po-number"]
    approvable = {
        "InvoiceHeader": ids(store, "invoices"),
        "ExpenseReport": ids(store, "expense_reports"),
        "RequisitionHeader": ids(store, "requisitions"),
    }
    for approval in store.select("approvals"):
        assert approval["approvable-id"] in approvable[approval["approvable-type"]]


def test_statuses_and_flags_are_mixed(store: Store) -> None:
    invoices = store.select("invoices")
    statuses = Counter(d["status"] for d in invoices)
    for status in ("draft", "pending_approval", "approved", "voided"):
        assert statuses[status] > 0, status
    assert any(d["paid"] for d in invoices) and not all(d["paid"] for d in invoices)
    assert any(d["exported"] for d in invoices) and not all(d["exported"] for d in invoices)
    assert len({d["status"] for d in store.select("purchase_orders")}) >= 4


def test_timestamps_spread_over_two_years_before_the_base_date(store: Store) -> None:
    stamps = [dt.datetime.fromisoformat(d["created-at"]) for d in store.select("invoices")]
    assert max(stamps) < BASE_DATE
    assert min(stamps) >= BASE_DATE - dt.timedelta(days=2 * 365 + 1)
    assert max(stamps) - min(stamps) > dt.timedelta(days=365)


def test_a_database_file_survives_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "sandbox.db")
    first = Store(path, seed_size=10, seeder=seed_store)
    marker: dict[str, Any] = {"id": first.next_id("departments"), "name": "Marker"}
    first.put("departments", marker)
    counts = first.counts()
    first.close()
    again = Store(path, seed_size=500, seeder=seed_store)  # a file with data is not reseeded
    try:
        assert again.counts() == counts
        assert again.get("departments", marker["id"]) == marker
        assert again.next_id("departments") == marker["id"] + 1
    finally:
        again.close()


def test_reset_reseeds_and_changes_the_generation() -> None:
    scratch = Store(None, seed_size=5, seeder=seed_store)
    try:
        before = scratch.generation
        counts = scratch.reset(seed_size=8, seed=1)
        assert counts["invoices"] == 8 and scratch.count("invoices") == 8
        assert scratch.generation != before
    finally:
        scratch.close()


def test_negative_seed_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="seed_size"):
        Store(None, seed_size=-1, seeder=seed_store)


def test_purchase_order_lines_are_served_from_the_orders(api: Api) -> None:
    po = api.one("purchase_orders", {"fields": '["id",{"order-lines":["id","price"]}]'})
    line = po["order-lines"][0]
    shown = api.get(f"/api/purchase_order_lines/{line['id']}").json()
    assert shown["price"] == line["price"] and shown["order-header-id"] == po["id"]
    found = api.ids("purchase_order_lines", {"order-header-id": po["id"]})
    assert found == sorted(li["id"] for li in po["order-lines"])


def test_receipts_embed_their_order_line(api: Api) -> None:
    # Through a filter on the line, so the receipt's line still exists (tests delete some).
    receipt = api.one("receiving_transactions", {"order-line[line-num][blank]": "false"})
    assert receipt["order-line"]["order-header-id"] and receipt["order-line"]["line-num"]
    assert receipt["item"]["name"] and receipt["uom"]["code"]


def test_embedded_records_carry_their_keys_and_users_the_small_block(api: Api) -> None:
    invoice = api.one("invoices")
    assert set(invoice["created-by"]) == {
        "id",
        "login",
        "email",
        "employee-number",
        "firstname",
        "lastname",
        "salesforce-id",
        "avatar-thumb-url",
    }
    supplier = invoice["supplier"]
    assert supplier["name"] and supplier["number"] and "created-by" not in supplier
    assert supplier["payment-term"]["code"]
