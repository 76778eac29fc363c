"""A sandbox in a child process, for benchmarks: the server and the client then do not share
one interpreter (nor its lock), and the client's memory is its own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

from coupa_connector.sandbox import Sandbox

_CHILD = textwrap.dedent(
    """
    import json, sys
    from coupa_connector.sandbox import Sandbox
    sb = Sandbox(**json.loads(sys.argv[1])).start()
    print(json.dumps({"port": sb.port, "client_id": sb.client_id,
                      "client_secret": sb.client_secret, "admin_secret": sb.admin_secret}),
          flush=True)
    sys.stdin.read()
    sb.stop()
    """
)


def start_sandbox(**settings: Any) -> tuple[subprocess.Popen[str], Sandbox]:
    """Start a sandbox (``Sandbox(**settings)``) in a child process; returns the process and a
    handle on its API and admin API. Close the child's stdin to stop it."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, json.dumps(settings)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    info = json.loads(child.stdout.readline())
    # A handle on the child's admin API: same port and secrets, never started here.
    handle = Sandbox(
        port=info["port"], client_secret=info["client_secret"], admin_secret=info["admin_secret"]
    )
    return child, handle


def stop_sandbox(child: subprocess.Popen[str]) -> None:
    """Ask the child to stop, and wait for it."""
    assert child.stdin is not None
    child.stdin.close()
    child.wait(timeout=30)
