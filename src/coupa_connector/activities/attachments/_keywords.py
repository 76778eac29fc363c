"""The attachment functions' keyword arguments, typed, for the connection's methods."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from coupa_connector.activities.attachments._bulk import BulkProgress

__all__ = ["BulkKeywords", "DocumentUploadKeywords", "DownloadKeywords", "UploadKeywords"]


class UploadKeywords(TypedDict, total=False):
    """``upload_attachment``'s keywords (see there)."""

    url: str | None
    text: str | None
    filename: str | None
    content_type: str | None
    intent: str | None
    linked_to: str | None


class DocumentUploadKeywords(TypedDict, total=False):
    """``upload_document``'s keywords (see there)."""

    filename: str | None
    content_type: str | None


class DownloadKeywords(TypedDict, total=False):
    """``download_attachment``'s and ``download_document``'s keywords (see there)."""

    on_bytes: Callable[[int], None] | None


class BulkKeywords(TypedDict, total=False):
    """``download_all``'s keywords (see there)."""

    where: Any
    ids: Sequence[int] | None
    kinds: Sequence[str]
    manifest: str | Path | None
    concurrency: int | None
    progress: Callable[[BulkProgress], None] | None
