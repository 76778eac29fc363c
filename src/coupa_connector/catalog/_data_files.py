"""Facts about Coupa's data file sources (flat files loaded over REST) both sides share.

The client names the loader of an upload with them and the sandbox finds its loader by
them; what a load does with the file is implemented separately on each side.
"""

from __future__ import annotations

from coupa_connector.catalog._model import ObjectDef

__all__ = ["DATA_FILE_MAX_BYTES", "DATA_FILE_MAX_ROWS", "data_file_source_for"]

# Coupa's limits on one CSV flat file.
DATA_FILE_MAX_ROWS = 5000
DATA_FILE_MAX_BYTES = 8 * 1024 * 1024


def data_file_source_for(obj: ObjectDef) -> str:
    """The ``source_for`` naming an object's loader: its Rails model in CamelCase
    (``supplier`` -> ``Supplier``, ``lookup_value`` -> ``LookupValue``), as Coupa's data file
    sources show it (``Supplier``, ``LookupValue``, ``InvoiceHeader``)."""
    return "".join(part.capitalize() for part in obj.model.split("_"))
