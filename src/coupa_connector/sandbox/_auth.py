"""OAuth 2.0 for the sandbox: clients, signed bearer tokens, the token endpoint, and the
authentication gate in front of ``/api``.

Coupa issues OpenID Connect access tokens through the client-credentials grant
(``POST /oauth2/token``) and checks ``Authorization: Bearer`` on every API call; the legacy
``X-COUPA-API-KEY`` header survives here as an opt-in mode for pre-R35 integrations.
Tokens are JWT-shaped (``header.payload.signature``, HMAC-SHA256 with a key that lives only
in this process), so a restarted sandbox rejects old tokens and clients must mint again,
just as they must after a real token expires.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import math
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from coupa_connector.sandbox._wire import error_response

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from coupa_connector.catalog import Catalog

__all__ = [
    "DEFAULT_LOGIN",
    "DEFAULT_TOKEN_TTL",
    "STANDARD_SCOPES",
    "AuthContext",
    "AuthGate",
    "AuthService",
    "InvalidToken",
    "OAuthClient",
    "TokenClaims",
    "TokenSigner",
    "all_scopes",
]

DEFAULT_TOKEN_TTL = 86399
# The seed's administrator: a user that always exists, so writes made through the default
# credentials have a real created-by/updated-by.
DEFAULT_LOGIN = "coupa_admin"
TOKEN_PATH = "/oauth2/token"
API_KEY_HEADER = "x-coupa-api-key"
# Verified tokens kept for reuse before the memo starts over.
_VERIFIED_TOKENS = 1024
# A token request is a handful of form fields; anything bigger is refused unread.
MAX_TOKEN_REQUEST_BYTES = 64 * 1024

# Scopes from Coupa's scope-to-permission list (coupa-api.md 2.2) and the OIDC standard ones.
# The catalog adds whatever its objects and actions name on top of these.
STANDARD_SCOPES: tuple[str, ...] = (
    "core.accounting.read",
    "core.accounting.write",
    "core.approval.read",
    "core.approval.write",
    "core.budget.read",
    "core.budget.write",
    "core.catalog.read",
    "core.catalog.write",
    "core.comment.read",
    "core.comment.write",
    "core.common.read",
    "core.common.write",
    "core.contract.read",
    "core.contract.write",
    "core.expense.read",
    "core.expense.write",
    "core.integration.read",
    "core.integration.write",
    "core.inventory.receiving.read",
    "core.inventory.receiving.write",
    "core.inventory.transaction.read",
    "core.invoice.approval.bypass",
    "core.invoice.approval.write",
    "core.invoice.create",
    "core.invoice.delete",
    "core.invoice.read",
    "core.invoice.write",
    "core.item.read",
    "core.item.write",
    "core.purchase_order.read",
    "core.purchase_order.write",
    "core.requisition.read",
    "core.requisition.write",
    "core.supplier.read",
    "core.supplier.write",
    "core.uom.read",
    "core.uom.write",
    "core.user.read",
    "core.user.write",
    "core.user_group.read",
    "core.user_group.write",
    "email",
    "login",
    "offline_access",
    "openid",
    "profile",
    # Names of Coupa's R34.3 scope list (coupa-api.md 2.2, Rossum's copy of it) and of a
    # published client's token request that the Swagger files do not list.
    "core.expense.secure.read",
    "core.expense.secure.write",
    "core.global_navigation.read",
    "core.pay.charges.read",
    "core.pay.charges.write",
    "core.pay.payment_accounts.read",
    "core.pay.statements.read",
    "core.pay.statements.write",
    "core.pay.virtual_cards.read",
    "core.pay.virtual_cards.write",
    "core.payables.expense.read",
    "core.payables.expenses.write",
    "core.supplier_sites.read",
    "core.supplier_sites.write",
    "core.invoice.assignment.read",
    "core.notifications_summary.read",
    "core.punchout_site.read",
    "core.purchase_order_change.read",
    "core.requisition.assignment.read",
    "core.translation.read",
    "travel_booking.common.read",
    "travel_booking.search.write",
    "travel_booking.team.read",
    "travel_booking.team.write",
    "travel_booking.trip.read",
    "travel_booking.trip.write",
    "travel_booking.user.read",
    "travel_booking.user.write",
    "treasury.cash_management.delete",
    "treasury.cash_management.read",
    "treasury.cash_management.write",
)


@functools.cache
def documented_scopes() -> tuple[str, ...]:
    """The scopes Coupa's Swagger files document (``scopes.json``, written by
    ``tools/sandbox_scopes.py``)."""
    text = resources.files("coupa_connector.sandbox").joinpath("scopes.json").read_text("utf-8")
    return tuple(sorted(json.loads(text)["scopes"]))


def all_scopes(catalog: Catalog | None = None) -> tuple[str, ...]:
    """Every scope the sandbox knows: Coupa's documented lists (coupa-api.md 2.2 and the
    Swagger files') plus the catalog's.

    Args:
        catalog: The object catalog; its read, write and action scopes are added.

    Returns:
        The scopes, sorted and without duplicates.
    """
    found = set(STANDARD_SCOPES) | set(documented_scopes())
    if catalog is not None:
        for obj in catalog:
            found.update(s for s in (obj.read_scope, obj.write_scope) if s)
            found.update(a.scope for a in obj.actions if a.scope)
    return tuple(sorted(found))


@dataclass(frozen=True, slots=True)
class AuthContext:
    """Who is calling, as the API handlers see it in ``scope["coupa.auth"]``.

    Attributes:
        client_id: The OAuth client (or ``"api-key"`` in API-key mode).
        scopes: Granted scopes; None means an API key, which may do everything.
        user_login: The Coupa user that changes made by this caller are attributed to.
    """

    client_id: str
    scopes: frozenset[str] | None
    user_login: str

    def allows(self, scope: str | None) -> bool:
        """Whether the caller holds ``scope`` (None, an unscoped action, is always allowed)."""
        return scope is None or self.scopes is None or scope in self.scopes


@dataclass(frozen=True, slots=True)
class OAuthClient:
    """An OAuth client registered with the sandbox.

    Attributes:
        client_id: The identifier the client sends.
        client_secret: Its secret; kept out of ``repr``.
        scopes: The scopes it may request.
        login: The Coupa user its changes are attributed to.
    """

    client_id: str
    client_secret: str = field(repr=False)
    scopes: frozenset[str]
    login: str = DEFAULT_LOGIN

    def public(self) -> dict[str, Any]:
        """A description safe to show: everything but the secret."""
        return {"client_id": self.client_id, "scopes": sorted(self.scopes), "login": self.login}


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says."""

    client_id: str
    scopes: frozenset[str]
    user_login: str
    issued_at: int
    expires_at: int


class InvalidToken(Exception):
    """A bearer token that is malformed, forged or expired; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_HEADER = _b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


class TokenSigner:
    """Mints and verifies HS256 JWT-shaped access tokens.

    Args:
        key: Signing key; a fresh random one by default, so tokens die with the process.
        ttl: Lifetime of new tokens in seconds.
        clock: Wall clock in epoch seconds (``exp``/``iat`` are epoch times); injectable
            so tests can expire a token without waiting.
    """

    def __init__(
        self,
        key: bytes | None = None,
        *,
        ttl: int = DEFAULT_TOKEN_TTL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key or secrets.token_bytes(32)
        self.ttl = ttl
        self._clock = clock
        # Tokens verified before: a client sends the same one on every request, and a token
        # holding all of Coupa's scopes is some kilobytes to check and decode each time. The
        # expiry is still checked on every use.
        self._verified: dict[str, TokenClaims] = {}

    def __repr__(self) -> str:
        return f"TokenSigner(ttl={self.ttl})"

    def revoke_all(self) -> None:
        """Refuse every token minted so far, as Coupa does when an admin revokes a client's
        tokens or rotates its secret: a new signing key, so old tokens fail their check."""
        self._key = secrets.token_bytes(32)
        self._verified.clear()

    def _sign(self, signing_input: str) -> str:
        digest = hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()
        return _b64encode(digest)

    def mint(self, client: OAuthClient, scopes: Iterable[str]) -> tuple[str, TokenClaims]:
        """Issue a token for ``client`` carrying ``scopes``.

        Returns:
            The token and its claims.
        """
        now = self._clock()
        claims = TokenClaims(
            client_id=client.client_id,
            scopes=frozenset(scopes),
            user_login=client.login,
            issued_at=int(now),
            # Rounded up: a token must live at least the ``expires_in`` it is sold with, or a
            # short-lived one minted late in a second would be dead on arrival.
            expires_at=math.ceil(now + self.ttl),
        )
        payload = {
            "iss": "coupa-sandbox",
            "sub": client.client_id,
            "client_id": client.client_id,
            "login": client.login,
            "scope": " ".join(sorted(claims.scopes)),
            "iat": claims.issued_at,
            "exp": claims.expires_at,
            "jti": secrets.token_hex(8),
        }
        body = _b64encode(json.dumps(payload, separators=(",", ":")).encode())
        signing_input = f"{_HEADER}.{body}"
        return f"{signing_input}.{self._sign(signing_input)}", claims

    def verify(self, token: str) -> TokenClaims:
        """Check a token's signature and expiry.

        Raises:
            InvalidToken: The token is malformed, not signed by this sandbox, or expired.
        """
        known = self._verified.get(token)
        if known is not None:
            if self._clock() >= known.expires_at:
                raise InvalidToken("expired")
            return known
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidToken("malformed")
        header, body, signature = parts
        if not hmac.compare_digest(self._sign(f"{header}.{body}"), signature):
            raise InvalidToken("bad signature")
        try:
            payload = json.loads(_b64decode(body))
            claims = TokenClaims(
                client_id=str(payload["client_id"]),
                scopes=frozenset(str(payload.get("scope", "")).split()),
                user_login=str(payload.get("login", "")),
                issued_at=int(payload["iat"]),
                expires_at=int(payload["exp"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidToken("malformed") from None
        if self._clock() >= claims.expires_at:
            raise InvalidToken("expired")
        if len(self._verified) >= _VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[token] = claims
        return claims


class AuthService:
    """The sandbox's identity provider: registered clients, token settings, API-key mode.

    Args:
        clients: The OAuth clients to register at start.
        signer: Token signer (a fresh one by default).
        api_key: The legacy API key accepted in API-key mode.
        api_key_mode: Whether ``X-COUPA-API-KEY`` is accepted on ``/api``.
        api_key_login: The Coupa user that API-key changes are attributed to.
    """

    def __init__(
        self,
        clients: Iterable[OAuthClient] = (),
        *,
        signer: TokenSigner | None = None,
        api_key: str = "",
        api_key_mode: bool = False,
        api_key_login: str = DEFAULT_LOGIN,
    ) -> None:
        self._clients: dict[str, OAuthClient] = {}
        for client in clients:
            self.add_client(client)
        self.signer = signer or TokenSigner()
        self._api_key = api_key
        self.api_key_mode = api_key_mode
        self.api_key_login = api_key_login

    def __repr__(self) -> str:
        return (
            f"AuthService(clients={sorted(self._clients)!r}, ttl={self.signer.ttl}, "
            f"api_key_mode={self.api_key_mode})"
        )

    def add_client(self, client: OAuthClient) -> None:
        """Register a client, replacing one with the same id."""
        self._clients[client.client_id] = client

    def remove_client(self, client_id: str) -> bool:
        """Forget a client; its tokens stay valid until they expire, as with Coupa."""
        return self._clients.pop(client_id, None) is not None

    def clients(self) -> list[OAuthClient]:
        """The registered clients, by id."""
        return [self._clients[k] for k in sorted(self._clients)]

    def authenticate_client(self, client_id: str, client_secret: str) -> OAuthClient | None:
        """The client if the id and secret match, else None (compared in constant time)."""
        client = self._clients.get(client_id)
        if client is None:
            # Compare anyway so an unknown id costs the same as a wrong secret.
            hmac.compare_digest(client_secret.encode(), b"\0" * max(1, len(client_secret)))
            return None
        if hmac.compare_digest(client.client_secret.encode(), client_secret.encode()):
            return client
        return None

    def check_api_key(self, key: str) -> bool:
        """Whether ``key`` is the sandbox's API key and API-key mode is on."""
        return (
            self.api_key_mode
            and bool(self._api_key)
            and hmac.compare_digest(self._api_key.encode(), key.encode())
        )

    def identify(self, headers: Mapping[str, str]) -> AuthContext | None:
        """The caller that valid credentials in ``headers`` name, or None.

        Used where a wrong credential is not an error of its own (rate-limit keys).
        """
        try:
            return self.context_for(headers)
        except InvalidToken:
            return None

    def context_for(self, headers: Mapping[str, str]) -> AuthContext | None:
        """The caller named by ``headers``; None when no credential was sent at all.

        Raises:
            InvalidToken: A credential was sent but is not valid.
        """
        authorization = headers.get("authorization", "")
        if authorization:
            kind, _, token = authorization.partition(" ")
            if kind.lower() != "bearer" or not token.strip():
                raise InvalidToken("not a bearer token")
            claims = self.signer.verify(token.strip())
            return AuthContext(claims.client_id, claims.scopes, claims.user_login)
        key = headers.get(API_KEY_HEADER, "")
        if key:
            if not self.api_key_mode:
                raise InvalidToken("api key mode off")
            if not self.check_api_key(key):
                raise InvalidToken("bad api key")
            return AuthContext("api-key", None, self.api_key_login)
        return None

    async def token_endpoint(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI handler of ``POST /oauth2/token`` (client-credentials grant, RFC 6749 4.4)."""
        request = Request(scope, receive)
        response = await self._token_response(request)
        await response(scope, receive, send)

    async def _token_response(self, request: Request) -> Response:
        if request.method != "POST":
            return _oauth_error(405, "invalid_request", "Use POST.", headers={"Allow": "POST"})
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_TOKEN_REQUEST_BYTES:
            return _oauth_error(400, "invalid_request", "The token request body is too large.")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_TOKEN_REQUEST_BYTES:
                return _oauth_error(400, "invalid_request", "The token request body is too large.")
        if body.strip() and content_type != "application/x-www-form-urlencoded":
            # An empty body needs no type: HTTP Basic with the parameters in the query
            # string, as OAuth servers commonly take it, sends none.
            return _oauth_error(
                400,
                "invalid_request",
                "The token request body must be application/x-www-form-urlencoded.",
            )
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            return _oauth_error(400, "invalid_request", "The token request body is not a form.")
        # Parameters in the query string count as well (RFC 6749 leaves it to the server;
        # published clients send client_id, client_secret and grant_type there); the body
        # wins where both give one.
        form = {**dict(request.query_params), **dict(pairs)}
        repeated = sorted({k for k, _ in pairs if sum(1 for j, _ in pairs if j == k) > 1})
        if repeated:
            # RFC 6749 3.2: parameters must not be included more than once.
            return _oauth_error(
                400, "invalid_request", f"Parameter {repeated[0][:40]!r} is given more than once."
            )

        basic = _basic_credentials(request.headers.get("authorization", ""))
        if basic is None and request.headers.get("authorization"):
            return _oauth_error(
                401,
                "invalid_client",
                "The Authorization header is not valid HTTP Basic credentials.",
                headers={"WWW-Authenticate": 'Basic realm="coupa"'},
            )
        client_id, client_secret = basic or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        grant = form.get("grant_type", "")
        if not grant:
            return _oauth_error(400, "invalid_request", "grant_type is required.")
        if grant != "client_credentials":
            return _oauth_error(
                400,
                "unsupported_grant_type",
                f"grant_type {grant[:40]!r} is not supported; use client_credentials.",
            )
        if not client_id:
            return _oauth_error(
                401, "invalid_client", "client_id is required (form field or HTTP Basic)."
            )
        client = self.authenticate_client(client_id, client_secret)
        if client is None:
            headers = {"WWW-Authenticate": 'Basic realm="coupa"'} if basic else None
            return _oauth_error(
                401, "invalid_client", "Client authentication failed.", headers=headers
            )
        # Space-separated (RFC 6749 3.3); commas are taken too, as published clients
        # send Coupa's comma-separated lists ("core.common.read, core.invoice.read").
        requested = form.get("scope", "").replace(",", " ").split()
        unknown = sorted(set(requested) - client.scopes)
        if unknown:
            return _oauth_error(
                400,
                "invalid_scope",
                "The client is not allowed these scopes: " + " ".join(unknown[:20]),
            )
        # RFC 6749 3.3: no scope asked means the client's whole allowance.
        granted = frozenset(requested) if requested else client.scopes
        token, _ = self.signer.mint(client, granted)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.signer.ttl,
                "scope": " ".join(sorted(granted)),
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


def _basic_credentials(header: str) -> tuple[str, str] | None:
    kind, _, encoded = header.partition(" ")
    if kind.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def token_bucket(request: Request) -> str:
    """The throttle bucket of a token request: the calling address, before any body is read
    (the client id may be in the body), apart from the API's per-client buckets."""
    host = request.client.host if request.client is not None else "unknown"
    return f"token:{host}"


def token_throttled(request: Request, message: str, retry_after: str) -> Response:
    """The token endpoint's 429: an OAuth-style JSON error with ``Retry-After``."""
    return _oauth_error(
        429, "temporarily_unavailable", message, headers={"Retry-After": retry_after}
    )


def _oauth_error(
    status: int, error: str, description: str, *, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})},
    )


_REASONS = {
    "malformed": "The access token is malformed.",
    "bad signature": "The access token is not valid for this instance.",
    "expired": "The access token has expired; request a new one.",
    "not a bearer token": "The Authorization header must be 'Bearer <access token>'.",
    "api key mode off": "API keys are not accepted on this instance; use an OAuth access token.",
    "bad api key": "The API key is not valid.",
}


class AuthGate:
    """ASGI middleware in front of the API: the caller must present a valid credential.

    Sets ``scope["coupa.auth"]`` to an ``AuthContext``; per-resource scope checks (403) are
    the API handlers' job, since only they know which object and action a path means.

    Args:
        app: The API application.
        auth: The identity provider.
    """

    def __init__(self, app: ASGIApp, auth: AuthService) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            context = self.auth.context_for(request.headers)
        except InvalidToken as exc:
            message = _REASONS.get(exc.reason, "The credentials are not valid.")
            await self._deny(request, message, "invalid_token", receive, send)
            return
        if context is None:
            await self._deny(
                request,
                "Authentication required: send 'Authorization: Bearer <access token>'.",
                None,
                receive,
                send,
            )
            return
        scope["coupa.auth"] = context
        await self.app(scope, receive, send)

    async def _deny(
        self, request: Request, message: str, error: str | None, receive: Receive, send: Send
    ) -> None:
        challenge = 'Bearer realm="coupa"'
        if error:
            challenge += f', error="{error}"'
        response = error_response(
            request, 401, [message], model="base", headers={"WWW-Authenticate": challenge}
        )
        await response(request.scope, receive, send)
