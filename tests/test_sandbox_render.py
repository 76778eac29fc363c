"""The sandbox's fast JSON rendering against its plain dict rendering, and where the store
keeps private data as it grows and shrinks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from coupa_connector.sandbox import _store
from coupa_connector.sandbox._objects import Views
from coupa_connector.sandbox._render import RenderCache, Renderer
from coupa_connector.sandbox._store import Store
from coupa_connector.sandbox.seed import seed_store

# Objects with references, line collections, custom fields and user blocks between them.
RESOURCES = (
    "invoices",
    "purchase_orders",
    "requisitions",
    "receiving_transactions",
    "expense_reports",
    "suppliers",
    "users",
    "accounts",
    "contracts",
    "approvals",
)


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    st = Store(seed_size=60, seed=7, seeder=seed_store)
    yield st
    st.close()


@pytest.fixture(scope="module")
def views() -> Views:
    return Views()


def _plain(views: Views, store: Store, res: str, docs: list[dict[str, Any]]) -> list[Any]:
    view = views.view(views.catalog.get(res))
    # Through JSON, as a client would read it.
    return [orjson.loads(orjson.dumps(r)) for r in Renderer(views, store).render(view, docs)]


@pytest.mark.parametrize("res", RESOURCES)
def test_json_pages_equal_the_plain_rendering(views: Views, store: Store, res: str) -> None:
    view = views.view(views.catalog.get(res))
    rows = [(rid, None, doc) for rid, doc in store.select_rows(res, limit=40)]
    assert rows, f"the seed has no {res}"
    docs = [orjson.loads(doc) for _, _, doc in rows if doc is not None]
    expected = _plain(views, store, res, docs)
    cache = RenderCache(store)
    # Twice over one cache: the second pass is served from the rendered records.
    for _ in range(2):
        bodies = Renderer(views, store, cache).full_json(view, list(rows))
        assert [orjson.loads(b) for b in bodies] == expected
    assert set(orjson.loads(bodies[0])) == set(view.order)


def test_json_rendering_of_odd_documents(views: Views) -> None:
    st = Store(seed_size=5, seed=3, seeder=seed_store)
    try:
        view = views.view(views.catalog.get("invoices"))
        [doc] = st.select("invoices", limit=1)
        missing_supplier = max(st.select_ids("suppliers")) + 1000
        odd = {
            **doc,
            "id": 900_001,
            "supplier": {"id": missing_supplier},  # refers to a record that is gone
            "invoice-lines": "not a list",
            "custom-fields": None,
            "internal-bookkeeping": 1,  # not a field of invoices: never shown
        }
        [body] = Renderer(views, st, RenderCache(st)).full_json(view, [(900_001, None, odd)])
        out = orjson.loads(body)
        assert out == _plain(views, st, "invoices", [odd])[0]
        assert out["supplier"] == {"id": missing_supplier}
        assert out["invoice-lines"] == []
        assert out["custom-fields"] == {}
        assert "internal-bookkeeping" not in out
    finally:
        st.close()


def test_renderings_follow_writes(views: Views) -> None:
    st = Store(seed_size=5, seed=3, seeder=seed_store)
    try:
        view = views.view(views.catalog.get("invoices"))
        cache = RenderCache(st)
        rows = [(rid, None, doc) for rid, doc in st.select_rows("invoices", limit=1)]
        [before] = Renderer(views, st, cache).full_json(view, list(rows))
        supplier_id = orjson.loads(before)["supplier"]["id"]
        supplier = st.get("suppliers", supplier_id)
        assert supplier is not None
        st.put("suppliers", {**supplier, "name": "Renamed Supplier Inc."})
        [after] = Renderer(views, st, cache).full_json(view, list(rows))
        assert orjson.loads(after)["supplier"]["name"] == "Renamed Supplier Inc."
    finally:
        st.close()


def test_private_data_moves_to_disk_and_back_with_its_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_store, "LARGE_SEED", 8)
    st = Store(seed_size=4, seed=1, seeder=seed_store)
    try:
        assert st.storage == "memory"
        small = st.counts()
        counts = st.reset(seed_size=12, seed=1)
        assert st.storage == "temporary file"
        assert counts["invoices"] == st.count("invoices") == 12
        assert st.get("invoices", st.select_ids("invoices")[0]) is not None
        st.reset(seed_size=4, seed=1)
        assert st.storage == "memory"
        assert st.counts() == small
    finally:
        st.close()


def test_a_store_file_stays_a_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_store, "LARGE_SEED", 8)
    path = str(tmp_path / "coupa.db")
    st = Store(path, seed_size=4, seed=1, seeder=seed_store)
    try:
        st.reset(seed_size=12, seed=1)
        assert st.storage == "file"
        assert st.count("invoices") == 12
    finally:
        st.close()
    again = Store(path, seeder=seed_store)
    try:
        assert again.count("invoices") == 12
    finally:
        again.close()
