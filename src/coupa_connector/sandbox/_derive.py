"""Fields Coupa computes rather than takes: kept in the stored documents when they are saved,
so that rendering stays a copy and filters on them find what they should.

- ids and types copied from a reference (an approval's ``approver-id`` and ``approver-type``,
  an account's ``account-type-id``);
- the PO numbers on lines that bill an order line (``po-number``, ``order-header-num``,
  ``order-line-num``);
- a document's ``approvals`` (copies of the approval records) and ``current-approval``,
  kept up to date whenever one of its approvals is saved;
- the fields that describe a record's document file (an invoice's ``image-scan*``);
- the amounts an invoice derives from its totals: its discount and the totals less it,
  and the totals at its exchange rate (``discounted_totals``).

What is derived from what is data in ``_objects.py``; this module applies it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from coupa_connector.sandbox._objects import (
    APPROVABLES,
    APPROVAL_LINKS,
    DERIVED_FROM_REFERENCES,
    DISCOUNTED_TOTALS,
    DOCUMENT_FIELDS,
    EMBED_SKIP,
    LINE_MIRRORS,
    OPEN_APPROVAL_STATUSES,
    ORDER_LINE_NUMBERS,
    Views,
)
from coupa_connector.sandbox._store import Store

__all__ = [
    "Deriver",
    "current_approval",
    "discounted_totals",
    "document_fields",
    "embedded_copy",
    "from_references",
]


def from_references(res: str, doc: dict[str, Any]) -> None:
    """Fill the fields that copy a reference's id or type (``approver-id``, ``approver-type``)."""
    for name, ref, what in DERIVED_FROM_REFERENCES.get(res, ()):
        value = doc.get(ref)
        rid = value.get("id") if isinstance(value, dict) else None
        doc[name] = None if rid is None else (rid if what == "id" else what)


def _amount(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except ArithmeticError:
        return None


def _money(value: Decimal) -> str:
    return format(value.quantize(_CENTS, ROUND_HALF_UP), "f")


_CENTS = Decimal("0.01")


def discounted_totals(res: str, doc: dict[str, Any]) -> None:
    """Set the amounts that follow from a document's totals (``DISCOUNTED_TOTALS``); a
    document without totals keeps what it has."""
    names = DISCOUNTED_TOTALS.get(res)
    if names is None:
        return
    net, gross = _amount(doc.get(names["net"])), _amount(doc.get(names["gross"]))
    if net is None or gross is None:
        return
    tax = _amount(doc.get(names["tax"])) or Decimal(0)
    percent = _amount(doc.get(names["percent"])) or Decimal(0)
    net_off = (net * percent / 100).quantize(_CENTS, ROUND_HALF_UP)
    tax_off = (tax * percent / 100).quantize(_CENTS, ROUND_HALF_UP)
    doc[names["discount"]] = _money(net_off + tax_off)
    doc[names["net_less"]] = _money(net - net_off)
    doc[names["tax_less"]] = _money(tax - tax_off)
    doc[names["gross_less"]] = _money(gross - net_off - tax_off)
    doc[names["due_less"]] = _money(
        Decimal(0) if doc.get(names["paid"]) else gross - net_off - tax_off
    )
    rate = _amount(doc.get(names["rate"]))
    if rate is not None:
        doc[names["net_at_rate"]] = _money(net * rate)
        doc[names["gross_at_rate"]] = _money(gross * rate)
        doc[names["tax_at_rate"]] = _money(tax * rate)


def document_fields(
    res: str, rid: int, kind: str, name: str, content_type: str, size: int
) -> dict[str, Any]:
    """The fields of record ``rid`` that describe its file of ``kind`` (none if it has none)."""
    found = DOCUMENT_FIELDS.get(kind, {}).get(res)
    if found is None:
        return {}
    names, type_field, size_field, url_field = found
    out: dict[str, Any] = dict.fromkeys(names, name)
    if type_field is not None:
        out[type_field] = content_type
    if size_field is not None:
        out[size_field] = f"{size / 1_048_576:.2f}"
    if url_field is not None:
        out[url_field] = f"/api/{res}/{rid}/retrieve_{kind}"
    return out


def embedded_copy(record: dict[str, Any]) -> dict[str, Any]:
    """A record as another keeps a copy of it: without its audit references."""
    return {k: v for k, v in record.items() if k not in EMBED_SKIP}


def current_approval(approvals: list[dict[str, Any]]) -> dict[str, int] | None:
    """The reference of the approval a document waits for: the first open one by position."""
    waiting = [a for a in approvals if a.get("status") in OPEN_APPROVAL_STATUSES]
    if not waiting:
        return None
    first = min(waiting, key=lambda a: (a.get("position") or 0, a["id"]))
    return {"id": first["id"]}


class Deriver:
    """Applies the derivations to documents being saved, reading what they refer to."""

    def __init__(self, views: Views, store: Store) -> None:
        self.views = views
        self.store = store
        # The order-line mirror resource and the field holding a line's PO id.
        mirror = LINE_MIRRORS["purchase_orders"]
        self._order_lines, self._order_header_field = mirror[1], mirror[2]

    def fill(self, res: str, doc: dict[str, Any]) -> None:
        """Derive what a document's own fields and lines imply, before it is stored."""
        from_references(res, doc)
        numbers = ORDER_LINE_NUMBERS.get(res)
        if numbers is not None:
            self._order_numbers(doc, *numbers)

    def _order_numbers(
        self,
        doc: dict[str, Any],
        collection: str,
        link: str,
        header_fields: tuple[str, ...],
        line_field: str,
    ) -> None:
        lines = [ln for ln in doc.get(collection) or () if isinstance(ln, dict)]
        wanted = {ln[link] for ln in lines if isinstance(ln.get(link), int)}
        if not wanted:
            return
        order_lines = self.store.get_many(self._order_lines, wanted)
        headers = self.store.get_many(
            "purchase_orders",
            {
                ol[self._order_header_field]
                for ol in order_lines.values()
                if isinstance(ol.get(self._order_header_field), int)
            },
        )
        for line in lines:
            order_line = order_lines.get(line.get(link))  # type: ignore[arg-type]
            if order_line is None:
                continue
            header = headers.get(order_line.get(self._order_header_field))  # type: ignore[arg-type]
            number = header.get("po-number") if header is not None else None
            for name in header_fields:
                line[name] = number
            num = order_line.get("line-num")
            line[line_field] = None if num is None else str(num)

    def approval_saved(self, approval: dict[str, Any]) -> None:
        """Relist a document's approvals after one of them was saved (created or changed)."""
        type_field, id_field, list_field, current_field = APPROVAL_LINKS
        target = APPROVABLES.get(str(approval.get(type_field)))
        rid = approval.get(id_field)
        if target is None or not isinstance(rid, int):
            return
        res = target[0]
        doc = self.store.get(res, rid)
        if doc is None:
            return
        obj = self.views.catalog.get(res)
        listed = [a["id"] for a in doc.get(list_field) or () if isinstance(a, dict) and "id" in a]
        if approval["id"] not in listed:
            listed.append(approval["id"])
        approvals = self.store.get_many("approvals", listed)
        approvals[approval["id"]] = approval
        if list_field in obj.fields:
            # The approvals themselves, as copies: a page of documents renders them without
            # fetching one record per document, and every approval write refreshes them.
            doc[list_field] = [embedded_copy(approvals[a]) for a in listed if a in approvals]
        if current_field in obj.fields:
            doc[current_field] = current_approval([approvals[a] for a in listed if a in approvals])
        # The document's own stamps stay: its approvals changed, not the document.
        self.store.put(res, doc)
