"""The public connection: what a user holds, above the activities.

``AsyncConnection`` is the requester (``client.AsyncRequester``: auth, rate limit,
transport, retry, redacting log) with the activities' verbs on top: query, discover, test, create,
update, upsert and action. It is a requester itself, so the activities take it as theirs and
a user can still send a raw ``request``. ``Connection`` is the same, blocking: the async core
driven through the one loop-thread bridge (``_bridge.LoopThread``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from coupa_connector._bridge import LoopThread
from coupa_connector.catalog import Catalog, ObjectDef
from coupa_connector.client._config import ConnectionConfig, WireFormat
from coupa_connector.client._requester import AsyncRequester, ConnectionStats, Params
from coupa_connector.client._transport import AsyncBaseTransport

if TYPE_CHECKING:
    # The activities load on first use, so a program (or a worker process) that only holds
    # a connection does not pay for all of them at start.
    from coupa_connector.activities.attachments import (
        Attachment,
        BulkDownloadResult,
        BulkKeywords,
        DocumentUploadKeywords,
        Downloaded,
        DownloadKeywords,
        UploadKeywords,
    )
    from coupa_connector.activities.discover import DiscoverReport
    from coupa_connector.activities.flatfile import FileLoad, PollPolicy
    from coupa_connector.activities.query import Page, QueryKeywords, QueryOptions
    from coupa_connector.activities.write._results import WriteResult
    from coupa_connector.activities.write._send import RecordWriteKeywords, WriteKeywords
    from coupa_connector.activities.write.create import Records
    from coupa_connector.client._check import ConnectionTestReport

__all__ = ["AsyncConnection", "Connection"]

T = TypeVar("T")

Key = str | Sequence[str]
"""A natural key: one field (``number``) or several (``invoice-number,supplier.number``)."""


class AsyncConnection(AsyncRequester):
    """An async connection to one Coupa instance (use ``async with``).

    Args:
        config: Connection settings; ``ConnectionConfig.from_env()`` when omitted.
        catalog: Object definitions; the shipped catalog when omitted.
        transport: An ``httpx2`` transport to use instead of the network (tests).
        rng: Random source for backoff jitter (tests pin it).
    """

    def query_pages(
        self,
        obj: str | ObjectDef,
        options: QueryOptions | None = None,
        /,
        **keywords: Unpack[QueryKeywords],
    ) -> AsyncIterator[Page]:
        """The pages of a query (records plus where they came from); see ``query``."""
        from coupa_connector.activities.query import QueryOptions, query_pages

        return query_pages(self, obj, QueryOptions.of(options, **keywords))

    async def query(
        self,
        obj: str | ObjectDef,
        options: QueryOptions | None = None,
        /,
        **keywords: Unpack[QueryKeywords],
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream every record of ``obj`` that matches, exactly once.

        The query is validated against the catalog before any request.

        Args:
            obj: The object (``invoices``, ``purchase_orders``, ...; any of its names).
            options: What to ask for and how to fetch it (see ``QueryOptions``: ``where``,
                ``fields``, ``return_object``, ``order_by``, ``dir``, ``limit``, ``params``,
                ``since``, ``until``, ``concurrency``, ``paging``).
            **keywords: The same options by name, on top of ``options``
                (``conn.query("invoices", where="status=approved", fields=["id"])``).

        Yields:
            Records as dicts with Coupa's hyphenated keys.

        Raises:
            QueryError: The query is invalid (before any request), or its subclass
                PagingError: the pages did not join up (the result set shifted under offset
                paging beyond re-alignment, or the server broke a paging rule).
            APIError | TransportError: A page failed after retries; the message says which.
        """
        async for page in self.query_pages(obj, options, **keywords):
            for record in page.records:
                yield record

    async def discover(
        self,
        objects: Sequence[str] | None = None,
        *,
        sample: int | None = None,
        save: bool = True,
        cache_dir: Path | str | None = None,
    ) -> DiscoverReport:
        """Learn this instance's own fields from a sample of its records and save them as
        its overlay, which this connection then uses; see
        ``coupa_connector.activities.discover.discover`` (``sample``: records read per
        object, its ``SAMPLE_SIZE`` by default)."""
        from coupa_connector.activities.discover import SAMPLE_SIZE, discover

        report = await discover(
            self,
            objects,
            sample=SAMPLE_SIZE if sample is None else sample,
            save=save,
            cache_dir=cache_dir,
        )
        if report.path is not None:
            self._catalog = report.catalog
        return report

    async def test(self, objects: Sequence[str] | None = None) -> ConnectionTestReport:
        """Check host, credentials and per-object read access; see ``ConnectionTestReport``."""
        from coupa_connector.client._check import run_connection_test

        return await run_connection_test(self, objects)

    def create(
        self,
        obj: str | ObjectDef,
        records: Records,
        *,
        key: Key | None = None,
        **keywords: Unpack[RecordWriteKeywords],
    ) -> AsyncIterator[WriteResult]:
        """Create records, one result each as they complete; see
        ``coupa_connector.activities.write.create.create``."""
        from coupa_connector.activities.write.create import create

        return create(self, obj, records, key=key, **keywords)

    def update(
        self,
        obj: str | ObjectDef,
        records: Records,
        *,
        key: Key | None = None,
        **keywords: Unpack[RecordWriteKeywords],
    ) -> AsyncIterator[WriteResult]:
        """Update records by id or ``key=``; see ``activities.write.update.update``."""
        from coupa_connector.activities.write.update import update

        return update(self, obj, records, key=key, **keywords)

    def upsert(
        self,
        obj: str | ObjectDef,
        records: Records,
        *,
        key: Key,
        **keywords: Unpack[RecordWriteKeywords],
    ) -> AsyncIterator[WriteResult]:
        """Create or update records by a natural key; see ``activities.write.update.upsert``."""
        from coupa_connector.activities.write.update import upsert

        return upsert(self, obj, records, key=key, **keywords)

    def action(
        self,
        obj: str | ObjectDef,
        name: str,
        targets: Records,
        *,
        key: Key | None = None,
        params: Mapping[str, str] | None = None,
        **keywords: Unpack[WriteKeywords],
    ) -> AsyncIterator[WriteResult]:
        """Run an action (submit, void, mark_exported ...) on ids or records; see
        ``coupa_connector.activities.write.actions.action``."""
        from coupa_connector.activities.write.actions import action

        return action(self, obj, name, targets, key=key, params=params, **keywords)

    async def attachments(self, obj: str | ObjectDef, id: int) -> list[Attachment]:
        """The attachments of one record; see ``activities.attachments.list_attachments``."""
        from coupa_connector.activities.attachments import list_attachments

        return await list_attachments(self, obj, id)

    async def upload_attachment(
        self, obj: str | ObjectDef, id: int, file: Any = None, **keywords: Unpack[UploadKeywords]
    ) -> Attachment:
        """Attach a file (path or bytes), ``url=`` or ``text=`` to a record; see
        ``activities.attachments.upload_attachment``."""
        from coupa_connector.activities.attachments import upload_attachment

        return await upload_attachment(self, obj, id, file, **keywords)

    async def download_attachment(
        self,
        obj: str | ObjectDef,
        id: int,
        attachment: Any,
        dest: Any,
        **keywords: Unpack[DownloadKeywords],
    ) -> Downloaded:
        """Download one attachment to a path or binary stream; see
        ``activities.attachments.download_attachment``."""
        from coupa_connector.activities.attachments import download_attachment

        return await download_attachment(self, obj, id, attachment, dest, **keywords)

    async def download_document(
        self,
        obj: str | ObjectDef,
        id: int,
        kind: str,
        dest: Any,
        **keywords: Unpack[DownloadKeywords],
    ) -> Downloaded:
        """Download a scan, legal PDF, legal agreement or receipts zip; see
        ``activities.attachments.download_document``."""
        from coupa_connector.activities.attachments import download_document

        return await download_document(self, obj, id, kind, dest, **keywords)

    async def download_attachments(
        self, obj: str | ObjectDef, folder: Any, **keywords: Unpack[BulkKeywords]
    ) -> BulkDownloadResult:
        """Download every file of many records into a folder, with a manifest, resumably;
        see ``activities.attachments.download_all``."""
        from coupa_connector.activities.attachments import download_all

        return await download_all(self, obj, folder, **keywords)

    async def upload_document(
        self,
        obj: str | ObjectDef,
        id: int,
        kind: str,
        file: Any,
        **keywords: Unpack[DocumentUploadKeywords],
    ) -> dict[str, Any]:
        """Replace a record's document (an invoice's image scan); see
        ``activities.attachments.upload_document``."""
        from coupa_connector.activities.attachments import upload_document

        return await upload_document(self, obj, id, kind, file, **keywords)

    async def load_file(
        self, obj: str | ObjectDef, path: str | Path, *, policy: PollPolicy | None = None
    ) -> FileLoad:
        """Load a Coupa CSV import file through ``data_file_sources`` and wait for Coupa to
        finish it; see ``activities.flatfile.load_file``."""
        from coupa_connector.activities.flatfile import load_file

        return await load_file(self, obj, path, policy=policy)


class Connection:
    """A blocking connection to one Coupa instance (use ``with``).

    Every method forwards to the async core on the bridge's loop; nothing here talks HTTP or
    decides anything. Queries cross the thread boundary a page at a time.

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
        self._bridge = LoopThread()

        async def make() -> AsyncConnection:
            return AsyncConnection(config, catalog=catalog, transport=transport)

        try:
            self._conn = self._bridge.run(make())
        except BaseException:
            self._bridge.stop()
            raise
        self._closed = False

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
        return self._bridge.run(
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

    def query_pages(
        self,
        obj: str | ObjectDef,
        options: QueryOptions | None = None,
        /,
        **keywords: Unpack[QueryKeywords],
    ) -> Iterator[Page]:
        """Blocking ``AsyncConnection.query_pages``: an iterator of pages."""
        return self.iterate(self._conn.query_pages(obj, options, **keywords))

    def query(
        self,
        obj: str | ObjectDef,
        options: QueryOptions | None = None,
        /,
        **keywords: Unpack[QueryKeywords],
    ) -> Iterator[dict[str, Any]]:
        """Blocking ``AsyncConnection.query``: an iterator of records, fetched a page at a time."""
        for page in self.query_pages(obj, options, **keywords):
            yield from page.records

    def query_all(
        self,
        obj: str | ObjectDef,
        options: QueryOptions | None = None,
        /,
        **keywords: Unpack[QueryKeywords],
    ) -> list[dict[str, Any]]:
        """Every record of a query in a list (a convenience over ``query`` for small results)."""
        return list(self.query(obj, options, **keywords))

    def discover(
        self,
        objects: Sequence[str] | None = None,
        *,
        sample: int | None = None,
        save: bool = True,
        cache_dir: Path | str | None = None,
    ) -> DiscoverReport:
        """Blocking ``AsyncConnection.discover``: the ``DiscoverReport``."""
        return self._bridge.run(
            self._conn.discover(objects, sample=sample, save=save, cache_dir=cache_dir)
        )

    def test(self, objects: Sequence[str] | None = None) -> ConnectionTestReport:
        """Blocking ``AsyncConnection.test``."""
        return self._bridge.run(self._conn.test(objects))

    def create(
        self,
        obj: str | ObjectDef,
        records: Records,
        *,
        key: Key | None = None,
        **keywords: Unpack[RecordWriteKeywords],
    ) -> Iterator[WriteResult]:
        """Blocking ``AsyncConnection.create``: an iterator of results as they complete."""
        return self.iterate(self._conn.create(obj, records, key=key, **keywords))

    def update(
        self,
        obj: str | ObjectDef,
        records: Records,
        *,
        key: Key | None = None,
        **keywords: Unpack[RecordWriteKeywords],
    ) -> Iterator[WriteResult]:
        """Blocking ``AsyncConnection.update``: an iterator of results as they complete."""
        return self.iterate(self._conn.update(obj, records, key=key, **keywords))

    def upsert(
        self,
        obj: str | ObjectDef,
        records: Records,
        *,
        key: Key,
        **keywords: Unpack[RecordWriteKeywords],
    ) -> Iterator[WriteResult]:
        """Blocking ``AsyncConnection.upsert``: an iterator of results as they complete."""
        return self.iterate(self._conn.upsert(obj, records, key=key, **keywords))

    def action(
        self,
        obj: str | ObjectDef,
        name: str,
        targets: Records,
        *,
        key: Key | None = None,
        params: Mapping[str, str] | None = None,
        **keywords: Unpack[WriteKeywords],
    ) -> Iterator[WriteResult]:
        """Blocking ``AsyncConnection.action``: an iterator of results as they complete."""
        return self.iterate(
            self._conn.action(obj, name, targets, key=key, params=params, **keywords)
        )

    def attachments(self, obj: str | ObjectDef, id: int) -> list[Attachment]:
        """Blocking ``AsyncConnection.attachments``."""
        return self._bridge.run(self._conn.attachments(obj, id))

    def upload_attachment(
        self, obj: str | ObjectDef, id: int, file: Any = None, **keywords: Unpack[UploadKeywords]
    ) -> Attachment:
        """Blocking ``AsyncConnection.upload_attachment``."""
        return self._bridge.run(self._conn.upload_attachment(obj, id, file, **keywords))

    def download_attachment(
        self,
        obj: str | ObjectDef,
        id: int,
        attachment: Any,
        dest: Any,
        **keywords: Unpack[DownloadKeywords],
    ) -> Downloaded:
        """Blocking ``AsyncConnection.download_attachment``."""
        return self._bridge.run(
            self._conn.download_attachment(obj, id, attachment, dest, **keywords)
        )

    def download_document(
        self,
        obj: str | ObjectDef,
        id: int,
        kind: str,
        dest: Any,
        **keywords: Unpack[DownloadKeywords],
    ) -> Downloaded:
        """Blocking ``AsyncConnection.download_document``."""
        return self._bridge.run(self._conn.download_document(obj, id, kind, dest, **keywords))

    def download_attachments(
        self, obj: str | ObjectDef, folder: Any, **keywords: Unpack[BulkKeywords]
    ) -> BulkDownloadResult:
        """Blocking ``AsyncConnection.download_attachments``."""
        return self._bridge.run(self._conn.download_attachments(obj, folder, **keywords))

    def upload_document(
        self,
        obj: str | ObjectDef,
        id: int,
        kind: str,
        file: Any,
        **keywords: Unpack[DocumentUploadKeywords],
    ) -> dict[str, Any]:
        """Blocking ``AsyncConnection.upload_document``."""
        return self._bridge.run(self._conn.upload_document(obj, id, kind, file, **keywords))

    def load_file(
        self, obj: str | ObjectDef, path: str | Path, *, policy: PollPolicy | None = None
    ) -> FileLoad:
        """Blocking ``AsyncConnection.load_file``."""
        return self._bridge.run(self._conn.load_file(obj, path, policy=policy))

    def run(self, coro: Awaitable[T]) -> T:
        """Run a coroutine that uses ``async_connection`` on the facade's loop."""
        return self._bridge.run(coro)

    def iterate(self, source: AsyncIterator[T]) -> Iterator[T]:
        """Consume an async iterator made with ``async_connection``, from blocking code."""
        return self._bridge.iterate(source)

    def close(self) -> None:
        """Close the connection and stop its loop thread; work still running on the loop (a
        run stopped by Ctrl-C) is cancelled and awaited first, so nothing is left pending."""
        if self._closed:
            return
        try:
            self._bridge.cancel_pending()
            self._bridge.run(self._conn.aclose())
        finally:
            self._closed = True
            self._bridge.stop()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Connection({self.config.url!r}, auth={self.config.auth_mode})"
