#!/usr/bin/env python3
"""Bootstrap: make a local virtual environment, install the project into it, run a job.

    python3 run.py demo         run the demo against the embedded Coupa sandbox
    python3 run.py test [ARGS]  run the test suite in parallel workers (ARGS go to pytest)
    python3 run.py lint         ruff and mypy
    python3 run.py test-airflow [ARGS]  the Airflow provider's tests in .venv-airflow
    python3 run.py coupa ARGS   any `coupa` command inside the environment

Only the standard library is used here, so it works on a machine with nothing but Python 3.11+.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("COUPA_VENV", ROOT / ".venv"))
STAMP = VENV / ".installed"
# The test tools and the optional integrations (dlt, Singer) that the test suite exercises.
EXTRAS = "dev,dlt,singer"


def _bin(name: str) -> Path:
    folder = "Scripts" if os.name == "nt" else "bin"
    return VENV / folder / name


def _wanted_stamp() -> str:
    # Reinstall whenever the dependency list changes; the package itself is an editable install.
    text = (ROOT / "pyproject.toml").read_bytes() + EXTRAS.encode()
    return hashlib.sha256(text).hexdigest()


def ensure_env() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed; this is {sys.version.split()[0]}")
    if not _bin("python").exists():
        print(f"creating virtual environment in {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _wanted_stamp():
        return
    print("installing coupa-connector and its dependencies", file=sys.stderr)
    pip = [str(_bin("python")), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-e", f"{ROOT}[{EXTRAS}]"], check=True)
    STAMP.write_text(_wanted_stamp())


AIRFLOW_VENV = Path(os.environ.get("COUPA_AIRFLOW_VENV", ROOT / ".venv-airflow"))
AIRFLOW_CONSTRAINTS = ROOT / "tests_airflow" / "constraints.txt"


def ensure_airflow_env() -> Path:
    """A separate environment with Airflow and the project (extras airflow, distributed):
    Airflow pins many packages, so it never shares the main environment."""
    python = AIRFLOW_VENV / ("Scripts" if os.name == "nt" else "bin") / "python"
    stamp = AIRFLOW_VENV / ".installed"
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + AIRFLOW_CONSTRAINTS.read_bytes()
    ).hexdigest()
    if not python.exists():
        print(f"creating the Airflow environment in {AIRFLOW_VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(AIRFLOW_VENV)
    if not (stamp.exists() and stamp.read_text() == wanted):
        print("installing Airflow and coupa-connector[airflow] (a few minutes)", file=sys.stderr)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run(
            [*pip, "install", "-c", str(AIRFLOW_CONSTRAINTS), "-e", f"{ROOT}[airflow,distributed]",
             "pytest", "pytest-timeout"],
            check=True,
        )  # fmt: skip
        stamp.write_text(wanted)
    return python


# Each file's tests on one worker, in their order; the files in the order tests/conftest.py
# gives them (long ones first).
XDIST = ["--dist", "loadfile", "--no-loadscope-reorder"]


def test_workers() -> int:
    """How many pytest-xdist workers ``run.py test`` starts (``COUPA_TEST_WORKERS`` overrides).

    Most tests wait on the sandbox's injected latency or on a subprocess, not on a core, so
    two workers per core keep the cores busy; four at least (two cores: see the README)."""
    wanted = os.environ.get("COUPA_TEST_WORKERS", "").strip()
    if wanted:
        return int(wanted)
    return max(4, 2 * (os.cpu_count() or 1))


def pytest_args(rest: list[str]) -> list[str]:
    """``rest`` with the worker count and ``--dist loadfile`` in front, unless ``rest`` already
    chooses (``-n``, ``--numprocesses``, ``-p no:xdist``) or debugs in process (``--pdb``)."""
    chooses = any(
        a.startswith(("-n", "--numprocesses", "--pdb")) or a in ("no:xdist", "-pno:xdist")
        for a in rest
    )
    return rest if chooses else [*XDIST, "-n", str(test_workers()), *rest]


def main(argv: list[str]) -> int:
    job, rest = (argv[0], argv[1:]) if argv else ("demo", [])
    if job == "test-airflow":
        python = ensure_airflow_env()
        # Airflow warns about itself (deprecations between 2 and 3): not ours to fail on.
        cmd = [str(python), "-m", "pytest", "-W", "default", "tests_airflow",
               *rest]  # fmt: skip
        return subprocess.run(cmd, cwd=ROOT).returncode
    ensure_env()
    python = str(_bin("python"))
    if job == "demo":
        cmd = [python, "-m", "coupa_connector", "demo", *rest]
    elif job == "test":
        cmd = [python, "-m", "pytest", *pytest_args(rest)]
    elif job == "lint":
        ruff = subprocess.run([python, "-m", "ruff", "check", "src", "tests", "tools", "bench"])
        mypy = subprocess.run([python, "-m", "mypy"])
        return ruff.returncode or mypy.returncode
    elif job == "coupa":
        cmd = [python, "-m", "coupa_connector", *rest]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return subprocess.run(cmd, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
