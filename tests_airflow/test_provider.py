"""The Coupa provider in a real Airflow 3: registration, hook, sensor and trigger, and the
example DAGs run with ``dag.test()`` against the sandbox."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import socket
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from _client_sandbox import server_records
from _part_way import fail_after_pages
from conftest import coupa_connection
from coupa_connector import ConfigurationError, Connection, OpLog, read_records
from coupa_connector.integrations.airflow import instance_pool, pool_slots

EXAMPLES = (
    Path(__file__).resolve().parents[1] / "src/coupa_connector/integrations/airflow/example_dags"
)


def _example(name: str) -> ModuleType:
    """A DAG file of the DAGs folder (where dag.test() looks for it), loaded."""
    from conftest import HOME

    spec = importlib.util.spec_from_file_location(name, HOME / "dags" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session", autouse=True)
def pools(airflow_db: Path) -> None:
    """The instances' pools, sized to the request budget (as docs/scaling.md says)."""
    from airflow.models.pool import Pool

    for conn_id in ("coupa_default", "coupa_prod", "coupa_acquired"):
        Pool.create_or_update_pool(
            instance_pool(conn_id),
            pool_slots(rate=25, latency=0.3),
            "Coupa: requests in flight for this instance",
            include_deferred=False,
        )


def _ids(path: Path) -> list[int]:
    return [int(r["id"]) for r in read_records(str(path))]


# ------------------------------------------------------------------ registration and hook


def test_the_provider_registers_the_coupa_connection_type() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "coupa-connector" in manager.providers
    hook = manager.hooks["coupa"]
    assert hook is not None
    assert hook.hook_class_name == "coupa_connector.integrations.airflow.hooks.CoupaHook"
    assert hook.connection_type == "coupa"
    behaviour = manager.field_behaviours["coupa"]
    assert behaviour["relabeling"]["host"] == "Instance URL"
    assert "extra" in behaviour["hidden_fields"]
    widgets = manager.connection_form_widgets
    assert any(name.endswith("rate_limit_backend") for name in widgets)


def test_hook_builds_our_connection_from_the_airflow_one(
    coupa_default: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coupa_connector.integrations.airflow.hooks import CoupaHook

    hook = CoupaHook()
    config = hook.get_config()
    assert config.url == coupa_default.url and config.client_id == coupa_default.client_id
    assert config.max_retries == 1
    with hook.get_conn() as conn:
        assert isinstance(conn, Connection)
        assert len(list(conn.query("suppliers", fields=["id"]))) > 0
    assert hook.test_connection()[0] is True
    monkeypatch.setenv("AIRFLOW_CONN_COUPA_DEFAULT", coupa_connection(coupa_default, rate=3))
    with pytest.raises(ConfigurationError, match="unknown extra rate; known: allow_http"):
        CoupaHook().get_config()
    monkeypatch.setenv(
        "AIRFLOW_CONN_COUPA_DEFAULT",
        coupa_connection(coupa_default, rate_limit_backend="redis://:pw-in-extra@127.0.0.1:1/0"),
    )
    assert "pw-in-extra" not in repr(CoupaHook().get_config())


def test_example_dags_parse_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3.1 and later
    except ImportError:
        from airflow.models.dagbag import DagBag

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a network call at parse time: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    bag = DagBag(dag_folder=str(EXAMPLES))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {
        "coupa_nightly_invoices",
        "coupa_monthly_backfill",
        "coupa_instances",
    }


# ------------------------------------------------------------------ the example DAGs


def test_nightly_exports_exactly_the_approved_invoices_and_marks_them(
    coupa_default: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setenv("COUPA_AIRFLOW_WORK_DIR", str(tmp_path / "work"))
    ready = server_records(coupa_default, "invoices", {"status": "approved", "exported": "false"})
    assert ready
    dag = _example("coupa_nightly_invoices").dag
    caplog.set_level("INFO")
    run = dag.test(run_conf={"out": str(tmp_path / "erp")})
    assert run.state == "success"
    (out,) = (tmp_path / "erp").glob("invoices-*.jsonl")
    assert sorted(_ids(out)) == sorted(int(r["id"]) for r in ready)
    left = server_records(coupa_default, "invoices", {"status": "approved", "exported": "false"})
    assert left == []  # every exported invoice is marked
    assert "running trigger in line" in caplog.text  # the sensor deferred, its trigger fired


def test_monthly_backfill_yields_every_record_of_the_year_once(
    coupa_default: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUPA_AIRFLOW_WORK_DIR", str(tmp_path / "work"))
    module = _example("coupa_monthly_backfill")
    run = module.dag.test(run_conf={"out": str(tmp_path / "backfill")})
    assert run.state == "success"
    files = sorted((tmp_path / "backfill").glob("invoices-*.jsonl"))
    assert len(files) == 12
    got = [i for f in files for i in _ids(f)]
    expected = server_records(
        coupa_default,
        "invoices",
        {"created-at[gt_or_eq]": "2025-01-01", "created-at[lt]": "2026-01-01"},
    )
    assert len(got) == len(set(got))  # none twice
    assert sorted(got) == sorted(int(r["id"]) for r in expected)
    assert len(expected) > 12


def test_instances_mapped_over_connections_each_pull_their_own(
    coupa_default: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coupa_connector.sandbox import Sandbox

    monkeypatch.setenv("COUPA_AIRFLOW_WORK_DIR", str(tmp_path / "work"))
    with Sandbox(seed=7) as acquired:
        monkeypatch.setenv("AIRFLOW_CONN_COUPA_PROD", coupa_connection(coupa_default))
        monkeypatch.setenv("AIRFLOW_CONN_COUPA_ACQUIRED", coupa_connection(acquired))
        run = _example("coupa_instances").dag.test(run_conf={"out": str(tmp_path / "all")})
        assert run.state == "success"
        for conn_id, sb in (("coupa_prod", coupa_default), ("coupa_acquired", acquired)):
            got = _ids(tmp_path / "all" / f"{conn_id}-suppliers.jsonl")
            assert sorted(got) == sorted(int(r["id"]) for r in server_records(sb, "suppliers"))


# ------------------------------------------------------------------ retries and the sensor


def test_a_task_failing_part_way_resumes_on_retry_without_duplicates(
    coupa_default: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import HOME

    monkeypatch.setenv("COUPA_AIRFLOW_WORK_DIR", str(tmp_path / "work"))
    sandbox = coupa_default
    out = tmp_path / "invoices.jsonl"
    (HOME / "dags" / "coupa_retry.py").write_text(
        "from datetime import timedelta\n"
        "from airflow.sdk import DAG\n"
        "from coupa_connector.integrations.airflow.operators import CoupaQueryOperator\n"
        "with DAG('coupa_retry', schedule=None, catchup=False) as dag:\n"
        f"    CoupaQueryOperator(task_id='pull', object='invoices', fields=['id'],\n"
        f"        output_path={str(out)!r}, concurrency=1, retries=1,\n"
        "        retry_delay=timedelta(seconds=1))\n"
    )
    dag = _example("coupa_retry").dag
    # max_retries is 1: two 503s fail the first try, and the retry finds the sandbox well.
    breaker = fail_after_pages(sandbox, pages=2, errors=2)
    run = dag.test()
    breaker.join()
    assert run.state == "success"
    (ti,) = run.get_task_instances()
    assert ti.try_number == 2  # the first try failed
    assert sorted(_ids(out)) == sorted(int(r["id"]) for r in server_records(sandbox, "invoices"))
    with OpLog(tmp_path / "work" / "oplog.sqlite") as log:
        runs, _ = log.find_runs()
    assert [r["status"] for r in runs] == ["success"]  # one run, continued by the retry
    assert runs[0]["resumes"] == 1


def test_the_trigger_waits_then_fires_when_a_record_appears(coupa_default: Any) -> None:
    from airflow.sdk.exceptions import TaskDeferred

    from coupa_connector.integrations.airflow.sensors import CoupaRecordSensor
    from coupa_connector.integrations.airflow.triggers import CoupaRecordTrigger

    sensor = CoupaRecordSensor(
        task_id="wait", object="suppliers", where="name=Late Arrival Ltd", poke_interval=0.2
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, CoupaRecordTrigger)
    _, kwargs = trigger.serialize()
    assert "password" not in json.dumps(kwargs) and coupa_default.client_secret not in json.dumps(
        kwargs
    )

    def create_later() -> None:
        time.sleep(0.6)
        with Connection(_config(coupa_default)) as conn:
            list(conn.create("suppliers", [{"name": "Late Arrival Ltd", "number": "LATE-1"}]))

    async def first_event() -> Any:
        async for event in trigger.run():
            return event
        return None

    writer = threading.Thread(target=create_later)
    writer.start()
    event = asyncio.run(first_event())
    writer.join()
    assert event.payload["status"] == "found" and event.payload["polls"] >= 2
    ids = sensor.execute_complete({}, event.payload)
    assert len(ids) == 1


def _config(sandbox: Any) -> Any:
    from _client_sandbox import sandbox_config

    return sandbox_config(sandbox)
