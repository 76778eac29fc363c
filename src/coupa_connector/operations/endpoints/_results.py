"""What a Coupa write target reports per record, from the write activities' results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coupa_connector.errors import CoupaError
from coupa_connector.operations.endpoints.base import Outcome

__all__ = ["batch_outcomes"]


def batch_outcomes(results: Sequence[Any], count: int, error: CoupaError | None) -> list[Outcome]:
    """A batch's outcomes, in input order, from write results (``position`` 1-based within
    the batch); a record without a result failed, with the error that stopped the batch."""
    out: list[Outcome | None] = [None] * count
    for r in results:
        index = r.position - 1
        if not 0 <= index < len(out):
            continue
        outcome = r.outcome.value
        if outcome in ("created", "updated", "actioned", "valid"):
            out[index] = Outcome("written", coupa_id=r.id, warnings=list(r.warnings))
        else:
            messages = list(r.messages) or [outcome]
            out[index] = Outcome(
                "rejected" if outcome == "rejected" else "failed",
                messages,
                r.id,
                list(r.warnings),
            )
    return [
        o if o is not None else Outcome("failed", [f"not sent: {error}" if error else "no result"])
        for o in out
    ]
