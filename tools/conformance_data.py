"""Data for ``extract_conformance.py``: the decisions Coupa's sample files cannot make alone,
and the examples of Coupa's documentation pages that ``samples/`` lacks.

Every entry says why. A decision classifies an example (which call a body belongs to, or why
it is not used); it never changes what Coupa printed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """How to read one sample file (``<page number>/<file>``, e.g. ``0081/21.xml``).

    ``kind``: ``request``, ``response``, ``skip`` or ``use`` (read as the rules say, with
    the other attributes set). ``object``, ``mode`` and ``path`` (the URL a request is sent
    to) override what the rules find. ``within`` is where a body that is part of another
    record's goes in the body sent to ``path``: ``tax-lines[].tax-rate`` (a tax rate is
    named inside an invoice's tax line).
    """

    kind: str
    object: str | None = None
    mode: str | None = None
    reason: str = ""
    path: str = ""
    within: str = ""


def skip(reason: str) -> Decision:
    return Decision("skip", reason=reason)


# Pages whose examples are all of another API than the Core API the catalog describes.
_CSO = skip(
    "Coupa Sourcing Optimization (CSO) API: a separate API with its own batch payloads "
    '({"events": [...]}) and ids, outside the Core API the catalog describes.'
)
PAGE_DECISIONS: dict[str, Decision] = {
    "0243": skip(
        "Quality Collaboration API (/qualitycollaboration/api/v1): a separate API with "
        "camelCase JSON (dueDate, supplierId), outside the Core API the catalog describes."
    ),
    **dict.fromkeys(("0463", "0464", "0465", "0466", "0467", "0468"), _CSO),
    "0471": skip(
        "Coupa Supplier Portal API (supplier.coupahost.com/api/v1): a separate API with "
        "snake_case JSON, outside the Core API the catalog describes."
    ),
    "0513": skip("Risk Assess API: a separate API, outside the Core API the catalog describes."),
    "0516": skip("Risk Assess API: a separate API, outside the Core API the catalog describes."),
}


def _one_change(path: str, field: str) -> Decision:
    """A body of one field: an update of one record (a create would need more)."""
    return Decision(
        "use",
        mode="update",
        path=path,
        reason=f"{field} only: an update of one record (PUT {path}); a create needs more.",
    )


SAMPLE_DECISIONS: dict[str, Decision] = {
    "0033/06.xml": _one_change("/api/account_validation_rules/:id", "active"),
    "0039/04.xml": Decision(
        "use",
        mode="create",
        path="/api/budget_lines",
        reason="The page's create of a budget line (POST /api/budget_lines); the URL printed "
        "before it belongs to the GET above.",
    ),
    "0062/06.xml": _one_change("/api/lookup_values/:id", "active"),
    "0062/07.xml": _one_change("/api/lookup_values/:id", "lookup-id"),
    "0072/04.xml": _one_change("/api/suppliers/:supplier_id/addresses/:id", "active"),
    "0072/05.xml": _one_change("/api/suppliers/:supplier_id/addresses/:id", "remit-to-code"),
    "0082/01.txt": skip("Not a URL: '/api/supplier items' has a space where the path needs _."),
    "0094/03.json": skip("The body of the curl call that follows (0094/04.txt), printed twice."),
    "0098/04.xml": Decision(
        "use",
        mode="create",
        path="/api/invoices/:id",
        within="tax-lines[].tax-rate",
        reason="A tax rate named by the attributes Coupa looks tax rates up by 'when creating "
        "or updating tax lines via the Invoices API' (Coupa: Tax Rate API); Coupa has no "
        "tax rate endpoint (neither its tables nor its Swagger list one), so the body goes "
        "in a new tax line of an invoice.",
    ),
    "0109/04.json": skip(
        "A text attachment's body: not a record of a resource (the Attachments API has its own "
        "tests, test_sandbox_attachments.py)."
    ),
    **dict.fromkeys(
        ("0112/01.xml", "0112/02.xml"),
        Decision(
            "use",
            mode="create",
            path="/api/comments",
            reason="The body names the document it comments on (commentable-type and "
            "commentable-id), as POST /api/comments takes it (Swagger: Core Platform); the "
            "page's tables list only the routes under each document.",
        ),
    ),
    "0129/01.xml": skip(
        "A fragment: the taggings of an invoice's lines, not a whole request body."
    ),
    "0163/01.xml": skip(
        "Not well-formed: <custom-fields> is never closed and '...' stands for more fields."
    ),
    "0164/01.xml": skip("Not well-formed: the page's line numbers are printed into the XML."),
    "0164/05.xml": Decision(
        "request",
        mode="update",
        reason="The page's update of a cycle count line and its lots; Coupa's example types "
        "the ids of the body, as answers do.",
    ),
    "0227/01.xml": Decision("use", object="pick_lists"),
    "0227/02.xml": Decision(
        "request",
        object="pick_lists",
        mode="update",
        path="/api/pick_lists/update_fulfillments",
        reason="The page's update of a fulfillment reservation's picked amount, the one "
        "update Coupa lists for pick lists (POST /api/pick_lists/update_fulfillments, the "
        "reservation named by the body's id); the id is typed as in answers.",
    ),
    "0233/01.xml": skip(
        "A template: <id>coupa_line_id</id> stands for the id of the line to delete."
    ),
    "0233/02.xml": Decision(
        "use",
        mode="update",
        path="/api/purchase_orders/:id",
        reason="The page's PUT /api/purchase_orders/:id with a reason insight.",
    ),
    "0233/03.xml": Decision(
        "use",
        mode="update",
        path="/api/purchase_orders/:id",
        reason="The page's PUT /api/purchase_orders/:id with a reason insight.",
    ),
    "0285/03.xml": skip(
        "A template: {Coupa's ID for the supplier} and its siblings stand for the values."
    ),
    "0241/01.xml": skip("A fragment: the account of a purchase order line change."),
    "0241/02.xml": skip("A fragment: the account of a purchase order line change."),
    "0270/01.json": skip("The body of the curl call that follows (0270/02.txt), printed twice."),
    "0270/03.json": skip("The body of the curl call that follows (0270/04.txt), printed twice."),
}


@dataclass(frozen=True)
class PageExample:
    """One example printed on a Coupa documentation page that ``samples/`` does not hold.

    ``text`` is the URL (a query) or the body as the page prints it. ``pair_with`` names the
    fixture id of the same answer in the other format; ``same`` says how alike the page
    shows them: ``record`` (the same record) or ``shape`` (the same fields and types).
    """

    url: str
    kind: str
    text: str
    format: str = ""
    object: str | None = None
    mode: str | None = None
    note: str = ""
    path: str = ""
    pair_with: str = ""
    same: str = ""


_COMPASS = (
    "https://compass.coupa.com/en-us/products/product-documentation/"
    "integration-technical-documentation/the-coupa-core-api"
)
INVOICES_EXAMPLES = (
    f"{_COMPASS}/resources/transactional-resources/invoices-api-(invoices)/"
    "invoices-api-example-calls"
)
INVOICES_EXAMPLES_DITA = (
    "https://compass.coupa.com/_dita_/en-us/documentation/plat/integ/coupa_core_api/topics/"
    "invoices_api_example_calls.dita"
)
CONTRACTS_EXAMPLES = (
    f"{_COMPASS}/resources/transactional-resources/contracts-api-(contracts)/"
    "contract-api-example-calls"
)
REQUISITIONS_EXAMPLES = (
    "https://compass.coupa.com/en-us/products/product-documentation/"
    "integration-technical-documentation/the-coupa-core-api/resources/transactional-resources/"
    "requisitions-api-(/requisitions)/requisitions-api-example-calls"
)
APPROVALS_EXAMPLES = (
    f"{_COMPASS}/resources/transactional-resources/approvals-api-(approvals)/"
    "approvals-api-example-calls"
)
RECEIPTS_EXAMPLES = (
    "https://success.coupa.com/Integrate/Technical_Documentation/API/Resources/Transactional/"
    "inventory_transactions/Receipts_API_Example_Calls"
)
XML_VS_JSON = f"{_COMPASS}/get-started-with-the-api/differences-between-xml-and-json-in-coupa"

PAGE_EXAMPLES: list[PageExample] = [
    PageExample(INVOICES_EXAMPLES, "query", "/api/invoices?supplier[name]=CDW"),
    PageExample(INVOICES_EXAMPLES, "query", "/api/invoices?currency[code]=EUR"),
    PageExample(INVOICES_EXAMPLES, "query", "/api/invoices?invoice-date[gt]=2010-01-01T12:00:00"),
    PageExample(INVOICES_EXAMPLES, "query", "/api/invoices?id=1"),
    PageExample(
        INVOICES_EXAMPLES_DITA,
        "query",
        "/api/invoices/?comments=important invoice&means_of_payment=upi"
        "&payment_order_number=P0 002",
        note="Coupa's page names means_of_payment and payment_order_number as flexible "
        "(custom) fields; the Swagger files list both as invoice fields.",
    ),
    PageExample(
        INVOICES_EXAMPLES_DITA,
        "query",
        "/api/invoices/?comments[starts_with]=im&supplier_id=4&invoice_number=IS 3350",
    ),
    PageExample(CONTRACTS_EXAMPLES, "query", "/api/contracts?status=inactive"),
    PageExample(
        CONTRACTS_EXAMPLES,
        "query",
        "/api/contracts?number=1&name=test&supplier[primary_address[city]]=Seattle",
    ),
    PageExample(
        CONTRACTS_EXAMPLES, "query", "/api/contracts?supplier[primary-contact[name-given]]=Allison"
    ),
    PageExample(CONTRACTS_EXAMPLES, "query", "/api/contracts?id=2"),
    PageExample(REQUISITIONS_EXAMPLES, "query", "/api/requisitions?requested-by[login]=ejohnson"),
    PageExample(
        APPROVALS_EXAMPLES,
        "query",
        "/api/requisitions?status=ordered&created-at[gt]=2010-01-01&created-at[lt]=2010-02-01",
    ),
    PageExample(RECEIPTS_EXAMPLES, "query", "/api/inventory_transactions?id=6"),
    # The XML/JSON page: the same error in both formats, and an account in both (two
    # records of one shape: the page's XML skips fields with a dashed line).
    PageExample(
        XML_VS_JSON,
        "response",
        "<errors><error>Segment 1 - Cost Center can't be blank.</error></errors>",
        format="xml",
        note="An error answer, XML form.",
    ),
    PageExample(
        XML_VS_JSON,
        "response",
        '{"errors": {"account": ["Segment 1 - Cost Center can\'t be blank"]}}',
        format="json",
        note="The same error answer, JSON form (Coupa drops the final period).",
        pair_with="page/14",
        same="record",
    ),
    PageExample(
        XML_VS_JSON,
        "response",
        '<account><id type="integer">41</id>'
        '<created-at type="dateTime">2016-10-07T06:56:43-07:00</created-at>'
        '<updated-at type="dateTime">2016-10-07T06:56:43-07:00</updated-at>'
        "<name>account_1475848602.731066227</name><code>segment11475848602928</code>"
        '<active type="boolean">true</active><segment-1>segment11475848602928</segment-1>'
        '<segment-2 nil="true" /></account>',
        format="xml",
        object="accounts",
        note="An account, XML form (the page elides the remaining segments).",
    ),
    PageExample(
        XML_VS_JSON,
        "response",
        '{"id": 43, "created-at": "2016-10-07T06:59:46-07:00", '
        '"updated-at": "2016-10-07T06:59:46-07:00", "name": "account_1475848721.456090234", '
        '"code": "segment11475848721222", "active": true, "segment-1": "segment11475848721222"}',
        format="json",
        object="accounts",
        note="An account, JSON form.",
        pair_with="page/16",
        same="shape",
    ),
]
