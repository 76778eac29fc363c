"""Backfill: a year of invoices, one mapped task per calendar month.

``CoupaQueryOperator.partial(...).expand(window=...)`` makes twelve task instances, one per
month of ``created-at``; each writes its own file, and together they hold every invoice of
the year exactly once (the windows meet edge to edge: ``>= start`` and ``< end``). Each
window is resumable on its own. However many run at once, the instance's pool caps the
requests in flight and the shared rate budget (``rate_limit_backend`` in the connection)
keeps them within Coupa's limit.
"""

from __future__ import annotations

import os
from datetime import datetime

from coupa_connector.integrations.airflow import instance_pool, monthly_windows
from coupa_connector.integrations.airflow.operators import CoupaQueryOperator

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[no-redef]

CONN_ID = "coupa_default"
IN_FLIGHT = 4
FIRST_MONTH = os.environ.get("COUPA_BACKFILL_FROM", "2025-01-01")

with DAG(
    dag_id="coupa_monthly_backfill",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"out": os.environ.get("COUPA_AIRFLOW_OUT", "/tmp/coupa-backfill")},
    default_args={"retries": 2},
    tags=["coupa", "example"],
) as dag:
    CoupaQueryOperator.partial(
        task_id="invoices_by_month",
        object="invoices",
        window_field="created-at",
        output_path="{{ params.out }}/invoices-{{ ti.map_index }}.jsonl",
        coupa_conn_id=CONN_ID,
        concurrency=IN_FLIGHT,
        pool=instance_pool(CONN_ID),
        pool_slots=IN_FLIGHT,
    ).expand(window=monthly_windows(FIRST_MONTH, 12))
