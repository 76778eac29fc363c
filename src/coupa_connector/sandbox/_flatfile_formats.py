"""The sandbox's CSV loaders, made from the catalog's import formats.

The catalog holds Coupa's CSV import formats as its workbook lists them: each format's
object, its record types and their columns, with the required flag and the field a column
holds where a catalog field answers to it. A loader here is one import format whose rows are
all of one record type (suppliers, users, accounts, exchange rates, lookup values, items,
budget lines); a column holding no catalog field is still a valid header, and its cells go
nowhere, as a field the sandbox does not model. Formats whose rows mix record types (the
invoice import) have no loader: the sandbox says so when a file names one.

``source_for`` names a loader by the object's Rails model in CamelCase (``Supplier``,
``LookupValue``, ``ExchangeRate``: the catalog's ``data_file_source_for``).
"""

from __future__ import annotations

from coupa_connector.catalog import data_file_source_for, load_csv_formats
from coupa_connector.sandbox._flatfile_reader import LoadColumn, LoadFormat
from coupa_connector.sandbox._objects import Views

__all__ = ["load_formats"]


def load_formats(views: Views) -> dict[str, LoadFormat]:
    """Every loader the sandbox has, by ``source_for``."""
    out: dict[str, LoadFormat] = {}
    for fmt in load_csv_formats():
        if fmt.direction != "import" or fmt.multi or fmt.object not in views.catalog:
            continue
        obj = views.catalog.get(fmt.object)
        if views.resource(obj.name) is None:
            continue
        columns = tuple(
            LoadColumn(c.name, tuple(c.field.split(".")) if c.field else (), c.required)
            for c in fmt.top.file_columns()
        )
        name = data_file_source_for(obj)
        out[name] = LoadFormat(name, obj.name, columns)
    return out
