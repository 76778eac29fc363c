"""Several Coupa instances: the same extract for each, mapped over their connections.

Production, a sandbox, an acquired company's instance: each is an Airflow connection of
type ``coupa`` with its own budget and its own pool. The instances' tasks run side by side;
within each instance, its pool and its rate budget apply. The list comes from
``COUPA_AIRFLOW_INSTANCES`` (comma-separated connection ids), read when the file is parsed
(an environment variable, no network).
"""

from __future__ import annotations

import os
from datetime import datetime

from coupa_connector.integrations.airflow import instance_pool
from coupa_connector.integrations.airflow.operators import CoupaQueryOperator

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[no-redef]

INSTANCES = os.environ.get("COUPA_AIRFLOW_INSTANCES", "coupa_prod,coupa_acquired").split(",")
IN_FLIGHT = 4

with DAG(
    dag_id="coupa_instances",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"out": os.environ.get("COUPA_AIRFLOW_OUT", "/tmp/coupa-instances")},
    default_args={"retries": 2},
    tags=["coupa", "example"],
) as dag:
    CoupaQueryOperator.partial(
        task_id="suppliers",
        object="suppliers",
        fields=["id", "name", "number", "status"],
        output_path="{{ params.out }}/{{ task.coupa_conn_id }}-suppliers.jsonl",
        concurrency=IN_FLIGHT,
        pool_slots=IN_FLIGHT,
    ).expand_kwargs(
        [{"coupa_conn_id": conn_id, "pool": instance_pool(conn_id)} for conn_id in INSTANCES]
    )
