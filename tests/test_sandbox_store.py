"""The sandbox store's value indexes: uniqueness checks and key lookups stay cheap."""

from __future__ import annotations

from coupa_connector.sandbox._store import Store
from coupa_connector.sandbox.seed import seed_store

LOOKUP = (
    "SELECT r0.id FROM records AS r0 "
    "WHERE r0.res = ? AND (json_extract(r0.doc, '$.\"name\"') = ?) ORDER BY r0.id"
)


def plan(store: Store) -> str:
    rows = store._conn.execute("EXPLAIN QUERY PLAN " + LOOKUP, ("suppliers", "x")).fetchall()
    return " | ".join(str(r[-1]) for r in rows)


def test_value_index_is_made_on_first_use_and_dropped_by_a_reset() -> None:
    store = Store(seeder=seed_store)
    try:
        assert "ix_value_name" not in plan(store)
        store.value_index("name")
        assert "USING INDEX ix_value_name" in plan(store)
        [first] = store.select_ids("suppliers", "r0.id = 1")
        name = store.get("suppliers", first)["name"]  # type: ignore[index]
        found = store.select_ids("suppliers", "json_extract(r0.doc, '$.\"name\"') = ?", (name,))
        assert found == [first]
        store.reset()
        # The seed does not pay for maintaining it; the next use makes it again.
        assert "ix_value_name" not in plan(store)
    finally:
        store.close()


def test_value_index_refuses_what_is_not_a_field_name() -> None:
    store = Store(seeder=seed_store)
    try:
        for bad in ('name"); DROP TABLE records; --', "", "Name With Spaces"):
            try:
                store.value_index(bad)
            except ValueError:
                continue
            raise AssertionError(f"accepted {bad!r}")
    finally:
        store.close()
