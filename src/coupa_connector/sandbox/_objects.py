"""The sandbox's view of the catalog, and the few per-object behaviours the catalog lacks.

Everything about an object's shape (elements, kinds, references, keys, scopes, actions) comes
from the catalog. What Coupa does *with* an object beyond its shape (create defaults,
uniqueness scopes, derived totals, which resources mirror another's child lines) is data in
the tables below, never a branch on a resource name elsewhere.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from coupa_connector.catalog import Catalog, FieldDef, ObjectDef
from coupa_connector.sandbox._instance_fields import sandbox_catalog, with_declared_custom_fields

__all__ = [
    "APPROVABLES",
    "APPROVAL_LINKS",
    "CREATE_DEFAULTS",
    "CREATE_FORCED",
    "CUSTOM_FIELDS",
    "DEEP_SEPARATOR",
    "DELETED_LINES_KEPT",
    "DERIVED_FROM_REFERENCES",
    "DISCOUNTED_TOTALS",
    "DISPUTE_REASONS",
    "DOCUMENT_FIELDS",
    "DUPLICATE_LINE_NUMS_IGNORED",
    "EMBED_SKIP",
    "EVENT_INPUTS",
    "EXPORTED_ONLY_UPDATES",
    "FINISHED_STATUSES",
    "INHERITED_KEYS",
    "LINE_MIRRORS",
    "OPEN_APPROVAL_STATUSES",
    "ORDER_LINE_NUMBERS",
    "REFERENCE_BLOCKS",
    "SCALAR_KINDS",
    "TOTALS",
    "UNIQUE_SCOPES",
    "UPDATABLE_FIELDS",
    "EventInput",
    "ObjectView",
    "Views",
    "deleted_lines_key",
    "human_name",
]

SCALAR_KINDS = frozenset(
    {"string", "text", "integer", "decimal", "float", "boolean", "datetime", "date"}
)

# Values a created record starts with when the body does not say (coupa-api.md 5.1):
# invoices, expense reports and requisitions start as drafts, suppliers default to draft
# and payment by invoice, and POST /purchase_orders creates external POs only.
CREATE_DEFAULTS: dict[str, dict[str, Any]] = {
    "invoices": {"status": "draft", "document-type": "Invoice", "paid": False, "exported": False},
    "expense_reports": {"status": "draft", "paid": False, "exported": False},
    "requisitions": {"status": "draft", "exported": False},
    "suppliers": {"status": "draft", "payment-method": "invoice"},
    "purchase_orders": {
        "version": 1,
        "internal-revision": 1,
        "exported": False,
    },
    "receiving_transactions": {"status": "created", "exported": False},
    "contracts": {"version": 1},
    "users": {"active": True},
    "approvals": {"status": "pending_approval"},
    "integration_errors": {"resolved": False},
    "integration_history_records": {"resolved": False},
    # "Include the <event-type> element or else Coupa will default to an RFI"; a new event
    # is a draft (Coupa: Sourcing API example calls).
    "quote_requests": {"event-type": "rfi", "state": "draft"},
}
# Values create forces whatever the body says (the status of a new invoice is not the
# caller's to choose); a body that gives a writable one another value is refused (POST
# /purchase_orders creates external POs, never Coupa-native OrderHeaders).
CREATE_FORCED: dict[str, dict[str, Any]] = {
    "invoices": {"status": "draft"},
    "expense_reports": {"status": "draft"},
    "requisitions": {"status": "draft"},
    "purchase_orders": {"status": "issued", "type": "ExternalOrderHeader"},
    "integration_runs": {"status": "pending"},
}

# Uniqueness beyond the catalog's ``unique`` and ``unique_within``, or narrower than it says:
# field -> the fields whose values scope it. The catalog marks a lookup value's name unique;
# the sandbox holds it unique per lookup, as the natural key (name, lookup) implies.
UNIQUE_SCOPES: dict[str, dict[str, tuple[str, ...]]] = {
    "lookup_values": {"name": ("lookup",)},
}

# Natural-key parts a reference may leave out, taken from the record that holds it or its
# document: target resource -> key fields. An account is its code within a chart of accounts
# (coupa-api.md 5.2), and a line's account is in its document's chart unless it says.
INHERITED_KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("account-type",),
}

# Custom fields the seed fills, queryable by bare name as Coupa allows ([I] which exist is
# per instance; these are the sandbox's).
SEEDED_CUSTOM_FIELDS: dict[str, tuple[str, ...]] = {
    "invoices": ("project-code", "cost-center"),
    "purchase_orders": ("project-code", "region"),
    "requisitions": ("project-code", "budget-owner"),
    "receiving_transactions": ("dock-door",),
    "expense_reports": ("project-code", "trip-purpose"),
    "suppliers": ("supplier-tier", "region"),
    "users": ("cost-center", "region"),
    "contracts": ("region", "renewal-owner"),
}
# And the instance's custom fields set through the API (``_instance_fields``).
CUSTOM_FIELDS = with_declared_custom_fields(SEEDED_CUSTOM_FIELDS)

# Child lines that a second resource also serves, one row per line (the PO's order lines are
# /api/purchase_order_lines too): parent resource -> (collection field, mirror resource,
# the line field that holds the parent's id).
LINE_MIRRORS: dict[str, tuple[str, str, str]] = {
    "purchase_orders": ("order-lines", "purchase_order_lines", "order-header-id"),
    "expense_reports": ("expense-lines", "expense_lines", "expense-report-id"),
}

# Line collections whose deleted lines Coupa still shows on request (``show_deleted_lines=
# true`` on purchase orders, coupa-api.md 4.6): (resource, collection field). They are kept
# in the stored record under a key no field has (``deleted_lines_key``), never rendered
# otherwise.
DELETED_LINES_KEPT = frozenset({("purchase_orders", "order-lines")})


def deleted_lines_key(collection: str) -> str:
    """Where a record keeps the deleted lines of a collection."""
    return f"@deleted:{collection}"


# Line collections where a line whose line-num another line of the document already has is
# ignored, neither saved nor refused (coupa-api.md 5.3: requisition lines):
# (resource, collection field).
DUPLICATE_LINE_NUMS_IGNORED = frozenset({("requisitions", "requisition-lines")})

# Derived totals: resource -> (collection, line amount field or "price*quantity",
# parent fields that hold the sum).
TOTALS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "invoices": ("invoice-lines", "price*quantity", ("gross-total", "total-with-taxes")),
    "purchase_orders": ("order-lines", "price*quantity", ("total",)),
    "requisitions": ("requisition-lines", "unit-price*quantity", ("total",)),
    "expense_reports": ("expense-lines", "amount", ("total",)),
}

# Coupa's invoice dispute reasons: per-instance setup with no API resource of its own, so the
# sandbox keeps its own few (INCORRECT_QUANTITY is the one Coupa's dispute example names).
# The dispute action takes an active one by code; ``active`` is not part of the output.
DISPUTE_REASONS: tuple[dict[str, Any], ...] = (
    {"id": 1, "code": "INCORRECT_QUANTITY", "description": "Incorrect quantity", "active": True},
    {"id": 2, "code": "INCORRECT_PRICE", "description": "Incorrect price", "active": True},
    {"id": 3, "code": "DUPLICATE_INVOICE", "description": "Duplicate invoice", "active": True},
    {"id": 4, "code": "NOT_RECEIVED", "description": "Goods not received", "active": True},
    {"id": 5, "code": "OTHER", "description": "Other (retired)", "active": False},
)

# Resources whose PUT may change nothing but the exported flag (coupa-api.md 1.2 receipts).
EXPORTED_ONLY_UPDATES = frozenset({"receiving_transactions"})

# Statuses in which a document is finished and a PUT changes nothing: resource -> statuses.
# Coupa keeps voided and abandoned invoices, cancelled and closed POs and abandoned or
# withdrawn requisitions as records only; the exported flag (``?exported=``) still moves.
FINISHED_STATUSES: dict[str, frozenset[str]] = {
    "invoices": frozenset({"voided", "abandoned"}),
    "purchase_orders": frozenset({"cancelled", "closed"}),
    "requisitions": frozenset({"abandoned", "withdrawn"}),
}

# Resources whose PUT may change only some header fields: resource -> those fields. "PO
# updates are limited to header custom fields, close/cancel, and adding, editing, or
# deleting lines" (coupa-api.md 5.3); close and cancel are header commands.
UPDATABLE_FIELDS: dict[str, frozenset[str]] = {
    "purchase_orders": frozenset(
        {
            "custom-fields",
            "order-lines",
            "exported",
            # A reason insight recorded on the order (EVENT_INPUTS).
            "reason-insight-id",
            "reason-insight-code",
            "reason-insight-event-comment",
        }
    ),
}


@dataclass(frozen=True, slots=True)
class EventInput:
    """Input-only fields of an update that record an event in one of the record's
    collections instead of changing a field: Coupa's Purchase Orders API page updates an
    order with ``<reason-insight-id>`` (or ``-code``) and ``<reason-insight-event-comment>``,
    and its answers list the order's ``reason-insight-events``.

    Attributes:
        collection: The record's collection of events.
        reference: The event's reference to what it records (``reason-insight``).
        keys: Input field -> the key of that reference it gives (``id``, ``code``).
        comment: The input field of the comment, and the event's field that keeps it.
    """

    collection: str
    reference: str
    keys: Mapping[str, str]
    comment: tuple[str, str]

    @property
    def inputs(self) -> frozenset[str]:
        return frozenset({*self.keys, self.comment[0]})


EVENT_INPUTS: dict[str, EventInput] = {
    "purchase_orders": EventInput(
        "reason-insight-events",
        "reason-insight",
        {"reason-insight-id": "id", "reason-insight-code": "code"},
        ("reason-insight-event-comment", "comment"),
    ),
}

# Objects embedded as a fixed small block wherever they are referenced: Coupa's "user
# reference" under created-by, updated-by, approver... (coupa-api.md 3.4).
REFERENCE_BLOCKS: dict[str, tuple[str, ...]] = {
    "users": (
        "id",
        "login",
        "email",
        "employee-number",
        "firstname",
        "lastname",
        "salesforce-id",
        "avatar-thumb-url",
    ),
}


_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


# Fields Coupa computes from a reference of the same record: resource -> (field, reference,
# what of it). ``id`` is the referenced record's id; ``type`` its Rails class, which for the
# sandbox's approvers is always a user (Coupa also has approval groups).
DERIVED_FROM_REFERENCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "approvals": (("approver-id", "approver", "id"), ("approver-type", "approver", "User")),
    "accounts": (("account-type-id", "account-type", "id"),),
}

# Lines that bill an order line carry its numbers: resource -> (line collection, the line's
# order-line id field, then the fields that get the PO number, its order-header number
# and the order line's number). The order lines are /api/purchase_order_lines records.
ORDER_LINE_NUMBERS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "invoices": (
        "invoice-lines",
        "order-line-id",
        ("po-number", "order-header-num"),
        "order-line-num",
    ),
}

# Amounts a document derives from its totals (after ``TOTALS``): its early-payment discount
# (``discount-percent`` of the net total and of the tax) and the totals that leave, and
# the totals in the buying company's currency at its ``exchange-rate``; kept up to date
# whenever its lines change. resource -> the fields, by what they hold.
DISCOUNTED_TOTALS: dict[str, dict[str, str]] = {
    "invoices": {
        "net": "gross-total",
        "tax": "tax-amount",
        "gross": "total-with-taxes",
        "percent": "discount-percent",
        "rate": "exchange-rate",
        "discount": "discount-amount",
        "net_less": "net-total-less-discount",
        "tax_less": "total-taxes-less-discount",
        "gross_less": "gross-total-less-discount",
        "due_less": "amount-due-less-discount",
        "net_at_rate": "origin-currency-net",
        "gross_at_rate": "origin-currency-gross",
        "tax_at_rate": "taxes-in-origin-country-currency",
        "paid": "paid",
    },
}

# Fields of a record that describe one of its document files, set whenever the file is
# stored: file kind -> resource -> (file name fields, content type, size in MB, URL; None
# where the record has no such field). An invoice's image-scan fields name its scan, its
# clearance-document the file /retrieve_clearance_document answers with (Coupa: Invoices API).
_FileFields = tuple[tuple[str, ...], str | None, str | None, str | None]
DOCUMENT_FIELDS: dict[str, dict[str, _FileFields]] = {
    "image_scan": {
        "invoices": (
            ("image-scan", "image-scan-file-name"),
            "image-scan-content-type",
            "image-scan-file-size",
            "image-scan-url",
        ),
    },
    "clearance_document": {"invoices": (("clearance-document",), None, None, None)},
}

# Audit references left out of embedded records and of the copies documents keep of their
# approvals: they repeat on every embedded object and Coupa's samples of embedded objects do
# not carry them.
EMBED_SKIP = frozenset({"created-by", "updated-by"})

# What an approval decides for the document it approves: approvable type ->
# (resource, status on approval, status on rejection).
APPROVABLES: dict[str, tuple[str, str, str]] = {
    "InvoiceHeader": ("invoices", "approved", "rejected"),
    "RequisitionHeader": ("requisitions", "approved", "draft"),
    "ExpenseReport": ("expense_reports", "approved", "rejected"),
    "Contract": ("contracts", "published", "draft"),
}

# Approval statuses that still wait for a decision.
OPEN_APPROVAL_STATUSES = ("pending_approval", "on_hold")

# Documents list their approvals (``approvals``) and the one waiting now
# (``current-approval``, where the object has it); approvals name their document by type
# and id: (type field, id field, document collection field, document current field).
APPROVAL_LINKS = ("approvable-type", "approvable-id", "approvals", "current-approval")


# Stands for "/" inside a collection path a level down (/api/asn/headers) while it is routed
# as one path segment: no resource name holds it.
DEEP_SEPARATOR = "|"


def human_name(name: str) -> str:
    """Rails' humanized attribute name: ``invoice-number`` -> ``Invoice number``."""
    text = name.replace("-", " ").replace("_", " ").strip()
    if text.endswith(" id") and len(text) > 3:
        text = text[:-3]
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class ObjectView:
    """What the sandbox needs to know of one catalog object, computed once.

    Attributes:
        obj: The catalog object.
        stored: Whether its records are rows of their own (a resource) rather than data
            embedded in another record.
        order: Readable field names in output order (id and timestamps first).
        targets: For reference and collection fields, the target object when the catalog
            knows it.
        key_fields: Fields that appear in any lookup key, besides id.
    """

    obj: ObjectDef
    stored: bool
    order: tuple[str, ...]
    targets: Mapping[str, ObjectDef | None] = field(default_factory=dict)
    key_fields: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.obj.name

    def field(self, name: str) -> FieldDef | None:
        return self.obj.fields.get(name)


class Views:
    """Catalog views by object name, built lazily and cached."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        # The sandbox is an instance: it serves its own fields besides the catalog's.
        self.catalog = catalog or sandbox_catalog()
        self._views: dict[str, ObjectView] = {}
        self._put: dict[str, ObjectView] = {}
        self._by_path: dict[str, ObjectDef] = {}
        # Every object of the merged catalog with a collection path is served, those only
        # Coupa's Swagger documents included; where two share a path, the reference tables'
        # object wins (its shape is the one Coupa's samples show).
        ordered = sorted(self.catalog, key=lambda o: o.swagger_only)
        for obj in ordered:
            if obj.resource and obj.resource.startswith("/api/") and ":" not in obj.resource:
                self._by_path.setdefault(obj.resource[len("/api/") :], obj)
        for obj in ordered:
            # The collections its Swagger routes name serve it too (expense artifacts are
            # /api/expense_artifacts in Swagger's paths), and serve the objects the catalog
            # keeps without a resource (coupa-pay-payments at /api/coupa_pay/payments);
            # attachments, files under their documents, have routes of their own.
            if not obj.supported:
                continue
            for route in obj.routes:
                path = route.collection
                if not route.nested and path.startswith("/api/") and ":" not in path:
                    self._by_path.setdefault(path[len("/api/") :], obj)

    def resource(self, segment: str) -> ObjectDef | None:
        """The object served at ``/api/<segment>``, if any (``asn|headers`` for a collection
        a level down, as the router hands it over)."""
        return self._by_path.get(segment.replace(DEEP_SEPARATOR, "/"))

    def deep_resources(self) -> tuple[str, ...]:
        """Collection paths of more than one segment (``asn/headers``), longest first."""
        return tuple(sorted((p for p in self._by_path if "/" in p), key=len, reverse=True))

    def put(self, view: ObjectView) -> None:
        """Serve an object through this view rather than the catalog's own (``_integrations``
        widens a few objects the catalog reads too narrowly)."""
        self._views[view.name] = view
        self._put[view.name] = view

    @property
    def fingerprint(self) -> tuple[object, ...]:
        """What renderings made through these views depend on: the catalog and the views put
        in place of its own. Equal for views that render every record the same way."""
        return (
            id(self.catalog),
            tuple(
                (
                    v.name,
                    v.stored,
                    v.order,
                    v.key_fields,
                    tuple(
                        sorted((n, t.name if t is not None else None) for n, t in v.targets.items())
                    ),
                )
                for _, v in sorted(self._put.items())
            ),
        )

    def target(self, fd: FieldDef) -> ObjectDef | None:
        """The object a reference or collection field points to, if the catalog has it."""
        if fd.ref and fd.ref in self.catalog:
            return self.catalog.get(fd.ref)
        return None

    def view(self, obj: ObjectDef) -> ObjectView:
        """The cached view of an object."""
        found = self._views.get(obj.name)
        if found is None:
            found = self._build(obj)
            self._views[obj.name] = found
        return found

    def _build(self, obj: ObjectDef) -> ObjectView:
        first = [n for n in ("id", "created-at", "updated-at") if n in obj.fields]
        # Every readable field of the merged catalog is rendered, except the few Swagger
        # names that are Rails predicates (users' ``api-user?``): they are no XML element
        # names, and Coupa's payloads show the plain attribute (``api-user``) instead.
        rest = [
            n
            for n, f in obj.fields.items()
            if f.readable and n not in first and _XML_NAME.fullmatch(n)
        ]
        targets = {
            n: self.target(f)
            for n, f in obj.fields.items()
            if f.kind in ("reference", "collection")
        }
        keys = tuple(dict.fromkeys(k for key in obj.lookup_keys for k in key if k != "id"))
        return ObjectView(
            obj=obj,
            stored=bool(obj.resource) and self.resource_name(obj) is not None,
            order=tuple(first + rest),
            targets=targets,
            key_fields=keys,
        )

    def resource_name(self, obj: ObjectDef) -> str | None:
        """The storage name of a resource object (its catalog name), None if embedded."""
        if obj.resource and obj.resource.startswith("/api/"):
            return obj.name
        return None


@functools.cache
def default_views() -> Views:
    """Views over the shipped catalog (one per process)."""
    return Views()
