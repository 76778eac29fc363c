"""What every part of the seed shares: the time window, the ids of the reference data, and
the ``Seeder`` that stamps records and writes them to the store in batches."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coupa_connector.sandbox._store import format_instant
from coupa_connector.sandbox.seed._vocabulary import ref

if TYPE_CHECKING:
    from coupa_connector.sandbox._store import Store

__all__ = ["BASE_DATE", "BASE_TS", "BATCH", "SEED_USER_LOGIN", "SPAN", "SeedIds", "Seeder"]

BASE_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
BASE_TS = int(BASE_DATE.timestamp())
SPAN = 2 * 365 * 86400
BATCH = 2000

# The login that the seed's own records are created by; write requests use the API user of
# the credentials instead.
SEED_USER_LOGIN = "coupa_admin"


@dataclass
class SeedIds:
    """Ids of the reference data, for the transactions to point at."""

    currencies: dict[str, int] = field(default_factory=dict)
    countries: dict[str, int] = field(default_factory=dict)
    uoms: list[int] = field(default_factory=list)
    payment_terms: list[int] = field(default_factory=list)
    departments: list[int] = field(default_factory=list)
    commodities: list[int] = field(default_factory=list)
    account_types: list[int] = field(default_factory=list)
    accounts: list[int] = field(default_factory=list)
    addresses: list[int] = field(default_factory=list)
    users: list[int] = field(default_factory=list)
    suppliers: list[int] = field(default_factory=list)
    supplier_names: dict[int, str] = field(default_factory=dict)
    items: list[tuple[int, str, float, int, int]] = field(default_factory=list)
    contracts: dict[int, int] = field(default_factory=dict)
    admin: int = 0


class Seeder:
    """Generates and stores one seed."""

    def __init__(self, store: Store, size: int, seed: int) -> None:
        self.store = store
        self.size = size
        self.rng = random.Random(seed)
        self.ids = SeedIds()
        self.counts: dict[str, int] = {}

    # ------------------------------------------------------------------ helpers

    def when(self, lo: float = 0.0, hi: float = 1.0) -> int:
        """A timestamp in the seed window; lo/hi are fractions of the two-year span."""
        return BASE_TS - SPAN + int(self.rng.uniform(lo, hi) * SPAN)

    def stamp(
        self, doc: dict[str, Any], created: int, updated: int | None = None, by: int | None = None
    ) -> dict[str, Any]:
        user = by or self.ids.admin
        doc["created-at"] = format_instant(created)
        doc["updated-at"] = format_instant(max(created, updated or created))
        doc["created-by"] = ref(user)
        doc["updated-by"] = ref(user)
        return doc

    def put(self, res: str, docs: list[dict[str, Any]]) -> None:
        self.counts[res] = self.counts.get(res, 0) + self.store.put_many(res, docs)

    def simple(self, res: str, rows: list[dict[str, Any]]) -> list[int]:
        first = self.store.reserve_ids(res, len(rows))
        ids = list(range(first, first + len(rows)))
        created = BASE_TS - SPAN - 86400 * 30
        for rid, row in zip(ids, rows, strict=True):
            row["id"] = rid
            self.stamp(row, created + rid * 60)
        self.put(res, rows)
        return ids

    def stream_reserved(
        self,
        res: str,
        first: int,
        total: int,
        make: Callable[[int], dict[str, Any]],
        approvals: list[dict[str, Any]] | None = None,
    ) -> None:
        batch: list[dict[str, Any]] = []
        for rid in range(first, first + total):
            batch.append(make(rid))
            if len(batch) >= BATCH:
                self.put(res, batch)
                batch = []
                self.flush_approvals(approvals)
        if batch:
            self.put(res, batch)
        self.flush_approvals(approvals)

    def flush_approvals(self, approvals: list[dict[str, Any]] | None) -> None:
        if not approvals:
            return
        first = self.store.reserve_ids("approvals", len(approvals))
        for offset, doc in enumerate(approvals):
            doc["id"] = first + offset
        self.put("approvals", approvals)
        approvals.clear()
