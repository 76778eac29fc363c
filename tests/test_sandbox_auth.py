"""The sandbox's OAuth token endpoint, bearer tokens and API-key mode.

Unit tests drive the signer and the identity provider with a fake clock; the HTTP tests talk
to a real server (uvicorn on a free loopback port) whose ``/api`` is a tiny app, so they
test the authentication layer and nothing behind it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx2
import pytest

from _sandbox_tiny import TINY_SCOPES, TinySandbox, loopback
from coupa_connector.sandbox import default_api_key, default_client_secret
from coupa_connector.sandbox._auth import (
    STANDARD_SCOPES,
    AuthContext,
    AuthService,
    InvalidToken,
    OAuthClient,
    TokenSigner,
    all_scopes,
)


class FakeClock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _payload(token: str) -> dict[str, object]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))  # type: ignore[no-any-return]


CLIENT = OAuthClient("erp", "s3cr3t-value", frozenset({"core.invoice.read"}), "erp-user")


# ---------------------------------------------------------------------------- unit


def test_token_round_trip_carries_client_scopes_and_expiry() -> None:
    clock = FakeClock()
    signer = TokenSigner(ttl=600, clock=clock)
    token, claims = signer.mint(CLIENT, ["core.invoice.read"])
    assert token.count(".") == 2
    verified = signer.verify(token)
    assert verified == claims
    assert verified.client_id == "erp"
    assert verified.scopes == frozenset({"core.invoice.read"})
    assert verified.user_login == "erp-user"
    assert verified.expires_at - verified.issued_at == 600
    payload = _payload(token)
    assert payload["exp"] == claims.expires_at and payload["scope"] == "core.invoice.read"


def test_token_expires_exactly_at_exp() -> None:
    clock = FakeClock()
    signer = TokenSigner(ttl=10, clock=clock)
    token, _ = signer.mint(CLIENT, [])
    clock.now += 9.99
    signer.verify(token)
    clock.now += 0.01
    with pytest.raises(InvalidToken) as info:
        signer.verify(token)
    assert info.value.reason == "expired"


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda t: t + "x", "bad signature"),
        (lambda t: t.rsplit(".", 1)[0], "malformed"),
        (lambda t: "a.b.c", "bad signature"),
        (lambda t: "", "malformed"),
    ],
)
def test_forged_or_broken_tokens_are_refused(mangle: object, reason: str) -> None:
    signer = TokenSigner()
    token, _ = signer.mint(CLIENT, [])
    with pytest.raises(InvalidToken) as info:
        signer.verify(mangle(token))  # type: ignore[operator]
    assert info.value.reason == reason


def test_token_from_another_sandbox_is_refused() -> None:
    token, _ = TokenSigner().mint(CLIENT, [])
    with pytest.raises(InvalidToken):
        TokenSigner().verify(token)


def test_payload_tampering_breaks_the_signature() -> None:
    signer = TokenSigner()
    token, _ = signer.mint(CLIENT, ["core.invoice.read"])
    header, _, signature = token.split(".")
    forged = dict(_payload(token), scope="core.invoice.read core.invoice.write")
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken):
        signer.verify(f"{header}.{body}.{signature}")


def test_secrets_stay_out_of_repr() -> None:
    assert "s3cr3t-value" not in repr(CLIENT)
    service = AuthService([CLIENT], api_key="K" * 40)
    assert "s3cr3t" not in repr(service) and "KKKK" not in repr(service)
    assert "s3cr3t" not in json.dumps(CLIENT.public())


def test_client_authentication() -> None:
    service = AuthService([CLIENT])
    assert service.authenticate_client("erp", "s3cr3t-value") is CLIENT
    assert service.authenticate_client("erp", "wrong") is None
    assert service.authenticate_client("nobody", "s3cr3t-value") is None
    assert service.authenticate_client("erp", "") is None


def test_context_from_headers() -> None:
    service = AuthService([CLIENT], api_key="A" * 40)
    token, _ = service.signer.mint(CLIENT, ["core.invoice.read"])
    assert service.context_for({}) is None
    context = service.context_for({"authorization": f"Bearer {token}"})
    assert context == AuthContext("erp", frozenset({"core.invoice.read"}), "erp-user")
    assert context.allows("core.invoice.read") and not context.allows("core.invoice.write")
    assert context.allows(None)
    with pytest.raises(InvalidToken):
        service.context_for({"authorization": f"Basic {token}"})
    with pytest.raises(InvalidToken) as info:
        service.context_for({"x-coupa-api-key": "A" * 40})
    assert info.value.reason == "api key mode off"
    service.api_key_mode = True
    key_context = service.context_for({"x-coupa-api-key": "A" * 40})
    assert key_context is not None and key_context.scopes is None
    assert key_context.allows("anything.at.all")
    with pytest.raises(InvalidToken):
        service.context_for({"x-coupa-api-key": "B" * 40})


def test_all_scopes_covers_the_documented_list_and_the_catalog() -> None:
    from coupa_connector.catalog import load_catalog

    catalog = load_catalog()
    scopes = all_scopes(catalog)
    assert set(STANDARD_SCOPES) <= set(scopes)
    assert list(scopes) == sorted(set(scopes))
    for obj in catalog:
        for scope in (obj.read_scope, obj.write_scope, *(a.scope for a in obj.actions)):
            assert scope is None or scope in scopes


def test_default_credentials_are_deterministic_per_seed() -> None:
    assert default_client_secret(42) == default_client_secret(42)
    assert default_client_secret(42) != default_client_secret(43)
    key = default_api_key(42)
    assert len(key) == 40 and key.isalnum() and key.isascii()


# ---------------------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
def tiny() -> Iterator[TinySandbox]:
    with TinySandbox() as server:
        server.add_client("reader", "reader-secret", ["core.invoice.read"], login="jdoe")
        yield server


@pytest.fixture
def server(tiny: TinySandbox) -> TinySandbox:
    tiny.admin("PUT", "config", {"token_ttl": 86399, "api_key_mode": False})
    return tiny


def _token(server: TinySandbox, **form: str) -> httpx2.Response:
    data = {"grant_type": "client_credentials", **form}
    return loopback().post(f"{server.url}/oauth2/token", data=data)


def test_token_with_form_fields(server: TinySandbox) -> None:
    r = _token(server, client_id=server.client_id, client_secret=server.client_secret)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 86399
    assert set(body["scope"].split()) == set(TINY_SCOPES)
    assert r.headers["cache-control"] == "no-store"
    who = loopback().get(
        f"{server.url}/api/whoami", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert who.status_code == 200
    assert who.json()["client"] == server.client_id


def test_token_with_http_basic_and_scope_subset(server: TinySandbox) -> None:
    r = loopback().post(
        f"{server.url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "core.invoice.read"},
        auth=("reader", "reader-secret"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "core.invoice.read"
    who = loopback().get(
        f"{server.url}/api/whoami",
        headers={"Authorization": f"Bearer {r.json()['access_token']}"},
    )
    assert who.json() == {"client": "reader", "scopes": ["core.invoice.read"], "login": "jdoe"}


def test_bad_secret_is_invalid_client(server: TinySandbox) -> None:
    r = _token(server, client_id=server.client_id, client_secret="wrong")
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    r = loopback().post(
        f"{server.url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(server.client_id, "wrong"),
    )
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic")
    assert "wrong" not in r.text


def test_unknown_client_and_missing_client(server: TinySandbox) -> None:
    assert _token(server, client_id="ghost", client_secret="x").json()["error"] == "invalid_client"
    r = _token(server)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_scope_beyond_the_client_is_invalid_scope(server: TinySandbox) -> None:
    r = _token(
        server,
        client_id="reader",
        client_secret="reader-secret",
        scope="core.invoice.read core.invoice.write",
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"
    assert "core.invoice.write" in r.json()["error_description"]


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
    ],
)
def test_grant_type_checks(server: TinySandbox, form: dict[str, str], error: str) -> None:
    data = {"client_id": server.client_id, "client_secret": server.client_secret, **form}
    if not form:
        data.pop("grant_type", None)
    r = loopback().post(f"{server.url}/oauth2/token", data=data)
    assert r.status_code == 400
    assert r.json()["error"] == error


def test_token_endpoint_wants_a_form_post(server: TinySandbox) -> None:
    creds = {"client_id": server.client_id, "client_secret": server.client_secret}
    r = loopback().post(
        f"{server.url}/oauth2/token", json={"grant_type": "client_credentials", **creds}
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert loopback().get(f"{server.url}/oauth2/token").status_code == 405
    r = loopback().post(
        f"{server.url}/oauth2/token",
        content=b"\xff\xfe" * 10,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    r = loopback().post(
        f"{server.url}/oauth2/token",
        content=b"a=" + b"x" * 100_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    r = loopback().post(
        f"{server.url}/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic !!!not-base64"},
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_missing_token_is_401_in_both_formats(server: TinySandbox) -> None:
    r = loopback().get(f"{server.url}/api/things")
    assert r.status_code == 401
    assert "<errors>" in r.text and r.headers["www-authenticate"].startswith("Bearer")
    r = loopback().get(f"{server.url}/api/things", headers={"Accept": "application/json"})
    assert r.status_code == 401
    assert list(r.json()["errors"]) == ["base"]


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Bearer a.b.c", "Bearer  x", "Token abc", "bearer"],
)
def test_bad_authorization_header_is_401(server: TinySandbox, header: str) -> None:
    r = loopback().get(
        f"{server.url}/api/things", headers={"Authorization": header, "Accept": "application/json"}
    )
    assert r.status_code == 401
    assert r.json()["errors"]["base"]


def test_expired_token_is_401(server: TinySandbox) -> None:
    import time

    server.set_token_ttl(1)
    r = _token(server, client_id=server.client_id, client_secret=server.client_secret)
    assert r.json()["expires_in"] == 1
    token = r.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    # Wait only until the token's own expiry instant has passed.
    exp = float(_payload(token)["exp"])  # type: ignore[arg-type]
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    r = loopback().get(f"{server.url}/api/whoami", headers=headers)
    assert r.status_code == 401
    assert "expired" in r.json()["errors"]["base"][0]
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_api_key_mode(server: TinySandbox) -> None:
    headers = {"X-COUPA-API-KEY": server.api_key, "Accept": "application/json"}
    r = loopback().get(f"{server.url}/api/whoami", headers=headers)
    assert r.status_code == 401
    assert "API keys are not accepted" in r.json()["errors"]["base"][0]
    server.set_api_key_mode(True)
    r = loopback().get(f"{server.url}/api/whoami", headers=headers)
    assert r.status_code == 200
    assert r.json() == {"client": "api-key", "scopes": None, "login": "coupa_admin"}
    wrong = {**headers, "X-COUPA-API-KEY": "x" * 40}
    assert loopback().get(f"{server.url}/api/whoami", headers=wrong).status_code == 401
    # OAuth keeps working in API-key mode.
    token = _token(server, client_id=server.client_id, client_secret=server.client_secret)
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert loopback().get(f"{server.url}/api/whoami", headers=bearer).status_code == 200


def test_clients_added_and_removed_at_run_time(server: TinySandbox) -> None:
    server.add_client("temp", "temp-secret", ["core.common.read"])
    listed = server.admin("GET", "clients")
    assert {"client_id": "temp", "scopes": ["core.common.read"], "login": "coupa_admin"} in listed
    assert all("secret" not in json.dumps(c) for c in listed)
    assert _token(server, client_id="temp", client_secret="temp-secret").status_code == 200
    server.remove_client("temp")
    assert _token(server, client_id="temp", client_secret="temp-secret").status_code == 401


def test_sandbox_with_start_up_clients() -> None:
    extra = OAuthClient("ap", "ap-secret", frozenset({"core.invoice.read"}), "ap-user")
    with TinySandbox(clients=(extra,), seed=7, client_id="main") as server:
        assert server.client_id == "main"
        assert server.client_secret == default_client_secret(7)
        r = _token(server, client_id="ap", client_secret="ap-secret")
        assert r.status_code == 200 and r.json()["scope"] == "core.invoice.read"


def test_sandbox_objects_keep_their_secrets_out_of_repr() -> None:
    from coupa_connector.sandbox import Sandbox, SandboxSettings

    settings = SandboxSettings(client_secret="top-secret-1", admin_secret="top-secret-2").resolved()
    server = Sandbox(client_secret="top-secret-1", admin_secret="top-secret-2")
    for text in (repr(settings), repr(server), repr(server.settings)):
        assert "top-secret" not in text
        assert server.api_key not in text


def test_unknown_sandbox_option_is_a_configuration_error() -> None:
    from coupa_connector.errors import ConfigurationError
    from coupa_connector.sandbox import Sandbox

    with pytest.raises(ConfigurationError, match="colour"):
        Sandbox(colour="blue")
    with pytest.raises(ConfigurationError, match="token_ttl"):
        Sandbox(token_ttl=0)


def test_admin_log_lines_name_clients_but_not_secrets(
    tiny: TinySandbox, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="coupa_connector.sandbox"):
        tiny.add_client("logged", "logged-secret-value", ["core.common.read"])
    assert "logged" in caplog.text
    assert "logged-secret-value" not in caplog.text


def test_a_token_lives_at_least_its_ttl_whenever_it_is_minted() -> None:
    clock = FakeClock(1_700_000_000.9)
    signer = TokenSigner(ttl=1, clock=clock)
    token, _ = signer.mint(CLIENT, [])
    clock.now += 0.999
    signer.verify(token)


def test_revoked_tokens_are_refused_and_new_ones_work() -> None:
    signer = TokenSigner(ttl=60)
    client = OAuthClient("c", "s", frozenset({"core.invoice.read"}))
    old, _ = signer.mint(client, client.scopes)
    signer.verify(old)  # known, and cached
    signer.revoke_all()
    with pytest.raises(InvalidToken):
        signer.verify(old)
    new, _ = signer.mint(client, client.scopes)
    assert signer.verify(new).client_id == "c"
