"""The synchronous facade: a private event loop thread driving one ``AsyncConnection``.

Every method forwards to the async core; nothing here talks HTTP or decides anything.
Queries cross the thread boundary a page at a time, not a record at a time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from coupa_connector.catalog import Catalog, ObjectDef
from coupa_connector.client._config import ConnectionConfig, WireFormat
from coupa_connector.client._connection import AsyncConnection, ConnectionStats, Params
from coupa_connector.client._transport import AsyncBaseTransport

if TYPE_CHECKING:
    from coupa_connector.activities.query._paging import Page
    from coupa_connector.activities.write._results import WriteResult
    from coupa_connector.client._check import ConnectionTestReport

T = TypeVar("T")


class Connection:
    """A blocking connection to one Coupa instance (use ``with``).

    Args:
        config: Connection settings; ``ConnectionConfig.from_env()`` when omitted.
        catalog: Object definitions; the shipped catalog when omitted.
        transport: An ``httpx2`` transport to use instead of the network (tests).
    """

    def __init__(
        self,
        config: ConnectionConfig | None = None,
        *,
        catalog: Catalog | None = None,
        transport: AsyncBaseTransport | None = None,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="coupa-connection", daemon=True
        )
        self._thread.start()

        async def make() -> AsyncConnection:
            return AsyncConnection(config, catalog=catalog, transport=transport)

        try:
            self._conn = self._run(make())
        except BaseException:
            self._stop_loop()
            raise
        self._closed = False

    def _run(self, coro: Awaitable[T]) -> T:
        future = asyncio.run_coroutine_threadsafe(_as_coroutine(coro), self._loop)
        return future.result()

    @property
    def config(self) -> ConnectionConfig:
        return self._conn.config

    @property
    def catalog(self) -> Catalog:
        return self._conn.catalog

    @property
    def stats(self) -> ConnectionStats:
        return self._conn.stats

    @property
    def async_connection(self) -> AsyncConnection:
        """The async core (for use from the facade's own loop only)."""
        return self._conn

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | bytes | None = None,
        object_name: str | ObjectDef | None = None,
        wire_format: WireFormat | None = None,
        retry: bool = True,
    ) -> Any:
        """Blocking ``AsyncConnection.request``."""
        return self._run(
            self._conn.request(
                method,
                path,
                params=params,
                body=body,
                object_name=object_name,
                wire_format=wire_format,
                retry=retry,
            )
        )

    def query_pages(self, obj: str | ObjectDef, **options: Any) -> Iterator[Page]:
        """Blocking ``AsyncConnection.query_pages``: an iterator of pages."""
        pages = self._conn.query_pages(obj, **options)
        try:
            while True:
                try:
                    page = self._run(pages.__anext__())
                except StopAsyncIteration:
                    return
                yield page
        finally:
            aclose = getattr(pages, "aclose", None)
            if aclose is not None and not self._closed:
                self._run(aclose())

    def query(self, obj: str | ObjectDef, **options: Any) -> Iterator[dict[str, Any]]:
        """Blocking ``AsyncConnection.query``: an iterator of records, fetched a page at a time."""
        for page in self.query_pages(obj, **options):
            yield from page.records

    def query_all(self, obj: str | ObjectDef, **options: Any) -> list[dict[str, Any]]:
        """Every record of a query in a list (a convenience over ``query`` for small results)."""
        return list(self.query(obj, **options))

    def discover(self, objects: Sequence[str] | None = None, **options: Any) -> Any:
        """Blocking ``AsyncConnection.discover``: the ``DiscoverReport``."""
        return self._run(self._conn.discover(objects, **options))

    def test(self, objects: Sequence[str] | None = None) -> ConnectionTestReport:
        """Blocking ``AsyncConnection.test``."""
        return self._run(self._conn.test(objects))

    def create(self, obj: str | ObjectDef, records: Any, **options: Any) -> Iterator[WriteResult]:
        """Blocking ``AsyncConnection.create``: an iterator of results as they complete."""
        from coupa_connector.activities.write._sync import iterate

        return iterate(self._run, self._conn.create(obj, records, **options))

    def update(self, obj: str | ObjectDef, records: Any, **options: Any) -> Iterator[WriteResult]:
        """Blocking ``AsyncConnection.update``: an iterator of results as they complete."""
        from coupa_connector.activities.write._sync import iterate

        return iterate(self._run, self._conn.update(obj, records, **options))

    def upsert(
        self, obj: str | ObjectDef, records: Any, *, key: Any, **options: Any
    ) -> Iterator[WriteResult]:
        """Blocking ``AsyncConnection.upsert``: an iterator of results as they complete."""
        from coupa_connector.activities.write._sync import iterate

        return iterate(self._run, self._conn.upsert(obj, records, key=key, **options))

    def action(
        self, obj: str | ObjectDef, name: str, targets: Any, **options: Any
    ) -> Iterator[WriteResult]:
        """Blocking ``AsyncConnection.action``: an iterator of results as they complete."""
        from coupa_connector.activities.write._sync import iterate

        return iterate(self._run, self._conn.action(obj, name, targets, **options))

    def run(self, coro: Awaitable[T]) -> T:
        """Run a coroutine that uses ``async_connection`` on the facade's loop."""
        return self._run(coro)

    def close(self) -> None:
        """Close the connection and stop its loop thread."""
        if self._closed:
            return
        try:
            self._run(self._conn.aclose())
        finally:
            self._closed = True
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Connection({self.config.url!r}, auth={self.config.auth_mode})"


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable
