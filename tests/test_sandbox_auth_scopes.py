"""Scopes against the real Coupa API: 403 without the object's or action's scope."""

from __future__ import annotations

import pytest

from _sandbox_tiny import client, loopback, mint_token
from coupa_connector.sandbox import Sandbox


def _headers(sandbox: Sandbox, client_id: str, secret: str, accept: str) -> dict[str, str]:
    token = mint_token(sandbox, client_id, secret)
    return {"Authorization": f"Bearer {token}", "Accept": accept}


@pytest.fixture
def reader(sandbox: Sandbox) -> dict[str, str]:
    sandbox.add_client("supplier-reader", "reader-secret", ["core.supplier.read"])
    return _headers(sandbox, "supplier-reader", "reader-secret", "application/json")


def test_read_scope_allows_its_object_only(sandbox: Sandbox, reader: dict[str, str]) -> None:
    assert loopback().get(f"{sandbox.url}/api/suppliers", headers=reader).status_code == 200
    denied = loopback().get(f"{sandbox.url}/api/invoices", headers=reader)
    assert denied.status_code == 403
    assert denied.json()["errors"]
    xml = loopback().get(
        f"{sandbox.url}/api/invoices", headers={**reader, "Accept": "application/xml"}
    )
    assert xml.status_code == 403 and "<errors>" in xml.text


def test_write_needs_the_write_scope(sandbox: Sandbox, reader: dict[str, str]) -> None:
    r = loopback().post(f"{sandbox.url}/api/suppliers", headers=reader, json={"name": "Nope Inc"})
    assert r.status_code == 403
    found = loopback().get(
        f"{sandbox.url}/api/suppliers", headers=reader, params={"name": "Nope Inc"}
    )
    assert found.json() == []


def test_token_with_fewer_scopes_than_the_client(sandbox: Sandbox) -> None:
    token = mint_token(sandbox, sandbox.client_id, sandbox.client_secret, "core.common.read")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    assert loopback().get(f"{sandbox.url}/api/currencies", headers=headers).status_code == 200
    assert loopback().get(f"{sandbox.url}/api/invoices", headers=headers).status_code == 403


def test_default_client_reaches_every_resource(sandbox: Sandbox) -> None:
    from coupa_connector.catalog import load_catalog

    headers = _headers(sandbox, sandbox.client_id, sandbox.client_secret, "application/json")
    with client(sandbox.url, headers) as http:
        for obj in load_catalog().resources():
            if not obj.can_query or not obj.supported or obj.resource is None:
                continue
            r = http.get(obj.resource, params={"limit": 1})
            assert r.status_code != 403, f"{obj.name}: {r.text[:200]}"
            assert r.status_code < 500, f"{obj.name}: {r.status_code} {r.text[:200]}"


def test_api_key_may_do_everything(sandbox: Sandbox) -> None:
    sandbox.set_api_key_mode(True)
    headers = {"X-COUPA-API-KEY": sandbox.api_key, "Accept": "application/json"}
    assert loopback().get(f"{sandbox.url}/api/invoices", headers=headers).status_code == 200
    sandbox.set_api_key_mode(False)
    assert loopback().get(f"{sandbox.url}/api/invoices", headers=headers).status_code == 401
