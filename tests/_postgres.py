"""A real PostgreSQL server for the tests, from the operating system's package.

``PostgresServer.start()`` runs ``initdb`` into a temporary data directory and ``pg_ctl start``
on a free port of 127.0.0.1, with the unix socket in the same directory, and ``stop()``
removes it all. ``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` user the package creates. The binaries are found on ``PATH`` or under
``/usr/lib/postgresql/*/bin`` (Debian's layout); ``.ci/run`` installs the package when it is
missing.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVER_USER = "postgres"  # the account Debian's package creates
SUPERUSER = "postgres"  # the database role initdb makes


class PostgresUnavailable(RuntimeError):
    """The server cannot be started here; the message says why."""


def _binaries() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if versions:
        return Path(versions[0]).parent
    raise PostgresUnavailable(
        "PostgreSQL is not installed (no pg_ctl on PATH or under /usr/lib/postgresql); "
        "apt-get install postgresql"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One throwaway PostgreSQL cluster; ``database()`` makes a fresh database per test."""

    def __init__(self) -> None:
        self.bin = _binaries()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="coupa-pg-"))
        self.data = self.root / "data"
        self._names = itertools.count(1)
        self._as: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise PostgresUnavailable("running as root without runuser to drop to postgres")
            try:
                shutil.chown(self.root, SERVER_USER)
            except (LookupError, OSError) as exc:
                raise PostgresUnavailable(f"no {SERVER_USER} user to run as: {exc}") from None
            self._as = [runuser, "-u", SERVER_USER, "--"]

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=120, cwd=self.root
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()}\n{tail}"
            )

    def start(self) -> PostgresServer:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        return self

    def url(self, database: str = "postgres", driver: str = "psycopg") -> str:
        """A SQLAlchemy URL of one database (``driver``: ``psycopg`` or ``psycopg2``)."""
        return f"postgresql+{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """Create an empty database and return its name."""
        import psycopg

        name = f"test_{next(self._names)}"
        dsn = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return name

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"],
                capture_output=True,
                timeout=60,
                cwd=self.root,
            )
        shutil.rmtree(self.root, ignore_errors=True)


class SqlDatabase:
    """A database of one SQL backend for a test: its URL and a way to read it back."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend = backend
        self.url = url

    def rows(self, query: str) -> list[tuple[object, ...]]:
        """The rows of ``query``, as tuples."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(query))]
        finally:
            engine.dispose()

    def execute(self, *statements: str) -> None:
        """Run statements in one transaction."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as conn:
                for statement in statements:
                    conn.execute(sa.text(statement))
        finally:
            engine.dispose()
