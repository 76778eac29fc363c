"""The console's door: the access token, the host it answers to, CSRF, and safe headers.

Every request passes, in this order:

1. The ``Host`` header must name the address the console listens on (loopback by default),
   so a web page cannot reach it through a DNS name of its own (DNS rebinding).
2. It must carry the access token: the ``token`` query parameter of the printed URL (once:
   the answer sets it as an HttpOnly, SameSite=Strict cookie and redirects to the same URL
   without it, so it stays out of history and ``Referer``) or that cookie. Else 403.
   (``Referrer-Policy: same-origin``, not ``no-referrer``: with that, browsers send
   ``Origin: null`` on the console's own form posts.)
3. A request that changes something (any method but GET and HEAD) must come from the
   console's own pages: an ``Origin`` or ``Sec-Fetch-Site`` header saying otherwise is
   refused, and the handler checks the form's CSRF token (``require_csrf``).

Every answer gets a Content-Security-Policy that allows the console's own files only (no
inline script, no other origin), headers that keep it out of frames and caches, and a
``Server-Timing`` header with the time the answer took to make.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["COOKIE", "CSRF_FIELD", "Guard", "require_csrf"]

COOKIE = "coupa_console"
CSRF_FIELD = "csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _host_name(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """ASGI middleware that lets through only requests with the token, to a known host.

    Args:
        app: The console's routes.
        token: The access token.
        hosts: Host names the console answers to (``127.0.0.1``, ``localhost`` ...).
    """

    def __init__(self, app: ASGIApp, *, token: str, hosts: Iterable[str]) -> None:
        self.app = app
        self.token = token
        self.hosts = frozenset(h.lower().strip("[]") for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            await _with_headers(refusal)(scope, receive, send)
            return
        given = request.query_params.get("token")
        if given is not None and request.method in _SAFE_METHODS:
            await _with_headers(self._welcome(request))(scope, receive, send)
            return

        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # How long the page took to make, for the browser's tools and bench/console.py.
                took = f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode()
                message["headers"] = [
                    *message.get("headers", []),
                    *_HEADERS,
                    (b"server-timing", took),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, request: Request) -> Response | None:
        if _host_name(request.headers.get("host", "")) not in self.hosts:
            return _forbidden("This console does not answer to that host name.")
        if not (
            _same(request.cookies.get(COOKIE), self.token)
            or _same(request.query_params.get("token"), self.token)
        ):
            return _forbidden(
                "No access token: open the URL that `coupa console` printed (it ends in "
                "?token=...)."
            )
        if request.method not in _SAFE_METHODS:
            origin = request.headers.get("origin")
            site = request.headers.get("sec-fetch-site")
            if site not in (None, "same-origin", "none") or (
                origin is not None and _host_name(origin.split("://", 1)[-1]) not in self.hosts
            ):
                return _forbidden("Refused: this request came from another site.")
        return None

    def _welcome(self, request: Request) -> Response:
        """Set the token cookie and send the browser to the same URL without the token."""
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        url = request.url.path + (f"?{urlencode(rest)}" if rest else "")
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
        return response


def _forbidden(message: str) -> Response:
    return PlainTextResponse(f"403 Forbidden. {message}\n", status_code=403)


def _with_headers(response: Response) -> Response:
    for name, value in _HEADERS:
        response.headers[name.decode()] = value.decode()
    return response


_FORM_TYPE = "application/x-www-form-urlencoded"
_MAX_FORM_BYTES = 64 * 1024


async def _read_form(request: Request) -> FormData | Response:
    # The console's forms are small and URL-encoded; parsing them here needs no multipart
    # parser, and anything else (an upload, a JSON body) is not one of ours.
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != _FORM_TYPE:
        return PlainTextResponse("415 Only the console's own forms are accepted.\n", 415)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            return PlainTextResponse("413 That form is too large.\n", status_code=413)
    pairs: list[tuple[str, str | UploadFile]] = list(
        parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    )
    return FormData(pairs)


async def require_csrf(request: Request, expected: str) -> FormData | Response:
    """The request's form when it carries the console's CSRF token, else a 403 answer."""
    form = await _read_form(request)
    if not isinstance(form, FormData):
        return form
    value = form.get(CSRF_FIELD)
    if not isinstance(value, str) or not _same(value, expected):
        return _forbidden("Refused: the form's CSRF token is missing or wrong; reload the page.")
    return form
