"""Seeded files: image scans, legal documents, receipts zips and a few attachments.

Only records are stored; their file keys (``gen:...``) name generated sample files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from coupa_connector.sandbox._attachments import ATTACHMENTS, DOCUMENTS
from coupa_connector.sandbox._derive import document_fields
from coupa_connector.sandbox._samplefiles import generated
from coupa_connector.sandbox._store import Store

__all__ = ["seed_files"]

# At most this many records of each parent get files, so large seeds stay quick.
_SEEDED_PER_PARENT = 40


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _seeded(store: Store, res: str) -> Iterator[dict[str, Any]]:
    yield from store.select(res, limit=_SEEDED_PER_PARENT)


def seed_files(store: Store, seed: int = 42) -> dict[str, int]:
    """Seed image scans, legal documents, receipts zips and a few attachments.

    Invoices get an image scan (a PNG or a PDF), every third one a legal invoice PDF and a
    file attachment; purchase orders every fourth a PDF attachment; contracts their legal
    agreement and an attachment; expense reports their receipts zip. The files are made by
    ``_samplefiles`` from their keys; only the records are stored.
    """
    counts = {ATTACHMENTS: 0, DOCUMENTS: 0}
    created = "2024-01-02T09:00:00+00:00"
    user = {"login": "coupa_admin"}

    described: dict[str, Any] = {}

    def document(res: str, rid: int, kind: str, key: str, name: str, ctype: str) -> None:
        data = generated(key)
        assert data is not None
        # The record's fields that name the file (an invoice's image-scan*), stored with it.
        described.update(document_fields(res, rid, kind, name, ctype, len(data)))
        store.put(
            DOCUMENTS,
            {
                "id": store.next_id(DOCUMENTS),
                "parent": res,
                "parent-id": rid,
                "kind": kind,
                "name": name,
                "content-type": ctype,
                "size": len(data),
                "sha256": _sha(data),
                "blob": key,
            },
        )
        counts[DOCUMENTS] += 1

    def attachment(res: str, rid: int, key: str, name: str, ctype: str, intent: str) -> None:
        data = generated(key)
        assert data is not None
        store.put(
            ATTACHMENTS,
            {
                "id": store.next_id(ATTACHMENTS),
                "created-at": created,
                "updated-at": created,
                "type": "file",
                "intent": intent,
                "linked-to": None,
                "created-by": user,
                "updated-by": user,
                "file-file-name": name,
                "file-content-type": ctype,
                "file-file-size": str(len(data)),
                "parent": res,
                "parent-id": rid,
                "blob": key,
                "sha256": _sha(data),
            },
        )
        counts[ATTACHMENTS] += 1

    for n, inv in enumerate(_seeded(store, "invoices")):
        rid, number = int(inv["id"]), str(inv.get("invoice-number") or inv["id"])
        if n % 2:
            document(
                "invoices",
                rid,
                "image_scan",
                f"gen:pdf:Invoice {number}",
                f"{number}.pdf",
                "application/pdf",
            )
        else:
            document(
                "invoices", rid, "image_scan", f"gen:png:{rid + seed}", f"{number}.png", "image/png"
            )
        if n % 3 == 0:
            document(
                "invoices",
                rid,
                "legal_invoice_pdf",
                f"gen:pdf:Legal invoice {number}",
                f"{number}-legal.pdf",
                "application/pdf",
            )
            attachment(
                "invoices",
                rid,
                f"gen:pdf:Delivery note {number}",
                "delivery-note.pdf",
                "application/pdf",
                "Internal",
            )
        if n % 10 == 0:
            document(
                "invoices",
                rid,
                "clearance_document",
                f"gen:pdf:Clearance {number}",
                f"{number}-clearance.pdf",
                "application/pdf",
            )
        store.put("invoices", {**inv, **described})
        described.clear()
    for n, po in enumerate(_seeded(store, "purchase_orders")):
        if n % 4 == 0:
            number = str(po.get("po-number") or po["id"])
            attachment(
                "purchase_orders",
                int(po["id"]),
                f"gen:pdf:Quote for {number}",
                f"quote-{number}.pdf",
                "application/pdf",
                "Supplier",
            )
    for contract in _seeded(store, "contracts"):
        rid, number = int(contract["id"]), str(contract.get("number") or contract["id"])
        document(
            "contracts",
            rid,
            "legal_agreement",
            f"gen:pdf:Agreement {number}",
            f"{number}.pdf",
            "application/pdf",
        )
        attachment(
            "contracts",
            rid,
            f"gen:png:{rid * 7 + seed}",
            "signature-page.png",
            "image/png",
            "Internal",
        )
    for report in _seeded(store, "expense_reports"):
        rid = int(report["id"])
        document(
            "expense_reports",
            rid,
            "download",
            f"gen:zip:{rid}",
            f"expense-report-{rid}-receipts.zip",
            "application/zip",
        )
    return counts
