"""The readers of the formats whose files are laid out by object (``OBJECT_FORMATS``),
registered by format name in ``_files.OBJECT_READERS``: ``read_records`` looks a format up
there instead of knowing each one. Imported by this package's ``__init__``, so the table is
full whenever ``_files`` is importable."""

from __future__ import annotations

from coupa_connector.operations.files._files import OBJECT_FORMATS, OBJECT_READERS
from coupa_connector.operations.files.coupa_csv import read_object_file

__all__: list[str] = []

OBJECT_READERS["coupa-csv"] = read_object_file
assert set(OBJECT_READERS) == set(OBJECT_FORMATS), "every object format has its reader"
