"""What a rate budget shared between processes must offer, and how it says it is gone.

Apart from the bucket (``_ratelimit``) and the Redis store (``_ratelimit_redis``), so that
each of them depends on this and neither on the other.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["BudgetUnavailable", "SharedBudget"]


class BudgetUnavailable(Exception):
    """The shared budget's store cannot be reached; the message says why (no secrets)."""


class SharedBudget(Protocol):
    """A rate budget held outside this process, shared by every process of one instance."""

    @property
    def where(self) -> str:
        """The store, for messages (its password masked)."""
        ...

    async def acquire(self) -> None:
        """Wait for a slot of the shared budget.

        Raises:
            BudgetUnavailable: The store cannot be reached.
        """
        ...

    async def aclose(self) -> None:
        """Release the store's connections."""
        ...
