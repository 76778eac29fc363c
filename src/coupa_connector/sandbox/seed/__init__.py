"""Deterministic, related seed data for the sandbox's store, in four parts:

- ``_vocabulary``: the names, codes and status shares the data is drawn from;
- ``_reference``: reference data (users, suppliers, the chart of accounts, items ...);
- ``_documented``: the records Coupa's documented example calls name (an item, a contract,
  users' addresses, sourcing events, cycle counts, pick lists);
- ``_transactions``: the procure-to-pay chain, requisitions -> purchase orders -> receipts
  -> invoices -> approvals, plus expense reports.

The same ``seed`` and ``seed_size`` give byte-identical data; timestamps spread over the two
years before a fixed base date, so nothing depends on when the seed runs. Large seeds are
generated and inserted in batches so memory stays flat: only the reference data (a few
thousand records at most) is held while the transactions stream out.

The store does not import the seed: ``seed_store`` is handed to it (``Store(...,
seeder=seed_store)``), which keeps the two apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coupa_connector.sandbox._filters import FILTER_STORE, default_filters
from coupa_connector.sandbox._objects import default_views
from coupa_connector.sandbox._seed_files import seed_files
from coupa_connector.sandbox.seed._base import BASE_DATE, SEED_USER_LOGIN, Seeder
from coupa_connector.sandbox.seed._documented import seed_documented
from coupa_connector.sandbox.seed._fill import FILLED, complete, fill_plan
from coupa_connector.sandbox.seed._reference import seed_reference
from coupa_connector.sandbox.seed._transactions import seed_transactions

if TYPE_CHECKING:
    from coupa_connector.sandbox._store import Store

__all__ = ["BASE_DATE", "DEFAULT_SEED_SIZE", "SEED_USER_LOGIN", "seed_store"]

DEFAULT_SEED_SIZE = 200


def seed_store(store: Store, seed_size: int | None = None, seed: int = 42) -> dict[str, int]:
    """Fill an empty store with deterministic, related data.

    Args:
        store: The (empty) store.
        seed_size: Number of invoices; None for the small default.
        seed: Random seed.

    Returns:
        Record counts per resource.

    Raises:
        ValueError: A negative seed size.
    """
    size = DEFAULT_SEED_SIZE if seed_size is None else seed_size
    if size < 0:
        raise ValueError(f"seed_size must be 0 or more, not {size}")
    seeder = Seeder(store, size, seed)
    with store.transaction():
        seed_reference(seeder)
        seed_documented(seeder)
        filters = default_filters()
        first = store.reserve_ids(FILTER_STORE, len(filters))
        seeder.put(FILTER_STORE, [{"id": first + n, **f.as_dict()} for n, f in enumerate(filters)])
        _plan_fills(seeder)
        seed_transactions(seeder)
        seeder.counts.update(seed_files(store, seed))
    return dict(sorted(seeder.counts.items()))


def _plan_fills(seeder: Seeder) -> None:
    """Plan the fill of the main objects' unset fields, and fill the reference data stored
    already (suppliers, users, contracts); transactions are filled as they are stored."""
    store = seeder.store
    views = default_views()
    ids = {res: store.select_ids(res) for res in store.counts() if not res.startswith("@")}
    seeder.fill_plans = {res: fill_plan(views, res, ids) for res in FILLED}
    for res in FILLED:
        if ids.get(res):
            docs = store.select(res)
            complete(seeder.fill_plans[res], docs)
            store.put_many(res, docs)
