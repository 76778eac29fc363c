"""Records kept rendered as skeletons: made when written, spliced when served, right after
every kind of write, and never served by a renderer they were not made for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from coupa_connector.sandbox._app import CoupaApi, api_prerenderer
from coupa_connector.sandbox._marks import MARK, parse_ref
from coupa_connector.sandbox._objects import ObjectView, Views
from coupa_connector.sandbox._render import RenderCache, Renderer
from coupa_connector.sandbox._server import SandboxSettings, build_sandbox_app
from coupa_connector.sandbox._skeletons import Skeletons
from coupa_connector.sandbox._store import Store
from coupa_connector.sandbox.seed import seed_store

RESOURCES = ("invoices", "purchase_orders", "requisitions", "suppliers", "users", "approvals")


def _kept(store: Store, res: str) -> dict[int, bytes | None]:
    rows = store._conn.execute(
        "SELECT id, skeleton FROM records WHERE res = ? ORDER BY id", (res,)
    ).fetchall()
    return {int(rid): skeleton for rid, skeleton in rows}


def _plain(api: CoupaApi, res: str, docs: list[dict[str, Any]]) -> list[Any]:
    """The dict rendering of the same records, through JSON as a client reads it."""
    view = _view(api.views, res)
    out = Renderer(api.views, api.store).render(view, docs)
    return [orjson.loads(orjson.dumps(r)) for r in out]


def _view(views: Views, res: str) -> ObjectView:
    return views.view(views.catalog.get(res))


def _page(api: CoupaApi, res: str, limit: int = 30, offset: int = 0) -> list[Any]:
    """A full JSON page as the API serves it: rows as stored, spliced."""
    renderer = Renderer(api.views, api.store, api.cache, api.skeletons)
    ids = api.store.select_page_ids(res, "", (), "r0.id ASC", limit, offset)
    page: list[Any] = orjson.loads(renderer.page_json(_view(api.views, res), ids))
    return page


@pytest.fixture()
def api() -> Iterator[CoupaApi]:
    store = Store(seed_size=40, seed=5, seeder=seed_store, prerender=api_prerenderer())
    yield CoupaApi(store)
    store.close()


def test_the_seed_writes_a_skeleton_for_every_record_the_api_serves(api: CoupaApi) -> None:
    for res in RESOURCES:
        kept = _kept(api.store, res)
        assert kept and all(k is not None for k in kept.values()), res
    # The API's own views made them: a renderer of those views reads them as they are.
    first = sorted(_kept(api.store, "invoices"))[:5]
    rows = api.store.renderable("invoices", first, api.skeletons.owner)
    assert all(skeleton is not None and doc is None for _, skeleton, doc in rows)


@pytest.mark.parametrize("res", RESOURCES)
def test_spliced_pages_equal_the_plain_rendering(api: CoupaApi, res: str) -> None:
    docs = api.store.select(res, limit=30)
    expected = _plain(api, res, docs)
    assert _page(api, res) == expected
    # Again from the cache of spliced records, and from a cache that starts empty.
    assert _page(api, res) == expected
    api.cache.records.clear()
    api.cache.filled.clear()
    assert _page(api, res) == expected


def test_a_skeleton_holds_marks_not_other_records(api: CoupaApi) -> None:
    [skeleton] = [k for k in _kept(api.store, "invoices").values()][:1]
    assert skeleton is not None
    marks = skeleton.split(MARK)[1::2]
    refs = {parse_ref(m)[0] for m in marks if m[:1] == b"R"}
    assert {"suppliers", "users", "currencies"} <= refs
    doc = api.store.get("invoices", min(_kept(api.store, "invoices")))
    assert doc is not None
    supplier = api.store.get("suppliers", doc["supplier"]["id"])
    assert supplier is not None
    # The supplier is filled in when served, never copied into the invoice's skeleton.
    mark = b'"supplier":' + MARK + b"Rsuppliers\x01%d" % supplier["id"] + MARK
    assert mark in skeleton


def test_writing_a_referenced_record_leaves_skeletons_and_shows_at_once(api: CoupaApi) -> None:
    before = _kept(api.store, "invoices")
    first = _page(api, "invoices", limit=1)[0]
    supplier = api.store.get("suppliers", first["supplier"]["id"])
    assert supplier is not None
    api.store.put("suppliers", {**supplier, "name": "Renamed Supplier Inc."})
    assert _kept(api.store, "invoices") == before
    assert _page(api, "invoices", limit=1)[0]["supplier"]["name"] == "Renamed Supplier Inc."


def test_writing_a_record_makes_its_skeleton_again(api: CoupaApi) -> None:
    rid = min(_kept(api.store, "invoices"))
    doc = api.store.get("invoices", rid)
    assert doc is not None
    changed = {**doc, "invoice-number": "INV-REWRITTEN", "invoice-lines": doc["invoice-lines"][:1]}
    api.store.put("invoices", changed)
    skeleton = _kept(api.store, "invoices")[rid]
    assert skeleton == api.skeletons.build(_view(api.views, "invoices"), changed)
    [served] = _page(api, "invoices", limit=1)
    assert served == _plain(api, "invoices", [changed])[0]
    assert served["invoice-number"] == "INV-REWRITTEN" and len(served["invoice-lines"]) == 1


def test_a_referenced_record_that_is_gone_shows_as_stored(api: CoupaApi) -> None:
    rid = min(_kept(api.store, "invoices"))
    doc = api.store.get("invoices", rid)
    assert doc is not None
    gone = max(api.store.select_ids("suppliers")) + 500
    api.store.put("invoices", {**doc, "supplier": {"id": gone, "name": "kept as written"}})
    [served] = _page(api, "invoices", limit=1)
    assert served["supplier"] == {"id": gone, "name": "kept as written"}


def test_mark_bytes_in_data_are_data(api: CoupaApi) -> None:
    rid = min(_kept(api.store, "suppliers"))
    doc = api.store.get("suppliers", rid)
    assert doc is not None
    odd = {**doc, "name": "NUL \x00 here, \x01 and \x00Rusers\x011\x00 too"}
    api.store.put("suppliers", odd)
    served = _page(api, "suppliers", limit=1)[0]
    assert served == _plain(api, "suppliers", [odd])[0]
    assert served["name"] == odd["name"]


def test_records_without_skeletons_get_them_when_first_served() -> None:
    # A store seeded before any prerenderer was set: the API makes each skeleton the first
    # time it serves the record, and the store keeps it.
    store = Store(seed_size=20, seed=2, seeder=seed_store)
    try:
        api = CoupaApi(store)
        assert set(_kept(store, "invoices").values()) == {None}
        docs = store.select("invoices", limit=10)
        assert _page(api, "invoices", limit=10) == _plain(api, "invoices", docs)
        kept = _kept(store, "invoices")
        first_ten = sorted(kept)[:10]
        assert all(kept[rid] is not None for rid in first_ten)
        assert all(kept[rid] is None for rid in sorted(kept)[10:])
        view = _view(api.views, "invoices")
        assert kept[first_ten[0]] == api.skeletons.build(view, docs[0])
    finally:
        store.close()


def test_a_skeleton_made_before_a_write_is_not_kept() -> None:
    store = Store(seed_size=10, seed=2, seeder=seed_store)
    try:
        api = CoupaApi(store)
        rid = min(_kept(store, "invoices"))
        stale = store.get("invoices", rid)
        assert stale is not None
        generation = store.generation
        store.put("invoices", {**stale, "invoice-number": "INV-NEWER"})
        newer = _kept(store, "invoices")[rid]
        skeleton = api.skeletons.build(_view(api.views, "invoices"), stale)
        store.keep_skeletons("invoices", [(rid, skeleton)], generation, api.skeletons.owner)
        assert _kept(store, "invoices")[rid] == newer
    finally:
        store.close()


def test_renderers_of_other_views_neither_read_nor_keep_skeletons(api: CoupaApi) -> None:
    other_views = Views()  # without the integration views the API puts in place
    other = Skeletons(other_views)
    assert other.owner != api.skeletons.owner
    first = sorted(_kept(api.store, "invoices"))[:3]
    rows = api.store.renderable("invoices", first, other.owner)
    assert all(skeleton is None and doc is not None for _, skeleton, doc in rows)
    renderer = Renderer(other_views, api.store, RenderCache(api.store), other)
    before = _kept(api.store, "invoices")
    renderer.full_json(_view(other_views, "invoices"), rows)
    assert _kept(api.store, "invoices") == before
    # A second API over the same store with equal views keeps what the first made.
    again = CoupaApi(api.store)
    assert again.skeletons.owner == api.skeletons.owner
    assert _kept(api.store, "invoices") == before


def test_a_new_prerenderer_lets_other_skeletons_go(api: CoupaApi) -> None:
    api.store.use_prerenderer(Skeletons(Views()))
    assert set(_kept(api.store, "invoices").values()) == {None}


def test_a_database_file_reopened_serves_fresh_skeletons(tmp_path: Path) -> None:
    path = str(tmp_path / "coupa.db")
    store = Store(path, seed_size=8, seed=1, seeder=seed_store, prerender=api_prerenderer())
    expected = _page(CoupaApi(store), "invoices", limit=8)
    store.close()
    # Marks are numbered by the process that made them: a reopened file keeps none.
    again = Store(path, seeder=seed_store)
    try:
        assert set(_kept(again, "invoices").values()) == {None}
        assert _page(CoupaApi(again), "invoices", limit=8) == expected
    finally:
        again.close()


def test_a_database_file_from_before_skeletons_gets_the_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE records (res TEXT NOT NULL, id INTEGER NOT NULL, created_at TEXT,
            updated_at TEXT, status TEXT, exported INTEGER, doc TEXT NOT NULL,
            PRIMARY KEY (res, id));
        INSERT INTO records VALUES ('suppliers', 1, NULL, NULL, 'active', NULL,
            '{"id": 1, "name": "Old File Supplier", "status": "active"}');
        """
    )
    conn.commit()
    conn.close()
    store = Store(str(path))
    try:
        api = CoupaApi(store)
        [served] = _page(api, "suppliers", limit=1)
        assert served["name"] == "Old File Supplier"
        assert _kept(store, "suppliers")[1] is not None
    finally:
        store.close()


def test_spliced_records_count_against_the_cache_budget(api: CoupaApi) -> None:
    kept = _kept(api.store, "invoices")
    _page(api, "invoices", limit=20)
    held = sum(len(skeleton or b"") for _, skeleton in sorted(kept.items())[:20])
    assert api.cache.record_bytes >= held
    # Past the budget the spliced records are let go, and served again from skeletons.
    api.cache.max_record_bytes = held // 2
    assert api.cache.fresh().records == {}
    assert len(_page(api, "invoices", limit=20)) == 20


def test_the_sandbox_server_keeps_skeletons_from_its_seed() -> None:
    # The server's own store gets the API's prerenderer before it seeds, so the first page
    # of records it ever serves is spliced, not rendered from documents.
    app = build_sandbox_app(SandboxSettings(seed_size=6, seed=4))
    try:
        store = app.state.store
        assert isinstance(store, Store)
        assert store.skeleton_owner == api_prerenderer().owner
        for res in RESOURCES:
            kept = _kept(store, res)
            assert kept and None not in kept.values(), res
    finally:
        app.close()


def test_a_row_with_neither_skeleton_nor_document_is_an_error(api: CoupaApi) -> None:
    renderer = Renderer(api.views, api.store, RenderCache(api.store), api.skeletons)
    with pytest.raises(ValueError, match="its skeleton or its document"):
        renderer.full_json(_view(api.views, "invoices"), [(987_654, None, None)])
