"""How much of what Coupa documents the sandbox's answers hold, per main object: the share of
documented elements present in every record of a page, and the share of documented fields
null in every record of it. Both figures are printed."""

from __future__ import annotations

import pytest

from _sandbox_api_support import Api
from coupa_connector.sandbox._objects import default_views

# The main objects of the procure-to-pay chain and the records around it (issue 13).
RESOURCES = (
    "approvals",
    "contracts",
    "expense_reports",
    "invoices",
    "purchase_orders",
    "receiving_transactions",
    "requisitions",
    "suppliers",
    "users",
)
# Coupa's records carry most of their documented fields: at least this share present in
# every record, and fewer than this share null in all of them.
PRESENT_AT_LEAST = 0.95
NULL_BELOW = 0.20


def figures(api: Api, resource: str) -> tuple[float, float, int]:
    """(share of documented elements in every record, share of documented fields null in
    every record, records looked at). Documented: the fields of Coupa's reference tables."""
    view = default_views().view(default_views().catalog.get(resource))
    documented = [n for n in view.order if "tables" in view.obj.fields[n].sources]
    records = api.get(f"/api/{resource}", {"limit": 50}).json()
    assert records, resource
    present = sum(all(n in r for r in records) for n in documented) / len(documented)
    null = sum(all(r.get(n) is None for r in records) for n in documented) / len(documented)
    return present, null, len(records)


@pytest.mark.parametrize("resource", RESOURCES)
def test_coverage_of_documented_elements(api: Api, resource: str) -> None:
    present, null, count = figures(api, resource)
    print(
        f"\n  coverage {resource}: {present:.0%} of documented elements present, "
        f"{null:.0%} of documented fields null in all {count} records"
    )
    assert present >= PRESENT_AT_LEAST
    assert null < NULL_BELOW
