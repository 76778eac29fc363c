"""What the sandbox reads as leniently as Coupa's Rails back end: dates, trailing slashes,
the exported flag in a PUT body."""

from __future__ import annotations

import pytest

from _sandbox_api_support import Api, messages
from coupa_connector.sandbox._types import KindError, parse_instant

pytestmark = pytest.mark.usefixtures("pristine_data_afterwards")


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("2011-01-1", "2011-01-01T00:00:00+00:00"),  # Coupa's query documentation
        ("'2015-04-16 22:00:00'", "2015-04-16T22:00:00+00:00"),  # quoted, Coupa's docs again
        ("2024-01-31 18:38:00 UTC", "2024-01-31T18:38:00+00:00"),  # Ruby's Time#to_s
        ("2010-03-25T18:38:00-07:00", "2010-03-26T01:38:00+00:00"),
        ("2024-05-01T17:00:00.250+0200", "2024-05-01T15:00:00+00:00"),
        ('"2024-05-01"', "2024-05-01T00:00:00+00:00"),
    ],
)
def test_dates_are_read_as_rails_reads_them(text: str, stored: str) -> None:
    assert parse_instant(text) == stored


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "2024-02-30", "2024-01-01T25:00"])
def test_what_is_no_date_is_still_refused(text: str) -> None:
    with pytest.raises(KindError):
        parse_instant(text)


@pytest.mark.parametrize("value", ["2011-01-1", "'2015-04-16 22:00:00'", "2024-01-31 18:38:00 UTC"])
def test_lenient_dates_work_in_filters(api: Api, value: str) -> None:
    response = api.get("/api/invoices", {"updated-at[gt]": value, "limit": 1})
    assert response.status_code == 200, response.text
    assert len(response.json()) == 1


def test_a_refused_date_filter_names_the_value(api: Api) -> None:
    response = api.get("/api/invoices", {"updated-at[gt]": "soon"})
    assert response.status_code == 400
    assert any("'soon' is not a valid date and time" in m for m in messages(response))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_trailing_slash_is_served_like_the_path_without_it(api: Api, fmt: str) -> None:
    plain = api.get("/api/suppliers", {"limit": 2}, fmt=fmt)
    slashed = api.get("/api/suppliers/", {"limit": 2}, fmt=fmt)
    assert slashed.status_code == 200 == plain.status_code
    assert slashed.content == plain.content
    one = api.get(f"/api/suppliers/{api.one('suppliers')['id']}/", fmt=fmt)
    assert one.status_code == 200


def test_a_post_with_a_trailing_slash_creates(api: Api) -> None:
    response = api.post("/api/lookups/", {"name": "Slash lookup", "active": True})
    assert response.status_code == 201, response.text


def test_exported_in_a_put_body_marks_the_record(api: Api) -> None:
    invoice = api.one("invoices", {"exported": "false"})
    xml = '<invoice-header><exported type="boolean">true</exported></invoice-header>'
    response = api.put_xml(f"/api/invoices/{invoice['id']}", xml)
    assert response.status_code == 200, response.text
    after = api.get(f"/api/invoices/{invoice['id']}").json()
    assert after["exported"] is True and after["last-exported-at"] is not None
    assert invoice["id"] not in api.ids("invoices", {"exported": "false", "id": invoice["id"]})


def test_exported_in_a_json_body_with_other_changes(api: Api) -> None:
    invoice = api.one("invoices", {"exported": "true", "status": "approved"})
    response = api.put(
        f"/api/invoices/{invoice['id']}", {"exported": False, "internal-note": "re-export"}
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["exported"] is False and after["internal-note"] == "re-export"
    assert after["last-exported-at"] == invoice["last-exported-at"]


def test_exported_in_a_receipt_body(api: Api) -> None:
    # Receipts take only the flag; the ERP bundles send it in the body.
    receipt = api.one("receiving_transactions", {"exported": "false"})
    response = api.put(f"/api/receiving_transactions/{receipt['id']}", {"exported": True})
    assert response.status_code == 200, response.text
    assert response.json()["exported"] is True


def test_a_body_exported_that_is_no_boolean_is_refused(api: Api) -> None:
    invoice = api.one("invoices")
    response = api.put(f"/api/invoices/{invoice['id']}", {"exported": "perhaps"})
    assert response.status_code == 400
    assert any("Exported is not a boolean" in m for m in messages(response))
