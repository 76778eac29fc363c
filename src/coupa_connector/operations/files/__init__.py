"""Record files: the readers and writers of each format (``_files``, ``_output``), rejects,
and Coupa's CSV flat files (``coupa_csv``)."""

from coupa_connector.operations.files import _object_formats  # noqa: F401 -- fills OBJECT_READERS
