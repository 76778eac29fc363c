"""The sandbox's own control API under ``/__sandbox__/`` (never under ``/api``).

Tests, benchmarks and demos use it to change faults, throttling, token lifetime, clients and
data while the server runs, and to read request counts. Every call except ``GET health``
needs the header ``X-Sandbox-Admin: <admin secret>``; the secret is random per server
unless one is configured, and the ``Sandbox`` runner sends it for you.

    GET    /__sandbox__/health        liveness (no secret needed)
    GET    /__sandbox__/faults        current faults, counts left, faults injected
    PUT    /__sandbox__/faults        replace them (FaultConfig JSON)
    DELETE /__sandbox__/faults        clear them
    GET    /__sandbox__/rate-limit    {enabled, rate, burst}
    PUT    /__sandbox__/rate-limit    change any of them
    GET    /__sandbox__/config        {token_ttl, api_key_mode}
    PUT    /__sandbox__/config        change any of them
    GET    /__sandbox__/file-loads    {hold, delay, fail}: how data file source loads run
    PUT    /__sandbox__/file-loads    change any (hold: loads stay pending until false;
                                      fail: a message every load then fails with, or null)
    GET    /__sandbox__/clients       registered OAuth clients (never their secrets)
    POST   /__sandbox__/clients       {client_id, client_secret, scopes, login?}
    DELETE /__sandbox__/clients/ID    remove one
    POST   /__sandbox__/tokens/revoke every token minted so far is refused (401) from now on
    POST   /__sandbox__/reset         {seed_size?, seed?}: wipe and reseed the data
    GET    /__sandbox__/stats         request counts by route template and status
    POST   /__sandbox__/stats/reset   zero them
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from coupa_connector.sandbox._auth import DEFAULT_LOGIN, AuthService, OAuthClient
from coupa_connector.sandbox._faults import FaultConfig, FaultInjector
from coupa_connector.sandbox._file_loads import FileLoadControl
from coupa_connector.sandbox._filters import (
    ApiFilter,
    FilterError,
    delete_filter,
    find_filter,
    list_filters,
    save_filter,
)
from coupa_connector.sandbox._ratelimit import RateLimiter
from coupa_connector.sandbox._store import Store

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

__all__ = ["ADMIN_HEADER", "ADMIN_PREFIX", "AdminApi", "RequestStats", "SandboxState"]

logger = logging.getLogger("coupa_connector.sandbox")

ADMIN_PREFIX = "/__sandbox__"
ADMIN_HEADER = "X-Sandbox-Admin"
MAX_ADMIN_BODY = 256 * 1024
# Absurd URLs must not grow the stats table without bound.
MAX_ROUTES = 2000
_ID_SEGMENT = re.compile(r"^\d+$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._~-]{1,200}$")


def route_template(method: str, path: str) -> str:
    """The route a request belongs to, numeric ids replaced: ``GET /api/invoices/:id``."""
    segments = [":id" if _ID_SEGMENT.match(s) else s for s in path.rstrip("/").split("/")]
    return f"{method} {'/'.join(segments) or '/'}"


class RequestStats:
    """Counts of answered requests by route template and status.

    Statuses are the numbers the client received, or ``dropped`` when it received no
    complete answer (dropped connections and truncated bodies); ``faults`` counts the
    injected faults by kind.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """Zero every count."""
        self.total = 0
        self.by_status: dict[str, int] = {}
        self.by_route: dict[str, dict[str, int]] = {}
        self.faults: dict[str, int] = {}
        self.since = self._clock()

    def record(self, method: str, path: str, status: str, fault: str | None = None) -> None:
        """Count one request, and the fault injected into it if any."""
        self.total += 1
        if fault:
            self.faults[fault] = self.faults.get(fault, 0) + 1
        self.by_status[status] = self.by_status.get(status, 0) + 1
        route = route_template(method, path)
        if route not in self.by_route and len(self.by_route) >= MAX_ROUTES:
            route = f"{method} (other)"
        counts = self.by_route.setdefault(route, {})
        counts[status] = counts.get(status, 0) + 1

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {
            "total": self.total,
            "by_status": dict(sorted(self.by_status.items())),
            "by_route": {
                route: {"total": sum(c.values()), "by_status": dict(sorted(c.items()))}
                for route, c in sorted(self.by_route.items())
            },
            "faults": dict(sorted(self.faults.items())),
            "since": self.since,
        }


class Reseedable(Protocol):
    """What the admin API needs of the store."""

    def reset(self, seed_size: int | None = None, seed: int = 42) -> dict[str, int]: ...


@dataclass(slots=True)
class SandboxState:
    """The live, changeable parts of a running sandbox, shared by the admin API and the
    middleware that read them."""

    auth: AuthService
    limiter: RateLimiter
    faults: FaultInjector
    stats: RequestStats
    store: Reseedable
    admin_secret: str
    file_loads: FileLoadControl = field(default_factory=FileLoadControl)


class AdminError(Exception):
    """A refused admin call; ``field`` names the setting at fault."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


class AdminApi:
    """ASGI application serving ``/__sandbox__/``.

    Args:
        state: The sandbox's live settings and services.
    """

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._routes: dict[tuple[str, str], Callable[[Request], Any]] = {
            ("GET", "faults"): self._get_faults,
            ("PUT", "faults"): self._put_faults,
            ("DELETE", "faults"): self._delete_faults,
            ("GET", "rate-limit"): self._get_rate_limit,
            ("PUT", "rate-limit"): self._put_rate_limit,
            ("GET", "config"): self._get_config,
            ("PUT", "config"): self._put_config,
            ("GET", "file-loads"): self._get_file_loads,
            ("PUT", "file-loads"): self._put_file_loads,
            ("GET", "clients"): self._get_clients,
            ("POST", "clients"): self._post_client,
            ("POST", "tokens/revoke"): self._post_tokens_revoke,
            ("POST", "reset"): self._post_reset,
            ("GET", "stats"): self._get_stats,
            ("POST", "stats/reset"): self._post_stats_reset,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._dispatch(request)
        except AdminError as exc:
            body: dict[str, Any] = {"error": exc.message}
            if exc.field:
                body["field"] = exc.field
            response = _json(body, exc.status)
        await response(scope, receive, send)

    async def _dispatch(self, request: Request) -> Response:
        name = request.url.path[len(ADMIN_PREFIX) :].strip("/")
        if name == "health" and request.method in ("GET", "HEAD"):
            return _json({"status": "ok"})
        given = request.headers.get(ADMIN_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.state.admin_secret.encode()):
            raise AdminError(401, f"Send the admin secret in the {ADMIN_HEADER} header.")
        if name == "api-filters" or name.startswith("api-filters/"):
            return await self._api_filters(request, name[len("api-filters/") :])
        if name.startswith("clients/") and request.method == "DELETE":
            client_id = name[len("clients/") :]
            if not self.state.auth.remove_client(client_id):
                raise AdminError(404, f"No client {client_id!r}.", "client_id")
            return _json({"removed": client_id})
        handler = self._routes.get((request.method, name))
        if handler is None:
            allowed = sorted(m for m, n in self._routes if n == name)
            if allowed:
                raise AdminError(405, f"Use {', '.join(allowed)} on {ADMIN_PREFIX}/{name}.")
            raise AdminError(404, f"No admin route {ADMIN_PREFIX}/{name}.")
        result = handler(request)
        if hasattr(result, "__await__"):
            result = await result
        assert isinstance(result, Response)
        return result

    async def _body(self, request: Request) -> dict[str, Any]:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_ADMIN_BODY:
                raise AdminError(413, "The admin request body is too large.")
        if not raw.strip():
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise AdminError(400, f"The body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise AdminError(400, "The body must be a JSON object.")
        return data

    # ------------------------------------------------------------------ faults

    def _get_faults(self, request: Request) -> Response:
        return _json(self.state.faults.snapshot())

    async def _put_faults(self, request: Request) -> Response:
        data = await self._body(request)
        try:
            config = FaultConfig.from_dict(data)
        except (ValueError, TypeError) as exc:
            field, _, _ = str(exc).partition(":")
            raise AdminError(400, str(exc), field) from None
        self.state.faults.configure(config)
        logger.info("faults set: %s", config.to_dict())
        return _json(self.state.faults.snapshot())

    def _delete_faults(self, request: Request) -> Response:
        self.state.faults.configure(FaultConfig())
        logger.info("faults cleared")
        return _json(self.state.faults.snapshot())

    # ------------------------------------------------------------------ rate limit

    def _get_rate_limit(self, request: Request) -> Response:
        return _json(self.state.limiter.snapshot())

    async def _put_rate_limit(self, request: Request) -> Response:
        data = await self._body(request)
        _only(data, {"enabled", "rate", "burst"})
        limiter = self.state.limiter
        enabled = data.get("enabled", limiter.enabled)
        if not isinstance(enabled, bool):
            raise AdminError(400, "enabled: expected true or false", "enabled")
        try:
            limiter.configure(
                enabled=enabled,
                rate=data.get("rate", limiter.rate),
                burst=data.get("burst", limiter.burst),
            )
        except ValueError as exc:
            field = "rate" if str(exc).startswith("rate") else "burst"
            raise AdminError(400, f"{field}: {exc}", field) from None
        logger.info("rate limit set: %s", limiter.snapshot())
        return _json(limiter.snapshot())

    # ------------------------------------------------------------------ config

    def _config(self) -> dict[str, Any]:
        auth = self.state.auth
        return {"token_ttl": auth.signer.ttl, "api_key_mode": auth.api_key_mode}

    def _get_config(self, request: Request) -> Response:
        return _json(self._config())

    async def _put_config(self, request: Request) -> Response:
        data = await self._body(request)
        _only(data, {"token_ttl", "api_key_mode"})
        ttl = data.get("token_ttl", self.state.auth.signer.ttl)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= 10 * 365 * 86400:
            raise AdminError(400, "token_ttl: expected whole seconds, at least 1", "token_ttl")
        mode = data.get("api_key_mode", self.state.auth.api_key_mode)
        if not isinstance(mode, bool):
            raise AdminError(400, "api_key_mode: expected true or false", "api_key_mode")
        self.state.auth.signer.ttl = ttl
        self.state.auth.api_key_mode = mode
        logger.info("config set: %s", self._config())
        return _json(self._config())

    def _post_tokens_revoke(self, request: Request) -> Response:
        self.state.auth.signer.revoke_all()
        logger.info("every token minted so far is revoked")
        return _json({"revoked": True})

    # ------------------------------------------------------------------ file loads

    def _file_loads(self) -> dict[str, Any]:
        control = self.state.file_loads
        return {"hold": control.hold, "delay": control.delay, "fail": control.fail}

    def _get_file_loads(self, request: Request) -> Response:
        return _json(self._file_loads())

    async def _put_file_loads(self, request: Request) -> Response:
        data = await self._body(request)
        _only(data, {"hold", "delay", "fail"})
        control = self.state.file_loads
        hold = data.get("hold", control.hold)
        if not isinstance(hold, bool):
            raise AdminError(400, "hold: expected true or false", "hold")
        delay = data.get("delay", control.delay)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 3600:
            raise AdminError(400, "delay: expected seconds from 0 to 3600", "delay")
        fail = data.get("fail", control.fail)
        if fail is not None and (not isinstance(fail, str) or not fail.strip()):
            raise AdminError(400, "fail: expected a message, or null to stop failing", "fail")
        control.hold = hold
        control.delay = float(delay)
        control.fail = fail
        logger.info("file loads set: %s", self._file_loads())
        return _json(self._file_loads())

    # ------------------------------------------------------------------ clients

    def _get_clients(self, request: Request) -> Response:
        return _json([c.public() for c in self.state.auth.clients()])

    async def _post_client(self, request: Request) -> Response:
        data = await self._body(request)
        _only(data, {"client_id", "client_secret", "scopes", "login"})
        client = client_from_dict(data)
        self.state.auth.add_client(client)
        logger.info("client registered: %s", client.public())
        return _json(client.public(), 201)

    # ------------------------------------------------------------------ API filters

    async def _api_filters(self, request: Request, filter_name: str) -> Response:
        """``GET /api-filters``; ``PUT``/``DELETE /api-filters/NAME`` (``{"resources":
        [...], "fields": [...], "conditions": {...}}``)."""
        store = self.state.store
        if not isinstance(store, Store):
            raise AdminError(404, "This sandbox's store keeps no API filters.")
        if not filter_name:
            if request.method != "GET":
                raise AdminError(405, f"Use GET on {ADMIN_PREFIX}/api-filters.")
            return _json({"filters": [f.as_dict() for f in list_filters(store)]})
        if request.method == "PUT":
            data = await self._body(request)
            try:
                api_filter = ApiFilter.from_dict({**data, "name": filter_name})
            except FilterError as exc:
                raise AdminError(400, str(exc), str(exc).split(":", 1)[0]) from None
            save_filter(store, api_filter)
            return _json(api_filter.as_dict())
        if request.method == "DELETE":
            if not delete_filter(store, filter_name):
                raise AdminError(404, f"No API filter {filter_name!r}.", "name")
            return _json({"removed": filter_name})
        if request.method == "GET":
            found = find_filter(store, filter_name)
            if found is None:
                raise AdminError(404, f"No API filter {filter_name!r}.", "name")
            return _json(found.as_dict())
        raise AdminError(405, f"Use GET, PUT or DELETE on {ADMIN_PREFIX}/api-filters/NAME.")

    # ------------------------------------------------------------------ data and stats

    async def _post_reset(self, request: Request) -> Response:
        data = await self._body(request)
        _only(data, {"seed_size", "seed"})
        size = data.get("seed_size")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise AdminError(400, "seed_size: expected a whole number of invoices", "seed_size")
        seed = data.get("seed", 42)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise AdminError(400, "seed: expected a whole number", "seed")
        started = time.perf_counter()
        # Seeding can take seconds; the store serializes access, so other requests wait
        # for it instead of seeing half-seeded data, and the event loop stays responsive.
        counts = await run_in_threadpool(self.state.store.reset, size, seed)
        logger.info(
            "data reseeded (seed_size=%s, seed=%s): %s records", size, seed, sum(counts.values())
        )
        return _json({"counts": counts, "seconds": round(time.perf_counter() - started, 3)})

    def _get_stats(self, request: Request) -> Response:
        return _json(self.state.stats.snapshot())

    def _post_stats_reset(self, request: Request) -> Response:
        self.state.stats.reset()
        return _json(self.state.stats.snapshot())


def _only(data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise AdminError(
            400, f"{unknown[0]}: unknown setting; known: {', '.join(sorted(allowed))}", unknown[0]
        )


def client_from_dict(data: Mapping[str, Any]) -> OAuthClient:
    """Build an OAuth client from admin-API or start-up JSON.

    Raises:
        AdminError: A field is missing or malformed (the message names it).
    """
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise AdminError(400, "client_id: 1-200 letters, digits or . _ ~ - characters", "client_id")
    secret = data.get("client_secret")
    if not isinstance(secret, str) or not secret:
        raise AdminError(400, "client_secret: a non-empty string is required", "client_secret")
    scopes = data.get("scopes", [])
    if isinstance(scopes, str):
        scopes = scopes.split()
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
        raise AdminError(400, "scopes: expected a list of scope names", "scopes")
    login = data.get("login", DEFAULT_LOGIN)
    if not isinstance(login, str) or not login:
        raise AdminError(400, "login: expected a user login", "login")
    return OAuthClient(client_id, secret, frozenset(scopes), login)
