"""The ``coupa`` command as a person runs it: a real process, its exit code, stdout and stderr.

The child gets this process's environment (so it imports the same package) plus the
sandbox's ``COUPA_*`` settings; it is not a terminal, as in a pipe or a cron job.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from _write_support import env_for
from coupa_connector.sandbox import Sandbox

COUPA = [sys.executable, "-m", "coupa_connector"]


def cli_env(sb: Sandbox | None = None, **extra: str) -> dict[str, str]:
    """This process's environment, pointed at ``sb`` when given, without a terminal width."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPA_")}
    env.pop("COLUMNS", None)
    if sb is not None:
        env.update(env_for(sb))
    env.update(extra)
    return env


def coupa(
    args: list[str],
    sb: Sandbox | None = None,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    **kw: Any,
) -> subprocess.CompletedProcess[str]:
    """Run ``coupa ARGS`` to the end; text output captured."""
    return subprocess.run(
        [*COUPA, *args],
        env=env if env is not None else cli_env(sb),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,
    )


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    """Fail when the process printed a Python traceback or asyncio's shutdown noise."""
    for noise in ("Traceback", "Task was destroyed", "Event loop is closed", "RuntimeError"):
        assert noise not in proc.stderr, proc.stderr
        assert noise not in proc.stdout, proc.stdout


def let_held_requests_end(latency_ms: int) -> None:
    """Wait out the sandbox's latency: a request the interrupted process left behind ends
    (and is counted) now, not in the next test."""
    time.sleep(latency_ms / 1000 + 0.3)
