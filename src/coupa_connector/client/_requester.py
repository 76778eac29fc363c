"""The requester: one request path with auth, rate limit, retries and logging.

``AsyncRequester.request`` is the single door every activity goes through. Its loop is: add
auth headers, take a connection of the pool and a rate-limit slot, send, classify the
outcome, and let the decision table say what happens next (succeed, retry after backoff,
wait out a 429, re-mint the token once, or fail with an error from
``coupa_connector.errors``). It knows HTTP and Coupa's wire, and nothing of the activities:
the public ``AsyncConnection`` (``coupa_connector._connection``) adds those on top.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlencode, urlsplit

from coupa_connector.catalog import Catalog, ObjectDef, instance_catalog
from coupa_connector.client._auth import ApiKeyAuth, Auth, OAuthFlow
from coupa_connector.client._config import ConnectionConfig, WireFormat
from coupa_connector.client._ratelimit import bucket_for
from coupa_connector.client._redact import get_logger, mask_body, sanitize_path
from coupa_connector.client._retry import (
    Action,
    Backoff,
    Budget,
    Outcome,
    decide,
    is_throttle,
    outcome_of,
    parse_retry_after,
)
from coupa_connector.client._streams import DownloadSink, UploadBody
from coupa_connector.client._transport import (
    AsyncBaseTransport,
    BodyTooLarge,
    HttpTransport,
    RawResponse,
    SendFailure,
)
from coupa_connector.client._wire import (
    CONTENT_TYPES,
    NO_RESULTS,
    DecodeError,
    decode,
    encode_json,
    encode_xml,
    error_messages,
)
from coupa_connector.errors import (
    CatalogError,
    ConfigurationError,
    CoupaError,
    Failure,
    NetworkError,
    RateLimitError,
    ServerError,
    TransportError,
    error_for_status,
)

log = get_logger("transport")

BODY_PREVIEW_CHARS = 2000


def body_preview(content: bytes, limit: int = BODY_PREVIEW_CHARS) -> str:
    """A body as text for the debug log, secret fields masked (``password``, ...), cut at
    ``limit`` characters with the size noted."""
    text = mask_body(content)
    if len(text) > limit:
        return f"{text[:limit]}... [{len(content)} bytes in all]"
    return text


Params = Mapping[str, Any] | Sequence[tuple[str, Any]]


class ResponseTooLargeError(TransportError):
    """An answer larger than ``max_response_bytes`` once decompressed; not retried, since the
    same request would get the same answer. ``limit`` is the setting in bytes."""

    def __init__(self, message: str, *, limit: int, **kw: Any) -> None:
        super().__init__(message, retryable=False, **kw)
        self.limit = limit


def _too_large(failure: BodyTooLarge, method: str, shown: str) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"The answer to {method} {shown} is larger than max_response_bytes "
        f"({_bytes_text(failure.limit)}) once decompressed; it was not read further. If "
        "answers this large are genuine, raise max_response_bytes (COUPA_MAX_RESPONSE_BYTES, "
        "or max_response_bytes in the profile or the operation file's connection).",
        limit=failure.limit,
        method=method,
        path=shown,
        status=failure.status,
    )


def _bytes_text(count: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size and count % size == 0:
            return f"{count // size} {unit}"
    return f"{count:,} bytes"


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """One request as sent on each attempt: ``shown`` is its path for logs and errors."""

    method: str
    url: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    content: bytes | None
    shown: str
    upload: UploadBody | None = None  # a streamed file body, sent whole on every attempt
    sink: DownloadSink | None = None  # takes a file answer's body as it arrives


@dataclass
class ConnectionStats:
    """Counters for one connection (requests sent, answers by status, retries).

    Attributes:
        requests: HTTP requests sent, retries and token requests included.
        statuses: Answers by HTTP status.
        failures: Attempts without an answer, by failure kind.
        retries: Resends after a retryable outcome.
        throttled: 429 answers received.
        reauths: Token re-mints after a 401.
        bytes_received: Body bytes received.
        rate_wait: Seconds spent waiting for the client-side rate limiter.
    """

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    throttled: int = 0
    reauths: int = 0
    bytes_received: int = 0
    rate_wait: float = 0.0


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(_param_value(v) for v in value)
    return str(value)


def normalize_params(params: Params | None) -> list[tuple[str, str]]:
    """Query parameters as ``(name, text)`` pairs.

    Booleans become ``true``/``false`` and lists are joined by commas (Coupa's ``[in]``).
    """
    if not params:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    return [(str(k), _param_value(v)) for k, v in items if v is not None]


class AsyncRequester:
    """The request path to one Coupa instance (use ``async with``).

    Args:
        config: Connection settings; ``ConnectionConfig.from_env()`` when omitted.
        catalog: Object definitions; the shipped catalog when omitted.
        transport: An ``httpx2`` transport to use instead of the network (tests).
        rng: Random source for backoff jitter (tests pin it).
    """

    def __init__(
        self,
        config: ConnectionConfig | None = None,
        *,
        catalog: Catalog | None = None,
        transport: AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config if config is not None else ConnectionConfig.from_env()
        self._catalog = catalog
        self._http = HttpTransport(self.config, transport)
        self._backoff = Backoff(self.config.retry, rng)
        self._bucket = bucket_for(self.config)
        self._slots = asyncio.Semaphore(self.config.concurrency)
        self.stats = ConnectionStats()
        self.auth: Auth
        if self.config.auth_mode == "oauth":
            self.auth = OAuthFlow(self.config, self._send_token_request)
        else:
            assert self.config.api_key is not None
            self.auth = ApiKeyAuth(self.config.api_key)
        self._closed = False

    # ------------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the keep-alive connections."""
        if not self._closed:
            self._closed = True
            await self._http.aclose()
            if self._bucket is not None:
                await self._bucket.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config.url!r}, auth={self.config.auth_mode})"

    @property
    def catalog(self) -> Catalog:
        """The catalog in use (loaded on first access): the shipped catalog plus the saved
        overlay of this instance (``coupa discover``), when there is one."""
        if self._catalog is None:
            self._catalog = instance_catalog(self.config.url)
        return self._catalog

    def object(self, name: str | ObjectDef) -> ObjectDef:
        """Look up an object in the catalog (any of its names)."""
        return name if isinstance(name, ObjectDef) else self.catalog.get(name)

    def _object_for_path(self, path: str) -> ObjectDef | None:
        parts = path.split("?", 1)[0].strip("/").split("/")
        if len(parts) >= 2 and parts[0] == "api":
            try:
                return self.catalog.by_resource_path(f"/api/{parts[1]}")
            except (OSError, CatalogError):
                return None  # no catalog: decode by type attributes alone
        return None

    # ------------------------------------------------------------------------ requests

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | bytes | None = None,
        object_name: str | ObjectDef | None = None,
        wire_format: WireFormat | None = None,
        retry: bool = True,
    ) -> Any:
        """Send one API request and return the decoded answer.

        Args:
            method: HTTP method.
            path: Path under the instance (``/api/invoices``, ``/api/invoices/12/submit``).
            params: Query parameters; booleans become ``true``/``false``, lists are joined
                with commas.
            body: A record (encoded per wire format, with the object's element as the XML
                root) or raw bytes.
            object_name: The catalog object the body and answer hold; found from the path
                when omitted.
            wire_format: ``json`` or ``xml``; the connection's setting when omitted.
            retry: False sends once whatever happens (writes that must not repeat).

        Returns:
            A dict (one record), a list (a collection; ``[]`` for Coupa's empty answer in
            either format), or None for an empty body.

        Raises:
            APIError: Coupa answered with an error (subclass by status, with its messages).
            TransportError: No usable answer after the allowed retries.
        """
        response = await self.send(
            method,
            path,
            params=params,
            body=body,
            object_name=object_name,
            wire_format=wire_format,
            retry=retry,
        )
        try:
            return self.decode(response, object_name, path)
        except DecodeError as exc:
            exc.method = exc.method or method.upper()  # which request
            exc.path = exc.path or sanitize_path(path)
            raise

    def decode(
        self, response: RawResponse, object_name: str | ObjectDef | None = None, path: str = ""
    ) -> Any:
        """Decode a success answer from ``send`` as ``request`` would (see there)."""
        obj = self._resolve_object(object_name, path)
        return decode(response.content, response.content_type, obj, self._catalog_or_none())

    def _catalog_or_none(self) -> Catalog | None:
        try:
            return self.catalog
        except (OSError, CatalogError):
            return None

    def _resolve_object(self, object_name: str | ObjectDef | None, path: str) -> ObjectDef | None:
        if object_name is None:
            return self._object_for_path(path)
        return self.object(object_name)

    def _url(self, path: str) -> str:
        if "://" in path:
            # An absolute URL would send our token to whatever host it names.
            if urlsplit(path).netloc != urlsplit(self.config.url).netloc:
                raise ConfigurationError(f"Refusing to send credentials to another host: {path!r}.")
            return path
        return self.config.url + ("" if path.startswith("/") else "/") + path

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | bytes | None = None,
        object_name: str | ObjectDef | None = None,
        wire_format: WireFormat | None = None,
        retry: bool = True,
        upload: UploadBody | None = None,
        sink: DownloadSink | None = None,
    ) -> RawResponse:
        """Like ``request`` but return the raw answer (status, headers, body bytes).

        The empty-result answer of an XML query (404 "No results match your search
        criteria.") comes back as a 200 with an empty list body, so callers see one shape.
        ``upload`` streams a file as the body (every attempt sends it whole); ``sink`` takes
        an answer's body as it arrives (a cut one is retried like a dropped connection).
        """
        method = method.upper()
        fmt: WireFormat = wire_format or self.config.wire_format
        pairs = normalize_params(params)
        shown = sanitize_path(urlsplit(self._url(path)).path, urlencode(pairs, safe="[],:/\"'*"))
        headers = {"Accept": CONTENT_TYPES[fmt]}
        content: bytes | None = None
        if isinstance(body, bytes):
            content = body
        elif body is not None:
            obj = self._resolve_object(object_name, path)
            if fmt == "json":
                content = encode_json(body)
            else:
                if obj is None:
                    raise ConfigurationError(
                        f"An XML body for {path} needs object_name (its root element)."
                    )
                content = encode_xml(body, obj.element, obj, self._catalog_or_none())
        if content is not None:
            headers["Content-Type"] = CONTENT_TYPES[fmt]
        outgoing = _Outgoing(method, self._url(path), pairs, headers, content, shown, upload, sink)
        return await self._send_with_policy(outgoing, retry)

    async def _send_with_policy(self, outgoing: _Outgoing, retry: bool) -> RawResponse:
        method, shown = outgoing.method, outgoing.shown
        policy = self.config.retry
        budget = Budget(policy, self._backoff)
        attempt = 0
        reauthed = False
        while True:
            attempt += 1
            sent = await self._attempt(outgoing, attempt)
            if isinstance(sent, RawResponse):
                return sent
            error, outcome, retry_after, auth_headers = sent
            # A failed token request means this one was never sent: resending it is safe.
            action = decide(outcome, "GET" if auth_headers is None else method, policy)
            if is_throttle(outcome, retry_after) and self._bucket is not None:
                self._bucket.throttled(retry_after)
            if not retry and action is not Action.REAUTH:
                action = Action.FAIL  # a 401 was refused, not acted on: a fresh token is safe
            if action is Action.REAUTH:
                if reauthed or auth_headers is None or not await self.auth.invalidate(auth_headers):
                    raise error
                reauthed = True
                self.stats.reauths += 1
                log.info(
                    "%s %s: token refused (401); minting a new one and resending", method, shown
                )
                continue
            if action is Action.FAIL:
                raise error
            throttled = action is Action.THROTTLED and is_throttle(outcome, retry_after)
            delay = budget.next_delay(
                throttled=throttled, retry_after=retry_after if throttled else None
            )
            if delay is None:
                why = budget.why if budget.server_wait else f"gave up after {attempt} attempts"
                error.message = f"{error.message} ({why})"
                raise error
            self.stats.retries += 1
            log.info(
                "%s %s: %s; retry in %.2f s (attempt %d)",
                method,
                shown,
                outcome if isinstance(outcome, int) else outcome.value,
                delay,
                attempt,
            )
            await asyncio.sleep(delay)

    async def _attempt(
        self, outgoing: _Outgoing, attempt: int
    ) -> RawResponse | tuple[CoupaError, Outcome, float | None, dict[str, str] | None]:
        """Send once: the success answer, or the error with its outcome, the server's
        ``Retry-After`` and the auth headers used (None when the token request failed)."""
        method, shown, content = outgoing.method, outgoing.shown, outgoing.content
        try:
            auth_headers = await self.auth.headers()
        except (NetworkError, RateLimitError, ServerError) as error:
            outcome = outcome_of(error)
            assert outcome is not None
            return error, outcome, None, None
        async with self._slots:
            # The rate slot is taken last, once a connection slot is free: a slot taken while
            # waiting for a connection would be spent later, bunched with others.
            if self._bucket is not None:
                self.stats.rate_wait += await self._bucket.acquire()
            self.stats.requests += 1
            try:
                response = await self._http.send(
                    method,
                    outgoing.url,
                    params=outgoing.params,
                    headers={**outgoing.headers, **auth_headers},
                    content=content,
                    upload=outgoing.upload,
                    sink=outgoing.sink,
                )
            except BodyTooLarge as failure:
                self.stats.statuses[failure.status] += 1
                log.info(
                    "%s %s -> %d, body larger than %d bytes: abandoned after %.1f ms",
                    method,
                    shown,
                    failure.status,
                    failure.limit,
                    failure.elapsed * 1000,
                )
                raise _too_large(failure, method, shown) from None
            except SendFailure as failure:
                self.stats.failures[failure.kind.value] += 1
                log.debug(
                    "%s %s -> %s after %.1f ms (attempt %d)",
                    method,
                    shown,
                    failure.kind.value,
                    failure.elapsed * 1000,
                    attempt,
                )
                network = self._network_error(failure, method, shown)
                return network, failure.kind, None, auth_headers
        self.stats.statuses[response.status] += 1
        self.stats.bytes_received += len(response.content) + response.streamed
        log.info(
            "%s %s -> %d in %.1f ms (attempt %d, %d bytes)",
            method,
            shown,
            response.status,
            response.elapsed * 1000,
            attempt,
            len(response.content) + response.streamed,
        )
        if log.isEnabledFor(logging.DEBUG):
            # Bodies only at DEBUG, capped; the redacting filter scrubs secrets.
            if content:
                log.debug("%s %s request body: %s", method, shown, body_preview(content))
            log.debug("%s %s response body: %s", method, shown, body_preview(response.content))
        if response.status < 300:
            if self._bucket is not None:
                self._bucket.succeeded()
            return response
        messages = error_messages(response.content, response.content_type)
        if response.status == 404 and method == "GET" and messages == [NO_RESULTS]:
            # XML's way of saying "no records"; JSON says 200 []. One shape for callers.
            return RawResponse(200, {"content-type": "application/json"}, b"[]", response.elapsed)
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if response.status == 429:
            self.stats.throttled += 1
        api_error = error_for_status(
            response.status,
            method=method,
            path=shown,
            messages=messages,
            retry_after=retry_after,
            location=_redirect_target(response.headers.get("location")),
        )
        return api_error, response.status, retry_after, auth_headers

    def _network_error(
        self, failure: SendFailure, method: str, shown: str, *, safe: bool = False
    ) -> NetworkError:
        action = decide(failure.kind, "GET" if safe else method, self.config.retry)
        return NetworkError(
            _failure_message(failure.kind, self.config.host),
            kind=failure.kind,
            method=method,
            path=shown,
            retryable=action is not Action.FAIL,
        )

    async def _send_token_request(
        self, form: Mapping[str, str], basic: tuple[str, str] | None
    ) -> RawResponse:
        """POST the token form once; a failure is an outcome of the request that needed the
        token, which the request's own loop retries (minting twice is harmless)."""
        url = self.config.resolved_token_url
        shown = sanitize_path(urlsplit(url).path)
        self.stats.requests += 1
        try:
            response = await self._http.send(
                "POST", url, form=form, basic_auth=basic, headers={"Accept": "application/json"}
            )
        except BodyTooLarge as failure:
            raise _too_large(failure, "POST", shown) from None
        except SendFailure as failure:
            self.stats.failures[failure.kind.value] += 1
            log.debug("POST %s -> %s (token request)", shown, failure.kind.value)
            # Minting twice is harmless: the token request is as safe to resend as a GET.
            raise self._network_error(failure, "POST", shown, safe=True) from None
        self.stats.statuses[response.status] += 1
        # The body carries the client secret and the answer the token: log neither.
        log.debug(
            "POST %s -> %d in %.1f ms (token request)",
            shown,
            response.status,
            response.elapsed * 1000,
        )
        return response


def _redirect_target(location: str | None) -> str | None:
    """Where a redirect points, without query or fragment (they may carry tokens)."""
    if not location:
        return None
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path


def _failure_message(kind: Failure, host: str) -> str:
    return {
        Failure.CONNECT: f"Could not connect to {host} (unreachable).",
        Failure.REFUSED: f"{host} refused the connection: is the URL (and port) right?",
        Failure.DNS: f"The host name {host} does not resolve: check the instance URL.",
        Failure.CONNECT_TIMEOUT: f"Timed out connecting to {host}.",
        Failure.POOL_TIMEOUT: "Timed out waiting for a free connection.",
        Failure.TLS: f"TLS handshake with {host} failed: check the certificate, verify, ca_bundle.",
        Failure.WRITE: f"Sending the request to {host} failed.",
        Failure.READ_TIMEOUT: f"{host} did not answer in time (read timeout).",
        Failure.DROPPED: f"{host} closed the connection before answering.",
        Failure.PROTOCOL: f"{host} sent a malformed HTTP answer.",
    }[kind]
