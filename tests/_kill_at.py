"""``coupa`` that SIGKILLs itself at one chosen point of a run, for the resume tests.

Run as ``python tests/_kill_at.py run FILE ...`` with ``KILL_AT`` set to JSON:

- ``{"at": "batch", "op": NAME, "read": N}``: once operation NAME's checkpoint holds N
  records (right after the operation log recorded the batch);
- ``{"at": "commit", "target": "sql" | "file" | "coupa"}``: right after the first
  target of that type committed, before the operation log heard of it;
- ``{"at": "write", "target": "sql", "batch": N}``: right after that target wrote (and,
  for sql, committed) batch N, before the operation log recorded the batch;
- ``{"at": "finished", "op": NAME}``: right after the run of NAME was recorded as
  finished, before the chain goes on.

A kill from outside can only land somewhere; these land exactly where a test needs them.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _target_class(name: str) -> Any:
    from coupa_connector.operations.endpoints._endpoints import FileTarget
    from coupa_connector.operations.endpoints.coupa import CoupaWriteTarget
    from coupa_connector.operations.endpoints.sql import SqlTarget

    classes: dict[str, Any] = {"sql": SqlTarget, "file": FileTarget, "coupa": CoupaWriteTarget}
    return classes[name]


def _install(point: dict[str, Any]) -> None:
    from coupa_connector.operations import _runner

    op = point.get("op")
    if point["at"] == "batch":

        def advanced(self: Any, operation: str, counts: Any) -> None:
            if operation == op and counts.read >= int(point["read"]):
                _die()

        _runner.Progress.advanced = advanced  # type: ignore[method-assign]
    elif point["at"] == "finished":

        def finished(self: Any, result: Any) -> None:
            if result.operation == op:
                _die()

        _runner.Progress.finished = finished  # type: ignore[method-assign]
    elif point["at"] == "commit":
        cls = _target_class(point["target"])
        original = cls.commit

        def commit(self: Any) -> list[str]:
            outputs: list[str] = original(self)
            _die()
            return outputs

        cls.commit = commit
    elif point["at"] == "write":
        cls = _target_class(point["target"])
        original_write = cls.write

        def write(self: Any, batch: Any, batch_no: int) -> Any:
            outcomes = original_write(self, batch, batch_no)
            if batch_no == int(point["batch"]):
                _die()
            return outcomes

        cls.write = write
    else:
        raise SystemExit(f"unknown kill point {point!r}")


if __name__ == "__main__":
    _install(json.loads(os.environ["KILL_AT"]))
    from coupa_connector.cli._main import main

    sys.argv = ["coupa", *sys.argv[1:]]
    main()
