"""The sandbox's integration monitoring objects: integrations, runs (a state machine),
errors and history records, with Coupa's integration scopes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from _sandbox_api_support import Api, messages
from _sandbox_tiny import loopback, mint_token
from coupa_connector.sandbox import Sandbox


def _integration(api: Api) -> dict[str, Any]:
    code = f"INT-{uuid.uuid4().hex[:8]}"
    r = api.post(
        "/api/integrations",
        {
            "code": code,
            "name": f"Invoices to ERP {code}",
            "direction": "from_coupa",
            "end-system": "ERP",
            "end-system-type": "erp",
            "business-object": "Invoice",
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _run(api: Api, code: str, **body: Any) -> dict[str, Any]:
    r = api.post("/api/integration_runs", {"integration": {"code": code}, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_run_is_created_pending_for_an_integration_named_by_code(api: Api) -> None:
    integration = _integration(api)
    run = _run(api, integration["code"], **{"total-records": 12, "status": "successful"})
    # The status is Coupa's to set: a new run is pending whatever the body says.
    assert run["status"] == "pending"
    assert run["integration"]["id"] == integration["id"]
    assert run["total-records"] == 12
    assert run["max-updated-at"] is None


def test_an_unknown_integration_code_is_refused(api: Api) -> None:
    r = api.post("/api/integration_runs", {"integration": {"code": "NO-SUCH-CODE"}})
    assert r.status_code == 422 or r.status_code == 400
    assert any("Integration" in m for m in messages(r))


def test_the_run_state_machine(api: Api) -> None:
    code = _integration(api)["code"]
    rid = _run(api, code)["id"]
    steps = [("run", "running"), ("pause", "paused"), ("run", "running")]
    for action, status in steps:
        r = api.put(f"/api/integration_runs/{rid}/{action}", {})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status
    assert r.json()["start-time"] is not None
    r = api.put(f"/api/integration_runs/{rid}/success", {"records-processed": 11})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "successful"
    assert done["records-processed"] == 11 and done["end-time"] is not None
    # A finished run stays finished, and the answer names its status.
    for action in ("run", "fail", "pending"):
        again = api.put(f"/api/integration_runs/{rid}/{action}", {})
        assert again.status_code == 400
        assert "successful" in " ".join(messages(again))
    assert api.get(f"/api/integration_runs/{rid}").json()["status"] == "successful"


def test_pause_needs_a_running_run(api: Api) -> None:
    rid = _run(api, _integration(api)["code"])["id"]
    r = api.put(f"/api/integration_runs/{rid}/pause", {})
    assert r.status_code == 400
    assert "pending" in " ".join(messages(r))


def test_max_updated_at_is_kept_and_queried_back(api: Api) -> None:
    code = _integration(api)["code"]
    rid = _run(api, code)["id"]
    stamp = "2026-03-04T05:06:07+00:00"
    r = api.put(f"/api/integration_runs/{rid}/max_updated_at", {"max-updated-at": stamp})
    assert r.status_code == 200, r.text
    assert r.json()["max-updated-at"] == stamp
    assert r.json()["status"] == "pending"
    api.put(f"/api/integration_runs/{rid}/run", {})
    api.put(f"/api/integration_runs/{rid}/success", {})
    found = api.get(
        "/api/integration_runs",
        {"integration[code]": code, "status": "successful", "order_by": "id", "dir": "desc"},
    )
    assert [run["max-updated-at"] for run in found.json()] == [stamp]
    xml = api.get(f"/api/integration_runs/{rid}", fmt="xml")
    assert f'<max-updated-at type="datetime">{stamp}</max-updated-at>' in xml.text


def test_errors_and_history_records_belong_to_a_run(api: Api) -> None:
    code = _integration(api)["code"]
    rid = _run(api, code)["id"]
    error = {
        "integration-run": {"id": rid},
        "contact-alert-type": "Functional",
        "document-type": "Supplier",
        "document-id": 7,
        "status": "Error",
        "responses": [{"response-code": "422", "response-message": "Name can't be blank"}],
    }
    r = api.post("/api/integration_errors", error)
    assert r.status_code == 201, r.text
    history = {
        "integration": {"code": code},
        "integration-run": {"id": rid},
        "contact-alert-type": "Functional",
        "document-type": "InvoiceHeader",
        "document-id": 9,
        "status": "Success",
    }
    assert api.post("/api/integration_history_records", history).status_code == 201
    errors = api.get("/api/integration_errors", {"integration-run[id]": rid}).json()
    assert [(e["document-id"], e["responses"][0]["response-message"]) for e in errors] == [
        (7, "Name can't be blank")
    ]
    records = api.get("/api/integration_history_records", {"integration[code]": code}).json()
    assert [h["document-id"] for h in records] == [9]
    missing = dict(error)
    del missing["contact-alert-type"]
    r = api.post("/api/integration_errors", missing)
    assert r.status_code in (400, 422)
    assert any("Contact alert type" in m for m in messages(r))


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/integration_runs"), ("PUT", "/api/integration_runs/1/run")],
)
def test_writes_need_the_integration_write_scope(sandbox: Sandbox, method: str, path: str) -> None:
    token = mint_token(sandbox, sandbox.client_id, sandbox.client_secret, "core.integration.read")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    r = loopback().request(method, f"{sandbox.url}{path}", headers=headers, json={})
    assert r.status_code == 403
    assert "core.integration.write" in r.text
    assert loopback().get(f"{sandbox.url}/api/integration_runs", headers=headers).status_code == 200


@pytest.mark.parametrize("resource", ["integration_errors", "integration_history_records"])
def test_errors_and_history_records_are_resolved_and_unresolved(api: Api, resource: str) -> None:
    code = _integration(api)["code"]
    rid = _run(api, code)["id"]
    body = {
        "integration": {"code": code},
        "integration-run": {"id": rid},
        "contact-alert-type": "Functional",
        "document-type": "Supplier",
        "document-id": 5,
        "status": "Error",
    }
    created = api.post(f"/api/{resource}", body)
    assert created.status_code == 201, created.text
    eid = created.json()["id"]
    assert created.json()["resolved"] is False
    again = api.put(f"/api/{resource}/{eid}/unresolve", {})
    assert again.status_code == 400 and "unresolved already" in " ".join(messages(again))
    done = api.put(f"/api/{resource}/{eid}/resolve", {})
    assert done.status_code == 200 and done.json()["resolved"] is True
    assert api.put(f"/api/{resource}/{eid}/resolve", {}).status_code == 400
    back = api.put(f"/api/{resource}/{eid}/unresolve", {})
    assert back.status_code == 200 and back.json()["resolved"] is False
