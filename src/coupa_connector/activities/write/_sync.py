"""Blocking iteration over a write activity, for the synchronous ``Connection``.

The activity runs on the connection's own event loop thread; results cross to the caller's
thread one at a time. Stopping early (``break``) closes the activity: nothing more is read
or sent, the sends in flight are finished (closing waits for them) and their results are
logged, since the caller no longer takes them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

__all__ = ["iterate"]

T = TypeVar("T")

Runner = Callable[[Awaitable[Any]], Any]
"""Runs a coroutine on the connection's loop and returns its result (``Connection.run``)."""


def iterate(run: Runner, results: AsyncIterator[T]) -> Iterator[T]:
    """Drive an async iterator from a blocking caller.

    Args:
        run: The connection's ``run``: awaits a coroutine on its loop thread.
        results: The activity's async iterator (created for that loop's connection).

    Yields:
        The iterator's items, as they come.
    """
    done = False
    try:
        while True:
            try:
                item: T = run(results.__anext__())
            except StopAsyncIteration:
                done = True
                return
            yield item
    finally:
        aclose = getattr(results, "aclose", None)
        if not done and aclose is not None:
            run(aclose())
