"""Coupa's CSV flat files loaded over REST: ``data_file_sources`` uploads, polled until
Coupa has loaded them, and writes that travel as flat files (``bulk``)."""

from coupa_connector.activities.flatfile._load import (
    FileLoad,
    PollPolicy,
    RowError,
    load_file,
)

__all__ = ["FileLoad", "PollPolicy", "RowError", "load_file"]
