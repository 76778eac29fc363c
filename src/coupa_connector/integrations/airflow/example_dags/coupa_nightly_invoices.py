"""Nightly: approved invoices not yet exported -> a file for the ERP, each marked exported.

The sensor waits (deferred, holding no worker slot) until there is something to export; the
export then writes every approved, unexported invoice to ``{out}/invoices-<date>.jsonl`` and
marks each one exported in Coupa once the file is complete. A retry resumes the export from
its checkpoint: nothing is exported or marked twice. Tasks run in the instance's pool
(``airflow pools set coupa_default_pool 16 "Coupa: requests in flight"``), each taking as many
slots as it keeps requests in flight.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from coupa_connector.integrations.airflow import instance_pool
from coupa_connector.integrations.airflow.operators import CoupaQueryOperator
from coupa_connector.integrations.airflow.sensors import CoupaRecordSensor

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[no-redef]

CONN_ID = "coupa_default"
IN_FLIGHT = 4  # requests per task, and so pool slots per task
READY = ["status=approved", "exported=false"]

with DAG(
    dag_id="coupa_nightly_invoices",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"out": os.environ.get("COUPA_AIRFLOW_OUT", "/tmp/coupa-erp")},
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["coupa", "example"],
) as dag:
    ready = CoupaRecordSensor(
        task_id="wait_for_approved_invoices",
        object="invoices",
        where=READY,
        coupa_conn_id=CONN_ID,
        poke_interval=300,
        timeout=6 * 3600,
        limit=1,
    )
    export = CoupaQueryOperator(
        task_id="export_invoices",
        object="invoices",
        where=READY,
        mark_exported=True,
        output_path="{{ params.out }}/invoices-{{ ds }}.jsonl",
        coupa_conn_id=CONN_ID,
        concurrency=IN_FLIGHT,
        pool=instance_pool(CONN_ID),
        pool_slots=IN_FLIGHT,
    )
    ready >> export
