"""Optional extras the tests need: skipped with the reason locally, a failure under CI.

The test command installs the dlt and singer extras itself, so under ``CI=true`` a missing
one means the environment is broken, never a reason to skip.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require(module: str, reason: str) -> ModuleType:
    """The module, imported; skips the test module locally when it is missing."""
    if os.environ.get("CI", "").lower() == "true":
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=reason)
