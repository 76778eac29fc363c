"""The transport seam: the only module that imports the HTTP package.

Everything above it (auth flow, retry decision, rate limit, redacting log) works on
``RawResponse``, ``SendFailure`` and ``BodyTooLarge``, so swapping the HTTP library touches
this file alone, and tests can put ``httpx2.MockTransport`` in at this seam.

Bodies are read as a stream and counted after decompression, so an answer larger than the
connection's ``max_response_bytes`` (a gzip bomb included) is abandoned as soon as it passes
the limit: never held, never inflated whole.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx2
from httpx2 import AsyncBaseTransport, MockTransport

from coupa_connector.client._config import ConnectionConfig
from coupa_connector.client._redact import RedactingFilter
from coupa_connector.errors import Failure

__all__ = [
    "AsyncBaseTransport",
    "BodyTooLarge",
    "HttpTransport",
    "MockTransport",
    "RawResponse",
    "SendFailure",
]

# The HTTP package logs full URLs at INFO and connection details at DEBUG; its loggers get the
# same scrubber as ours so a secret can leak through neither.
for _name in ("httpx2", "httpcore2", "httpx", "httpcore"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, RedactingFilter) for f in _logger.filters):
        _logger.addFilter(RedactingFilter())


@dataclass(frozen=True, slots=True)
class RawResponse:
    """One HTTP answer, before any interpretation.

    Attributes:
        status: HTTP status code.
        headers: Response headers, names lower-cased.
        content: The body bytes.
        elapsed: Seconds from sending to the end of the body.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes
    elapsed: float

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class SendFailure(Exception):
    """No HTTP answer. ``kind`` says whether the request can have reached the server."""

    def __init__(self, kind: Failure, detail: str, elapsed: float) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.elapsed = elapsed


class BodyTooLarge(Exception):
    """The answer's body, decompressed, is larger than ``limit`` bytes; it was not read whole.

    Attributes:
        status: The answer's HTTP status.
        limit: The connection's ``max_response_bytes``.
        elapsed: Seconds from sending until the body was abandoned.
    """

    def __init__(self, status: int, limit: int, elapsed: float) -> None:
        super().__init__(f"HTTP {status} answer larger than {limit} bytes")
        self.status = status
        self.limit = limit
        self.elapsed = elapsed


def _declared_too_large(response: httpx2.Response, limit: int) -> bool:
    """True when an uncompressed answer says up front that it is larger than ``limit``."""
    if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
        return False  # Content-Length counts the compressed bytes
    try:
        return int(response.headers.get("content-length", "")) > limit
    except ValueError:
        return False


async def _read_capped(response: httpx2.Response, limit: int) -> bytes | None:
    """The decoded body, or None as soon as it passes ``limit`` bytes.

    httpx2 inflates gzip and deflate in pieces of at most 1 MiB as the body is iterated, so
    stopping here bounds what a compression bomb can make us hold to ``limit`` plus a piece.
    """
    if _declared_too_large(response, limit):
        return None
    parts: list[bytes] = []
    size = 0
    async for part in response.aiter_bytes():
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
    return b"".join(parts)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what caused it, down to the operating system's own error."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def _connect_failure(exc: BaseException) -> Failure:
    """Which connect failure: the OS error says refused or no such host; TLS by its class or
    its words. Only these verdicts stop a run at once, so without one it stays ``CONNECT``."""
    chain = _causes(exc)
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return Failure.TLS
    text = str(exc).upper()
    if "SSL" in text or "CERTIFICATE" in text:
        return Failure.TLS
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return Failure.REFUSED
    if any(isinstance(e, socket.gaierror) for e in chain):
        return Failure.DNS
    return Failure.CONNECT


def _classify(exc: httpx2.TransportError) -> Failure:
    # Order matters: the timeout classes are subclasses of broader ones.
    if isinstance(exc, httpx2.ConnectTimeout):
        return Failure.CONNECT_TIMEOUT
    if isinstance(exc, httpx2.PoolTimeout):
        return Failure.POOL_TIMEOUT
    if isinstance(exc, httpx2.ConnectError | httpx2.ProxyError):
        return _connect_failure(exc)
    if isinstance(exc, httpx2.ReadTimeout):
        return Failure.READ_TIMEOUT
    if isinstance(exc, httpx2.WriteTimeout | httpx2.WriteError):
        return Failure.WRITE
    if isinstance(exc, httpx2.LocalProtocolError | httpx2.DecodingError):
        return Failure.PROTOCOL
    return Failure.DROPPED  # ReadError, RemoteProtocolError, CloseError: gone mid-exchange


def _verify(config: ConnectionConfig) -> ssl.SSLContext | bool:
    if not config.verify:
        return False
    if config.ca_bundle:
        return ssl.create_default_context(cafile=config.ca_bundle)
    return True


class HttpTransport:
    """Keep-alive HTTP for one connection.

    Args:
        config: Timeouts, TLS, proxy and pool size come from here.
        transport: An ``httpx2`` transport to use instead of the network (tests).
    """

    def __init__(
        self, config: ConnectionConfig, transport: AsyncBaseTransport | None = None
    ) -> None:
        timeout = config.timeout
        self._client = httpx2.AsyncClient(
            timeout=httpx2.Timeout(
                connect=timeout.connect, read=timeout.read, write=timeout.write, pool=timeout.pool
            ),
            verify=_verify(config),
            proxy=config.proxy.get_secret_value() if config.proxy is not None else None,
            # Environment proxies would silently reroute (and could see) Coupa traffic; the
            # proxy is an explicit setting instead.
            trust_env=False,
            limits=httpx2.Limits(
                max_connections=config.concurrency + 2,
                max_keepalive_connections=config.concurrency + 2,
                keepalive_expiry=30.0,
            ),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": config.user_agent},
        )
        self._max_bytes = config.max_response_bytes

    async def send(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        form: Mapping[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
    ) -> RawResponse:
        """Send one request and read the whole answer.

        Raises:
            SendFailure: No HTTP answer (connect, TLS, timeout, dropped connection).
            BodyTooLarge: The body, decompressed, is larger than ``max_response_bytes``.
        """
        started = time.perf_counter()
        request = self._client.build_request(
            method,
            url,
            params=list(params) if params else None,
            headers=dict(headers or {}),
            content=content,
            data=dict(form) if form is not None else None,
        )
        try:
            response = await self._client.send(request, auth=basic_auth, stream=True)
            try:
                body = await _read_capped(response, self._max_bytes)
            finally:
                # Unread, the connection is closed rather than handed back to the pool.
                await response.aclose()
        except httpx2.TransportError as exc:
            raise SendFailure(
                _classify(exc), f"{type(exc).__name__}: {exc}", time.perf_counter() - started
            ) from None
        if body is None:
            raise BodyTooLarge(response.status_code, self._max_bytes, time.perf_counter() - started)
        headers_out = {k.lower(): v for k, v in response.headers.items()}
        return RawResponse(response.status_code, headers_out, body, time.perf_counter() - started)

    async def aclose(self) -> None:
        """Close the keep-alive pool."""
        await self._client.aclose()
