"""The token endpoint as OAuth 2.0 servers take it: form body, HTTP Basic with an empty body,
credentials in the query string; throttled like the API; RFC 6749's error codes; and a default
client holding every scope Coupa documents."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from _sandbox_tiny import TinySandbox, loopback
from _shared_docs import SWAGGER, needs_shared
from coupa_connector.catalog import load_catalog
from coupa_connector.sandbox import all_scopes
from coupa_connector.sandbox._auth import documented_scopes


@pytest.fixture(scope="module")
def tiny() -> Iterator[TinySandbox]:
    with TinySandbox() as server:
        server.add_client("reader", "reader-secret", ["core.invoice.read"], login="jdoe")
        yield server


@pytest.fixture
def server(tiny: TinySandbox) -> Iterator[TinySandbox]:
    tiny.admin("PUT", "rate-limit", {"enabled": False})
    yield tiny
    tiny.admin("PUT", "rate-limit", {"enabled": False, "rate": 25, "burst": 20})


def _granted(response: httpx2.Response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer" and body["access_token"].count(".") == 2
    return str(body["scope"])


def test_credentials_as_query_parameters(server: TinySandbox) -> None:
    # Workato-style and several iPaaS recipes put every parameter in the URL.
    params = {
        "grant_type": "client_credentials",
        "client_id": "reader",
        "client_secret": "reader-secret",
        "scope": "core.invoice.read",
    }
    assert _granted(loopback().post(f"{server.url}/oauth2/token", params=params)) == (
        "core.invoice.read"
    )


def test_http_basic_with_an_empty_body(server: TinySandbox) -> None:
    response = loopback().post(
        f"{server.url}/oauth2/token",
        params={"grant_type": "client_credentials"},
        auth=("reader", "reader-secret"),
    )
    assert _granted(response) == "core.invoice.read"


def test_form_body_wins_over_the_query_string(server: TinySandbox) -> None:
    response = loopback().post(
        f"{server.url}/oauth2/token",
        params={"client_secret": "wrong"},
        data={
            "grant_type": "client_credentials",
            "client_id": "reader",
            "client_secret": "reader-secret",
        },
    )
    assert _granted(response) == "core.invoice.read"


@pytest.mark.parametrize(
    ("params", "data", "status", "error"),
    [
        ({}, {"grant_type": "client_credentials"}, 401, "invalid_client"),
        ({}, {"client_id": "reader", "client_secret": "reader-secret"}, 400, "invalid_request"),
        (
            {},
            {"grant_type": "password", "client_id": "reader", "client_secret": "reader-secret"},
            400,
            "unsupported_grant_type",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "reader", "client_secret": "x"},
            None,
            401,
            "invalid_client",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "reader"},
            {"client_secret": "reader-secret", "scope": "core.invoice.write"},
            400,
            "invalid_scope",
        ),
    ],
)
def test_errors_use_rfc_6749_codes(
    server: TinySandbox,
    params: dict[str, str],
    data: dict[str, str] | None,
    status: int,
    error: str,
) -> None:
    response = loopback().post(f"{server.url}/oauth2/token", params=params, data=data)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and body["error_description"]
    assert "reader-secret" not in response.text


def test_a_repeated_parameter_is_an_invalid_request(server: TinySandbox) -> None:
    response = loopback().post(
        f"{server.url}/oauth2/token",
        content=b"grant_type=client_credentials&client_id=reader&client_id=other",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_the_token_endpoint_is_throttled_like_the_api(server: TinySandbox) -> None:
    server.admin("PUT", "rate-limit", {"enabled": True, "rate": 0.5, "burst": 3})
    http = loopback()
    data = {"grant_type": "client_credentials", "client_id": "reader", "client_secret": "x"}
    statuses = [http.post(f"{server.url}/oauth2/token", data=data) for _ in range(5)]
    codes = [r.status_code for r in statuses]
    assert codes[:3] == [401, 401, 401] and 429 in codes[3:], codes
    limited = next(r for r in statuses if r.status_code == 429)
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"] == "temporarily_unavailable"


@needs_shared(SWAGGER)
def test_the_shipped_scope_list_is_the_swaggers() -> None:
    import subprocess
    import sys
    from pathlib import Path

    tool = Path(__file__).resolve().parents[1] / "tools" / "sandbox_scopes.py"
    check = subprocess.run(
        [sys.executable, str(tool), "--swagger", str(SWAGGER), "--check"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


def test_the_default_client_holds_every_documented_scope() -> None:
    scopes = set(all_scopes(load_catalog()))
    documented = set(documented_scopes())
    assert len(documented) >= 100
    assert documented <= scopes
    # Names published clients ask for (an agent tool kit's default list, a data-platform
    # source's setup guide): all Coupa's own.
    for name in ("core.pay.payments.read", "core.sourcing.read", "core.project.read"):
        assert name in scopes


def test_a_client_asking_for_coupas_scopes_gets_them(sandbox_server: object) -> None:
    from coupa_connector.sandbox import Sandbox

    assert isinstance(sandbox_server, Sandbox)
    wanted = "core.pay.payments.read core.legal_entity.read core.invoice.read"
    response = loopback().post(
        f"{sandbox_server.url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": wanted},
        auth=(sandbox_server.client_id, sandbox_server.client_secret),
    )
    assert set(_granted(response).split()) == set(wanted.split())
