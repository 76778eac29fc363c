"""Where Coupa's documents are (``../shared/coupa-docs`` beside the repository), and the one
rule for tests that read them: without the documents they skip with the reason, except under
``CI=true``, where a missing document fails the test, so that a CI run cannot pass by
skipping what it was meant to check.

    @needs_shared(SWAGGER)
    def test_something() -> None: ...

or, for a whole module, ``pytestmark = needs_shared(SAMPLES)``. The marker is read by
``conftest.py`` before the test's fixtures are set up.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COUPA_DOCS = REPO.parent / "shared" / "coupa-docs"
REFERENCE = COUPA_DOCS / "resources.json"
SWAGGER = COUPA_DOCS / "swagger"
SAMPLES = COUPA_DOCS / "samples"

MARKER = "needs_shared"


def needs_shared(*paths: Path) -> pytest.MarkDecorator:
    """Mark a test (or a module, as ``pytestmark``) as reading these documents."""
    return getattr(pytest.mark, MARKER)(*paths)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require(*paths: Path) -> None:
    """Skip the running test when a document is missing; fail it instead under CI=true."""
    missing = [p for p in paths if not p.exists()]
    if not missing:
        return
    where = ", ".join(str(p) for p in missing)
    message = f"Coupa's documents are not at {where} (../shared beside the repository)"
    if in_ci():
        pytest.fail(f"{message}; CI=true needs them", pytrace=False)
    pytest.skip(message)
