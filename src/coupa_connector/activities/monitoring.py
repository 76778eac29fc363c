"""Coupa's integration monitoring: a run of ours kept as an integration run in Coupa.

Coupa shows admins what integrations did through four resources: ``integrations``,
``integration_runs`` (created pending, then ``PUT /:id/run``, ``/success``, ``/fail``...),
``integration_errors`` and ``integration_history_records`` (coupa-api.md 4.8). A
``CoupaMonitor`` keeps one integration run for one run of an operation:

* ``start`` finds the integration by code (creating it from the settings when Coupa has
  none), creates a run and moves it to running;
* ``progress`` sends ``records-processed`` (and ``total-records`` once known);
* ``rejected`` records one integration error per rejected or failed record, with the
  record's key as ``external-id`` and the reason as a response;
* ``written`` records one history record per written document (``history: all``);
* ``finish`` ends the run ``success`` or ``fail`` with the counts, or ``pause``s it when the
  operation stopped where a resume can continue it (the error that stopped it is recorded
  as an integration error either way);
* ``resume`` continues the integration run of the attempt being resumed, when Coupa still
  has it open (pending, running or paused), so one operation run is one run in Coupa however
  often it is resumed; ``supersede`` fails the open run of an attempt a new run replaces.

Monitoring is bookkeeping about the data, never a reason to stop moving it: every one of
those calls is best effort. A call that fails (after the connection's own retries) is
logged and counted in ``failures``, and the monitor stands down: the rest of the run's
monitoring calls are not sent (a monitoring endpoint that answers 500 would otherwise cost
every batch the whole retry budget) but still counted, so ``failures`` says how much of the
run's record in Coupa is missing.

The watermark is different: it is data. With ``watermark: coupa`` an incremental operation
keeps the end of its window in the run (``PUT /:id/max_updated_at``) and starts the next
window at the ``max-updated-at`` of the integration's last successful run, so every machine
running the operation shares one watermark. ``last_watermark`` and ``save_watermark``
therefore raise on failure: a window read wrongly would skip or repeat records.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from coupa_connector.errors import ConfigurationError, CoupaError, NotFoundError, ValidationError

__all__ = [
    "DOCUMENT_TYPES",
    "CoupaMonitor",
    "MonitorSettings",
    "Requests",
    "integration_errors",
    "integration_report",
    "integration_run",
    "integration_runs",
    "monitor_settings",
]

log = logging.getLogger("coupa_connector.monitoring")

INTEGRATIONS = "/api/integrations"
RUNS = "/api/integration_runs"
ERRORS = "/api/integration_errors"
HISTORY = "/api/integration_history_records"
# The status the sandbox and Coupa give a run ended with PUT /:id/success.
SUCCESSFUL = "successful"
# The statuses of a run Coupa has not ended: a resume continues it.
OPEN_STATUSES = ("pending", "running", "paused")
# The document types Coupa's integration errors and history records name (Swagger R39
# ``IntegrationError.document-type``), by catalog object.
DOCUMENT_TYPES: Mapping[str, str] = {
    "invoices": "InvoiceHeader",
    "purchase_orders": "OrderHeader",
    "requisitions": "RequisitionHeader",
    "expense_reports": "ExpenseReport",
    "inventory_transactions": "InventoryTransaction",
    "accounts": "Account",
    "suppliers": "Supplier",
    "users": "User",
    "addresses": "Address",
    "contracts": "Contract",
    "exchange_rates": "ExchangeRate",
    "lookup_values": "LookupValue",
    "items": "Item",
    "supplier_information": "SupplierInformation",
    "account_validation_rules": "AccountValidationRule",
    "charges": "Charge",
    "receipt_requests": "ReceiptRequest",
}
# Coupa's contact alert types: data a person must fix, and a technical failure ([I]).
FUNCTIONAL, TECHNICAL = "Functional", "Technical"
_MESSAGE_LIMIT = 2000


class Requests(Protocol):
    """What the monitor needs of a connection: one API request, decoded."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        body: Mapping[str, Any] | bytes | None = None,
        object_name: Any = None,
        retry: bool = True,
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """An operation's ``coupa_monitoring`` option.

    Attributes:
        integration: The integration's code in Coupa.
        history: ``errors`` (an integration error per rejected or failed record) or ``all``
            (also a history record per written document).
        name: The integration's name, when it has to be created (the code otherwise).
        direction: ``to_coupa`` or ``from_coupa``, when it has to be created (None: from
            Coupa, unless the operation says otherwise).
        end_system: The other system, when it has to be created.
        business_object: What moves, when it has to be created.
    """

    integration: str
    history: Literal["errors", "all"] = "errors"
    name: str | None = None
    direction: Literal["to_coupa", "from_coupa"] | None = None
    end_system: str = "coupa-connector"
    business_object: str = ""


_KEYS = frozenset({"integration", "history", "name", "direction", "end_system", "business_object"})


def monitor_settings(value: Any, where: str = "coupa_monitoring") -> MonitorSettings:
    """Read a ``coupa_monitoring`` option (a mapping, or just the integration's code).

    Raises:
        ConfigurationError: Not a mapping with an ``integration`` code, or a setting that
            is unknown or has a wrong value; the message names it.
    """
    if isinstance(value, str):
        value = {"integration": value}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{where} must be a mapping with an integration code.")
    unknown = sorted(set(value) - _KEYS)
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})."
        )
    code = value.get("integration")
    if not isinstance(code, str) or not code.strip():
        raise ConfigurationError(f"{where}.integration must be the integration's code.")
    history = value.get("history", "errors")
    if history not in ("errors", "all"):
        raise ConfigurationError(f"{where}.history must be errors or all, not {history!r}.")
    direction = value.get("direction")
    if direction not in (None, "to_coupa", "from_coupa"):
        raise ConfigurationError(
            f"{where}.direction must be to_coupa or from_coupa, not {direction!r}."
        )
    texts = {k: value.get(k) for k in ("name", "end_system", "business_object")}
    for key, text in texts.items():
        if text is not None and not isinstance(text, str):
            raise ConfigurationError(f"{where}.{key} must be text.")
    return MonitorSettings(
        integration=code.strip(),
        history=history,
        name=texts["name"],
        direction=direction,
        end_system=texts["end_system"] or "coupa-connector",
        business_object=texts["business_object"] or "",
    )


@dataclass
class CoupaMonitor:
    """One integration run in Coupa for one run of an operation (see the module's text).

    Args:
        conn: The connection the calls go through (its rate limit and retries).
        settings: The operation's ``coupa_monitoring``.
        document_type: Coupa's type of the documents the operation moves, when known.

    Attributes:
        run_id: The integration run's id, once created.
        state: The run's state in Coupa as this monitor last set it (``running``,
            ``paused``, ``successful`` or ``failed``); None before Coupa accepted a run.
        processed: The ``records-processed`` Coupa last accepted.
        errors_sent: Integration errors Coupa accepted.
        history_sent: History records Coupa accepted.
        failures: Monitoring calls that failed or were not sent after a failure.
        first_failure: What the first failure said.
    """

    conn: Requests
    settings: MonitorSettings
    document_type: str | None = None
    run_id: int | None = None
    integration_id: int | None = None
    state: str | None = None
    processed: int = 0
    errors_sent: int = 0
    history_sent: int = 0
    failures: int = 0
    first_failure: str | None = None
    calls: int = 0
    _down: bool = field(default=False, repr=False)

    # ------------------------------------------------------------------ the run

    async def start(self, total: int | None = None) -> None:
        """Find or create the integration, create the run and set it running."""
        body: dict[str, Any] = {"integration": {"code": self.settings.integration}}
        if total is not None:
            body["total-records"] = total
        if not await self._best_effort("find the integration", self._ensure_integration):
            return
        created = await self._call("create the run", "POST", RUNS, body, retry=False)
        if isinstance(created, Mapping) and created.get("id") is not None:
            self.run_id = int(created["id"])
            if await self._sent(
                self._call("start the run", "PUT", f"{RUNS}/{self.run_id}/run", {})
            ):
                self.state = "running"
        elif not self._down:
            self._fail("create the run", "Coupa answered without the run's id")

    async def progress(self, processed: int, total: int | None = None) -> None:
        """Send how many records the run has processed so far."""
        body: dict[str, Any] = {"records-processed": processed}
        if total is not None:
            body["total-records"] = total
        if await self._sent(self._run_call("send the progress", "PUT", "", body)):
            self.processed = processed

    async def finish(self, ok: bool, processed: int, total: int) -> None:
        """End the run ``success`` or ``fail`` with its counts."""
        body = {"records-processed": processed, "total-records": total}
        if await self._sent(
            self._run_call("end the run", "PUT", "/success" if ok else "/fail", body)
        ):
            self.state, self.processed = (SUCCESSFUL if ok else "failed"), processed

    async def pause(self, processed: int, total: int, error: str) -> None:
        """Stop the run where a resume can continue it: the error that stopped it is
        recorded, and the run is paused with its counts so far."""
        await self.stopped_by(error)
        body = {"records-processed": processed, "total-records": total}
        if await self._sent(self._run_call("pause the run", "PUT", "/pause", body)):
            self.state, self.processed = "paused", processed

    async def stopped_by(self, error: str) -> None:
        """Record the error that ended or stopped the run as a technical integration error."""
        body = self._document(None, "Error", TECHNICAL)
        body["responses"] = [
            {"response-code": "run-stopped", "response-message": error[:_MESSAGE_LIMIT]}
        ]
        if await self._sent(
            self._run_call("record the error that stopped the run", "POST", ERRORS, body)
        ):
            self.errors_sent += 1

    async def resume(self, run_id: int) -> bool:
        """Continue integration run ``run_id``, opened by the attempt being resumed.

        Returns:
            True when Coupa still has it open and it is running again; False when a new run
            is needed: Coupa ended it or has no such run, or could not be asked (counted as
            a monitoring failure, and the monitor stands down).
        """
        if not await self._best_effort("find the integration", self._ensure_integration):
            return False
        self.calls += 1
        try:
            run = await self.conn.request("GET", f"{RUNS}/{run_id}", object_name="integration_runs")
        except NotFoundError:
            log.info("integration run %s is gone from Coupa; a new one is opened", run_id)
            return False
        except CoupaError as exc:
            self._fail("find the run being resumed", str(exc))
            return False
        status = run.get("status") if isinstance(run, Mapping) else None
        if status not in OPEN_STATUSES:
            log.info("integration run %s ended %s in Coupa; a new one is opened", run_id, status)
            return False
        self.run_id = run_id
        self.processed = int(run.get("records-processed") or 0)
        if status == "running" or await self._sent(
            self._call("set the resumed run running", "PUT", f"{RUNS}/{run_id}/run", {})
        ):
            self.state = "running"
        return True

    async def supersede(self, run_id: int) -> None:
        """End ``run_id``, the open run of an attempt that a new run replaces, as failed. A run
        Coupa ended already is left as it is; any other failure is counted, and the new
        run's monitoring goes on."""
        self.calls += 1
        try:
            await self.conn.request(
                "PUT", f"{RUNS}/{run_id}/fail", body={}, object_name="integration_runs"
            )
        except (NotFoundError, ValidationError):
            return  # gone, or already ended: nothing is left open
        except CoupaError as exc:
            self.failures += 1
            log.warning(
                "Coupa monitoring of integration %s: could not end the replaced run %s: %s",
                self.settings.integration,
                run_id,
                exc,
            )

    async def rejected(
        self,
        key: str,
        reason: str,
        *,
        document_id: int | None = None,
        failed: bool = False,
    ) -> None:
        """Record a rejected (or, with ``failed``, a failed) record as an integration error."""
        body = self._document(document_id, "Error", TECHNICAL if failed else FUNCTIONAL)
        body["external-id"] = key[:255]
        code = "failed" if failed else "rejected"
        body["responses"] = [{"response-code": code, "response-message": reason[:_MESSAGE_LIMIT]}]
        if await self._sent(self._run_call("record an error", "POST", ERRORS, body)):
            self.errors_sent += 1

    async def written(self, document_id: int | None, key: str) -> None:
        """Record a written document as a history record (``history: all`` only; a record
        without a Coupa id has no document for Coupa to keep history of)."""
        if self.settings.history != "all" or document_id is None:
            return
        body = self._document(document_id, "Success", FUNCTIONAL)
        body["integration"] = {"code": self.settings.integration}
        body["external-id"] = key[:255]
        if await self._sent(self._run_call("record a written document", "POST", HISTORY, body)):
            self.history_sent += 1

    # ------------------------------------------------------------------ the watermark

    async def last_watermark(self) -> str | None:
        """The ``max-updated-at`` of the integration's last successful run that kept one.

        Runs that kept no watermark (the operation's local watermark, another operation on
        the same integration) are passed over; the newest 50 successful runs are looked at.

        Raises:
            CoupaError: Coupa could not be asked.
        """
        params = [
            ("integration[code]", self.settings.integration),
            ("status", SUCCESSFUL),
            ("order_by", "id"),
            ("dir", "desc"),
            ("limit", "50"),
        ]
        runs = await self.conn.request("GET", RUNS, params=params, object_name="integration_runs")
        for run in runs or []:
            stamp = run.get("max-updated-at") if isinstance(run, Mapping) else None
            if stamp:
                return str(stamp)
        return None

    async def save_watermark(self, stamp: str) -> None:
        """Keep ``stamp`` as this run's ``max-updated-at``.

        Raises:
            CoupaError: The run does not exist in Coupa, or Coupa refused the value.
        """
        if self.run_id is None:
            raise CoupaError(
                "the watermark could not be kept in Coupa: the integration run was not created"
                + (f" ({self.first_failure})" if self.first_failure else "")
            )
        await self.conn.request(
            "PUT",
            f"{RUNS}/{self.run_id}/max_updated_at",
            body={"max-updated-at": stamp},
            object_name="integration_runs",
        )

    # ------------------------------------------------------------------ plumbing

    def _document(self, document_id: int | None, status: str, alert: str) -> dict[str, Any]:
        body: dict[str, Any] = {"contact-alert-type": alert, "status": status}
        if self.run_id is not None:
            body["integration-run"] = {"id": self.run_id}
        if self.document_type:
            body["document-type"] = self.document_type
        if document_id is not None:
            body["document-id"] = document_id
        return body

    async def _ensure_integration(self) -> None:
        s = self.settings
        found = await self.conn.request(
            "GET",
            INTEGRATIONS,
            params=[("code", s.integration), ("limit", "1")],
            object_name="integrations",
        )
        if found:
            self.integration_id = int(found[0]["id"])
            return
        created = await self.conn.request(
            "POST",
            INTEGRATIONS,
            body={
                "code": s.integration,
                "name": s.name or s.integration,
                "direction": s.direction or "from_coupa",
                "end-system": s.end_system,
                "end-system-type": "other",
                "business-object": s.business_object or (self.document_type or "records"),
                "integration-type": "api",
            },
            object_name="integrations",
            retry=False,
        )
        self.integration_id = int(created["id"]) if isinstance(created, Mapping) else None

    async def _sent(self, call: Coroutine[Any, Any, Any]) -> bool:
        """Whether ``call`` reached Coupa and was accepted (it counted no failure)."""
        before = self.failures
        await call
        return self.failures == before

    async def _run_call(self, what: str, method: str, suffix: str, body: dict[str, Any]) -> None:
        if self.run_id is None:
            self._skip(what)
            return
        path = suffix if suffix.startswith("/api/") else f"{RUNS}/{self.run_id}{suffix}"
        await self._call(what, method, path, body, retry=method != "POST")

    async def _call(
        self, what: str, method: str, path: str, body: dict[str, Any], *, retry: bool = True
    ) -> Any:
        if self._down:
            self._skip(what)
            return None
        self.calls += 1
        try:
            return await self.conn.request(
                method, path, body=body, object_name=_object_of(path), retry=retry
            )
        except CoupaError as exc:
            self._fail(what, str(exc))
            return None

    async def _best_effort(self, what: str, step: Any) -> bool:
        if self._down:
            self._skip(what)
            return False
        self.calls += 1
        try:
            await step()
        except CoupaError as exc:
            self._fail(what, str(exc))
            return False
        return True

    def _fail(self, what: str, why: str) -> None:
        self.failures += 1
        if self.first_failure is None:
            self.first_failure = f"could not {what}: {why}"
            log.warning(
                "Coupa monitoring of integration %s: %s; the data run goes on, and the "
                "rest of its monitoring calls are not sent (counted as failed)",
                self.settings.integration,
                self.first_failure,
            )
        self._down = True

    def _skip(self, what: str) -> None:
        self.failures += 1
        log.debug("Coupa monitoring: %s not sent (monitoring stood down)", what)


async def integration_runs(conn: Requests, code: str, limit: int = 20) -> list[dict[str, Any]]:
    """An integration's runs in Coupa, newest first (at most ``limit``, up to 50)."""
    params = [
        ("integration[code]", code),
        ("order_by", "id"),
        ("dir", "desc"),
        ("limit", str(max(1, min(limit, 50)))),
    ]
    runs = await conn.request("GET", RUNS, params=params, object_name="integration_runs")
    return [dict(r) for r in runs or [] if isinstance(r, Mapping)]


async def integration_run(conn: Requests, run_id: int) -> dict[str, Any]:
    """One integration run as Coupa holds it (its status, counts, times and watermark).

    Raises:
        NotFoundError: Coupa has no such run.
    """
    found = await conn.request("GET", f"{RUNS}/{run_id}", object_name="integration_runs")
    return dict(found) if isinstance(found, Mapping) else {}


async def integration_errors(
    conn: Requests, run_id: int, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """The integration errors of one run, oldest first (at most ``limit``, up to 50, after
    the first ``offset``)."""
    params = [
        ("integration-run[id]", str(run_id)),
        ("order_by", "id"),
        ("limit", str(max(1, min(limit, 50)))),
    ]
    if offset > 0:
        params.append(("offset", str(offset)))
    found = await conn.request("GET", ERRORS, params=params, object_name="integration_errors")
    return [dict(e) for e in found or [] if isinstance(e, Mapping)]


async def integration_report(
    conn: Requests, code: str, limit: int = 20, errors: bool = False
) -> list[dict[str, Any]]:
    """An integration's runs (``integration_runs``), each with its ``errors``
    (``integration_errors``) when asked: what ``coupa runs`` and the console show."""
    runs = await integration_runs(conn, code, limit)
    if errors:
        for run in runs:
            run["errors"] = await integration_errors(conn, int(run["id"]))
    return runs


def _object_of(path: str) -> str:
    return path.removeprefix("/api/").split("/", 1)[0]
