"""Records Coupa's documented example calls name, so that they find them in the sandbox as
they would in the instance Coupa's pages were written against.

Only which records exist is decided here (names, numbers, links to their parents); their
other fields are filled like any other record's. Each group says which example needs it
(``tests/test_conformance.py`` sends every one of them):

- the item ``Turkey`` as item 1 and the contract ``Saladino's OG 15`` of the supplier numbered
  ``DC05`` (Supplier Items examples: ``<item><id>1</id><name>Turkey</name>``; Coupa matches a
  reference on every key it is given, coupa-api.md 5.2);
- addresses of users (Addresses examples: ``PUT /api/users/:id/addresses/:id``);
- sourcing events (Task API: ``POST /api/quote_requests/:id/tasks``);
- cycle counts with their lines (Cycle Count Lines API: ``PUT /api/cycle_counts/:id/
  cycle_count_lines/:id``);
- fulfillment reservations, the pick lists (Pick Lists API: ``POST /api/pick_lists/
  update_fulfillments`` names one by id).

Nothing here draws from the seed's random generator, so the rest of the data is the same
with or without these records.
"""

from __future__ import annotations

from typing import Any

from coupa_connector.sandbox._nested import HIDDEN_PARENT
from coupa_connector.sandbox.seed._base import Seeder
from coupa_connector.sandbox.seed._vocabulary import money, ref

__all__ = ["DOCUMENTED_ITEMS", "seed_documented"]

# Items stored ahead of the generated ones, so that they get the ids Coupa's examples give.
DOCUMENTED_ITEMS: tuple[dict[str, Any], ...] = (
    {"name": "Turkey", "description": "Turkey, whole", "item-number": "ITM-TURKEY", "active": True},
)

DOCUMENTED_SUPPLIER = {"name": "Saladino's", "number": "DC05"}
DOCUMENTED_CONTRACT = "Saladino's OG 15"
USERS_WITH_ADDRESSES = 5


def seed_documented(seeder: Seeder) -> None:
    """Store the records the documented examples name; the reference data exists already."""
    ids, store = seeder.ids, seeder.store
    usd = ref(ids.currencies["USD"])
    [supplier] = seeder.simple(
        "suppliers",
        [
            {
                **DOCUMENTED_SUPPLIER,
                "display-name": DOCUMENTED_SUPPLIER["name"],
                "status": "active",
                "po-method": "prompt",
                "payment-method": "invoice",
                "invoice-matching-level": "3-way",
                "on-hold": False,
                "payment-term": ref(ids.payment_terms[0]),
            }
        ],
    )
    seeder.simple(
        "contracts",
        [
            {
                "name": DOCUMENTED_CONTRACT,
                "number": "CTR-DC05-15",
                "supplier": ref(supplier),
                "status": "published",
                "currency": usd,
                "type": "MasterContract",
                "version": 1,
                "used-for-buying": True,
            }
        ],
    )

    # A user's addresses are addresses linked to the user (the nested route's link).
    addresses = store.select("addresses")[:USERS_WITH_ADDRESSES]
    fields = ("street1", "street2", "city", "state", "postal-code", "country")
    seeder.simple(
        "addresses",
        [
            {
                "name": f"{address['city']} delivery",
                "location-code": f"USR-{uid:04d}",
                **{f: address.get(f) for f in fields},
                "attention": None,
                "active": True,
                HIDDEN_PARENT: f"users:{uid}",
            }
            for uid, address in zip(ids.users, addresses, strict=False)
        ],
    )

    seeder.simple(
        "quote_requests",
        [
            {
                "description": description,
                "event-type": kind,
                "state": "draft",
                "currency": usd,
                "commodity": ref(ids.commodities[n % len(ids.commodities)]),
                "start-on-submit": True,
                "allow-multiple-response": True,
                "sealed-bids": True,
            }
            for n, (description, kind) in enumerate(
                (("Office supplies 2026", "rfq"), ("Facilities services", "rfp"))
            )
        ],
    )

    items = ids.items[:3]
    counts = seeder.simple("cycle_counts", [{"status": "pending"}, {"status": "pending"}])
    seeder.simple(
        "cycle_count_lines",
        [
            {
                "cycle-count-id": counts[n % len(counts)],
                "item": ref(item[0]),
                "uom": ref(item[3]),
                "quantity": money(10 + n),
                "order-quantity": money(10 + n),
                "balance-quantity": money(10 + n),
                "status": "pending",
                "inventory-balance": {"id": 100 + n, "quantity": 10 + n},
                "cycle-count-line-lots": [],
            }
            for n, item in enumerate(items)
        ],
    )

    seeder.simple(
        "pick_lists",
        [
            {
                "type": "FulfillmentReservation",
                "status": "active",
                "qty-ordered": money(n + 1),
                "qty-fulfilled": money(0),
                "item": ref(item[0]),
            }
            for n, item in enumerate(items)
        ],
    )
