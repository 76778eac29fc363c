"""Deterministic, related seed data: reference data, then the procure-to-pay chain.

requisitions -> purchase orders (order lines) -> receipts -> invoices (lines point at the
order lines they bill) -> approvals, plus expense reports. The same ``seed`` and ``seed_size``
give byte-identical data; timestamps spread over the two years before a fixed base date, so
nothing depends on when the seed runs.

Large seeds are generated and inserted in batches so memory stays flat: only the reference
data (a few thousand records at most) is held while the transactions stream out.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coupa_connector.sandbox._objects import DISPUTE_REASONS
from coupa_connector.sandbox._seed_files import seed_files
from coupa_connector.sandbox._store import format_instant

if TYPE_CHECKING:
    from coupa_connector.sandbox._store import Store

__all__ = ["BASE_DATE", "DEFAULT_SEED_SIZE", "seed_store"]

DEFAULT_SEED_SIZE = 200
BASE_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_BASE_TS = int(BASE_DATE.timestamp())
_SPAN = 2 * 365 * 86400
_BATCH = 2000

# The login that the seed's own records are created by; write requests use the API user of
# the credentials instead.
SEED_USER_LOGIN = "coupa_admin"

_CURRENCIES = [
    ("USD", "US Dollar", 2, "$"),
    ("EUR", "Euro", 2, "€"),
    ("GBP", "British Pound", 2, "£"),
    ("CAD", "Canadian Dollar", 2, "$"),
    ("JPY", "Japanese Yen", 0, "¥"),
    ("AUD", "Australian Dollar", 2, "$"),
    ("CHF", "Swiss Franc", 2, "CHF"),
    ("INR", "Indian Rupee", 2, "₹"),
]
# Rates to USD, fixed so exchange rates are stable across seeds.
_TO_USD = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "CAD": 0.74,
    "JPY": 0.0067,
    "AUD": 0.66,
    "CHF": 1.12,
    "INR": 0.012,
}
_COUNTRIES = [
    ("US", "United States"),
    ("GB", "United Kingdom"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("CA", "Canada"),
    ("JP", "Japan"),
    ("AU", "Australia"),
]
_UOMS = [
    ("EA", "Each", 0),
    ("BX", "Box", 0),
    ("HR", "Hour", 2),
    ("KG", "Kilogram", 3),
    ("LB", "Pound", 3),
    ("M", "Meter", 2),
    ("PK", "Pack", 0),
    ("DZ", "Dozen", 0),
    ("L", "Liter", 3),
    ("DAY", "Day", 1),
]
_PAYMENT_TERMS = [
    ("Net 30", 30, None, None),
    ("Net 45", 45, None, None),
    ("Net 60", 60, None, None),
    ("2/10 Net 30", 30, 10, "2.0"),
    ("1/15 Net 45", 45, 15, "1.0"),
    ("Due on receipt", 0, None, None),
]
_DEPARTMENTS = [
    "Finance",
    "Marketing",
    "Engineering",
    "Operations",
    "Human Resources",
    "Sales",
    "Legal",
    "IT",
    "Facilities",
    "Procurement",
    "Research",
    "Support",
]
_COMMODITIES = [
    ("IT Hardware", "goods"),
    ("Software", "services"),
    ("Office Supplies", "goods"),
    ("Professional Services", "services"),
    ("Travel", "services"),
    ("Facilities", "services"),
    ("Marketing Services", "services"),
    ("Lab Equipment", "goods"),
    ("Furniture", "goods"),
    ("Telecom", "services"),
    ("Shipping", "services"),
    ("Training", "services"),
]
_FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Aiko",
    "Priya",
    "Wei",
    "Fatima",
    "Lars",
    "Amara",
    "Mateo",
]
_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "Nakamura",
    "Patel",
    "Chen",
    "Okafor",
]
_CO_A = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Vandelay",
    "Hooli",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Wonka",
    "Aperture",
    "Gringotts",
    "Oscorp",
    "Massive",
    "Pied Piper",
    "Prestige",
    "Bluth",
    "Dunder",
    "Sterling",
    "Nakatomi",
    "Monarch",
    "Zorg",
    "Weyland",
    "Duff",
    "Krusty",
    "Gekko",
    "Octan",
    "Virtucon",
]
_CO_B = [
    "Industries",
    "Supplies",
    "Technologies",
    "Logistics",
    "Consulting",
    "Office Products",
    "Labs",
    "Systems",
    "Services",
    "Partners",
    "Manufacturing",
    "Solutions",
    "Trading",
]
_CO_C = ["Inc.", "LLC", "Ltd", "GmbH", "Corp.", "Co.", "SA", "PLC"]
_CITIES = [
    ("Portland", "OR", "US"),
    ("Austin", "TX", "US"),
    ("Denver", "CO", "US"),
    ("San Mateo", "CA", "US"),
    ("Chicago", "IL", "US"),
    ("Boston", "MA", "US"),
    ("London", None, "GB"),
    ("Berlin", None, "DE"),
    ("Paris", None, "FR"),
    ("Toronto", "ON", "CA"),
    ("Osaka", None, "JP"),
    ("Sydney", "NSW", "AU"),
]
_STREETS = [
    "Main St",
    "Oak Ave",
    "Addison Ave",
    "Market St",
    "Elm St",
    "Pine Rd",
    "Concur Drive",
    "Harbor Blvd",
    "Cedar Ln",
    "Park Ave",
    "Industrial Way",
]
_PRODUCTS = [
    "Laptop",
    "Monitor",
    "Docking station",
    "Keyboard",
    "Toner cartridge",
    "Printer paper",
    "Desk chair",
    "Standing desk",
    "Headset",
    "Webcam",
    "Consulting hours",
    "Software license",
    "Cloud subscription",
    "Lab gloves",
    "Pipette tips",
    "Shipping service",
    "Training seat",
    "Phone plan",
    "Cleaning service",
    "Whiteboard",
    "Projector",
    "Server rack",
    "Network switch",
    "Cable kit",
    "Safety glasses",
    "Notebook",
    "Pens (box)",
    "Coffee beans",
]
_SEGMENTS_1 = ["100", "200", "300", "400"]
_SEGMENTS_2 = ["FIN", "MKT", "ENG", "OPS", "HR", "IT"]
_SEGMENTS_3 = ["6100", "6200", "6300", "6400", "6500"]
_EXPENSE_CATEGORIES = ["Meals", "Airfare", "Hotel", "Taxi", "Mileage", "Office Supplies"]

# The reasons a seeded disputed invoice holds, as the dispute action stores them.
_ACTIVE_DISPUTE_REASONS = tuple(
    {k: v for k, v in r.items() if k != "active"} for r in DISPUTE_REASONS if r["active"]
)

# Share of invoices per (status, paid) outcome; paid invoices are approved with paid=true,
# since Coupa has no "paid" status.
_INVOICE_OUTCOMES = [
    ("draft", False, 8),
    ("pending_approval", False, 12),
    ("approved", False, 40),
    ("approved", True, 25),
    ("voided", False, 5),
    ("disputed", False, 4),
    ("pending_receipt", False, 3),
    ("abandoned", False, 3),
]
_PO_STATUSES = [
    ("issued", 55),
    ("closed", 20),
    ("soft_closed", 8),
    ("cancelled", 5),
    ("buyer_hold", 4),
    ("draft", 8),
]
_REQ_FOR_PO = {"draft": "approved", "buyer_hold": "pending_buyer_action"}
_EXPENSE_STATUSES = [
    ("draft", 15),
    ("pending_approval", 20),
    ("approved", 45),
    ("rejected", 5),
    ("paid", 15),
]


def _weighted(rng: random.Random, table: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    total = sum(row[-1] for row in table)
    pick = rng.uniform(0, total)
    for row in table:
        pick -= row[-1]
        if pick <= 0:
            return row
    return table[-1]


def _money(value: float) -> str:
    return f"{value:.2f}"


def _ref(rid: int) -> dict[str, int]:
    return {"id": rid}


@dataclass
class _Ids:
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


class _Seeder:
    """Generates and stores one seed."""

    def __init__(self, store: Store, size: int, seed: int) -> None:
        self.store = store
        self.size = size
        self.rng = random.Random(seed)
        self.ids = _Ids()
        self.counts: dict[str, int] = {}

    # ------------------------------------------------------------------ helpers

    def when(self, lo: float = 0.0, hi: float = 1.0) -> int:
        """A timestamp in the seed window; lo/hi are fractions of the two-year span."""
        return _BASE_TS - _SPAN + int(self.rng.uniform(lo, hi) * _SPAN)

    def stamp(
        self, doc: dict[str, Any], created: int, updated: int | None = None, by: int | None = None
    ) -> dict[str, Any]:
        user = by or self.ids.admin
        doc["created-at"] = format_instant(created)
        doc["updated-at"] = format_instant(max(created, updated or created))
        doc["created-by"] = _ref(user)
        doc["updated-by"] = _ref(user)
        return doc

    def put(self, res: str, docs: list[dict[str, Any]]) -> None:
        self.counts[res] = self.counts.get(res, 0) + self.store.put_many(res, docs)

    def simple(self, res: str, rows: list[dict[str, Any]]) -> list[int]:
        first = self.store.reserve_ids(res, len(rows))
        ids = list(range(first, first + len(rows)))
        created = _BASE_TS - _SPAN - 86400 * 30
        for rid, row in zip(ids, rows, strict=True):
            row["id"] = rid
            self.stamp(row, created + rid * 60)
        self.put(res, rows)
        return ids

    # ------------------------------------------------------------------ reference data

    def reference(self) -> None:
        rng, ids = self.rng, self.ids
        scale = max(1.0, self.size / 1000)
        n_users = min(1000, int(20 * scale**0.5) + 10)
        n_suppliers = min(3000, int(25 * scale**0.6) + 15)
        n_items = min(2000, int(40 * scale**0.5) + 20)

        # Users first: everything else is created by the admin user.
        users: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i in range(n_users):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            login = f"{first[0]}{last}".lower()
            if i == 0:
                first, last, login = "Coupa", "Admin", SEED_USER_LOGIN
            while login in seen:
                login = f"{login}{rng.randint(2, 99)}"
            seen.add(login)
            users.append(
                {
                    "login": login,
                    "email": f"{login}@example.com",
                    "firstname": first,
                    "lastname": last,
                    "fullname": f"{first} {last}",
                    "employee-number": f"E{10000 + i}",
                    "active": rng.random() > 0.05 or i == 0,
                    "authentication-method": "coupa_credentials" if i % 3 else "saml",
                    "purchasing-user": True,
                    "expense-user": rng.random() > 0.3,
                    "salesforce-id": None,
                }
            )
        first_user = self.store.reserve_ids("users", len(users))
        ids.admin = first_user
        ids.users = list(range(first_user, first_user + len(users)))
        for rid, row in zip(ids.users, users, strict=True):
            row["id"] = rid
            self.stamp(row, _BASE_TS - _SPAN - 86400 * 60 + rid * 60)

        currencies = [
            {"code": c, "name": n, "decimals": d, "symbol": s, "enabled-flag": True}
            for c, n, d, s in _CURRENCIES
        ]
        for currency, rid in zip(_CURRENCIES, self.simple("currencies", currencies), strict=True):
            ids.currencies[currency[0]] = rid
        # Countries are embedded data in Coupa's payloads, not a resource of their own.
        ids.countries = {code: 200 + n for n, (code, _) in enumerate(_COUNTRIES)}
        ids.uoms = self.simple(
            "uoms",
            [{"code": c, "name": n, "allowable-precision": p, "active": True} for c, n, p in _UOMS],
        )
        ids.payment_terms = self.simple(
            "payment_terms",
            [
                {
                    "code": c,
                    "type": "DaysAfterNetPaymentTerm",
                    "days-for-net-payment": net,
                    "days-for-discount-payment": disc,
                    "discount-rate": None if rate is None else float(rate),
                    "active": True,
                    "description": c,
                }
                for c, net, disc, rate in _PAYMENT_TERMS
            ],
        )
        ids.departments = self.simple(
            "departments", [{"name": n, "active": True} for n in _DEPARTMENTS]
        )
        ids.commodities = self.simple(
            "commodities",
            [
                {"name": n, "category": cat, "active": True, "deductibility": None}
                for n, cat in _COMMODITIES
            ],
        )
        ids.account_types = self.simple(
            "account_types",
            [
                {"name": "US COA", "active": True, "currency": _ref(ids.currencies["USD"])},
                {"name": "EU COA", "active": True, "currency": _ref(ids.currencies["EUR"])},
            ],
        )
        accounts: list[dict[str, Any]] = []
        for at_index, at_id in enumerate(ids.account_types):
            for s1 in _SEGMENTS_1[: 2 + at_index]:
                for s2 in _SEGMENTS_2:
                    s3 = _SEGMENTS_3[(len(accounts) * 7) % len(_SEGMENTS_3)]
                    accounts.append(
                        {
                            "name": f"{s2} {s3} ({s1})",
                            "code": f"{s1}-{s2}-{s3}",
                            "active": True,
                            "account-type": _ref(at_id),
                            "segment-1": s1,
                            "segment-2": s2,
                            "segment-3": s3,
                        }
                    )
        ids.accounts = self.simple("accounts", accounts)

        addresses = []
        for i in range(max(12, n_suppliers // 2 + 6)):
            city, state, country = _CITIES[i % len(_CITIES)]
            addresses.append(
                {
                    "name": f"{city} {'HQ' if i < len(_CITIES) else 'Site ' + str(i)}",
                    "location-code": f"LOC-{i + 1:04d}",
                    "street1": f"{rng.randint(1, 999)} {rng.choice(_STREETS)}",
                    "street2": None,
                    "city": city,
                    "state": state,
                    "postal-code": f"{rng.randint(10000, 99999)}",
                    "country": {
                        "id": ids.countries[country],
                        "code": country,
                        "name": dict(_COUNTRIES)[country],
                    },
                    "attention": None,
                    "active": True,
                }
            )
        ids.addresses = self.simple("addresses", addresses)
        for row in users:
            row["default-address"] = _ref(rng.choice(ids.addresses[:6]))
            row["department"] = _ref(rng.choice(ids.departments))
        self.put("users", users)

        def primary_address(address: dict[str, Any], n: int) -> dict[str, Any]:
            fields = ("name", "street1", "street2", "city", "state", "postal-code", "country")
            return {"id": 9000 + n, **{f: address[f] for f in fields}, "attention": None}

        suppliers = []
        names: set[str] = set()
        for i in range(n_suppliers):
            name = f"{rng.choice(_CO_A)} {rng.choice(_CO_B)}"
            while name in names:
                name = f"{name} {rng.choice(_CO_C)}" if len(name) < 60 else f"{name[:50]} {i}"
            names.add(name)
            status = "active" if rng.random() > 0.08 else rng.choice(["inactive", "draft"])
            suppliers.append(
                {
                    "name": name,
                    "display-name": name,
                    "number": f"SUP-{1000 + i}",
                    "status": status,
                    "po-method": rng.choice(["email", "cxml", "prompt", "mark_as_sent"]),
                    "po-email": f"orders@{name.split()[0].lower()}.example.com",
                    "payment-method": "invoice",
                    "invoice-matching-level": rng.choice(["2-way", "3-way", "none"]),
                    "account-number": f"{rng.randint(1000, 9999)}",
                    "tax-id": f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}",
                    "duns": None,
                    "website": f"https://www.{name.split()[0].lower()}.example.com",
                    "on-hold": False,
                    "savings-pct": f"{rng.choice([0, 2.5, 4.0, 5.0]):.1f}",
                    # Embedded, as in Coupa's supplier payloads (not an /api/addresses id).
                    "primary-address": primary_address(addresses[i % len(addresses)], i),
                    "payment-term": _ref(rng.choice(ids.payment_terms)),
                    # randrange draws like choice did, so the rest of the seed is unchanged.
                    "commodity": _ref(ids.commodities[rng.randrange(len(ids.commodities))]),
                    "primary-contact": {
                        "id": 5000 + i,
                        "email": f"sales@{name.split()[0].lower()}.example.com",
                        "name-additional": None,
                        "name-family": rng.choice(_LAST),
                        "name-fullname": None,
                        "name-given": rng.choice(_FIRST),
                        "name-prefix": None,
                        "name-suffix": None,
                        "notes": None,
                        "phone-work": {
                            "country-code": "1",
                            "area-code": f"{rng.randint(200, 999)}",
                            "number": f"{rng.randint(1000000, 9999999)}",
                            "extension": None,
                        },
                    },
                }
            )
        ids.suppliers = self.simple("suppliers", suppliers)
        ids.supplier_names = {
            rid: str(s["name"]) for rid, s in zip(ids.suppliers, suppliers, strict=True)
        }

        items: list[dict[str, Any]] = []
        for i in range(n_items):
            product = _PRODUCTS[i % len(_PRODUCTS)]
            items.append(
                {
                    "name": product if i < len(_PRODUCTS) else f"{product} model {i}",
                    "description": f"{product}, standard specification",
                    "item-number": f"ITM-{10000 + i}",
                    "uom": _ref(ids.uoms[i % 3]),
                    "commodity": _ref(ids.commodities[i % len(ids.commodities)]),
                    "active": True,
                    "manufacturer-name": rng.choice(_CO_A),
                    "manufacturer-part-number": f"MP-{rng.randint(10000, 99999)}",
                }
            )
        item_ids = self.simple("items", items)
        for rid, row in zip(item_ids, items, strict=True):
            price = round(rng.uniform(5, 900), 2)
            ids.items.append(
                (rid, str(row["name"]), price, row["uom"]["id"], row["commodity"]["id"])
            )
        self.simple(
            "supplier_items",
            [
                {
                    "item": _ref(rid),
                    "supplier": _ref(self.rng.choice(ids.suppliers)),
                    "price": _money(price * 0.95),
                    "currency": _ref(ids.currencies["USD"]),
                    "supplier-part-num": f"SP-{rid:05d}",
                    "lead-time": rng.choice([2, 5, 10, 15]),
                    "preferred": rng.random() > 0.7,
                    "availability": "in_stock",
                }
                for rid, _, price, _, _ in ids.items
            ],
        )

        contracts: list[dict[str, Any]] = []
        for i, sid in enumerate(ids.suppliers[: max(5, len(ids.suppliers) // 3)]):
            start = self.when(0.0, 0.5)
            contracts.append(
                {
                    "name": f"{ids.supplier_names[sid]} MSA {2024 + i % 2}",
                    "number": f"CTR-{5000 + i}",
                    "supplier": _ref(sid),
                    "status": rng.choice(["published", "published", "draft", "expired"]),
                    "start-date": format_instant(start),
                    "end-date": format_instant(start + 3 * 365 * 86400),
                    "currency": _ref(ids.currencies["USD"]),
                    "payment-term": _ref(rng.choice(ids.payment_terms)),
                    "type": "MasterContract",
                    "term-type": rng.choice(["fixed", "auto_renew"]),
                    "min-commit": _money(rng.choice([0, 10000, 50000])),
                    "max-commit": _money(rng.choice([100000, 250000, 1000000])),
                    "version": 1,
                    "used-for-buying": True,
                }
            )
        for cid, row in zip(self.simple("contracts", contracts), contracts, strict=True):
            ids.contracts[row["supplier"]["id"]] = cid

        lookups = self.simple(
            "lookups",
            [
                {"name": "Cost Center", "description": "Cost centers", "active": True},
                {"name": "Project", "description": "Projects", "active": True},
            ],
        )
        values = [
            {
                "name": f"CC-{s2}",
                "lookup": _ref(lookups[0]),
                "external-ref-num": s2,
                "external-ref-code": f"CC-{s2}",
                "description": f"Cost center {s2}",
                "active": True,
                "depth": 1,
                "is-default": i == 0,
            }
            for i, s2 in enumerate(_SEGMENTS_2)
        ]
        values += [
            {
                "name": f"PRJ-{n:03d}",
                "lookup": _ref(lookups[1]),
                "external-ref-num": str(n),
                "external-ref-code": f"PRJ-{n:03d}",
                "description": f"Project {n}",
                "active": n % 7 != 0,
                "depth": 1,
                "is-default": False,
            }
            for n in range(1, 21)
        ]
        self.simple("lookup_values", values)

        rates = []
        for month in range(24):
            day = _BASE_TS - _SPAN + month * 30 * 86400
            for code, usd in _TO_USD.items():
                if code == "USD":
                    continue
                drift = 1 + self.rng.uniform(-0.03, 0.03)
                rates.append(
                    {
                        "from-currency": _ref(ids.currencies[code]),
                        "to-currency": _ref(ids.currencies["USD"]),
                        "rate": f"{usd * drift:.6f}",
                        "rate-date": format_instant(day),
                    }
                )
        self.simple("exchange_rates", rates)

        budget = []
        for acct in ids.accounts[:12]:
            for quarter in range(8):
                amount = rng.choice([25000, 50000, 100000, 250000])
                budget.append(
                    {
                        "segment-1": accounts[ids.accounts.index(acct)]["segment-1"],
                        "segment-2": accounts[ids.accounts.index(acct)]["segment-2"],
                        "segment-3": accounts[ids.accounts.index(acct)]["segment-3"],
                        "description": f"Q{quarter % 4 + 1} {2024 + quarter // 4} budget",
                        "amount": _money(amount),
                        "currency": _ref(ids.currencies["USD"]),
                        "period": {"name": f"{2024 + quarter // 4}-Q{quarter % 4 + 1}"},
                        "remaining": _money(amount * rng.uniform(0.1, 0.9)),
                    }
                )
        self.simple("budget_lines", budget)

    # ------------------------------------------------------------------ transactions

    def transactions(self) -> None:
        """The procure-to-pay chain, streamed in batches."""
        rng, ids, store = self.rng, self.ids, self.store
        n_inv = self.size
        n_po = max(1, int(n_inv * 0.6))
        usd = ids.currencies["USD"]
        # PO lines are remembered compactly (id, po id, line-num, item, price, qty, account)
        # so receipts and invoices can point at them; at 100,000 invoices that is a few MB.
        po_lines: list[tuple[int, int, int, int, str, str, int, int, int]] = []
        # po id, supplier, created ts, status, and where its lines sit in po_lines.
        po_meta: list[tuple[int, int, int, str, int, int]] = []

        req_first = store.reserve_ids("requisitions", n_po)
        req_line_first = store.reserve_ids("requisition-line", n_po * 3)
        po_first = store.reserve_ids("purchase_orders", n_po)
        line_first = store.reserve_ids("order-line", n_po * 3)
        req_batch: list[dict[str, Any]] = []
        po_batch: list[dict[str, Any]] = []
        line_batch: list[dict[str, Any]] = []
        next_line = line_first
        next_req_line = req_line_first
        for k in range(n_po):
            po_id, req_id = po_first + k, req_first + k
            created = self.when(0.0, 0.9)
            supplier = rng.choice(ids.suppliers)
            requester = rng.choice(ids.users)
            status = str(_weighted(rng, _PO_STATUSES)[0])
            address = rng.choice(ids.addresses[:6])
            n_lines = rng.choice((1, 2, 2, 3, 3))
            line_stamp = format_instant(created + 3600)
            need_by = format_instant(created + 14 * 86400)
            lines, req_lines = [], []
            total = 0.0
            for ln in range(1, n_lines + 1):
                item_id, name, price, uom, commodity = rng.choice(ids.items)
                qty = rng.choice((1, 1, 2, 3, 5, 10, 25))
                line_total = round(price * qty, 2)
                total += line_total
                account = rng.choice(ids.accounts)
                received = (
                    qty
                    if status in ("closed", "soft_closed")
                    else (rng.choice((0, qty)) if status == "issued" else 0)
                )
                lines.append(
                    {
                        "id": next_line,
                        "created-at": line_stamp,
                        "updated-at": line_stamp,
                        "line-num": str(ln),
                        "type": "OrderQuantityLine",
                        "description": name,
                        "price": _money(price),
                        "quantity": f"{qty:.2f}",
                        "total": _money(line_total),
                        "currency": _ref(usd),
                        "account": _ref(account),
                        "uom": _ref(uom),
                        "item": _ref(item_id),
                        "commodity": _ref(commodity),
                        "supplier": _ref(supplier),
                        "need-by-date": need_by,
                        "received": f"{received:.2f}",
                        "invoiced": "0.00",
                        "receipt-required": True,
                        "match-type": "3-way",
                        "status": "received" if received >= qty else "created",
                        "order-header-id": po_id,
                        "supp-aux-part-num": f"SP-{item_id:05d}",
                        "version": 1,
                    }
                )
                req_lines.append(
                    {
                        "id": next_req_line,
                        "line-num": ln,
                        "line-type": "RequisitionQuantityLine",
                        "description": name,
                        "quantity": f"{qty:.2f}",
                        "unit-price": _money(price),
                        "total": _money(line_total),
                        "uom": _ref(uom),
                        "item": _ref(item_id),
                        "supplier": _ref(supplier),
                        "account": _ref(account),
                        "currency": _ref(usd),
                        "commodity": _ref(commodity),
                        "need-by-date": need_by,
                        "receipt-required": True,
                        "order-line-id": next_line,
                        "status": "ordered",
                    }
                )
                po_lines.append(
                    (
                        next_line,
                        po_id,
                        ln,
                        item_id,
                        _money(price),
                        f"{qty:.2f}",
                        account,
                        uom,
                        supplier,
                    )
                )
                next_line += 1
                next_req_line += 1
            req_created = created - rng.randint(1, 5) * 86400
            req_status = _REQ_FOR_PO.get(status, "ordered")
            req = {
                "id": req_id,
                "status": req_status,
                "requested-by": _ref(requester),
                "ship-to-address": _ref(address),
                "department": _ref(rng.choice(ids.departments)),
                "justification": f"Needed for {rng.choice(_DEPARTMENTS).lower()} work",
                "req-title": f"Request {req_id}",
                "need-by-date": need_by,
                "currency": _ref(ids.currencies["USD"]),
                "requester": _ref(requester),
                "total": _money(total),
                "submitted-at": format_instant(req_created + 600),
                "line-count": n_lines,
                "exported": False,
                "last-exported-at": None,
                "requisition-lines": req_lines,
            }
            req_batch.append(self.stamp(req, req_created, created, requester))
            po = {
                "id": po_id,
                "po-number": f"PO-{100000 + k}",
                "status": status,
                "version": 1,
                "internal-revision": 1,
                "type": "OrderHeader",
                "supplier": _ref(supplier),
                "ship-to-user": _ref(requester),
                "ship-to-address": _ref(address),
                "ship-to-attention": None,
                "currency": _ref(usd),
                "payment-term": _ref(rng.choice(ids.payment_terms)),
                "payment-method": "invoice",
                "requisition-header": _ref(req_id),
                "requester": _ref(requester),
                "acknowledged-flag": status != "draft" and rng.random() > 0.4,
                "transmission-status": "sent_via_email" if status != "draft" else "created",
                "hide-price": False,
                "exported": status in ("closed",) or rng.random() < 0.3,
                "last-exported-at": None,
                "total": _money(total),
                "order-lines": lines,
                "custom-fields": {"project-code": f"PRJ-{rng.randint(1, 20):03d}"},
            }
            if po["exported"]:
                po["last-exported-at"] = format_instant(created + 86400)
            po_batch.append(self.stamp(po, created, created + rng.randint(0, 30) * 86400))
            line_batch.extend(lines)
            po_meta.append((po_id, supplier, created, status, len(po_lines) - n_lines, n_lines))
            if len(po_batch) >= _BATCH:
                self.put("requisitions", req_batch)
                self.put("purchase_orders", po_batch)
                # The same lines, one row each, serve /api/purchase_order_lines.
                self.put("purchase_order_lines", line_batch)
                line_batch = []
                req_batch, po_batch = [], []
        if po_batch:
            self.put("requisitions", req_batch)
            self.put("purchase_orders", po_batch)
            self.put("purchase_order_lines", line_batch)

        # Receipts: one per received PO line.
        receipt_lines = [
            ln
            for ln in po_lines
            if po_meta[ln[1] - po_first][3] in ("closed", "soft_closed", "issued")
            and rng.random() < 0.7
        ]

        def receipt(rid: int) -> dict[str, Any]:
            line_id, po_id, _, item, price, qty, account, uom, _ = receipt_lines[rid - rcpt_first]
            created = po_meta[po_id - po_first][2] + rng.randint(2, 20) * 86400
            total = float(price) * float(qty)
            doc = {
                "id": rid,
                "type": "InventoryReceipt",
                "status": "created",
                "quantity": qty,
                "price": price,
                "total": _money(total),
                "order-line": _ref(line_id),
                "item": _ref(item),
                "uom": _ref(uom),
                "account": _ref(account),
                "transaction-date": format_instant(created),
                "match-reference": f"MR-{line_id}",
                "barcode": None,
                "exported": rng.random() < 0.5,
                "last-exported-at": None,
            }
            if doc["exported"]:
                doc["last-exported-at"] = format_instant(created + 86400)
            return self.stamp(doc, created)

        rcpt_first = store.reserve_ids("receiving_transactions", len(receipt_lines))
        self._stream_reserved("receiving_transactions", rcpt_first, len(receipt_lines), receipt)

        # Invoices: most bill a PO's lines; the rest are non-PO invoices.
        inv_first = store.reserve_ids("invoices", n_inv)
        inv_line_first = store.reserve_ids("invoice-line", n_inv * 3)
        inv_line = [inv_line_first]
        approvals: list[dict[str, Any]] = []
        item_names = {i[0]: i[1] for i in ids.items}
        inv_numbers: set[tuple[int, str]] = set()

        def invoice(rid: int) -> dict[str, Any]:
            k = rid - inv_first
            status, paid = _weighted(rng, _INVOICE_OUTCOMES)[:2]
            if po_meta and rng.random() < 0.8:
                _, supplier, po_created, _, start, count = po_meta[k % len(po_meta)]
                created = po_created + rng.randint(5, 40) * 86400
                lines_src = po_lines[start : start + count]
            else:
                supplier, created, lines_src = rng.choice(ids.suppliers), self.when(0.05, 1.0), []
            created = min(created, _BASE_TS - 3600)
            created_text = format_instant(created)
            number = f"INV-{supplier}-{rng.randint(10000, 99999)}"
            while (supplier, number) in inv_numbers:
                number += "A"
            inv_numbers.add((supplier, number))
            lines = []
            total = 0.0
            sources: list[tuple[Any, ...]] = list(lines_src)
            for n in range(1, 0 if sources else rng.choice((2, 3))):
                item_id, _, price, uom, _ = rng.choice(ids.items)
                sources.append(
                    (
                        None,
                        None,
                        n,
                        item_id,
                        _money(price),
                        f"{rng.choice((1, 2, 4))}.00",
                        rng.choice(ids.accounts),
                        uom,
                        supplier,
                    )
                )
            for n, src in enumerate(sources, start=1):
                order_line, po_id_, _, item, price, qty, account, uom, _ = src
                line_total = round(float(price) * float(qty), 2)
                total += line_total
                lines.append(
                    {
                        "id": inv_line[0],
                        "created-at": created_text,
                        "updated-at": created_text,
                        "line-num": n,
                        "type": "InvoiceQuantityLine",
                        "description": item_names[item],
                        "quantity": qty,
                        "price": price,
                        "total": _money(line_total),
                        "uom": _ref(uom),
                        "account": _ref(account),
                        "currency": _ref(usd),
                        "item": _ref(item),
                        "order-line-id": order_line,
                        "po-number": f"PO-{100000 + po_id_ - po_first}" if po_id_ else None,
                        "tax-amount": "0.00",
                        "status": "matched" if order_line else "no_match",
                        "match-reference": f"MR-{order_line}" if order_line else None,
                    }
                )
                inv_line[0] += 1
            tax = round(total * rng.choice((0, 0, 0.05, 0.08)), 2)
            european = rng.random() < 0.15
            invoice_date = (created // 86400) * 86400
            exported = status in ("approved", "voided") and rng.random() < 0.6
            doc: dict[str, Any] = {
                "id": rid,
                "invoice-number": number,
                "invoice-date": format_instant(invoice_date),
                "status": status,
                "document-type": "Invoice",
                "is-credit-note": False,
                "supplier": _ref(supplier),
                "currency": _ref(ids.currencies["EUR"] if european else usd),
                "account-type": _ref(ids.account_types[1 if european else 0]),
                "bill-to-address": _ref(ids.addresses[0]),
                "ship-to-address": _ref(rng.choice(ids.addresses[:6])),
                "payment-term": _ref(rng.choice(ids.payment_terms)),
                "requested-by": _ref(rng.choice(ids.users)),
                "line-level-taxation": False,
                "tax-amount": _money(tax),
                "shipping-amount": "0.00",
                "handling-amount": "0.00",
                "misc-amount": "0.00",
                "gross-total": _money(total),
                "total-with-taxes": _money(total + tax),
                "net-due-date": format_instant(invoice_date + 30 * 86400),
                "paid": bool(paid),
                "payment-date": format_instant(created + 35 * 86400) if paid else None,
                "payment-notes": None,
                "comments": rng.choice([None, "Thank you for your business", "Rush order"]),
                "internal-note": None,
                "supplier-note": None,
                "exported": exported,
                "last-exported-at": format_instant(created + 40 * 86400) if exported else None,
                "date-received": created_text,
                "compliant": True,
                "custom-fields": {
                    "project-code": f"PRJ-{rng.randint(1, 20):03d}",
                    "cost-center": f"CC-{rng.choice(_SEGMENTS_2)}",
                },
                "invoice-lines": lines,
            }
            if status == "disputed":
                # Not drawn from rng, so the rest of the data set stays as it was.
                reason = _ACTIVE_DISPUTE_REASONS[rid % len(_ACTIVE_DISPUTE_REASONS)]
                doc["dispute-reasons"] = [reason]
            updated = created + rng.randint(0, 60) * 86400
            self.stamp(doc, created, min(updated, _BASE_TS - 60))
            if status in ("pending_approval", "approved"):
                approver = rng.choice(ids.users)
                done = status == "approved"
                approvals.append(
                    self.stamp(
                        {
                            "position": 1,
                            "approval-chain-id": None,
                            "status": "approved" if done else "pending_approval",
                            "approval-date": format_instant(created + 2 * 86400) if done else None,
                            "note": None,
                            "type": "ManagementHierarchyApproval",
                            "approvable-type": "InvoiceHeader",
                            "approvable-id": rid,
                            "approver": _ref(approver),
                        },
                        created + 3600,
                    )
                )
            return doc

        self._stream_reserved("invoices", inv_first, n_inv, invoice, approvals)

        n_exp = max(3, n_inv // 10)
        exp_first = store.reserve_ids("expense_reports", n_exp)
        exp_line_first = store.reserve_ids("expense-line", n_exp * 3)
        exp_line = [exp_line_first]

        def expense(rid: int) -> dict[str, Any]:
            status = str(_weighted(rng, _EXPENSE_STATUSES)[0])
            user = rng.choice(ids.users)
            created = self.when(0.0, 0.98)
            lines = []
            total = 0.0
            for n in range(1, rng.choice((1, 2, 3)) + 1):
                amount = round(rng.uniform(8, 600), 2)
                total += amount
                lines.append(
                    {
                        "id": exp_line[0],
                        "line-number": n,
                        "description": rng.choice(
                            [
                                "Client dinner",
                                "Flight to conference",
                                "Hotel, 2 nights",
                                "Airport taxi",
                                "Mileage to site",
                                "Printer ink",
                            ]
                        ),
                        "expense-category": {"name": rng.choice(_EXPENSE_CATEGORIES)},
                        "amount": _money(amount),
                        "currency": _ref(usd),
                        "expense-date": format_instant(created - n * 86400),
                        "merchant": rng.choice(_CO_A),
                        "account": _ref(rng.choice(ids.accounts)),
                        "status": status,
                    }
                )
                exp_line[0] += 1
            submitted = status != "draft"
            exported = status in ("approved", "paid") and rng.random() < 0.5
            doc = {
                "id": rid,
                "title": f"Expenses {format_instant(created)[:7]}",
                "status": status,
                "expensed-by": _ref(user),
                "submitted-by": _ref(user) if submitted else None,
                "submitted-at": format_instant(created + 3600) if submitted else None,
                "currency": _ref(usd),
                "total": _money(total),
                "paid": status == "paid",
                "start-date": format_instant(created - 5 * 86400)[:10],
                "end-date": format_instant(created - 86400)[:10],
                "is-trip": rng.random() < 0.3,
                "exported": exported,
                "last-exported-at": format_instant(created + 20 * 86400) if exported else None,
                "expense-lines": lines,
            }
            if status == "pending_approval":
                approvals.append(
                    self.stamp(
                        {
                            "position": 1,
                            "approval-chain-id": None,
                            "status": "pending_approval",
                            "approval-date": None,
                            "note": None,
                            "type": "ManagementHierarchyApproval",
                            "approvable-type": "ExpenseReport",
                            "approvable-id": rid,
                            "approver": _ref(rng.choice(ids.users)),
                        },
                        created + 7200,
                    )
                )
            return self.stamp(doc, created, created + 86400, user)

        self._stream_reserved("expense_reports", exp_first, n_exp, expense, approvals)

    def _stream_reserved(
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
            if len(batch) >= _BATCH:
                self.put(res, batch)
                batch = []
                self._flush_approvals(approvals)
        if batch:
            self.put(res, batch)
        self._flush_approvals(approvals)

    def _flush_approvals(self, approvals: list[dict[str, Any]] | None) -> None:
        if not approvals:
            return
        first = self.store.reserve_ids("approvals", len(approvals))
        for offset, doc in enumerate(approvals):
            doc["id"] = first + offset
        self.put("approvals", approvals)
        approvals.clear()


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
    seeder = _Seeder(store, size, seed)
    with store.transaction():
        seeder.reference()
        seeder.transactions()
        seeder.counts.update(seed_files(store, seed))
    return dict(sorted(seeder.counts.items()))
