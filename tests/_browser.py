"""A real headless Chromium for the console's browser tests, driven by Selenium.

Debian's ``chromium`` and ``chromium-driver`` packages are used (``.ci/run`` installs them);
nothing is downloaded. Locally, the tests skip with the reason when no browser can be had;
under ``CI=true`` that is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

# The flags Chromium needs on this machine: headless, as root, and with no background
# traffic (the network is closed, and its connection attempts only slow it down).
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,800",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests need Chromium under CI: {reason}")
    pytest.skip(reason)


def chromium(profile_dir: Path) -> WebDriver:
    """A headless Chromium with a fresh profile in ``profile_dir``."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install -e '.[dev]')")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        _unavailable("no chromium and chromedriver (apt-get install chromium chromium-driver)")
    options = Options()
    options.binary_location = browser
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    try:
        return webdriver.Chrome(service=Service(executable_path=driver), options=options)
    except Exception as exc:  # a browser that does not start: say why
        _unavailable(f"chromium did not start: {type(exc).__name__}: {exc}")
        raise
