"""Runs the console starts: ``coupa run`` in a background process, followed live.

A run started from a page is the same command a person would type, in a process of its own:
the same rules apply (a file with secrets is refused, ``${var}`` values are needed), the
console stays responsive, and a run outlives a closed browser tab. Its output goes to a file
in the jobs folder; its progress is in the operation log, under the process's id.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Job", "Jobs"]

_EXIT_MEANING = {
    0: "every operation succeeded",
    1: "records were rejected or failed",
    2: "an operation failed or the file is invalid",
}


@dataclass
class Job:
    """One ``coupa run`` the console started.

    Attributes:
        id: Its number in this console.
        file: The operation file.
        dry_run: Whether it writes nothing.
        argv: The command (variable values are in it: they are not secrets, as the CLI's).
        output: The file its standard output and error go to.
        started: ``time.time()`` when it started.
    """

    id: int
    file: Path
    dry_run: bool
    argv: list[str]
    output: Path
    started: float
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def exit_code(self) -> int | None:
        return self.process.poll()

    def outcome(self) -> str:
        """``running``, or how it ended in words."""
        code = self.exit_code
        if code is None:
            return "running"
        return f"exit code {code}: {_EXIT_MEANING.get(code, 'stopped')}"

    def output_tail(self, limit: int = 64_000) -> str:
        """The end of its output (at most ``limit`` characters)."""
        try:
            with self.output.open("rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - limit))
                return fh.read().decode("utf-8", "replace")
        except OSError:
            return ""


class Jobs:
    """The runs this console started, by id.

    Args:
        folder: Where each run's output file is written.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def start(
        self,
        file: Path,
        *,
        log_db: Path,
        variables: Mapping[str, str],
        dry_run: bool,
        sandbox: bool = False,
        debug: bool = False,
        operation: str | None = None,
    ) -> Job:
        """Start ``coupa run FILE`` in the background and return its job."""
        argv = [sys.executable, "-m", "coupa_connector", "run", str(file), "--log-db", str(log_db)]
        for name, value in variables.items():
            argv += ["--var", f"{name}={value}"]
        if dry_run:
            argv.append("--dry-run")
        if sandbox:
            argv.append("--sandbox")
        if debug:
            argv.append("--debug")
        if operation:
            argv += ["--op", operation]
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            job_id = next(self._ids)
            output = self.folder / f"job-{os.getpid()}-{job_id}.log"
            with output.open("wb") as out:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            job = Job(job_id, file, dry_run, argv, output, time.time(), process)
            self._jobs[job_id] = job
        return job

    def get(self, job_id: int) -> Job | None:
        """A job by id, or None."""
        return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        """Every job, newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.id, reverse=True)

    def stop_all(self, timeout: float = 10.0) -> None:
        """Ask every running job to stop (as Ctrl-C would) and wait for it."""
        for job in self._jobs.values():
            if job.running:
                job.process.terminate()
        for job in self._jobs.values():
            try:
                job.process.wait(timeout)
            except subprocess.TimeoutExpired:
                job.process.kill()
                job.process.wait()
