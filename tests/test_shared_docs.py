"""The rule for tests that read Coupa's documents in ../shared: skip without them locally,
fail without them under CI=true, and find them beside the repository, not at a fixed path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from _shared_docs import COUPA_DOCS, REPO, require

MISSING = COUPA_DOCS / "no-such-document.json"


def test_a_missing_document_skips_the_test_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"no-such-document\.json"):
        require(MISSING)


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_a_missing_document_fails_the_test_under_ci(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI=true needs them"):
        require(MISSING)


def test_present_documents_neither_skip_nor_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    require(Path(__file__))  # returns: nothing raised


def test_the_documents_are_looked_for_beside_the_repository() -> None:
    assert REPO.parent / "shared" / "coupa-docs" == COUPA_DOCS


def test_no_test_reads_shared_outside_the_helper() -> None:
    # One place decides where ../shared is and what its absence means.
    pattern = re.compile(r"""["']/work/shared|/ ?["']shared["']""")
    offenders = [
        p.name
        for p in (REPO / "tests").glob("*.py")
        if p.name not in {"_shared_docs.py", Path(__file__).name}
        and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
