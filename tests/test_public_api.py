"""The public door: ``coupa_connector.__all__`` equals the names documented in docs/api.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import coupa_connector

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def documented_names() -> set[str]:
    return set(re.findall(r"^\| `([A-Za-z_][A-Za-z0-9_]*)` \|", API_DOC.read_text(), re.M))


def test_exported_names_equal_the_documented_ones() -> None:
    assert set(coupa_connector.__all__) == documented_names()


def test_every_exported_name_resolves() -> None:
    assert list(coupa_connector.__all__) == sorted(coupa_connector.__all__)
    for name in coupa_connector.__all__:
        assert getattr(coupa_connector, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        coupa_connector.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown name resolved")


def test_importing_the_package_does_not_load_http_server_or_database() -> None:
    # The CLI's start-up time depends on this: heavy parts load on first use.
    code = (
        "import sys, coupa_connector; "
        "print(','.join(m for m in ('httpx2', 'uvicorn', 'starlette', 'sqlalchemy') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
