"""The connection's Test: host, credentials, and a minimal read per object.

Each check is a row with a verdict and a reason a person can act on: unreachable, TLS, bad
secret, missing scope (403), not on this instance (404).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from coupa_connector.catalog import ObjectDef
from coupa_connector.client._auth import OAuthFlow
from coupa_connector.client._transport import SendFailure
from coupa_connector.errors import (
    APIError,
    AuthenticationError,
    CoupaError,
    NotFoundError,
    PermissionDeniedError,
    TransportError,
)

if TYPE_CHECKING:
    from coupa_connector.client._requester import AsyncRequester

_FAILURE_REASONS = {
    "tls": "TLS failed (certificate not trusted or handshake refused)",
    "connect": "unreachable (network)",
    "refused": "unreachable (connection refused)",
    "dns": "unreachable (the host name does not resolve)",
    "connect_timeout": "unreachable (connect timed out)",
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One row of the connection test.

    Attributes:
        check: What was checked (``host``, ``token``, or an object name).
        ok: Whether it works.
        detail: What happened, or why it does not work.
        status: HTTP status seen, if any.
        scope: The scope the check needs, for object reads.
        seconds: How long it took.
    """

    check: str
    ok: bool
    detail: str
    status: int | None = None
    scope: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ConnectionTestReport:
    """The outcome of ``Connection.test()``: one row per check; ``ok`` only if all pass."""

    url: str
    auth: str
    checks: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (no secrets are part of a report)."""
        return {
            "url": self.url,
            "auth": self.auth,
            "ok": self.ok,
            "checks": [asdict(c) for c in self.checks],
        }


def _reason(exc: CoupaError, scope: str | None) -> str:
    if isinstance(exc, PermissionDeniedError):
        need = f" {scope}" if scope else ""
        return f"missing scope{need} (403)"
    if isinstance(exc, AuthenticationError):
        return "credentials refused (401): bad secret, expired or revoked"
    if isinstance(exc, NotFoundError):
        return "not available on this instance (404)"
    if isinstance(exc, TransportError):
        kind = getattr(exc, "kind", "")
        return _FAILURE_REASONS.get(kind, f"no answer: {exc.message}")
    said = f": {'; '.join(exc.messages)}" if exc.messages else ""
    return f"HTTP {exc.status}{said}" if exc.status else exc.message


def default_objects(conn: AsyncRequester) -> list[ObjectDef]:
    """One object per scope the connection asks for: the one the scope is named after.

    With no scopes configured, the scopes the token was granted are used; with none known
    (an API key), the commonest objects are checked: invoices, purchase orders, suppliers,
    users, accounts.
    """
    resources = [
        o for o in conn.catalog.resources() if o.read_scope and (o.can_query or not o.actions)
    ]
    asked = conn.config.scopes
    if not asked and isinstance(conn.auth, OAuthFlow) and conn.auth.token is not None:
        asked = conn.auth.token.scopes
    scopes = [s for s in asked if s.endswith(".read")]
    if not scopes:
        names = ("invoices", "purchase_orders", "suppliers", "users", "accounts")
        return [conn.catalog.get(n) for n in names if n in conn.catalog]
    chosen: list[ObjectDef] = []
    for scope in scopes:
        covered = [o for o in resources if o.read_scope == scope]
        if not covered:
            continue
        stem = scope.split(".")[1] if scope.count(".") >= 2 else scope
        # The object the scope is named after: invoices for core.invoice.read, accounts for
        # core.accounting.read; among several, the shortest name is the main object.
        named = [
            o for o in covered if stem.startswith(o.name.rstrip("s")) or o.name.startswith(stem)
        ]
        chosen.append(min(named or covered, key=lambda o: (len(o.name), o.name)))
    return chosen


async def run_connection_test(
    conn: AsyncRequester, objects: Sequence[str] | None = None
) -> ConnectionTestReport:
    """Check that the host answers, credentials work, and each object can be read.

    Args:
        conn: The connection to test.
        objects: Objects to try a minimal read on (``limit=1``, ``return_object=limited``);
            by default one per configured read scope.

    Returns:
        The report; ``report.ok`` only when every check passed.
    """
    checks: list[CheckResult] = []
    config = conn.config
    started = time.perf_counter()
    try:
        response = await conn._http.send("GET", config.url + "/", headers={"Accept": "*/*"})
        checks.append(
            CheckResult(
                "host",
                True,
                f"{config.host} answered (HTTP {response.status})",
                response.status,
                seconds=time.perf_counter() - started,
            )
        )
    except SendFailure as failure:
        reason = _FAILURE_REASONS.get(failure.kind.value, f"no answer ({failure.kind.value})")
        checks.append(
            CheckResult(
                "host", False, f"{config.host}: {reason}", seconds=time.perf_counter() - started
            )
        )
        return ConnectionTestReport(config.url, config.auth_mode, tuple(checks))

    if isinstance(conn.auth, OAuthFlow):
        started = time.perf_counter()
        try:
            await conn.auth.headers()
            token = conn.auth.token
            scopes = token.scopes if token else ()
            if not scopes:
                granted = "as configured"
            elif len(scopes) <= 4:
                granted = " ".join(scopes)
            else:
                granted = f"{len(scopes)} granted"
            note = (
                "; the requested scopes were refused (invalid_scope), so the client got only "
                "its granted scopes"
                if conn.auth.scope_fallback
                else ""
            )
            checks.append(
                CheckResult(
                    "token",
                    True,
                    f"client {config.client_id!r} got a token (scopes: {granted}){note}",
                    seconds=time.perf_counter() - started,
                )
            )
        except AuthenticationError as exc:
            said = f" ({'; '.join(exc.messages)})" if exc.messages else ""
            checks.append(
                CheckResult(
                    "token",
                    False,
                    f"bad client id or secret{said}",
                    exc.status,
                    seconds=time.perf_counter() - started,
                )
            )
            return ConnectionTestReport(config.url, config.auth_mode, tuple(checks))
        except CoupaError as exc:
            checks.append(
                CheckResult(
                    "token",
                    False,
                    _reason(exc, None),
                    exc.status,
                    seconds=time.perf_counter() - started,
                )
            )
            return ConnectionTestReport(config.url, config.auth_mode, tuple(checks))

    targets = [conn.object(o) for o in objects] if objects else default_objects(conn)
    for obj in targets:
        if not obj.resource:
            checks.append(
                CheckResult(obj.name, False, "has no API resource to read", scope=obj.read_scope)
            )
            continue
        if ":" in obj.resource:
            checks.append(
                CheckResult(
                    obj.name,
                    False,
                    f"nested under another record ({obj.resource}); test its parent object",
                    scope=obj.read_scope,
                )
            )
            continue
        started = time.perf_counter()
        try:
            answer = await conn.request(
                "GET",
                obj.resource,
                params={"limit": 1, "return_object": "limited"},
                object_name=obj,
            )
            if isinstance(answer, list):
                row = CheckResult(
                    obj.name, True, "read OK", 200, obj.read_scope, time.perf_counter() - started
                )
            else:
                row = CheckResult(
                    obj.name,
                    False,
                    "answered, but not with a list of records: is the URL a Coupa instance?",
                    200,
                    obj.read_scope,
                    time.perf_counter() - started,
                )
            checks.append(row)
        except CoupaError as exc:
            # Only an answer from Coupa has a status to show; a transport failure has none.
            status = exc.status if isinstance(exc, APIError) else None
            checks.append(
                CheckResult(
                    obj.name,
                    False,
                    _reason(exc, obj.read_scope),
                    status,
                    obj.read_scope,
                    time.perf_counter() - started,
                )
            )
    return ConnectionTestReport(config.url, config.auth_mode, tuple(checks))
