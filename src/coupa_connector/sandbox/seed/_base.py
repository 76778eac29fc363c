"""What every part of the seed shares: the time window, the ids of the reference data, and
the ``Seeder`` that stamps records and writes them to the store in batches."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coupa_connector.sandbox._derive import from_references
from coupa_connector.sandbox._objects import DERIVED_FROM_REFERENCES
from coupa_connector.sandbox._store import format_instant
from coupa_connector.sandbox.seed._details import SupplierFacts, TermFacts
from coupa_connector.sandbox.seed._fill import FillPlan, complete
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
    shipping_terms: list[int] = field(default_factory=list)
    departments: list[int] = field(default_factory=list)
    commodities: list[int] = field(default_factory=list)
    account_types: list[int] = field(default_factory=list)
    accounts: list[int] = field(default_factory=list)
    addresses: list[int] = field(default_factory=list)
    users: list[int] = field(default_factory=list)
    suppliers: list[int] = field(default_factory=list)
    supplier_names: dict[int, str] = field(default_factory=dict)
    # What invoices take from their supplier, payment term, requester and ship-to address.
    supplier_facts: dict[int, SupplierFacts] = field(default_factory=dict)
    term_facts: dict[int, TermFacts] = field(default_factory=dict)
    user_names: dict[int, str] = field(default_factory=dict)
    address_countries: dict[int, str] = field(default_factory=dict)
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
        # What to fill in the records of each main object (see _fill), once the reference
        # data they may point at exists.
        self.fill_plans: dict[str, FillPlan] = {}
        # Approvals waiting to be stored, and the ids handed out to them.
        self.approvals: list[dict[str, Any]] = []
        self.next_approval = 0
        self.first_approval = 0

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
        plan = self.fill_plans.get(res)
        if plan:
            complete(plan, docs)
        if res in DERIVED_FROM_REFERENCES:
            for doc in docs:
                from_references(res, doc)
        self.counts[res] = self.counts.get(res, 0) + self.store.put_many(res, docs)

    def open_approval(
        self,
        approvable_type: str,
        approvable_id: int,
        approver: int,
        status: str,
        created: int,
        decided: str | None,
    ) -> dict[str, Any]:
        """A one-step management approval of a document, queued (see ``approval``)."""
        return self.approval(
            self.stamp(
                {
                    "position": 1,
                    "approval-chain-id": None,
                    "status": status,
                    "approval-date": decided,
                    "note": None,
                    "type": "ManagementHierarchyApproval",
                    "approvable-type": approvable_type,
                    "approvable-id": approvable_id,
                    "approver": ref(approver),
                    "holdable": True,
                },
                created,
            )
        )

    def approval(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Queue an approval for the next flush and give it its id, so that its document can
        list it before either is stored (ids are taken for good by ``close_approvals``)."""
        if self.next_approval == 0:
            # Nothing else makes approvals while the seed runs: the next free id is ours.
            self.next_approval = self.store.reserve_ids("approvals", 0)
            self.first_approval = self.next_approval
        doc["id"] = self.next_approval
        self.next_approval += 1
        # Its document keeps a copy, stored before the approval itself: complete it now.
        from_references("approvals", doc)
        self.approvals.append(doc)
        return doc

    def simple(self, res: str, rows: list[dict[str, Any]]) -> list[int]:
        first = self.store.reserve_ids(res, len(rows))
        ids = list(range(first, first + len(rows)))
        created = BASE_TS - SPAN - 86400 * 30
        for rid, row in zip(ids, rows, strict=True):
            row["id"] = rid
            self.stamp(row, created + rid * 60)
            for value in row.values():
                # Embedded data that carries audit stamps (a supplier's primary contact)
                # was made with its record.
                if isinstance(value, dict) and "created-at" in value:
                    for key in ("created-at", "updated-at", "created-by", "updated-by"):
                        value[key] = row[key]
        self.put(res, rows)
        return ids

    def stream_reserved(
        self,
        res: str,
        first: int,
        total: int,
        make: Callable[[int], dict[str, Any]],
    ) -> None:
        batch: list[dict[str, Any]] = []
        for rid in range(first, first + total):
            batch.append(make(rid))
            if len(batch) >= BATCH:
                self.put(res, batch)
                batch = []
                self.flush_approvals()
        if batch:
            self.put(res, batch)
        self.flush_approvals()

    def flush_approvals(self) -> None:
        if self.approvals:
            self.put("approvals", self.approvals)
            self.approvals = []

    def close_approvals(self) -> None:
        """Store what is queued and take the approvals' ids from the sequence."""
        self.flush_approvals()
        if self.next_approval:
            self.store.reserve_ids("approvals", self.next_approval - self.first_approval)
