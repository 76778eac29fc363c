"""A real ``redis-server`` from the OS package, on a free local port, for the shared rate budget.

Debian's ``redis-server`` is used (``.ci/run`` installs it when missing); nothing is
downloaded. Each server gets its own temporary directory, no persistence and a free port on
127.0.0.1, and is stopped (or killed, for the tests that lose it mid-run) by the test that
started it. Locally, the tests skip with the reason when no server can be had; under
``CI=true`` that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the shared rate budget tests need redis-server under CI: {reason}")
    pytest.skip(f"no redis-server: {reason} (apt-get install redis-server)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server`` process; ``url`` is where clients reach it."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _unavailable("redis-server is not on PATH")
        try:
            import pyrate_limiter  # noqa: F401
            import redis  # noqa: F401
        except ImportError as exc:
            _unavailable(f"the distributed extra is not installed ({exc})")
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                str(binary),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(folder),
                "--save", "",
                "--appendonly", "no",
                "--logfile", str(folder / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.folder / "redis.log").read_text(errors="replace")[-500:]
                _unavailable(f"redis-server exited with {self.process.returncode}: {log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        _unavailable(f"redis-server did not answer on port {self.port} in {timeout:.0f} s")

    def wait_for_keys(self, timeout: float = 60.0) -> bool:
        """Wait until the server holds a key (a client has used it); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"DBSIZE\r\n")
                    answer = conn.recv(32)
            except OSError:
                answer = b""
            if answer.startswith(b":") and int(answer[1:].split(b"\r")[0]) > 0:
                return True
            time.sleep(0.01)
        return False

    def kill(self) -> None:
        """SIGKILL: the server is gone at once, as in a crash."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
