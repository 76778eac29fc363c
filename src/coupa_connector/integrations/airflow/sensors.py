"""``CoupaRecordSensor``: wait for Coupa records that match a query.

For example, approved invoices not yet exported, before the nightly export runs. Deferrable
by default: the task hands the wait to ``CoupaRecordTrigger`` in the triggerer and holds no
worker slot (and no pool slot) while it waits; ``deferrable=False`` pokes from a worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from coupa_connector import CoupaError
from coupa_connector.integrations.airflow._compat import BaseSensorOperator
from coupa_connector.integrations.airflow.hooks import DEFAULT_CONN_ID, CoupaHook
from coupa_connector.integrations.airflow.triggers import CoupaRecordTrigger


class CoupaRecordSensor(BaseSensorOperator):
    """Succeed once ``object`` has records matching ``where``; returns their ids (XCom).

    Args:
        object: The Coupa object.
        where: Conditions (``status=approved``, ``exported=false``...).
        coupa_conn_id: The Airflow connection.
        deferrable: Wait in the triggerer (True) or poke from a worker.
        limit: Most ids to return.
        poke_interval: Seconds between queries (both modes).
    """

    template_fields: Sequence[str] = ("object", "where")

    def __init__(
        self,
        *,
        object: str,
        where: Sequence[str] | str | None = None,
        coupa_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = True,
        limit: int = 50,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.object = object
        self.where = where
        self.coupa_conn_id = coupa_conn_id
        self.deferrable = deferrable
        self.limit = limit
        self._found: list[int] = []

    def _where(self) -> list[str]:
        return [self.where] if isinstance(self.where, str) else list(self.where or [])

    def poke(self, context: Any) -> bool:
        with CoupaHook(self.coupa_conn_id).get_conn() as conn:
            records = conn.query(self.object, where=self._where(), fields=["id"], limit=self.limit)
            self._found = [int(r["id"]) for r in records]
        return bool(self._found)

    def execute(self, context: Any) -> list[int] | None:
        if not self.deferrable:
            super().execute(context)
            return self._found
        self.defer(
            trigger=CoupaRecordTrigger(
                self.coupa_conn_id,
                self.object,
                self._where(),
                poll_interval=float(self.poke_interval),
                limit=self.limit,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)) if self.timeout else None,
        )
        return None  # not reached: defer raises

    def execute_complete(self, context: Any, event: dict[str, Any]) -> list[int]:
        """Resumed by the trigger's event: the ids found, or the error."""
        if event.get("status") != "found":
            raise CoupaError(f"waiting for {self.object} failed: {event.get('message')}")
        self.log.info(
            "%d %s found after %d queries", len(event["ids"]), self.object, event["polls"]
        )
        return list(event["ids"])
