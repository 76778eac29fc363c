"""The seed's vocabulary: names, codes and the shares of statuses it draws from.

Plain data and the small helpers that draw from it; nothing here touches a store.
"""

from __future__ import annotations

import random
from typing import Any

from coupa_connector.sandbox._objects import DISPUTE_REASONS

__all__ = [
    "ACTIVE_DISPUTE_REASONS",
    "CITIES",
    "COMMODITIES",
    "COUNTRIES",
    "CO_A",
    "CO_B",
    "CO_C",
    "CURRENCIES",
    "DEPARTMENTS",
    "EXPENSE_CATEGORIES",
    "EXPENSE_STATUSES",
    "FIRST",
    "INVOICE_OUTCOMES",
    "LAST",
    "PAYMENT_TERMS",
    "PO_STATUSES",
    "PRODUCTS",
    "REGIONS",
    "REQ_FOR_PO",
    "SEGMENTS_1",
    "SEGMENTS_2",
    "SEGMENTS_3",
    "SHIPPING_TERMS",
    "STREETS",
    "SUPPLIER_TIERS",
    "TO_USD",
    "TRIP_PURPOSES",
    "UOMS",
    "money",
    "ref",
    "weighted",
]

CURRENCIES = [
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
TO_USD = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "CAD": 0.74,
    "JPY": 0.0067,
    "AUD": 0.66,
    "CHF": 1.12,
    "INR": 0.012,
}
COUNTRIES = [
    ("US", "United States"),
    ("GB", "United Kingdom"),
    ("DE", "Germany"),
    ("FR", "France"),
    ("CA", "Canada"),
    ("JP", "Japan"),
    ("AU", "Australia"),
    # Where the seed's invoices are issued besides (seed/_compliance.py).
    ("MX", "Mexico"),
    ("BR", "Brazil"),
    ("IN", "India"),
    ("HR", "Croatia"),
    ("CO", "Colombia"),
]
UOMS = [
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
PAYMENT_TERMS = [
    ("Net 30", 30, None, None),
    ("Net 45", 45, None, None),
    ("Net 60", 60, None, None),
    ("2/10 Net 30", 30, 10, "2.0"),
    ("1/15 Net 45", 45, 15, "1.0"),
    ("Due on receipt", 0, None, None),
]
# Incoterms-style shipping terms (code, description).
SHIPPING_TERMS = [
    ("FOB Origin", "Free on board, shipping point"),
    ("FOB Destination", "Free on board, destination"),
    ("EXW", "Ex works"),
    ("DAP", "Delivered at place"),
    ("DDP", "Delivered duty paid"),
]
# Values of the seed's custom fields.
REGIONS = ["AMER", "EMEA", "APAC"]
SUPPLIER_TIERS = ["Tier 1", "Tier 2", "Tier 3"]
TRIP_PURPOSES = ["Customer visit", "Conference", "Training", "Internal meeting"]
DEPARTMENTS = [
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
COMMODITIES = [
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
FIRST = [
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
LAST = [
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
CO_A = [
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
CO_B = [
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
CO_C = ["Inc.", "LLC", "Ltd", "GmbH", "Corp.", "Co.", "SA", "PLC"]
CITIES = [
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
STREETS = [
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
PRODUCTS = [
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
SEGMENTS_1 = ["100", "200", "300", "400"]
SEGMENTS_2 = ["FIN", "MKT", "ENG", "OPS", "HR", "IT"]
SEGMENTS_3 = ["6100", "6200", "6300", "6400", "6500"]
EXPENSE_CATEGORIES = ["Meals", "Airfare", "Hotel", "Taxi", "Mileage", "Office Supplies"]

# The reasons a seeded disputed invoice holds, as the dispute action stores them.
ACTIVE_DISPUTE_REASONS = tuple(
    {k: v for k, v in r.items() if k != "active"} for r in DISPUTE_REASONS if r["active"]
)

# Share of invoices per (status, paid) outcome; paid invoices are approved with paid=true,
# since Coupa has no "paid" status.
INVOICE_OUTCOMES = [
    ("draft", False, 8),
    ("pending_approval", False, 12),
    ("approved", False, 40),
    ("approved", True, 25),
    ("voided", False, 5),
    ("disputed", False, 4),
    ("pending_receipt", False, 3),
    ("abandoned", False, 3),
]
PO_STATUSES = [
    ("issued", 55),
    ("closed", 20),
    ("soft_closed", 8),
    ("cancelled", 5),
    ("buyer_hold", 4),
    ("draft", 8),
]
REQ_FOR_PO = {"draft": "approved", "buyer_hold": "pending_buyer_action"}
EXPENSE_STATUSES = [
    ("draft", 15),
    ("pending_approval", 20),
    ("approved", 45),
    ("rejected", 5),
    ("paid", 15),
]


def weighted(rng: random.Random, table: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    total = sum(row[-1] for row in table)
    pick = rng.uniform(0, total)
    for row in table:
        pick -= row[-1]
        if pick <= 0:
            return row
    return table[-1]


def money(value: float) -> str:
    return f"{value:.2f}"


def ref(rid: int) -> dict[str, int]:
    return {"id": rid}
