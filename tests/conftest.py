"""Shared fixtures: one Coupa sandbox per test session, reset to a known state per test.

The sandbox is imported inside the fixtures so that pure unit tests never pay for the
server, SQLite or the seed data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from _postgres import PostgresServer, SqlDatabase
    from _sandbox_api_support import Api
    from coupa_connector.sandbox import Sandbox


def pytest_configure(config: pytest.Config) -> None:
    import os
    import tempfile

    from _shared_docs import MARKER

    # Commands that log to the default operation log (a query to a file, a run without
    # --log-db) write to a log of the process's own, never to the user's nor to another
    # xdist worker's (workers inherit the controller's environment); subprocesses inherit it.
    folder = tempfile.mkdtemp(prefix="coupa-tests-oplog-")
    os.environ["COUPA_OPLOG"] = os.path.join(folder, "oplog.sqlite")
    # Instance overlays (coupa discover) live in the user's cache directory: the tests, and
    # the commands they start, get one of their own, never the developer's.
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="coupa-tests-cache-")

    config.addinivalue_line(
        "markers", f"{MARKER}(*paths): reads Coupa's documents in ../shared (see _shared_docs)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On xdist's workers (``run.py test``: ``--dist loadfile``), the files with ``slow`` tests
    go first, the rest keeping their order; ``--no-loadscope-reorder`` keeps this order. Started
    last, a long file would leave the other workers idle while it runs. Each file's tests run
    on one worker, in their order, so its module fixtures (an own sandbox, the seed restored
    by ``pristine_data_afterwards``) are set up once and no other file runs in between."""
    if not hasattr(config, "workerinput"):
        return

    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    slow_files = {file_of(item) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: file_of(item) not in slow_files)  # stable: files keep order


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``needs_shared`` skip without the documents, or fail under CI=true.
    Checked before any fixture is set up: a module fixture reading the documents (a
    workbook parsed once for the module) would otherwise error first."""
    from _shared_docs import MARKER, require

    for marker in item.iter_markers(MARKER):
        require(*marker.args)


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    """A sandbox with the small default seed, started once for the whole session."""
    from coupa_connector.sandbox import Sandbox

    with Sandbox() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    """The session's sandbox with faults cleared, the throttle off, the default token
    lifetime, API-key mode off and file loads neither held nor delayed. Data is not reset:
    call ``sandbox.reset()`` when a test needs pristine data."""
    sandbox_server.clear_faults()
    sandbox_server.set_rate_limit(False)
    sandbox_server.admin("PUT", "config", {"token_ttl": 86399, "api_key_mode": False})
    sandbox_server.set_file_loads(hold=False, delay=0, fail=None)
    return sandbox_server


@pytest.fixture
def sandbox_db(tmp_path: Path) -> Path:
    """A path for a sandbox SQLite file that lives as long as the test."""
    return tmp_path / "sandbox.db"


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    """A plain JSON client of the sandbox's Coupa API (``_sandbox_api_support.Api``)."""
    from _sandbox_api_support import Api

    client = Api(sandbox)
    yield client
    client.close()


@pytest.fixture(scope="module")
def pristine_data_afterwards(sandbox_server: Sandbox) -> Iterator[None]:
    """For modules whose tests change seeded records (``pytest.mark.usefixtures``): later
    tests get the seed back as it was."""
    yield
    sandbox_server.reset()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session (``tests/_postgres.py``). Skips with the
    reason when it cannot start here; under ``CI=true`` that is a failure instead."""
    import os

    from _postgres import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is needed in CI: {exc}")
        pytest.skip(f"no PostgreSQL server: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_db(request: pytest.FixtureRequest, tmp_path: Path) -> SqlDatabase:
    """An empty database, once on SQLite and once on the session's PostgreSQL server."""
    from _postgres import SqlDatabase

    if request.param == "sqlite":
        return SqlDatabase("sqlite", f"sqlite:///{tmp_path / 'erp.sqlite'}")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return SqlDatabase("postgresql", server.url(server.database()))
