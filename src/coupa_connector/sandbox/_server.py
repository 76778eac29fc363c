"""The assembled sandbox server and ``Sandbox``, the runner that starts it from Python.

A request passes, outermost first:

    request counter -> body-read deadline -> fault injector -> router
        /__sandbox__/...  admin API
        /oauth2/token     token endpoint
        /api/...          rate limit -> authentication -> the Coupa API app
        anything else     404 in Coupa's error format

``Sandbox`` runs that app under uvicorn in a background thread (``start``/``stop`` or a
``with`` block) or in the foreground (``serve``, for ``coupa sandbox``), and drives the admin
API over HTTP with the standard library only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import socket
import string
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request

from coupa_connector.errors import ConfigurationError
from coupa_connector.sandbox._admin import (
    ADMIN_HEADER,
    ADMIN_PREFIX,
    AdminApi,
    RequestStats,
    Reseedable,
    SandboxState,
)
from coupa_connector.sandbox._auth import (
    DEFAULT_LOGIN,
    DEFAULT_TOKEN_TTL,
    TOKEN_PATH,
    AuthGate,
    AuthService,
    OAuthClient,
    TokenSigner,
    all_scopes,
    token_bucket,
    token_throttled,
)
from coupa_connector.sandbox._bodyread import DEFAULT_BODY_TIMEOUT, BodyReadDeadline
from coupa_connector.sandbox._faults import FaultConfig, FaultInjector, FaultRule, find_transport
from coupa_connector.sandbox._file_loads import FileLoadControl
from coupa_connector.sandbox._ratelimit import (
    DEFAULT_BURST,
    DEFAULT_RATE,
    RateLimiter,
    RateLimitGate,
)
from coupa_connector.sandbox._wire import error_response

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_CLIENT_ID",
    "Sandbox",
    "SandboxApp",
    "SandboxSettings",
    "build_sandbox_app",
    "default_api_key",
    "default_client_secret",
]

logger = logging.getLogger("coupa_connector.sandbox")

DEFAULT_CLIENT_ID = "sandbox"
_ALNUM = string.ascii_letters + string.digits


def _derive(purpose: str, seed: int, length: int) -> str:
    # Deterministic per seed so docs and scripts can rely on them; this is a local test
    # server, and a real deployment passes its own secrets.
    digest = hashlib.sha256(f"coupa-sandbox/{purpose}/{seed}".encode()).digest()
    digest += hashlib.sha256(digest).digest()
    return "".join(_ALNUM[b % len(_ALNUM)] for b in digest[:length])


def default_client_secret(seed: int = 42) -> str:
    """The default client's secret for a seed (32 letters and digits)."""
    return _derive("client-secret", seed, 32)


def default_api_key(seed: int = 42) -> str:
    """The legacy API key for a seed (40 letters and digits, as Coupa's keys are)."""
    return _derive("api-key", seed, 40)


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """How a sandbox is set up at start; most of it can change later through the admin API.

    Attributes:
        db: SQLite file (kept across restarts; seeded only while empty) or None for memory.
        seed_size: Invoices to seed (None: the small default).
        seed: Seed of the data generator and of the default credentials.
        rate_limit: Whether Coupa's throttle is on.
        rate: Sustained requests per second per client.
        burst: Requests a client may send at once.
        token_ttl: Lifetime of new access tokens, seconds.
        api_key_mode: Accept the legacy ``X-COUPA-API-KEY`` header.
        latency_ms: Added to every API request.
        body_timeout: Longest wait, in seconds, for the next part of an unfinished request
            body before answering 408 and closing the connection.
        faults: Faults to inject from the start.
        client_id: The default client, which holds every scope.
        client_secret: Its secret (None: derived from ``seed``).
        api_key: The legacy API key (None: derived from ``seed``).
        admin_secret: Secret of the admin API (None: random).
        login: The Coupa user that the default client's and the API key's changes are
            attributed to.
        clients: More OAuth clients, each with its own scopes.
        attachment_show: What an attachment's show route answers: ``file`` (the file
            itself) or ``record`` (the attachment record, whose ``file-url`` serves it).
        attachment_max_bytes: The largest file an upload may carry.
    """

    db: str | Path | None = None
    seed_size: int | None = None
    seed: int = 42
    rate_limit: bool = False
    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST
    token_ttl: int = DEFAULT_TOKEN_TTL
    api_key_mode: bool = False
    latency_ms: int = 0
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    faults: FaultConfig | None = None
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    admin_secret: str | None = field(default=None, repr=False)
    login: str = DEFAULT_LOGIN
    clients: tuple[OAuthClient, ...] = ()
    attachment_show: str = "file"
    attachment_max_bytes: int = 512 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.attachment_show not in ("file", "record"):
            raise ConfigurationError("attachment_show: give file or record")
        if self.attachment_max_bytes < 1:
            raise ConfigurationError("attachment_max_bytes: give bytes, at least 1")
        if self.seed_size is not None and self.seed_size < 0:
            raise ConfigurationError("seed_size: give a number of invoices, 0 or more")
        if self.token_ttl < 1:
            raise ConfigurationError("token_ttl: give whole seconds, at least 1")
        if not self.rate > 0 or self.burst < 1:
            raise ConfigurationError("rate and burst must be positive")
        if self.latency_ms < 0:
            raise ConfigurationError("latency_ms: give milliseconds, 0 or more")
        if not self.body_timeout > 0:
            raise ConfigurationError("body_timeout: give seconds, more than 0")

    def resolved(self) -> SandboxSettings:
        """The same settings with every derived secret filled in."""
        import secrets

        return replace(
            self,
            client_secret=self.client_secret or default_client_secret(self.seed),
            api_key=self.api_key or default_api_key(self.seed),
            admin_secret=self.admin_secret or secrets.token_urlsafe(24),
        )

    def start_faults(self) -> FaultConfig:
        """The faults in force at start: ``faults`` plus the ``latency_ms`` rule."""
        config = self.faults or FaultConfig()
        if self.latency_ms:
            rule = FaultRule(latency_ms=self.latency_ms, path=r"^/api/")
            config = FaultConfig(config.seed, (rule, *config.rules))
        return config


class _RequestCounter:
    """Outermost layer: counts every answered request (admin calls excepted) for stats, and
    hands the connection's transport to the fault injector."""

    def __init__(self, app: ASGIApp, stats: RequestStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        transport = find_transport(send)
        if transport is not None:
            scope["coupa.transport"] = transport
        if scope["path"].startswith(ADMIN_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        status = "dropped"

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        except Exception:
            status = "500"  # uvicorn answers an unhandled error with a 500
            raise
        finally:
            fault = scope.get("coupa.fault")
            if fault in ("drop", "truncate", "commit_drop"):
                status = "dropped"
            self.stats.record(scope["method"], scope["path"], status, fault)


class _Router:
    def __init__(self, token: ASGIApp, api: ASGIApp) -> None:
        self.token = token
        self.api = api
        # Set once the admin API's state (which holds the fault injector around this
        # router) exists.
        self.admin: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan and websockets: nothing to do
        path: str = scope["path"]
        if self.admin is not None and (path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")):
            await self.admin(scope, receive, send)
        elif path.rstrip("/") == TOKEN_PATH:
            await self.token(scope, receive, send)
        elif path == "/api" or path.startswith("/api/"):
            await self.api(scope, receive, send)
        else:
            request = Request(scope, receive)
            response = error_response(request, 404, [f"No route matches {path[:200]}"])
            await response(scope, receive, send)


class SandboxApp:
    """The composed ASGI application with its live state.

    Attributes:
        state: Auth, throttle, faults, stats and store, as the admin API changes them.
        settings: The resolved start-up settings.
    """

    def __init__(self, settings: SandboxSettings, state: SandboxState, app: ASGIApp) -> None:
        self.settings = settings
        self.state = state
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def close(self) -> None:
        """Release the store."""
        close = getattr(self.state.store, "close", None)
        if callable(close):
            close()


def build_sandbox_app(
    settings: SandboxSettings | None = None,
    *,
    store: Reseedable | None = None,
    api_factory: Callable[[Any], ASGIApp] | None = None,
    scopes: Iterable[str] | None = None,
) -> SandboxApp:
    """Compose the sandbox: data store, Coupa API, auth, throttle, faults and admin API.

    Args:
        settings: Start-up settings (defaults: in-memory data, small seed, no throttle).
        store: The data store (default: a SQLite ``Store`` per ``settings``).
        api_factory: Builds the ``/api`` application from the store (default: the Coupa
            API of this package).
        scopes: What the default client may request (default: every known scope).

    Returns:
        The ASGI application; call its ``close`` when done.
    """
    settings = (settings or SandboxSettings()).resolved()
    assert settings.client_secret and settings.api_key and settings.admin_secret
    if scopes is None:
        from coupa_connector.catalog import load_catalog

        scopes = all_scopes(load_catalog())
    if store is None:
        from coupa_connector.sandbox._app import api_prerenderer
        from coupa_connector.sandbox._store import Store
        from coupa_connector.sandbox.seed import seed_store

        store = Store(
            None if settings.db is None else str(settings.db),
            seed_size=settings.seed_size,
            seed=settings.seed,
            seeder=seed_store,
            # The API's skeletons are made as the seed writes the records.
            prerender=api_prerenderer() if api_factory is None else None,
        )
    file_loads = FileLoadControl()
    if api_factory is None:
        from coupa_connector.sandbox._app import ApiOptions, build_api_app

        show: Literal["file", "record"] = (
            "record" if settings.attachment_show == "record" else "file"
        )

        def api_factory(data: Any) -> ASGIApp:
            options = ApiOptions(
                attachment_show=show,
                attachment_max_bytes=settings.attachment_max_bytes,
                file_loads=file_loads,
            )
            return build_api_app(data, options)

    default_client = OAuthClient(
        settings.client_id, settings.client_secret, frozenset(scopes), settings.login
    )
    auth = AuthService(
        (default_client, *settings.clients),
        signer=TokenSigner(ttl=settings.token_ttl),
        api_key=settings.api_key,
        api_key_mode=settings.api_key_mode,
        api_key_login=settings.login,
    )
    limiter = RateLimiter(settings.rate, settings.burst, enabled=settings.rate_limit)
    stats = RequestStats()

    def bucket_of(request: Request) -> str:
        caller = auth.identify(request.headers)
        return "anonymous" if caller is None else f"client:{caller.client_id}"

    api: ASGIApp = AuthGate(api_factory(store), auth)
    api = RateLimitGate(api, limiter, bucket_of)
    # The token endpoint is throttled like the API (Coupa's limit covers every request of
    # the instance), in buckets of its own per calling address.
    token = RateLimitGate(auth.token_endpoint, limiter, token_bucket, token_throttled)
    router = _Router(token, api)
    faults = FaultInjector(router, settings.start_faults())
    state = SandboxState(auth, limiter, faults, stats, store, settings.admin_secret, file_loads)
    router.admin = AdminApi(state)
    outer = BodyReadDeadline(faults, settings.body_timeout)
    return SandboxApp(settings, state, _RequestCounter(outer, stats))


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Sandbox:
    """A Coupa-compatible API server on 127.0.0.1, for tests, demos and trying things out.

    Example:
        >>> with Sandbox() as sb:  # doctest: +SKIP
        ...     print(sb.url, sb.client_id)

    Args:
        db: SQLite file (kept across restarts) or None for an in-memory database.
        seed_size: Invoices to seed (None: the small default).
        seed: Seed of the generated data and of the default credentials.
        rate_limit: Turn on Coupa's throttle (25 requests/s, burst 20, per client).
        token_ttl: Lifetime of access tokens, seconds.
        api_key_mode: Accept the legacy ``X-COUPA-API-KEY`` header too.
        latency_ms: Delay added to every API request.
        host: Interface to listen on.
        port: Port to listen on; 0 picks a free one.
        **options: Any other ``SandboxSettings`` field (``client_secret``, ``clients``,
            ``faults``, ``rate``, ``burst``, ``admin_secret``, ``login``...).
    """

    def __init__(
        self,
        db: str | Path | None = None,
        seed_size: int | None = None,
        seed: int = 42,
        rate_limit: bool = False,
        token_ttl: int = DEFAULT_TOKEN_TTL,
        api_key_mode: bool = False,
        latency_ms: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        **options: Any,
    ) -> None:
        try:
            settings = SandboxSettings(
                db=db,
                seed_size=seed_size,
                seed=seed,
                rate_limit=rate_limit,
                token_ttl=token_ttl,
                api_key_mode=api_key_mode,
                latency_ms=latency_ms,
                **options,
            )
        except TypeError as exc:
            raise ConfigurationError(f"Sandbox: {exc}") from None
        self.settings = settings.resolved()
        self.host = host
        self.port = port
        self._app: SandboxApp | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Sandbox(url={self.url!r}, {state})" if self._socket else f"Sandbox({state})"

    # ------------------------------------------------------------------ credentials

    @property
    def url(self) -> str:
        """Base URL, ``http://127.0.0.1:PORT`` (valid once started)."""
        # A wildcard address is where the server listens, not where a client connects.
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def client_id(self) -> str:
        """The default OAuth client, which may request every scope."""
        return self.settings.client_id

    @property
    def client_secret(self) -> str:
        """The default client's secret."""
        assert self.settings.client_secret
        return self.settings.client_secret

    @property
    def api_key(self) -> str:
        """The legacy API key (accepted only in API-key mode)."""
        assert self.settings.api_key
        return self.settings.api_key

    @property
    def admin_secret(self) -> str:
        """The secret the admin API wants in ``X-Sandbox-Admin``."""
        assert self.settings.admin_secret
        return self.settings.admin_secret

    @property
    def scopes(self) -> tuple[str, ...]:
        """Every scope the default client holds."""
        from coupa_connector.catalog import load_catalog

        return all_scopes(load_catalog())

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def app(self) -> SandboxApp:
        """The ASGI application (after ``start`` or ``bind``)."""
        if self._app is None:
            raise ConfigurationError("The sandbox has not been started.")
        return self._app

    # ------------------------------------------------------------------ lifecycle

    def _build_app(self) -> SandboxApp:
        # The seam where a subclass can compose the sandbox differently.
        return build_sandbox_app(self.settings)

    def bind(self) -> None:
        """Build the app and open the listening socket (``start`` and ``serve`` do this)."""
        if self._socket is not None:
            return
        self._app = self._build_app()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
        # protocol says TCP, and with Nagle on, every response written in two parts (headers,
        # body) waits ~40 ms for the client's delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(2048)
        except OSError as exc:
            sock.close()
            self._app.close()
            self._app = None
            raise ConfigurationError(
                f"Cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self._socket = sock
        self.port = sock.getsockname()[1]

    def _uvicorn(self, *, log_config: bool) -> uvicorn.Server:
        import uvicorn
        from uvicorn.config import LOGGING_CONFIG

        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            backlog=2048,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=2,
            server_header=False,
            # In-process servers leave the host's logging alone; the CLI wants uvicorn's.
            log_config=LOGGING_CONFIG if log_config else None,
        )
        return uvicorn.Server(config)

    def start(self, timeout: float = 60.0) -> Sandbox:
        """Start serving in a background thread and wait until it answers.

        Returns:
            The sandbox itself, for chaining.

        Raises:
            ConfigurationError: The port cannot be bound or the server did not come up.
        """
        if self.running:
            return self
        self.bind()
        assert self._socket is not None
        server = self._uvicorn(log_config=False)
        self._server = server
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [self._socket]},
            name=f"coupa-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigurationError(f"The sandbox did not start on {self.url}.")
            time.sleep(0.01)
        logger.info("sandbox serving on %s", self.url)
        return self

    def serve(self) -> None:
        """Serve in the foreground until Ctrl-C or SIGTERM, then return normally."""
        self.bind()
        assert self._socket is not None
        server = self._uvicorn(log_config=True)
        self._server = server
        # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal to the
        # handler that was in place before; make both of those a quiet return.
        restore = None
        if threading.current_thread() is threading.main_thread():
            restore = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            server.run(sockets=[self._socket])
        except KeyboardInterrupt:
            pass
        finally:
            if restore is not None:
                signal.signal(signal.SIGTERM, restore)
            self._release()

    def stop(self) -> None:
        """Stop serving, close connections and release the data store."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout=5)
        self._thread = None
        self._release()

    def _release(self) -> None:
        self._server = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._app is not None:
            self._app.close()
            self._app = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ admin API

    def admin(self, method: str, name: str, body: Mapping[str, Any] | None = None) -> Any:
        """Call the admin API and return its decoded JSON answer.

        Raises:
            ConfigurationError: The admin API refused the call (its message says why).
        """
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{ADMIN_PREFIX}/{name}",
            data=data,
            method=method,
            headers={ADMIN_HEADER: self.admin_secret, "Content-Type": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=600) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                message = exc.reason
            raise ConfigurationError(f"Sandbox admin {method} {name}: {message}") from None

    def add_client(
        self,
        client_id: str,
        client_secret: str,
        scopes: Iterable[str],
        login: str = DEFAULT_LOGIN,
    ) -> None:
        """Register (or replace) an OAuth client with the given scopes."""
        self.admin(
            "POST",
            "clients",
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "scopes": list(scopes),
                "login": login,
            },
        )

    def remove_client(self, client_id: str) -> None:
        """Remove an OAuth client."""
        self.admin("DELETE", f"clients/{client_id}")

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Replace the injected faults.

        Takes one rule's settings inline (``error_rate=0.2, methods=["GET"]``) or
        ``rules=[{...}, ...]``, plus ``seed``; see ``FaultRule`` for every setting.

        Returns:
            The admin API's view of the new faults.
        """
        result: dict[str, Any] = self.admin("PUT", "faults", settings)
        return result

    def clear_faults(self) -> None:
        """Remove every injected fault, latency included."""
        self.admin("DELETE", "faults")

    def faults(self) -> dict[str, Any]:
        """The faults in force, counts left and faults injected so far."""
        result: dict[str, Any] = self.admin("GET", "faults")
        return result

    def set_rate_limit(
        self, enabled: bool, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST
    ) -> None:
        """Turn the throttle on or off and set its rate (requests/s) and burst."""
        self.admin("PUT", "rate-limit", {"enabled": enabled, "rate": rate, "burst": burst})

    def set_token_ttl(self, seconds: int) -> None:
        """Set the lifetime of tokens minted from now on."""
        self.admin("PUT", "config", {"token_ttl": seconds})

    def revoke_tokens(self) -> None:
        """Refuse every access token minted so far (clients must mint new ones)."""
        self.admin("POST", "tokens/revoke")

    def set_api_key_mode(self, enabled: bool) -> None:
        """Accept (or stop accepting) the legacy ``X-COUPA-API-KEY`` header."""
        self.admin("PUT", "config", {"api_key_mode": enabled})

    def set_file_loads(
        self,
        *,
        hold: bool | None = None,
        delay: float | None = None,
        fail: str | Literal[False] | None = False,
    ) -> None:
        """Hold data file source loads pending (``hold``), make each wait ``delay`` seconds
        before it starts, or make them fail with a message (``fail``; None stops it, False
        leaves it as it is); loads held start when the hold ends."""
        body: dict[str, Any] = {}
        if hold is not None:
            body["hold"] = hold
        if delay is not None:
            body["delay"] = delay
        if fail is not False:
            body["fail"] = fail
        self.admin("PUT", "file-loads", body)

    def reset(self, seed_size: int | None = None, seed: int = 42) -> dict[str, int]:
        """Wipe the data and reseed it.

        Returns:
            Record counts per resource.
        """
        result = self.admin("POST", "reset", {"seed_size": seed_size, "seed": seed})
        counts: dict[str, int] = result["counts"]
        return counts

    def stats(self) -> dict[str, Any]:
        """Request counts by route template and status, plus totals and faults injected."""
        result: dict[str, Any] = self.admin("GET", "stats")
        return result

    def reset_stats(self) -> None:
        """Zero the request counts."""
        self.admin("POST", "stats/reset")
