"""The country-specific invoice fields of Coupa's compliant invoicing, per invoicing country.

Coupa's invoice carries the fields of many countries' e-invoicing rules (Mexico's CFDI,
Brazil's NF-e, India's e-invoice, Croatia's fiscalised receipts, Colombia's DIAN
resolutions, the EU's VAT notes); an invoice fills those of the country it is issued in and
leaves the others null. The seed issues a share of its invoices from a supplier's branch in
one of these countries (``profile``), and ``compliance_fields`` makes that country's values
from the invoice itself: its id, number, dates, lines and supplier, never the random
generator, so the rest of the data stays as it was.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coupa_connector.sandbox._store import format_instant

__all__ = ["PROFILES", "InvoiceFacts", "Profile", "compliance_fields", "profile"]

_DAY = 86400
# Fixed, so that the made-up identifiers are the same in every run.
_NAMESPACE = uuid.UUID("6f1c5c52-5f43-4c1e-9d0a-2b7a3f6e1d10")


@dataclass(frozen=True)
class InvoiceFacts:
    """What an invoice's compliance fields are made from."""

    rid: int
    number: str
    invoice_ts: int
    created_ts: int
    lines: int
    supplier_name: str


@dataclass(frozen=True)
class Profile:
    """An invoicing country: its code, the branch's city and what its invoices carry."""

    country: str
    city: str
    state: str | None
    fields: Callable[[InvoiceFacts], dict[str, Any]]


def _digits(facts: InvoiceFacts, salt: str, count: int) -> str:
    """``count`` decimal digits standing for an identifier an authority issued."""
    digest = hashlib.sha256(f"{salt}:{facts.rid}".encode()).hexdigest()
    return str(int(digest, 16))[:count].rjust(count, "0")


def _hex(facts: InvoiceFacts, salt: str, count: int) -> str:
    return hashlib.sha256(f"{salt}:{facts.rid}".encode()).hexdigest()[:count]


def _mexico(f: InvoiceFacts) -> dict[str, Any]:
    # CFDI 4.0: series and folio, the SAT's UUID (folio fiscal) and its stamp date, the use
    # (G03: general expenses), payment form 03 (transfer), method PUE (one payment), type I.
    return {
        "series": "A",
        "folio-number": f"{f.rid:06d}",
        "transaction-uuid": str(uuid.uuid5(_NAMESPACE, f"cfdi:{f.rid}")).upper(),
        "transaction-notification-date": format_instant(f.invoice_ts + _DAY),
        "use-of-invoice": "G03",
        "form-of-payment": "03",
        "payment-method": "PUE",
        "type-of-receipt": "I",
        "issuance-place": "06600",
    }


def _brazil(f: InvoiceFacts) -> dict[str, Any]:
    # NF-e model 55: the 44-digit access key, the SEFAZ authorisation protocol, the issuer's
    # state and municipal registrations, the operation and the freight volumes.
    weight = 2.5 * f.lines + f.rid % 7
    return {
        "state-tax-number": _digits(f, "ie", 12),
        "state-tax-number-for-substitute-taxpayer": _digits(f, "iest", 12),
        "municipal-tax-number": _digits(f, "im", 8),
        "serial-code-of-fiscal-invoice": "1",
        "verification-code": _digits(f, "chave", 44),
        "type-of-document": "55",
        "protocol-number": "135" + _digits(f, "protocolo", 12),
        "nature-of-operation": "Venda de mercadoria",
        "type-of-operation": "1",
        "freight-type": "0",
        "vehicle-license-plate": f"BRA{f.rid % 10}E{f.rid % 100:02d}",
        "national-enrollment-of-conveyor": _digits(f, "cnpj", 14),
        "volume-amount": str(f.lines),
        "volume-gross-weight": f"{weight + 0.4:.3f}",
        "volume-liquid-weight": f"{weight:.3f}",
        "volume-brand": f.supplier_name.split()[0],
        "volume-type": "Caixa",
        "volume-numbering": f"1-{f.lines}",
    }


def _india(f: InvoiceFacts) -> dict[str, Any]:
    # GST e-invoice: the IRN (a SHA-256 in hex) and the IRP's signed QR code; the place of
    # supply is the state code and name.
    return {
        "invoice-reference-number": _hex(f, "irn", 64),
        "signed-qr-code": "eyJhbGciOiJSUzI1NiJ9." + _hex(f, "qr", 96),
        "place-of-supply": "29-Karnataka",
    }


def _croatia(f: InvoiceFacts) -> dict[str, Any]:
    # Fiscalised receipt: issue time, the operator, payment by bank transfer (T), the tax
    # authority's JIR and the issuer's protective code (ZKI).
    return {
        "invoice-issuance-time": format_instant(f.created_ts)[11:19],
        "cash-register-operator": f"OP{f.rid % 9 + 1:02d}",
        "means-of-payment": "T",
        "unique-identification-code-of-cash-receipt": str(uuid.uuid5(_NAMESPACE, f"jir:{f.rid}")),
        "security-code-of-issuer": _hex(f, "zki", 32),
    }


def _colombia(f: InvoiceFacts) -> dict[str, Any]:
    # DIAN's numbering resolution the invoice number falls under.
    return {"resolution-number": "18764" + _digits(f, "dian", 9)}


def _france(f: InvoiceFacts) -> dict[str, Any]:
    # French invoices state the late-payment terms; intra-EU supplies name the reverse charge.
    return {
        "late-payment-penalties": "Late payment interest at three times the legal rate, "
        "plus a fixed recovery fee of EUR 40",
        "reverse-charge-reference": "Autoliquidation, article 196 of Directive 2006/112/EC",
    }


def _britain(f: InvoiceFacts) -> dict[str, Any]:
    # A UK supplier on the cash accounting scheme, importing the goods it bills.
    return {
        "cash-accounting-scheme-reference": "VAT Cash Accounting Scheme",
        "customs-declaration-number": f"{format_instant(f.invoice_ts)[2:4]}GB"
        + _digits(f, "mrn", 14),
        "customs-declaration-date": format_instant(f.invoice_ts - 3 * _DAY),
        "customs-office": "Felixstowe (GB000060)",
    }


# By invoice id: one in eleven from each country, four in eleven domestic.
PROFILES: tuple[Profile | None, ...] = (
    None,
    None,
    None,
    None,
    Profile("MX", "Mexico City", "CDMX", _mexico),
    Profile("BR", "Sao Paulo", "SP", _brazil),
    Profile("IN", "Bengaluru", "KA", _india),
    Profile("HR", "Zagreb", None, _croatia),
    Profile("CO", "Bogota", None, _colombia),
    Profile("FR", "Lyon", None, _france),
    Profile("GB", "Manchester", None, _britain),
)


def profile(rid: int) -> Profile | None:
    """The invoicing country of an invoice; None for one issued where its supplier is."""
    return PROFILES[rid % len(PROFILES)]


def compliance_fields(found: Profile | None, facts: InvoiceFacts) -> dict[str, Any]:
    """The country fields of an invoice issued under ``found``."""
    return {} if found is None else found.fields(facts)
