"""The documented fields of invoices and suppliers beyond the ones the seed's rules use.

Coupa's invoices and suppliers carry far more than the sandbox's rules need: discounts and
their dates, tax engine results, amounts in the buying company's currency, the names on the
documents, cXML set-up. The values here follow from the record and what it points at (an
invoice's payment term gives its discount, its supplier its account number and addresses,
its order its shipping term), so they agree with each other; they are made from ids, never
from the random generator, so the rest of the data stays as it was. Fields Coupa computes
from others in the sandbox (totals, order numbers, approvals) are left to their rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coupa_connector.sandbox._store import format_instant
from coupa_connector.sandbox.seed._compliance import (
    PROFILES,
    InvoiceFacts,
    compliance_fields,
    profile,
)
from coupa_connector.sandbox.seed._vocabulary import COUNTRIES, TO_USD, money, ref

__all__ = ["SupplierFacts", "TermFacts", "invoice_details", "supplier_details"]

_DAY = 86400
_COUNTRY_NAMES = dict(COUNTRIES)
# The buying company's cXML identity, the same on every supplier (Coupa: Suppliers API).
_BUYER_DOMAIN, _BUYER_IDENTITY = "NetworkID", "AN01000012345"


@dataclass(frozen=True)
class SupplierFacts:
    """What an invoice takes from its supplier."""

    name: str
    domain: str
    account_number: str
    tax_id: str
    contact: str
    address: dict[str, Any]


@dataclass(frozen=True)
class TermFacts:
    """A payment term: net days, discount days and the discount in percent."""

    net_days: int
    discount_days: int | None
    discount_pct: float | None


def _country(code: str, ids: dict[str, int]) -> dict[str, Any]:
    return {"id": ids[code], "code": code, "name": _COUNTRY_NAMES[code]}


def supplier_details(
    index: int, supplier_id: int, name: str, po_method: str, shipping: list[int]
) -> dict[str, Any]:
    """A supplier's DUNS number, parent, cXML set-up (for suppliers ordered from by cXML),
    change method, shipping term and the lists Coupa keeps as text."""
    domain = name.split()[0].lower()
    duns = f"{(supplier_id * 104_729) % 900_000_000 + 100_000_000:09d}"
    cxml = po_method == "cxml"
    return {
        "duns": duns,
        # Every seventh supplier is a subsidiary of the one before it.
        "parent": ref(supplier_id - 1) if index % 7 == 6 else None,
        "po-change-method": po_method if po_method in ("cxml", "email", "prompt") else "email",
        "shipping-term": ref(shipping[index % len(shipping)]),
        "confirm-by-hrs": f"{24 * (1 + index % 3)}.0",
        "supplier-community-enablement": index % 3,
        "strategic-supplier": "Yes" if index % 5 == 0 else "No",
        "tags": "preferred" if index % 4 == 0 else None,
        "cxml-url": f"https://cxml.{domain}.example.com/orders" if cxml else None,
        "cxml-protocol": "https" if cxml else None,
        "cxml-ssl-version": "TLSv1_2" if cxml else None,
        "cxml-domain": _BUYER_DOMAIN if cxml else None,
        "cxml-identity": _BUYER_IDENTITY if cxml else None,
        "cxml-supplier-domain": "DUNS" if cxml else None,
        "cxml-supplier-identity": duns if cxml else None,
        "cxml-http-username": f"coupa-{supplier_id}" if cxml else None,
        "cxml-invoice-buyer-domain": _BUYER_DOMAIN if cxml else None,
        "cxml-invoice-buyer-identity": _BUYER_IDENTITY if cxml else None,
        "cxml-invoice-supplier-domain": "DUNS" if cxml else None,
        "cxml-invoice-supplier-identity": duns if cxml else None,
    }


def invoice_details(
    doc: dict[str, Any],
    *,
    created: int,
    invoice_ts: int,
    supplier: SupplierFacts,
    term: TermFacts,
    currency: str,
    countries: dict[str, int],
    ship_to_country: str,
    buyer: str,
    contract: int | None,
    shipping_term: int | None,
) -> dict[str, Any]:
    """The rest of an invoice's documented fields, from what ``doc`` already says."""
    rid = int(doc["id"])
    net = float(doc["gross-total"])
    tax = float(doc["tax-amount"])
    gross = float(doc["total-with-taxes"])
    rate = TO_USD[currency]
    pct = term.discount_pct or 0.0
    tax_pct = round(100 * tax / net, 2) if net else 0.0
    tax_code = f"VAT-{tax_pct:g}" if tax else "EXEMPT"
    paid = bool(doc.get("paid"))
    found = profile(rid)
    origin = found.country if found else str(supplier.address["country"]["code"])
    remit = {
        # One remit-to per supplier and country it invoices from: its own, or its branch's.
        "id": 8000 + int(doc["supplier"]["id"]) * 16 + (PROFILES.index(found) if found else 0),
        "remit-to-code": f"RT-{doc['supplier']['id']}",
        "supplier-name": supplier.name,
        "name": f"{supplier.name} Accounts Receivable",
        "street1": supplier.address["street1"],
        "city": found.city if found else supplier.address["city"],
        "state": found.state if found else supplier.address["state"],
        "postal-code": supplier.address["postal-code"],
        "country": _country(origin, countries),
        "tax-number": supplier.tax_id,
    }
    number = str(doc["invoice-number"])
    lines = len(doc.get("invoice-lines") or ())
    facts = InvoiceFacts(rid, number, invoice_ts, created, lines, supplier.name)
    by_email = rid % 3 == 0
    out: dict[str, Any] = {
        "confirmation": None if doc["status"] == "draft" else f"CNF-{rid:08d}",
        "customer-account-number": supplier.account_number,
        "supplier-total": money(gross),
        "supplier-representative-name": supplier.contact,
        "supplier-invoice-issuer-name": supplier.contact,
        "supplier-invoice-reviewer-name": supplier.contact,
        "supplier-payment-collector-name": f"{supplier.name} Accounts Receivable",
        "buyer-representative-name": buyer,
        "delivery-date": format_instant(invoice_ts - 2 * _DAY),
        "delivery-number": f"DN-{rid:07d}",
        "inbox-name": "ap-invoices" if by_email else None,
        "sender-email": f"billing@{supplier.domain}.example.com" if by_email else None,
        "supplier-remit-to": remit,
        # Compliance data: the addresses and countries of invoices under a country's rules.
        "invoice-from-address": remit if found else None,
        "ship-from-address": remit if found else None,
        "origin-country": _country(origin, countries) if found else None,
        "destination-country": _country(ship_to_country, countries) if found else None,
        "legal-destination-country": _country("US", countries) if found else None,
        "contract": None if contract is None else ref(contract),
        "shipping-term": None if shipping_term is None else ref(shipping_term),
        "payment-channel": "erp",
        "payment-notes": f"Paid by ACH on {doc['payment-date'][:10]}" if paid else None,
        "payment-order-number": f"PAYRUN-{doc['payment-date'][:7]}" if paid else None,
        "payment-order-reference": f"PMT-{rid:07d}" if paid else None,
        "lock-version-key": 0 if doc["updated-at"] == doc["created-at"] else 1,
        "tax-code": tax_code,
        "tax-rate": tax_pct,
        "tax-code-engine": tax_code,
        "tax-rate-engine": f"{tax_pct:.4f}",
        "tax-amount-engine": doc["tax-amount"],
        "tax-due-to-supplier": doc["tax-amount"],
        # The rate to the buying company's currency (USD) and the payment term's
        # early-payment discount; the amounts that follow are derived (discounted_totals).
        "exchange-rate": f"{rate:.6f}",
        "advance-payment-received-amount": "0.00",
        "amount-of-advance-payment": "0.00",
        "discount-percent": term.discount_pct,
        "discount-due-date": None
        if term.discount_days is None
        else format_instant(invoice_ts + term.discount_days * _DAY),
        "customer-accounting-tax-less-discount": "0.00",
        "early-payment-provisions": None
        if term.discount_days is None
        else f"{pct:g}% discount if paid within {term.discount_days} days",
        "internal-note": f"Coded to {doc['custom-fields']['project-code']}"
        if rid % 4 == 0
        else None,
        "supplier-note": f"Please quote {number} with your payment" if rid % 5 == 0 else None,
    }
    out.update(compliance_fields(found, facts))
    return out
