"""Talking HTTP to Coupa: configuration, auth, transport policies and wire codecs."""

from coupa_connector.client._auth import ApiKeyAuth, OAuthFlow, Token
from coupa_connector.client._check import CheckResult, ConnectionTestReport
from coupa_connector.client._config import (
    ConnectionConfig,
    RateLimit,
    RetryPolicy,
    Timeout,
    profile_names,
)
from coupa_connector.client._redact import register_secret, sanitize_url, scrub
from coupa_connector.client._requester import (
    AsyncRequester,
    ConnectionStats,
    ResponseTooLargeError,
)
from coupa_connector.client._retry import Action, Failure, decide
from coupa_connector.client._secret import SecretStr, SecretURL
from coupa_connector.client._wire import DecodeError
from coupa_connector.errors import NetworkError

__all__ = [
    "Action",
    "ApiKeyAuth",
    "AsyncRequester",
    "CheckResult",
    "ConnectionConfig",
    "ConnectionStats",
    "ConnectionTestReport",
    "DecodeError",
    "Failure",
    "NetworkError",
    "OAuthFlow",
    "RateLimit",
    "ResponseTooLargeError",
    "RetryPolicy",
    "SecretStr",
    "SecretURL",
    "Timeout",
    "Token",
    "decide",
    "profile_names",
    "register_secret",
    "sanitize_url",
    "scrub",
]
