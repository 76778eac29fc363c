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
    from coupa_connector.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    """A sandbox with the small default seed, started once for the whole session."""
    from coupa_connector.sandbox import Sandbox

    with Sandbox() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    """The session's sandbox with faults cleared, the throttle off, the default token
    lifetime and API-key mode off. Data is not reset: call ``sandbox.reset()`` when a test
    needs pristine data."""
    sandbox_server.clear_faults()
    sandbox_server.set_rate_limit(False)
    sandbox_server.admin("PUT", "config", {"token_ttl": 86399, "api_key_mode": False})
    return sandbox_server


@pytest.fixture
def sandbox_db(tmp_path: Path) -> Path:
    """A path for a sandbox SQLite file that lives as long as the test."""
    return tmp_path / "sandbox.db"
