"""``CoupaRecordTrigger``: waits in the triggerer until a Coupa query finds records.

It asks for at most ``limit`` ids every ``poll_interval`` seconds with its own
``AsyncConnection`` (and so within the connection's rate budget) and fires once the
query returns any. Its arguments are the connection's id and the query, never secrets: the
connection is looked up in the triggerer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from coupa_connector import CoupaError
from coupa_connector.integrations.airflow._compat import BaseTrigger, TriggerEvent
from coupa_connector.integrations.airflow.hooks import CoupaHook

CLASSPATH = "coupa_connector.integrations.airflow.triggers.CoupaRecordTrigger"


class CoupaRecordTrigger(BaseTrigger):
    """Fire when ``object`` has records matching ``where``.

    Args:
        coupa_conn_id: The Airflow connection.
        object: The Coupa object.
        where: Conditions (``coupa query --where`` syntax).
        poll_interval: Seconds between queries.
        limit: Most ids to return with the event.
    """

    def __init__(
        self,
        coupa_conn_id: str,
        object: str,
        where: Sequence[str] | str | None = None,
        poll_interval: float = 60.0,
        limit: int = 50,
    ) -> None:
        super().__init__()
        self.coupa_conn_id = coupa_conn_id
        self.object = object
        self.where = [where] if isinstance(where, str) else list(where or [])
        self.poll_interval = poll_interval
        self.limit = limit

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            CLASSPATH,
            {
                "coupa_conn_id": self.coupa_conn_id,
                "object": self.object,
                "where": self.where,
                "poll_interval": self.poll_interval,
                "limit": self.limit,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        conn = await CoupaHook(self.coupa_conn_id).aget_conn()
        polls = 0
        try:
            while True:
                polls += 1
                try:
                    ids = [
                        int(r["id"])
                        async for r in conn.query(
                            self.object, where=self.where, fields=["id"], limit=self.limit
                        )
                    ]
                except CoupaError as exc:
                    yield TriggerEvent({"status": "error", "message": str(exc), "polls": polls})
                    return
                if ids:
                    yield TriggerEvent({"status": "found", "ids": ids, "polls": polls})
                    return
                self.log.info(
                    "no %s match %s yet; asking again in %s s",
                    self.object,
                    self.where,
                    self.poll_interval,
                )
                await asyncio.sleep(self.poll_interval)
        finally:
            await conn.aclose()
