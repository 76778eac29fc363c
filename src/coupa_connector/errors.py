"""One error hierarchy for every layer of coupa-connector.

    CoupaError                      root: catch this to catch everything we raise
    ├── ConfigurationError          bad settings, missing credentials, bad operation file
    │   └── RecordFileError         a record file that cannot be read (file and line)
    ├── CatalogError                an object or field Coupa does not have
    │   ├── UnknownObjectError
    │   └── UnknownFieldError
    ├── QueryError                  a filter the catalog refuses, before any request
    │   └── PagingError             pages that do not join up into every record once
    ├── TransportError              no usable HTTP answer: connect, timeout, dropped, malformed
    │   └── NetworkError            no HTTP answer at all; ``kind`` is a ``Failure``
    └── APIError                    Coupa answered with an error status
        ├── AuthenticationError     401: missing, bad or expired credentials
        ├── PermissionDeniedError   403: the token lacks a scope
        ├── NotFoundError           404
        ├── ValidationError         400: Coupa refused the request or the record
        ├── RateLimitError          429
        └── ServerError             5xx

Every error carries what a person needs to act on it: the method and the sanitized
path, the HTTP status, Coupa's own messages, and whether retrying could help. Bodies and
headers are never part of ``repr`` or ``str``: they may carry secrets or personal data.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "CatalogError",
    "ConfigurationError",
    "CoupaError",
    "Failure",
    "NetworkError",
    "NotFoundError",
    "PagingError",
    "PermissionDeniedError",
    "QueryError",
    "RateLimitError",
    "RecordFileError",
    "ServerError",
    "TransportError",
    "UnknownFieldError",
    "UnknownObjectError",
    "ValidationError",
    "error_for_status",
]


class CoupaError(Exception):
    """Root of every error coupa-connector raises.

    Args:
        message: What went wrong, where, and what to try next.
        method: HTTP method of the request that failed, if any.
        path: Sanitized URL path (and query) of that request, if any.
        status: HTTP status code, if the server answered.
        messages: Coupa's own error messages, in order.
        retryable: Whether sending the same request again could succeed.
    """

    retryable_by_default = False

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        messages: Sequence[str] = (),
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.messages: tuple[str, ...] = tuple(messages)
        self.retryable = self.retryable_by_default if retryable is None else retryable

    def __str__(self) -> str:
        where = " ".join(p for p in (self.method, self.path) if p)
        parts = [self.message]
        if self.status is not None or where:
            parts.append(f"[{' '.join(p for p in (str(self.status or ''), where) if p)}]")
        if self.messages:
            parts.append("Coupa says: " + "; ".join(self.messages))
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, method={self.method!r}, "
            f"path={self.path!r}, status={self.status!r}, retryable={self.retryable!r})"
        )


class ConfigurationError(CoupaError):
    """Settings, credentials or an operation file that cannot work as given."""


class RecordFileError(ConfigurationError):
    """A record file that cannot be read: unknown format, bad syntax, not records.

    Attributes:
        file: The file's path as given.
        line: 1-based line of the problem, when known.
    """

    def __init__(self, message: str, *, file: str, line: int | None = None) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line


class CatalogError(CoupaError):
    """An object or field that the catalog does not know."""


class UnknownObjectError(CatalogError):
    """An object name the catalog does not know; ``suggestions`` holds the closest names."""

    def __init__(self, name: str, suggestions: Sequence[str] = ()) -> None:
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown Coupa object {name!r}.{hint}")
        self.name = name
        self.suggestions = tuple(suggestions)


class UnknownFieldError(CatalogError):
    """A field name the object does not have; ``suggestions`` holds the closest names."""

    def __init__(self, obj: str, field: str, suggestions: Sequence[str] = ()) -> None:
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"{obj} has no field {field!r}.{hint}")
        self.object = obj
        self.field = field
        self.suggestions = tuple(suggestions)


class QueryError(CoupaError):
    """A query the catalog refuses before anything is sent."""


class PagingError(QueryError):
    """Pages that cannot be joined into every matching record once; the query stopped.

    Raised mid-query: the result set changed under offset paging beyond what the pager can
    re-align (``retryable``: a quieter moment may succeed), or the server broke a paging
    rule (a page longer than ``limit``, an order it was asked for and did not keep).
    """


class TransportError(CoupaError):
    """No usable answer: connection refused or dropped, timeout, TLS, or a malformed body."""

    retryable_by_default = True


class Failure(enum.StrEnum):
    """Why a request got no HTTP answer, split by whether it can have reached the server.

    ``REFUSED``, ``DNS`` and ``TLS`` are told apart from ``CONNECT`` by the operating
    system's own error: the host said no, does not exist, or cannot be trusted. None of them
    mends itself in the seconds a retry waits, so they stop a run at once, as a wrong secret
    does. ``CONNECT`` is what is left (unreachable network, reset during connect).
    """

    CONNECT = "connect"  # unreachable, or reset while connecting: nothing was sent
    REFUSED = "refused"  # the host answered the connect with a refusal: nothing was sent
    DNS = "dns"  # the host name does not resolve: nothing was sent
    CONNECT_TIMEOUT = "connect_timeout"  # nothing was sent
    POOL_TIMEOUT = "pool_timeout"  # no free connection: nothing was sent
    TLS = "tls"  # handshake failed: nothing was sent, and retrying will not fix it
    WRITE = "write"  # the request may be partly sent
    READ_TIMEOUT = "read_timeout"  # sent; the server may have acted on it
    DROPPED = "dropped"  # connection closed mid-exchange; the server may have acted
    PROTOCOL = "protocol"  # malformed answer

    @property
    def landed_maybe(self) -> bool:
        """True when the server may have received (and acted on) the request."""
        return self in _LANDED_MAYBE


_LANDED_MAYBE = frozenset({Failure.WRITE, Failure.READ_TIMEOUT, Failure.DROPPED, Failure.PROTOCOL})


class NetworkError(TransportError):
    """No HTTP answer; ``kind`` is the ``Failure`` (``refused``, ``tls``, ``read_timeout``, ...).

    ``kind`` compares equal to its text (``error.kind == "dropped"``).
    """

    def __init__(self, message: str, *, kind: Failure | str, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.kind = Failure(kind)


class APIError(CoupaError):
    """Coupa answered with an error status."""


class AuthenticationError(APIError):
    """401: the token or API key is missing, wrong or expired."""


class PermissionDeniedError(APIError):
    """403: the credentials work but lack the scope for this object or action."""


class NotFoundError(APIError):
    """404: no such record or route."""


class ValidationError(APIError):
    """400: Coupa refused the request, usually a record that breaks one of its rules."""


class RateLimitError(APIError):
    """429: over the instance's request budget.

    ``retry_after`` holds the wait in seconds that the server asked for, if it did.
    """

    retryable_by_default = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: Coupa failed; 502, 503 and 504 are worth retrying."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitError,
}

_RETRYABLE_SERVER_STATUSES = frozenset({500, 502, 503, 504})


def error_for_status(
    status: int,
    *,
    method: str | None = None,
    path: str | None = None,
    messages: Sequence[str] = (),
    retry_after: float | None = None,
    location: str | None = None,
) -> APIError:
    """Build the error that matches an HTTP status.

    Args:
        status: The HTTP status code (3xx, 4xx or 5xx).
        method: The request's method.
        path: The request's sanitized path.
        messages: Coupa's error messages from the body.
        retry_after: Seconds from a ``Retry-After`` header, for 429 and 503.
        location: Where a redirect (3xx) pointed, without its query.

    Returns:
        An instance of the matching ``APIError`` subclass.
    """
    where = f"{method} {path}" if method and path else "the request"
    if 300 <= status < 400:
        # The API never redirects a correct request: a redirect means the URL is not the
        # instance's API (a sign-in page, another host, http instead of https).
        target = f" to {location}" if location else ""
        return APIError(
            f"HTTP {status} on {where}: redirected{target}; check the instance URL (the API "
            "answers directly, a redirect usually means a sign-in page or the wrong host).",
            method=method,
            path=path,
            status=status,
            messages=messages,
        )
    if status == 429:
        return RateLimitError(
            f"Coupa rate limit hit on {where}; slow down or lower the connection's rate.",
            method=method,
            path=path,
            status=status,
            messages=messages,
            retry_after=retry_after,
        )
    if status >= 500:
        return ServerError(
            f"Coupa failed on {where} with HTTP {status}.",
            method=method,
            path=path,
            status=status,
            messages=messages,
            retryable=status in _RETRYABLE_SERVER_STATUSES,
        )
    cls = _BY_STATUS.get(status, APIError)
    advice = {
        AuthenticationError: "check the client id and secret (or API key) and the token URL.",
        PermissionDeniedError: "the OAuth client needs the scope for this object or action.",
        NotFoundError: "no such record or route.",
        ValidationError: "Coupa refused the request.",
    }.get(cls, "the request was refused.")
    return cls(
        f"HTTP {status} on {where}: {advice}",
        method=method,
        path=path,
        status=status,
        messages=messages,
    )
