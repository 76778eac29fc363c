"""What every console page works with: the settings, the operation log and the secrets."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

from coupa_connector.console._attachments import ManifestPages
from coupa_connector.console._jobs import Jobs
from coupa_connector.console._redact import Scrubber
from coupa_connector.operations import OpLog

__all__ = ["ConsoleContext", "ConsoleSettings"]


@dataclass(frozen=True)
class ConsoleSettings:
    """How a console is set up.

    Attributes:
        log_db: The operation log it shows (and that runs it starts write to).
        ops_dir: The folder of operation files it lists; None shows none.
        host: The address it listens on (loopback unless told otherwise).
        port: Its port; 0 picks a free one.
        token: The access token every request must carry (a random one by default).
        secrets: Secret values known to the console (its connection's), never shown.
        jobs_dir: Where the output of runs it starts is kept; next to the log when None.
    """

    log_db: Path
    ops_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8790
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    jobs_dir: Path | None = None


class ConsoleContext:
    """The state a running console shares between requests.

    The operation log is opened once per worker thread: a SQLite connection belongs to the
    thread that made it, and pages run in Starlette's thread pool.
    """

    def __init__(self, settings: ConsoleSettings) -> None:
        self.settings = settings
        # Forms carry this; a page of another site cannot read it, so it cannot post one.
        self.csrf_token = secrets.token_urlsafe(32)
        self.scrub = Scrubber((settings.token, *settings.secrets))
        self.manifests = ManifestPages()
        self.jobs = Jobs(settings.jobs_dir or settings.log_db.parent / "console-jobs")
        self._local = threading.local()
        self._logs: list[OpLog] = []
        self._lock = threading.Lock()

    def oplog(self) -> OpLog:
        """This thread's connection to the operation log."""
        log: OpLog | None = getattr(self._local, "oplog", None)
        if log is None:
            log = OpLog(self.settings.log_db)
            self._local.oplog = log
            with self._lock:
                self._logs.append(log)
        return log

    def close(self) -> None:
        """Stop the runs it started and close the logs (each in the thread that opened it)."""
        self.jobs.stop_all()
        with self._lock:
            self._logs.clear()
