"""Action endpoints and their state rules (coupa-api.md 5.5), as data.

Each action is a transition: the statuses it may start from, the status it leaves, fields it
sets, and guards that refuse it even from an allowed status (a paid invoice cannot be
voided). Submitting opens a pending approval; deciding the last pending approval of a
document moves the document on. An action from the wrong status is a 400 with a message
naming the status, as Coupa answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from coupa_connector.sandbox._integrations import RESOLUTIONS, RUN_TRANSITIONS
from coupa_connector.sandbox._objects import (
    APPROVABLES,
    DISPUTE_REASONS,
    OPEN_APPROVAL_STATUSES,
    ObjectView,
    Views,
    human_name,
)
from coupa_connector.sandbox._store import Store
from coupa_connector.sandbox._types import TRUE_WORDS
from coupa_connector.sandbox._writes import WriteError, Writer

__all__ = ["ACTIONS", "HEADER_COMMANDS", "ActionRunner", "Transition"]

NOW = "<now>"
USER = "<user>"


@dataclass(frozen=True, slots=True)
class Choice:
    """A value an action requires from a fixed list (setup data without an API of its own).

    Attributes:
        input: The body field or parameter naming it, by code (``<dispute-reason><code>``).
        field: The record's list field that keeps the resolved option (``dispute-reasons``).
        options: The list; only options with ``active`` true can be chosen.
    """

    input: str
    field: str
    options: tuple[Mapping[str, Any], ...]

    def resolve(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The chosen option as the record keeps it.

        Raises:
            WriteError: Nothing given, or no active option has the code.
        """
        given = inputs.get(self.input)
        code = given.get("code") if isinstance(given, Mapping) else given
        label = human_name(self.input)
        if code in (None, ""):
            raise WriteError([f"{label} can't be blank"])
        for option in self.options:
            if option.get("active") and option["code"] == str(code).strip():
                return {k: v for k, v in option.items() if k != "active"}
        raise WriteError([f"{label} is invalid"])


@dataclass(frozen=True, slots=True)
class Transition:
    """One action's rule.

    Attributes:
        allowed_from: Statuses the record may be in (empty: any).
        to: The status it ends in (None: unchanged).
        sets: Other fields to set; ``"<now>"`` is the action's time, ``"<user>"`` the caller.
        guards: (field, value, message): refuse when the record's field has that value.
        opens_approval: Open a pending approval for the record (approvable type given).
        decides_approval: For approvals: the outcome passed on to the approved document.
        note_from: Request parameter or body field stored in ``note``.
        choices: Values the action requires from lists the sandbox keeps.
    """

    allowed_from: frozenset[str]
    to: str | None
    sets: Mapping[str, Any] = field(default_factory=dict)
    guards: tuple[tuple[str, Any, str], ...] = ()
    opens_approval: str | None = None
    decides_approval: str | None = None
    note_from: str | None = None
    choices: tuple[Choice, ...] = ()


def _t(*states: str, to: str | None, **kw: Any) -> Transition:
    return Transition(frozenset(states), to, **kw)


# The emulated actions. Keys are (resource, action) as the catalog names them.
ACTIONS: dict[tuple[str, str], Transition] = {
    ("invoices", "submit"): _t(
        "draft", "new", to="pending_approval", opens_approval="InvoiceHeader"
    ),
    # Coupa: BUYER_VOIDABLE_STATUSES = [:pending_receipt, :approved, :draft]; never paid ones.
    ("invoices", "void"): _t(
        "draft",
        "pending_receipt",
        "approved",
        to="voided",
        guards=(("paid", True, "A paid invoice cannot be voided"),),
    ),
    ("invoices", "abandon"): _t("draft", "new", "invalid", to="abandoned"),
    ("invoices", "dispute"): _t(
        "pending_approval",
        "approved",
        "pending_receipt",
        "on_hold",
        "ap_hold",
        "booking_hold",
        "pending_action",
        to="disputed",
        guards=(("paid", True, "A paid invoice cannot be disputed"),),
        choices=(Choice("dispute-reason", "dispute-reasons", DISPUTE_REASONS),),
    ),
    # "A disputed invoice can be returned to the approval process": a new approval opens.
    ("invoices", "withdraw_dispute"): _t(
        "disputed", to="pending_approval", opens_approval="InvoiceHeader"
    ),
    ("purchase_orders", "cancel"): _t(
        "draft",
        "buyer_hold",
        "supplier_hold",
        "supplier_window_hold",
        "currency_hold",
        "issued",
        "error",
        to="cancelled",
    ),
    ("purchase_orders", "close"): _t("issued", "soft_closed", to="closed"),
    ("purchase_orders", "reopen"): _t("soft_closed", to="issued"),
    ("purchase_orders", "issue"): _t(
        "draft", "buyer_hold", to="issued", sets={"transmission-status": "sent_via_email"}
    ),
    ("purchase_orders", "issue_without_send"): _t(
        "draft", "buyer_hold", to="issued", sets={"transmission-status": "sent_manually"}
    ),
    ("purchase_orders", "ignore_window_and_issue"): _t(
        "supplier_window_hold", "draft", to="issued", sets={"transmission-status": "sent_via_email"}
    ),
    ("purchase_orders", "release_from_buyer_hold"): _t("buyer_hold", to="issued"),
    ("approvals", "approve"): _t(
        "pending_approval",
        to="approved",
        sets={"approval-date": NOW, "approved-by": USER},
        decides_approval="approved",
        note_from="note",
    ),
    ("approvals", "reject"): _t(
        "pending_approval",
        to="rejected",
        sets={"approval-date": NOW},
        decides_approval="rejected",
        note_from="reason",
    ),
    ("approvals", "hold"): _t("pending_approval", to="on_hold", note_from="reason"),
    ("requisitions", "submit_for_approval"): _t(
        "draft",
        to="pending_approval",
        sets={"submitted-at": NOW},
        opens_approval="RequisitionHeader",
    ),
    ("requisitions", "update_and_submit_for_approval"): _t(
        "draft",
        to="pending_approval",
        sets={"submitted-at": NOW},
        opens_approval="RequisitionHeader",
    ),
    ("receiving_transactions", "void"): _t("created", "received", to="voided"),
    ("expense_reports", "submit"): _t(
        "draft",
        to="pending_approval",
        sets={"submitted-at": NOW, "submitted-by": USER},
        opens_approval="ExpenseReport",
    ),
    ("contracts", "submit_for_approval"): _t(
        "draft", to="pending_approval", opens_approval="Contract"
    ),
    # Integration runs' state machine (see _integrations).
    **{
        key: _t(*start, to=to, sets=dict.fromkeys(stamps, NOW))
        for key, (start, to, stamps) in RUN_TRANSITIONS.items()
    },
    # From any status (none listed): only the resolved flag decides.
    **{
        key: _t(
            to=None,
            sets={"resolved": value},
            guards=(("resolved", value, f"It is {'resolved' if value else 'unresolved'} already"),),
        )
        for key, value in RESOLUTIONS.items()
    },
}

# Actions that run on a body sent to the collection (create, then act).
CREATE_ACTIONS = frozenset({("requisitions", "submit_for_approval")})
# Collection actions that update the record their body names by id, answered 201 with it as
# Swagger documents (POST /api/pick_lists/update_fulfillments takes a FulfillmentReservation).
BODY_RECORD_UPDATES = frozenset({("pick_lists", "update_fulfillments")})
# Actions that apply a body as an update first.
UPDATE_ACTIONS = frozenset({("requisitions", "update_and_submit_for_approval"), *RUN_TRANSITIONS})

# Header commands inside an update body (coupa-api.md 5.3): ``<_cancel>true</_cancel>``.
HEADER_COMMANDS: dict[str, dict[str, str]] = {
    "purchase_orders": {"_cancel": "cancel", "_close": "close"},
}

# Open approvals (OPEN_APPROVAL_STATUSES) become WITHDRAWN_APPROVAL when their document
# leaves approval some other way (disputed, rejected by another approver): the chain is
# cleared, as Coupa's restart_approvals describes, and the records stay for the history.
WITHDRAWN_APPROVAL = "withdrawn"

_PAST = {
    "submit": "submitted",
    "void": "voided",
    "abandon": "abandoned",
    "dispute": "disputed",
    "cancel": "cancelled",
    "close": "closed",
    "reopen": "reopened",
    "issue": "issued",
    "approve": "approved",
    "reject": "rejected",
    "hold": "put on hold",
}


class ActionRunner:
    """Runs action endpoints against stored records."""

    def __init__(self, views: Views, store: Store, writer: Writer) -> None:
        self.views = views
        self.store = store
        self.writer = writer

    def rule(self, view: ObjectView, action: str) -> Transition | None:
        """The emulated rule of an action, if the sandbox has one."""
        return ACTIONS.get((view.name, action))

    def check(self, view: ObjectView, doc: dict[str, Any], action: str) -> Transition:
        """The action's rule, if the record's state allows it.

        Raises:
            WriteError: The status or a guard refuses the action.
        """
        rule = ACTIONS[(view.name, action)]
        status = doc.get("status")
        what = f"{human_name(view.obj.element)} {doc.get('id')}"
        if rule.allowed_from and status not in rule.allowed_from:
            verb = _PAST.get(action, action.replace("_", " "))
            allowed = ", ".join(sorted(rule.allowed_from))
            raise WriteError(
                [f"{what} cannot be {verb} while its status is {status} (allowed: {allowed})"]
            )
        for name, value, message in rule.guards:
            if doc.get(name) == value:
                raise WriteError([message])
        return rule

    def run(
        self,
        view: ObjectView,
        doc: dict[str, Any],
        action: str,
        inputs: Mapping[str, Any],
        login: str,
    ) -> dict[str, Any]:
        """Apply an action to a record.

        Args:
            view: The resource.
            doc: The stored record.
            action: The action name (``void``).
            inputs: Query parameters and body fields (reason, note, dispute-reason...).
            login: The API user.

        Returns:
            The updated document.

        Raises:
            WriteError: The record's status (or a guard) does not allow the action.
        """
        rule = self.check(view, doc, action)
        changes: dict[str, Any] = {
            choice.field: [choice.resolve(inputs)]
            for choice in rule.choices
            if choice.field in view.obj.fields
        }
        user = self.writer.user_ref(login)
        if rule.to is not None:
            changes["status"] = rule.to
        for name, value in rule.sets.items():
            if name in view.obj.fields:
                changes[name] = user if value == USER else value
        if rule.note_from and "note" in view.obj.fields:
            note = inputs.get(rule.note_from) or inputs.get("comment")
            if isinstance(note, str) and note:
                changes["note"] = note
        updated = self.writer.touch(view, doc, login, changes)
        self._left_approval(view, doc, updated, login)
        if rule.opens_approval:
            self._open_approval(rule.opens_approval, updated, login)
        if rule.decides_approval:
            self._decide(updated, rule.decides_approval, login)
        if rule.opens_approval or rule.decides_approval or rule.to is not None:
            # Approvals opened, decided or withdrawn relist the document's approvals.
            return self.store.get(view.name, updated["id"]) or updated
        return updated

    def _open_approval(self, approvable_type: str, doc: dict[str, Any], login: str) -> None:
        approvals = self.views.view(self.views.catalog.get("approvals"))
        approver = self.store.select_ids(
            "users",
            "json_extract(r0.doc, '$.\"active\"') = 1 AND "
            "json_extract(r0.doc, '$.\"api-user\"') IS NULL",
        )
        body: dict[str, Any] = {
            "status": "pending_approval",
            "position": 1,
            "type": "ManagementHierarchyApproval",
            "approvable-type": approvable_type,
            "approvable-id": doc["id"],
            "approver": {"id": approver[0]} if approver else None,
            "approval-chain-id": None,
            "approval-date": None,
            "note": None,
            "holdable": True,
        }
        now = self.store.write_time()
        user = self.writer.user_ref(login)
        body.update(
            {
                "id": self.store.next_id("approvals"),
                "created-at": now,
                "updated-at": now,
                "created-by": user,
                "updated-by": user,
            }
        )
        self.writer.save(approvals, body)

    def _decide(self, approval: dict[str, Any], outcome: str, login: str) -> None:
        target = APPROVABLES.get(str(approval.get("approvable-type")))
        if target is None:
            return
        res, approved_status, rejected_status = target
        doc = self.store.get(res, int(approval.get("approvable-id") or 0))
        if doc is None or doc.get("status") != "pending_approval":
            return
        if outcome == "approved":
            pending = self.store.select_ids(
                "approvals",
                "json_extract(r0.doc, '$.\"approvable-type\"') = ? AND "
                "json_extract(r0.doc, '$.\"approvable-id\"') = ? AND r0.status = ?",
                (approval.get("approvable-type"), doc["id"], "pending_approval"),
            )
            if pending:
                return
            new_status = approved_status
        else:
            new_status = rejected_status
        view = self.views.view(self.views.catalog.get(res))
        updated = self.writer.touch(view, doc, login, {"status": new_status})
        self._left_approval(view, doc, updated, login)

    def _left_approval(
        self, view: ObjectView, before: dict[str, Any], after: dict[str, Any], login: str
    ) -> None:
        """Withdraw the open approvals of a document that has just left pending_approval."""
        if before.get("status") != "pending_approval" or after.get("status") == "pending_approval":
            return
        kind = next((k for k, (res, *_) in APPROVABLES.items() if res == view.name), None)
        if kind is None:
            return
        approvals = self.views.view(self.views.catalog.get("approvals"))
        marks = ", ".join("?" * len(OPEN_APPROVAL_STATUSES))
        for rid in self.store.select_ids(
            "approvals",
            "json_extract(r0.doc, '$.\"approvable-type\"') = ? AND "
            f"json_extract(r0.doc, '$.\"approvable-id\"') = ? AND r0.status IN ({marks})",
            (kind, after["id"], *OPEN_APPROVAL_STATUSES),
        ):
            approval = self.store.get("approvals", rid)
            if approval is not None:
                self.writer.touch(approvals, approval, login, {"status": WITHDRAWN_APPROVAL})


def truthy(value: Any) -> bool:
    """Whether a query or body value means true."""
    return value is True or str(value).strip().lower() in TRUE_WORDS
