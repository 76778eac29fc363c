"""What a write produces: one result per input record, and the counts that add up.

Every record handed to Create, Update, Upsert or an action ends in exactly one outcome, so
``read == created + updated + actioned + valid + rejected + failed`` holds at every moment of
a run, not just at its end.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["WriteOutcome", "WriteResult", "WriteSummary"]


class WriteOutcome(enum.StrEnum):
    """How one input record ended.

    ``REJECTED`` records never reached Coupa (our validation or key resolution refused them);
    ``FAILED`` records reached Coupa, or were meant to, and Coupa did not write them.
    ``VALID`` is the outcome of a dry run: the record passed validation and was not sent.
    """

    CREATED = "created"
    UPDATED = "updated"
    ACTIONED = "actioned"
    VALID = "valid"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def written(self) -> bool:
        """True when Coupa holds the change."""
        return self in (WriteOutcome.CREATED, WriteOutcome.UPDATED, WriteOutcome.ACTIONED)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The fate of one input record.

    Attributes:
        position: 1-based position of the record in the input (the first record is 1).
        outcome: How it ended.
        id: Coupa's id of the record written or targeted, when known.
        messages: Why it was rejected or failed: our validation's messages (each naming the
            field path) or Coupa's own error messages; notes on recovery for written records.
        record: The input record as given (a bare id given to an action becomes
            ``{"id": n}``; None for input that was not a record at all). Kept so a rejects
            file can hold it unchanged.
        status: The HTTP status of Coupa's refusal, for failed records that got an answer.
        fields: The field paths our validation objected to (rejected records).
        attempts: How many times the write request was sent.
        recovered: True when the answer to a write was lost and Coupa was found to hold
            the record (a create, by its natural key) or the change (an update that adds
            lines, by reading the record again), so it was not sent again.
        warnings: What validation reported without refusing the record (a read-only field
            left out of the body, a field the catalog does not know, sent as given), each
            naming the field and ending with its code (``[read_only]``).
    """

    position: int
    outcome: WriteOutcome
    id: int | None = None
    messages: tuple[str, ...] = ()
    record: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    status: int | None = None
    fields: tuple[str, ...] = ()
    attempts: int = 0
    recovered: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the record was written (or, in a dry run, found valid)."""
        return self.outcome.written or self.outcome is WriteOutcome.VALID

    def as_row(self) -> dict[str, Any]:
        """The result as a flat mapping for a results file (no input record)."""
        return {
            "position": self.position,
            "outcome": self.outcome.value,
            "id": self.id,
            "status": self.status,
            "messages": list(self.messages),
            "warnings": list(self.warnings),
        }


@dataclass(slots=True)
class WriteSummary:
    """Counts for a run; ``add`` each result as it arrives.

    The invariant ``read == created + updated + actioned + valid + rejected + failed`` holds
    by construction: ``read`` is counted from the results themselves. ``warned`` counts the
    records that carried warnings (whatever their outcome), ``warnings`` the warnings.
    """

    created: int = 0
    updated: int = 0
    actioned: int = 0
    valid: int = 0
    rejected: int = 0
    failed: int = 0
    recovered: int = 0
    warned: int = 0
    warnings: int = 0

    def add(self, result: WriteResult) -> WriteResult:
        """Count one result and hand it back, so it can sit inside a loop expression."""
        name = result.outcome.value
        setattr(self, name, getattr(self, name) + 1)
        if result.recovered:
            self.recovered += 1
        if result.warnings:
            self.warned += 1
            self.warnings += len(result.warnings)
        return result

    @property
    def read(self) -> int:
        """Records consumed from the input (every one has exactly one outcome)."""
        return (
            self.created + self.updated + self.actioned + self.valid + self.rejected + self.failed
        )

    @property
    def written(self) -> int:
        """Records Coupa holds the change for."""
        return self.created + self.updated + self.actioned

    @property
    def ok(self) -> bool:
        """True when no record was rejected or failed."""
        return self.rejected == 0 and self.failed == 0

    def as_dict(self) -> dict[str, int]:
        """Every count by name, ``read`` and ``written`` included."""
        return {
            "read": self.read,
            "created": self.created,
            "updated": self.updated,
            "actioned": self.actioned,
            "valid": self.valid,
            "rejected": self.rejected,
            "failed": self.failed,
            "written": self.written,
            "recovered": self.recovered,
            "warned": self.warned,
            "warnings": self.warnings,
        }
