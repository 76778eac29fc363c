"""Singer JSON Schema for a catalog object: inline, nullable, with Singer's type names.

Singer targets read ``{"type": ["string", "null"], "format": "date-time"}`` and plain
``properties``; they rarely follow ``$ref``. So the schema is built here from the catalog's
fields directly: scalars by kind, a reference as an object of its id and natural keys, a
line collection as an array of its line object (whose own references are objects again),
custom fields as an open object. Decimals are numbers: the tap turns Coupa's decimal strings
into ``Decimal`` values, which Singer writes as exact JSON numbers.
"""

from __future__ import annotations

from typing import Any

from coupa_connector import Catalog, FieldDef, ObjectDef

_SCALARS: dict[str, dict[str, Any]] = {
    "string": {"type": ["string", "null"]},
    "text": {"type": ["string", "null"]},
    "integer": {"type": ["integer", "null"]},
    "decimal": {"type": ["number", "null"]},
    "float": {"type": ["number", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "datetime": {"type": ["string", "null"], "format": "date-time"},
    "date": {"type": ["string", "null"], "format": "date"},
}

_OPEN_OBJECT: dict[str, Any] = {"type": ["object", "null"], "additionalProperties": True}


def _reference(catalog: Catalog, ref: str | None) -> dict[str, Any]:
    """A referenced record as Coupa embeds it: its id and natural-key fields, and the rest
    passed through as they come."""
    properties: dict[str, Any] = {"id": {"type": ["integer", "null"]}}
    if ref and ref in catalog:
        target = catalog.get(ref)
        for key in target.lookup_keys:
            for name in key:
                fdef = target.fields.get(name)
                if fdef is not None and fdef.kind in _SCALARS:
                    properties[name] = dict(_SCALARS[fdef.kind])
    return {**_OPEN_OBJECT, "properties": properties}


def _field(catalog: Catalog, fdef: FieldDef, depth: int) -> dict[str, Any]:
    if fdef.kind in _SCALARS:
        return dict(_SCALARS[fdef.kind])
    if fdef.kind == "reference":
        return _reference(catalog, fdef.ref)
    if fdef.kind == "collection":
        line = catalog.get(fdef.ref) if fdef.ref and fdef.ref in catalog else None
        if line is None or line.resource is not None or depth > 0:
            items: dict[str, Any] = _reference(catalog, fdef.ref)
        else:
            items = object_schema(catalog, line, depth + 1)
        return {"type": ["array", "null"], "items": items}
    return dict(_OPEN_OBJECT)


def object_schema(catalog: Catalog, obj: ObjectDef, depth: int = 0) -> dict[str, Any]:
    """The Singer schema of ``obj``'s records (readable fields, every one nullable)."""
    properties = {
        name: _field(catalog, fdef, depth) for name, fdef in obj.fields.items() if fdef.readable
    }
    properties.setdefault("id", {"type": ["integer", "null"]})
    return {"type": ["object", "null"] if depth else "object", "properties": properties}


def decimal_paths(catalog: Catalog, obj: ObjectDef) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The object's decimal fields, and those of each line collection's line object:
    the fields whose Coupa strings become numbers."""
    own = tuple(n for n, f in obj.fields.items() if f.kind == "decimal" and f.readable)
    lines: dict[str, Any] = {}
    for name, fdef in obj.fields.items():
        if fdef.kind == "collection" and fdef.ref and fdef.ref in catalog:
            line = catalog.get(fdef.ref)
            if line.resource is None:
                decimals = tuple(n for n, f in line.fields.items() if f.kind == "decimal")
                if decimals:
                    lines[name] = decimals
    return own, lines
