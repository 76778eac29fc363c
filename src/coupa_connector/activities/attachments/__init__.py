"""Attachments and documents: list, upload and download files of Coupa records.

``_routes`` finds the routes in the catalog, ``_files`` streams and checks the bytes,
``_api`` makes the calls, ``_bulk`` downloads many files at once into a folder with a
manifest, resumably. Every function takes the connection whose request path it uses.
"""

from coupa_connector.activities.attachments._api import (
    Attachment,
    Downloaded,
    download_attachment,
    download_document,
    list_attachments,
    upload_attachment,
    upload_document,
)
from coupa_connector.activities.attachments._bulk import (
    BulkDownloadResult,
    BulkProgress,
    FailedFile,
    download_all,
)
from coupa_connector.activities.attachments._keywords import (
    BulkKeywords,
    DocumentUploadKeywords,
    DownloadKeywords,
    UploadKeywords,
)
from coupa_connector.activities.attachments._manifest import Manifest, ManifestRow, parse_rows
from coupa_connector.activities.attachments._routes import (
    DOCUMENT_ALIASES,
    attachment_parents,
    document_route,
)

__all__ = [
    "DOCUMENT_ALIASES",
    "Attachment",
    "BulkDownloadResult",
    "BulkKeywords",
    "BulkProgress",
    "DocumentUploadKeywords",
    "DownloadKeywords",
    "Downloaded",
    "FailedFile",
    "Manifest",
    "ManifestRow",
    "UploadKeywords",
    "attachment_parents",
    "document_route",
    "download_all",
    "download_attachment",
    "download_document",
    "list_attachments",
    "parse_rows",
    "upload_attachment",
    "upload_document",
]
