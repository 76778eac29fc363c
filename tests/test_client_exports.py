"""The public door: what the client area exports from ``coupa_connector``."""

from __future__ import annotations

import coupa_connector

CLIENT_AND_QUERY_API = {
    "AsyncConnection",
    "CheckResult",
    "Connection",
    "ConnectionConfig",
    "ConnectionStats",
    "ConnectionTestReport",
    "ExtractResult",
    "Page",
    "QuerySpec",
    "RateLimit",
    "RetryPolicy",
    "SecretStr",
    "Timeout",
    "build_query",
    "extract",
    "flatten",
    "unflatten",
}


def test_client_and_query_names_are_exported() -> None:
    assert set(coupa_connector.__all__) >= CLIENT_AND_QUERY_API
    for name in CLIENT_AND_QUERY_API:
        assert getattr(coupa_connector, name) is not None


def test_all_is_sorted_and_importable() -> None:
    assert list(coupa_connector.__all__) == sorted(coupa_connector.__all__)
    assert all(hasattr(coupa_connector, name) for name in coupa_connector.__all__)


def test_http_package_is_imported_only_by_the_transport() -> None:
    from pathlib import Path

    root = Path(coupa_connector.__file__).parent
    importers = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "import httpx2" in p.read_text() or "from httpx2" in p.read_text()
    )
    assert importers == ["client/_transport.py"]
