"""The Airflow stage: a real Airflow 3 (``.venv-airflow``) with its own home and database.

``python3 run.py test-airflow`` makes the environment and runs these tests. Airflow's home
is a temporary folder with a fresh SQLite database (``airflow db migrate``), created once per
session before anything imports Airflow; the example DAGs run with ``dag.test()`` against
the sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the main suite's sandbox helpers

HOME = Path(tempfile.mkdtemp(prefix="coupa-airflow-home-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(HOME / "dags"),
    }
)


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> Path:
    """A migrated metadata database in Airflow's temporary home."""
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run(
        [str(airflow), "db", "migrate"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # dag.test() runs DAGs from the DAGs folder (it serializes them from there first).
    dags = HOME / "dags"
    dags.mkdir(exist_ok=True)
    examples = ROOT / "src/coupa_connector/integrations/airflow/example_dags"
    for source in examples.glob("coupa_*.py"):
        shutil.copy(source, dags / source.name)
    return HOME


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Any]:
    from coupa_connector.sandbox import Sandbox

    with Sandbox() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: Any) -> Any:
    sandbox_server.clear_faults()
    sandbox_server.set_rate_limit(False)
    sandbox_server.reset()
    return sandbox_server


def coupa_connection(sandbox: Any, **extra: Any) -> str:
    """An Airflow connection of type ``coupa`` for the sandbox, as AIRFLOW_CONN_* JSON."""
    return json.dumps(
        {
            "conn_type": "coupa",
            "host": sandbox.url,
            "login": sandbox.client_id,
            "password": sandbox.client_secret,
            "extra": {"scopes": " ".join(sandbox.scopes), "max_retries": 1, **extra},
        }
    )


@pytest.fixture
def coupa_default(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AIRFLOW_CONN_COUPA_DEFAULT", coupa_connection(sandbox))
    return sandbox
