"""What the hostile-input tests share: the real ``coupa`` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# A connection that is never used: dry runs send nothing, and file-to-file operations need
# no Coupa; the settings only have to pass the configuration checks.
OFFLINE_ENV = {
    "COUPA_URL": "http://127.0.0.1:9",
    "COUPA_CLIENT_ID": "hostile-tests",
    "COUPA_CLIENT_SECRET": "not-a-real-secret",
}


def coupa(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``coupa ARGS`` in a fresh interpreter and return what it did.

    Fails the test when anything it printed is a Python traceback: hostile input must end
    in a clear error or rejected records, never in a crash.
    """
    env = {**os.environ, **OFFLINE_ENV, "NO_COLOR": "1", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "coupa_connector", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert "Traceback" not in done.stdout, done.stdout
    return done
