"""The Apache Airflow provider for Coupa (extra ``coupa-connector[airflow]``).

``CoupaHook`` (connection type ``coupa``), ``CoupaQueryOperator``, ``CoupaWriteOperator``,
``CoupaActionOperator``, ``CoupaRunOperationOperator``, the deferrable ``CoupaRecordSensor``
with its ``CoupaRecordTrigger``, and example DAGs in ``example_dags/``. See docs/airflow.md and
docs/scaling.md.

Importing this package does not import Airflow: ``get_provider_info`` is plain data, and the
hook, operators and sensor load from their own modules.
"""

from __future__ import annotations

from coupa_connector.integrations.airflow._provider import get_provider_info
from coupa_connector.integrations.airflow._steps import monthly_windows
from coupa_connector.integrations.airflow.pools import instance_pool, pool_slots

__all__ = ["get_provider_info", "instance_pool", "monthly_windows", "pool_slots"]
