"""The one loop-thread bridge: blocking code driving the async core.

An event loop runs in a daemon thread; blocking callers hand it coroutines (``run``) and
async iterators (``iterate``), and wait. The sync ``Connection``, the operations runner's
Coupa endpoints and anything else synchronous use this one bridge, so a connection, its
rate-limit budget and its token live on one loop whatever drives them.

Iteration crosses the thread boundary one item at a time (a query's items are pages, not
records). Stopping early (``break``, or the generator being closed) closes the async
iterator on its loop: for a write activity, nothing more is read or sent, the sends in
flight are finished and their results logged. A step still running when the caller is
interrupted (Ctrl-C while waiting for it) is not closed under it: ``cancel_pending`` cancels
and awaits whatever still runs on the loop, before the connection closes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
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
        step: concurrent.futures.Future[T] | None = None
        try:
            while True:
                step = asyncio.run_coroutine_threadsafe(_anext(source), self._loop)
                try:
                    item = step.result()
                except StopAsyncIteration:
                    done = True
                    return
                yield item
        finally:
            aclose = getattr(source, "aclose", None)
            settled = step is None or step.done()
            if not done and settled and aclose is not None and not self._stopped:
                self.run(aclose())

    def cancel_pending(self) -> None:
        """Cancel every task still running on the loop and wait until they have ended, then
        finish the async generators left open (a run stopped by Ctrl-C leaves nothing pending)."""
        if self._stopped:
            return
        self.run(_cancel_others())
        self.run(self._loop.shutdown_asyncgens())

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


async def _anext(source: AsyncIterator[T]) -> T:
    return await source.__anext__()


async def _cancel_others() -> None:
    """Cancel every task of this loop but the caller, and wait until they have ended."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
