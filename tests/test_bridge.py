"""The one loop-thread bridge: coroutines and async iterators driven from blocking code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from coupa_connector._bridge import LoopThread


def test_run_awaits_on_the_loop_thread_and_raises_what_the_coroutine_raises() -> None:
    bridge = LoopThread(name="bridge-test")
    try:

        async def where() -> str:
            await asyncio.sleep(0)
            return threading.current_thread().name

        async def fails() -> None:
            raise ValueError("no")

        assert bridge.run(where()) == "bridge-test"
        with pytest.raises(ValueError, match="no"):
            bridge.run(fails())
    finally:
        bridge.stop()
    assert bridge.stopped
    bridge.stop()  # once is enough; again is harmless


def test_stopping_early_closes_the_iterator_on_its_loop() -> None:
    bridge = LoopThread()
    closed: list[str] = []

    async def numbers() -> AsyncIterator[int]:
        try:
            for n in range(100):
                yield n
        finally:
            closed.append(threading.current_thread().name)

    try:
        taken = []
        for n in bridge.iterate(numbers()):
            taken.append(n)
            if n == 2:
                break
        assert taken == [0, 1, 2]
        assert closed == ["coupa-connection"]  # closed at once, on the loop's thread
        assert list(bridge.iterate(numbers())) == list(range(100))
    finally:
        bridge.stop()


def test_cancel_pending_cancels_and_awaits_what_still_runs_on_the_loop() -> None:
    # What a Ctrl-C leaves behind: work started on the loop that nobody waits for any more.
    bridge = LoopThread()
    ended: list[str] = []

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # its clean-up runs on the loop, to the end
            ended.append("cleaned up")

    async def start() -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(forever())

    try:
        task = bridge.run(start())
        assert not task.done()
        bridge.cancel_pending()
        assert task.cancelled()
        assert ended == ["cleaned up"]
    finally:
        bridge.stop()
    bridge.cancel_pending()  # a stopped bridge has nothing left to cancel
