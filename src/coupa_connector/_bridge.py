"""The one loop-thread bridge: blocking code driving the async core.

An event loop runs in a daemon thread; blocking callers hand it coroutines (``run``) and
async iterators (``iterate``), and wait. The sync ``Connection``, the operations runner's
Coupa endpoints and anything else synchronous use this one bridge, so a connection, its
rate-limit budget and its token live on one loop whatever drives them.

Iteration crosses the thread boundary one item at a time (a query's items are pages, not
records). Stopping early (``break``, or the generator being closed) closes the async
iterator on its loop: for a write activity, nothing more is read or sent, the sends in
flight are finished and their results logged.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """An event loop in a background thread.

    Args:
        name: The thread's name (shows in debuggers and thread dumps).
    """

    def __init__(self, name: str = "coupa-connection") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()
        self._stopped = False

    @property
    def stopped(self) -> bool:
        """True once ``stop`` was called: nothing can run on the loop any more."""
        return self._stopped

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run ``awaitable`` on the loop and wait for its result (or its exception)."""
        future = asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), self._loop)
        return future.result()

    def iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        """The items of an async iterator made for this loop, consumed from blocking code.

        The iterator is closed on the loop when the caller stops before its end.
        """
        done = False
        try:
            while True:
                try:
                    item = self.run(source.__anext__())
                except StopAsyncIteration:
                    done = True
                    return
                yield item
        finally:
            aclose = getattr(source, "aclose", None)
            if not done and aclose is not None and not self._stopped:
                self.run(aclose())

    def stop(self, timeout: float | None = None) -> None:
        """Stop the loop and its thread, and close the loop (once)."""
        if self._stopped:
            return
        self._stopped = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop.close()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
