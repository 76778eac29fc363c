"""Auth flows: OAuth 2.0 client credentials (token cached, refreshed early, re-minted once on
401) and the legacy ``X-COUPA-API-KEY`` header.

The token request carries the client secret in its body, so it is never logged: only its
outcome (status, timing, granted scopes) is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import orjson

from coupa_connector.client._config import ConnectionConfig
from coupa_connector.client._redact import get_logger, register_secret
from coupa_connector.client._secret import SecretStr
from coupa_connector.client._transport import RawResponse
from coupa_connector.client._wire import error_messages
from coupa_connector.errors import AuthenticationError, ConfigurationError, error_for_status

log = get_logger("auth")

# A token is refreshed this long before Coupa says it expires (capped at a tenth of its life,
# so very short-lived tokens are still used).
REFRESH_MARGIN = 300.0

TokenSender = Callable[[Mapping[str, str], tuple[str, str] | None], Awaitable[RawResponse]]


@dataclass(frozen=True, slots=True)
class Token:
    """A minted access token.

    Attributes:
        value: The bearer token.
        expires_at: ``time.monotonic()`` after which it is refreshed.
        scopes: Scopes the server says it granted (empty when it does not say).
    """

    value: SecretStr
    expires_at: float
    scopes: tuple[str, ...] = ()

    def valid(self, now: float) -> bool:
        return now < self.expires_at


class ApiKeyAuth:
    """The legacy API key: a fixed header, nothing to refresh."""

    def __init__(self, api_key: SecretStr) -> None:
        self._key = api_key
        register_secret(api_key.get_secret_value())

    async def headers(self) -> dict[str, str]:
        """Headers that authenticate one request."""
        return {"X-COUPA-API-KEY": self._key.get_secret_value()}

    async def invalidate(self, used: Mapping[str, str]) -> bool:
        """An API key cannot be renewed: a 401 is final."""
        return False


class OAuthFlow:
    """OAuth 2.0 client credentials with one token shared by all concurrent requests.

    Args:
        config: Client id, secret, scopes and token URL.
        send: Posts the token form (and optional HTTP Basic credentials) to the token URL.
        clock: Monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        config: ConnectionConfig,
        send: TokenSender,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert config.client_id and config.client_secret
        self._client_id = config.client_id
        self._secret = config.client_secret
        self._scopes = config.scopes
        self._token_url = config.resolved_token_url
        self._send = send
        self._clock = clock
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self.mints = 0
        self.scope_fallback = False  # True when the server refused the scopes as asked
        register_secret(self._secret.get_secret_value())

    @property
    def token(self) -> Token | None:
        """The current token, if one was minted."""
        return self._token

    async def headers(self) -> dict[str, str]:
        """Headers that authenticate one request, minting a token when needed."""
        token = self._token
        if token is None or not token.valid(self._clock()):
            token = await self._refresh(token)
        return {"Authorization": f"Bearer {token.value.get_secret_value()}"}

    async def invalidate(self, used: Mapping[str, str]) -> bool:
        """Forget the token a request was refused with, so the next call mints a new one.

        Concurrent requests refused with the same token cause one mint, not one each.

        Returns:
            True: a resend with a fresh token may succeed.
        """
        async with self._lock:
            current = self._token
            if current is not None and used.get("Authorization", "").endswith(
                current.value.get_secret_value()
            ):
                self._token = None
        return True

    async def _refresh(self, stale: Token | None) -> Token:
        async with self._lock:
            token = self._token
            if token is not None and token is not stale and token.valid(self._clock()):
                return token  # another request minted while this one waited
            self._token = await self.mint()
            return self._token

    async def mint(self) -> Token:
        """Request a new token from the token endpoint.

        Raises:
            AuthenticationError: Bad client id or secret (or the endpoint refused).
            ConfigurationError: The token endpoint is not an OAuth endpoint.
        """
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._secret.get_secret_value(),
        }
        if self._scopes and not self.scope_fallback:
            form["scope"] = " ".join(self._scopes)
        response = await self._send(form, None)
        messages = error_messages(response.content, response.content_type)
        if (
            response.status == 400
            and "scope" in form
            and any("invalid_scope" in m for m in messages)
        ):
            # The client lacks one of the scopes asked for; take what it is granted and let
            # the calls that need the rest fail with 403, naming the object.
            log.warning("token endpoint refused scopes %s; retrying without scope", form["scope"])
            self.scope_fallback = True
            del form["scope"]
            response = await self._send(form, None)
            messages = error_messages(response.content, response.content_type)
        path = self._token_url
        if response.status in (400, 401, 403):
            raise AuthenticationError(
                f"The token endpoint refused client {self._client_id!r} (HTTP {response.status}): "
                "check the client id and secret, and that the client may use the "
                "client credentials grant.",
                method="POST",
                path=path,
                status=response.status,
                messages=messages,
            )
        if response.status >= 300:
            raise error_for_status(response.status, method="POST", path=path, messages=messages)
        try:
            data = orjson.loads(response.content)
            value = str(data["access_token"])
            expires_in = float(data.get("expires_in") or 86399)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise ConfigurationError(
                f"{path} answered without an access_token; is token_url an OAuth token endpoint?",
                method="POST",
                path=path,
                status=response.status,
            ) from None
        register_secret(value)
        margin = min(REFRESH_MARGIN, expires_in / 10)
        scopes = tuple(str(data.get("scope") or "").split())
        self.mints += 1
        log.info(
            "minted an access token valid for %.0f s (scopes: %s)",
            expires_in,
            " ".join(scopes) or "as granted",
        )
        return Token(SecretStr(value), self._clock() + expires_in - margin, scopes)


Auth = OAuthFlow | ApiKeyAuth
