"""The transport seam: the only module that imports the HTTP package.

Everything above it (auth flow, retry decision, rate limit, redacting log) works on
``RawResponse`` and ``SendFailure``, so swapping the HTTP library touches this file alone, and
tests can put ``httpx2.MockTransport`` in at this seam.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx2
from httpx2 import AsyncBaseTransport, MockTransport

from coupa_connector.client._config import ConnectionConfig
from coupa_connector.client._redact import RedactingFilter
from coupa_connector.client._retry import Failure

__all__ = ["AsyncBaseTransport", "HttpTransport", "MockTransport", "RawResponse", "SendFailure"]

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


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc).upper()
    return "SSL" in text or "CERTIFICATE" in text


def _classify(exc: httpx2.TransportError) -> Failure:
    # Order matters: the timeout classes are subclasses of broader ones.
    if isinstance(exc, httpx2.ConnectTimeout):
        return Failure.CONNECT_TIMEOUT
    if isinstance(exc, httpx2.PoolTimeout):
        return Failure.POOL_TIMEOUT
    if isinstance(exc, httpx2.ConnectError | httpx2.ProxyError):
        return Failure.TLS if _is_tls(exc) else Failure.CONNECT
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
            proxy=config.proxy,
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
        """
        started = time.perf_counter()
        try:
            response = await self._client.request(
                method,
                url,
                params=list(params) if params else None,
                headers=dict(headers or {}),
                content=content,
                data=dict(form) if form is not None else None,
                auth=basic_auth,
            )
        except httpx2.TransportError as exc:
            raise SendFailure(
                _classify(exc), f"{type(exc).__name__}: {exc}", time.perf_counter() - started
            ) from None
        headers_out = {k.lower(): v for k, v in response.headers.items()}
        return RawResponse(
            response.status_code, headers_out, response.content, time.perf_counter() - started
        )

    async def aclose(self) -> None:
        """Close the keep-alive pool."""
        await self._client.aclose()
