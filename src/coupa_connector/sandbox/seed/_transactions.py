"""Transactions: requisitions -> purchase orders (order lines) -> receipts -> invoices (lines
pointing at the order lines they bill) -> approvals, plus expense reports, streamed in
batches so that memory stays flat."""

from __future__ import annotations

from typing import Any

from coupa_connector.sandbox._derive import discounted_totals, embedded_copy
from coupa_connector.sandbox._store import format_instant
from coupa_connector.sandbox.seed._base import BASE_TS, BATCH, Seeder
from coupa_connector.sandbox.seed._details import invoice_details
from coupa_connector.sandbox.seed._vocabulary import (
    ACTIVE_DISPUTE_REASONS,
    CO_A,
    DEPARTMENTS,
    EXPENSE_CATEGORIES,
    EXPENSE_STATUSES,
    INVOICE_OUTCOMES,
    PO_STATUSES,
    REGIONS,
    REQ_FOR_PO,
    SEGMENTS_2,
    TRIP_PURPOSES,
    money,
    ref,
    weighted,
)

__all__ = ["seed_transactions"]


def seed_transactions(seeder: Seeder) -> None:
    """The procure-to-pay chain, streamed in batches."""
    rng, ids, store = seeder.rng, seeder.ids, seeder.store
    n_inv = seeder.size
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
        created = seeder.when(0.0, 0.9)
        supplier = rng.choice(ids.suppliers)
        requester = rng.choice(ids.users)
        status = str(weighted(rng, PO_STATUSES)[0])
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
                    "price": money(price),
                    "quantity": f"{qty:.2f}",
                    "total": money(line_total),
                    "currency": ref(usd),
                    "account": ref(account),
                    "uom": ref(uom),
                    "item": ref(item_id),
                    "commodity": ref(commodity),
                    "supplier": ref(supplier),
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
                    "unit-price": money(price),
                    "total": money(line_total),
                    "uom": ref(uom),
                    "item": ref(item_id),
                    "supplier": ref(supplier),
                    "account": ref(account),
                    "currency": ref(usd),
                    "commodity": ref(commodity),
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
                    money(price),
                    f"{qty:.2f}",
                    account,
                    uom,
                    supplier,
                )
            )
            next_line += 1
            next_req_line += 1
        req_created = created - rng.randint(1, 5) * 86400
        req_status = REQ_FOR_PO.get(status, "ordered")
        req = {
            "id": req_id,
            "status": req_status,
            "requested-by": ref(requester),
            "ship-to-address": ref(address),
            "department": ref(rng.choice(ids.departments)),
            "justification": f"Needed for {rng.choice(DEPARTMENTS).lower()} work",
            "req-title": f"Request {req_id}",
            "need-by-date": need_by,
            "currency": ref(ids.currencies["USD"]),
            "requester": ref(requester),
            "total": money(total),
            "submitted-at": format_instant(req_created + 600),
            "line-count": n_lines,
            "exported": False,
            "last-exported-at": None,
            "requisition-lines": req_lines,
            "custom-fields": {
                "project-code": f"PRJ-{req_id % 20 + 1:03d}",
                "budget-owner": f"CC-{SEGMENTS_2[req_id % len(SEGMENTS_2)]}",
            },
        }
        # Every requisition that became an order was approved; the approver is picked
        # without drawing from rng, so the rest of the data stays as it was.
        approval = seeder.open_approval(
            "RequisitionHeader",
            req_id,
            ids.users[req_id % len(ids.users)],
            "approved",
            req_created + 700,
            format_instant(req_created + 3600),
        )
        req["approvals"] = [embedded_copy(approval)]
        req["current-approval"] = None
        req_batch.append(seeder.stamp(req, req_created, created, requester))
        po = {
            "id": po_id,
            "po-number": f"PO-{100000 + k}",
            "status": status,
            "version": 1,
            "internal-revision": 1,
            "type": "OrderHeader",
            "supplier": ref(supplier),
            "ship-to-user": ref(requester),
            "ship-to-address": ref(address),
            "ship-to-attention": None,
            "currency": ref(usd),
            "payment-term": ref(rng.choice(ids.payment_terms)),
            "payment-method": "invoice",
            "requisition-header": ref(req_id),
            "requester": ref(requester),
            "acknowledged-flag": status != "draft" and rng.random() > 0.4,
            "transmission-status": "sent_via_email" if status != "draft" else "created",
            "hide-price": False,
            "exported": status in ("closed",) or rng.random() < 0.3,
            "last-exported-at": None,
            "total": money(total),
            "order-lines": lines,
            "custom-fields": {
                "project-code": f"PRJ-{rng.randint(1, 20):03d}",
                "region": REGIONS[k % len(REGIONS)],
            },
            # From k, not rng, so the rest of the data is unchanged.
            "shipping-term": ref(ids.shipping_terms[k % len(ids.shipping_terms)]),
        }
        if po["exported"]:
            po["last-exported-at"] = format_instant(created + 86400)
        po_batch.append(seeder.stamp(po, created, created + rng.randint(0, 30) * 86400))
        line_batch.extend(lines)
        po_meta.append((po_id, supplier, created, status, len(po_lines) - n_lines, n_lines))
        if len(po_batch) >= BATCH:
            seeder.put("requisitions", req_batch)
            seeder.put("purchase_orders", po_batch)
            # The same lines, one row each, serve /api/purchase_order_lines.
            seeder.put("purchase_order_lines", line_batch)
            seeder.flush_approvals()
            line_batch = []
            req_batch, po_batch = [], []
    if po_batch:
        seeder.put("requisitions", req_batch)
        seeder.put("purchase_orders", po_batch)
        seeder.put("purchase_order_lines", line_batch)
    seeder.flush_approvals()

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
            "total": money(total),
            "order-line": ref(line_id),
            "item": ref(item),
            "uom": ref(uom),
            "account": ref(account),
            "transaction-date": format_instant(created),
            "match-reference": f"MR-{line_id}",
            "barcode": None,
            "custom-fields": {"dock-door": f"D{rid % 8 + 1}"},
            "exported": rng.random() < 0.5,
            "last-exported-at": None,
        }
        if doc["exported"]:
            doc["last-exported-at"] = format_instant(created + 86400)
        return seeder.stamp(doc, created)

    rcpt_first = store.reserve_ids("receiving_transactions", len(receipt_lines))
    seeder.stream_reserved("receiving_transactions", rcpt_first, len(receipt_lines), receipt)

    # Invoices: most bill a PO's lines; the rest are non-PO invoices.
    inv_first = store.reserve_ids("invoices", n_inv)
    inv_line_first = store.reserve_ids("invoice-line", n_inv * 3)
    inv_line = [inv_line_first]
    item_names = {i[0]: i[1] for i in ids.items}
    inv_numbers: set[tuple[int, str]] = set()

    def invoice(rid: int) -> dict[str, Any]:
        k = rid - inv_first
        status, paid = weighted(rng, INVOICE_OUTCOMES)[:2]
        shipping_term = None
        if po_meta and rng.random() < 0.8:
            po_id, supplier, po_created, _, start, count = po_meta[k % len(po_meta)]
            created = po_created + rng.randint(5, 40) * 86400
            lines_src = po_lines[start : start + count]
            # The order's shipping term (set from its index, as the order was).
            shipping_term = ids.shipping_terms[(po_id - po_first) % len(ids.shipping_terms)]
        else:
            supplier, created, lines_src = rng.choice(ids.suppliers), seeder.when(0.05, 1.0), []
        created = min(created, BASE_TS - 3600)
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
                    money(price),
                    f"{rng.choice((1, 2, 4))}.00",
                    rng.choice(ids.accounts),
                    uom,
                    supplier,
                )
            )
        for n, src in enumerate(sources, start=1):
            order_line, po_id_, order_line_num, item, price, qty, account, uom, _ = src
            po_number = f"PO-{100000 + po_id_ - po_first}" if po_id_ else None
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
                    "total": money(line_total),
                    "uom": ref(uom),
                    "account": ref(account),
                    "currency": ref(usd),
                    "item": ref(item),
                    "order-line-id": order_line,
                    "po-number": po_number,
                    "order-header-num": po_number,
                    "order-line-num": str(order_line_num) if po_id_ else None,
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
            "supplier": ref(supplier),
            "currency": ref(ids.currencies["EUR"] if european else usd),
            "account-type": ref(ids.account_types[1 if european else 0]),
            "bill-to-address": ref(ids.addresses[0]),
            "ship-to-address": ref(rng.choice(ids.addresses[:6])),
            "payment-term": ref(rng.choice(ids.payment_terms)),
            "requested-by": ref(rng.choice(ids.users)),
            "line-level-taxation": False,
            "tax-amount": money(tax),
            "shipping-amount": "0.00",
            "handling-amount": "0.00",
            "misc-amount": "0.00",
            "gross-total": money(total),
            "total-with-taxes": money(total + tax),
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
                "cost-center": f"CC-{rng.choice(SEGMENTS_2)}",
            },
            "invoice-lines": lines,
        }
        if status == "disputed":
            # Not drawn from rng, so the rest of the data set stays as it was.
            reason = ACTIVE_DISPUTE_REASONS[rid % len(ACTIVE_DISPUTE_REASONS)]
            doc["dispute-reasons"] = [reason]
        updated = created + rng.randint(0, 60) * 86400
        seeder.stamp(doc, created, min(updated, BASE_TS - 60))
        doc.update(
            invoice_details(
                doc,
                created=created,
                invoice_ts=invoice_date,
                supplier=ids.supplier_facts[supplier],
                term=ids.term_facts[doc["payment-term"]["id"]],
                currency="EUR" if european else "USD",
                countries=ids.countries,
                ship_to_country=ids.address_countries[doc["ship-to-address"]["id"]],
                buyer=ids.user_names[doc["requested-by"]["id"]],
                contract=ids.contracts.get(supplier),
                shipping_term=shipping_term,
            )
        )
        # The amounts its totals give, as every write derives them.
        discounted_totals("invoices", doc)
        if status in ("pending_approval", "approved"):
            approver = rng.choice(ids.users)
            done = status == "approved"
            approval = seeder.open_approval(
                "InvoiceHeader",
                rid,
                approver,
                "approved" if done else "pending_approval",
                created + 3600,
                format_instant(created + 2 * 86400) if done else None,
            )
            doc["approvals"] = [embedded_copy(approval)]
        return doc

    seeder.stream_reserved("invoices", inv_first, n_inv, invoice)

    n_exp = max(3, n_inv // 10)
    exp_first = store.reserve_ids("expense_reports", n_exp)
    exp_line_first = store.reserve_ids("expense-line", n_exp * 3)
    exp_line = [exp_line_first]
    mirrored: list[dict[str, Any]] = []

    def expense(rid: int) -> dict[str, Any]:
        status = str(weighted(rng, EXPENSE_STATUSES)[0])
        user = rng.choice(ids.users)
        created = seeder.when(0.0, 0.98)
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
                    "expense-category": {"name": rng.choice(EXPENSE_CATEGORIES)},
                    "amount": money(amount),
                    "currency": ref(usd),
                    "expense-date": format_instant(created - n * 86400),
                    "merchant": rng.choice(CO_A),
                    "account": ref(rng.choice(ids.accounts)),
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
            "expensed-by": ref(user),
            "submitted-by": ref(user) if submitted else None,
            "submitted-at": format_instant(created + 3600) if submitted else None,
            "currency": ref(usd),
            "total": money(total),
            "paid": status == "paid",
            "start-date": format_instant(created - 5 * 86400)[:10],
            "end-date": format_instant(created - 86400)[:10],
            "is-trip": rng.random() < 0.3,
            "exported": exported,
            "last-exported-at": format_instant(created + 20 * 86400) if exported else None,
            "expense-lines": lines,
            "custom-fields": {
                "project-code": f"PRJ-{rid % 20 + 1:03d}",
                "trip-purpose": TRIP_PURPOSES[rid % len(TRIP_PURPOSES)],
            },
        }
        if status == "pending_approval":
            approval = seeder.open_approval(
                "ExpenseReport",
                rid,
                rng.choice(ids.users),
                "pending_approval",
                created + 7200,
                None,
            )
            doc["approvals"] = [embedded_copy(approval)]
        mirrored.extend({**line, "expense-report-id": rid} for line in lines)
        return seeder.stamp(doc, created, created + 86400, user)

    seeder.stream_reserved("expense_reports", exp_first, n_exp, expense)
    # The same lines, one row each, serve /api/expense_lines and the reports' nested route.
    seeder.put("expense_lines", mirrored)
    _pending_requisitions(seeder, max(2, n_po // 20))
    seeder.close_approvals()


def _pending_requisitions(seeder: Seeder, count: int) -> None:
    """Requisitions waiting for approval, each with its current approval. Made last, so the
    records before them are the same as without them."""
    rng, ids, store = seeder.rng, seeder.ids, seeder.store
    first = store.reserve_ids("requisitions", count)
    line_first = store.reserve_ids("requisition-line", count)
    batch = []
    for k in range(count):
        rid, requester = first + k, rng.choice(ids.users)
        created = seeder.when(0.9, 0.99)
        item_id, name, price, uom, commodity = rng.choice(ids.items)
        approval = seeder.open_approval(
            "RequisitionHeader", rid, rng.choice(ids.users), "pending_approval", created + 600, None
        )
        line = {
            "id": line_first + k,
            "line-num": 1,
            "line-type": "RequisitionQuantityLine",
            "description": name,
            "quantity": "1.00",
            "unit-price": money(price),
            "total": money(price),
            "uom": ref(uom),
            "item": ref(item_id),
            "supplier": ref(rng.choice(ids.suppliers)),
            "account": ref(rng.choice(ids.accounts)),
            "currency": ref(ids.currencies["USD"]),
            "commodity": ref(commodity),
            "receipt-required": True,
            "status": "pending_approval",
        }
        req = {
            "id": rid,
            "status": "pending_approval",
            "requested-by": ref(requester),
            "requester": ref(requester),
            "department": ref(rng.choice(ids.departments)),
            "justification": "Awaiting approval",
            "req-title": f"Request {rid}",
            "currency": ref(ids.currencies["USD"]),
            "total": money(price),
            "submitted-at": format_instant(created + 300),
            "line-count": 1,
            "exported": False,
            "last-exported-at": None,
            "requisition-lines": [line],
            "approvals": [embedded_copy(approval)],
            "current-approval": ref(approval["id"]),
        }
        batch.append(seeder.stamp(req, created, created + 600, requester))
    seeder.put("requisitions", batch)
