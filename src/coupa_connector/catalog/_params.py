"""What a raw Coupa query parameter means for a catalog object.

Coupa's query language names a field, optionally through associations and collections, and
optionally an operator, all in brackets: ``supplier[name]=Acme``,
``primary-contact[email][contains]=coupa.com``, ``order-lines[account][code]=A``; Coupa's own
examples nest the brackets too (``supplier[primary_address[city]]=Seattle``) and use the
foreign-key shortcut ``supplier_id=4`` for ``supplier[id]=4`` (coupa-api.md 4.1). Other
parameters page, sort or trim the answer (``limit``, ``order_by``, ``fields`` ...:
``RAW_QUERY_PARAMETERS``). ``query_param`` reads one parameter name against the catalog (or
the catalog plus an instance overlay, whose custom fields Coupa filters by their own names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from coupa_connector.catalog._api_facts import QUERY_OPERATORS, RAW_QUERY_PARAMETERS
from coupa_connector.catalog._model import Catalog, FieldDef, ObjectDef, wire_name

__all__ = ["ParamMeaning", "query_param"]

_PARTS = re.compile(r"[^\[\]]+")
_CUSTOM_FIELDS = "custom-fields"


@dataclass(frozen=True, slots=True)
class ParamMeaning:
    """How a query parameter name reads against the catalog.

    Attributes:
        name: The parameter as given (``supplier[name][contains]``).
        kind: ``field`` (a filter on a field), ``raw`` (a parameter Coupa takes that is no
            field: ``limit``, ``fields`` ...) or ``unknown``.
        path: For a field, the wire names from the object to the compared field
            (``("supplier", "name")``); past an object the catalog does not describe, the
            rest of the names as given.
        op: For a field, the operator (``eq`` for plain equality).
        field: The compared field, when the catalog describes it.
        reason: For ``unknown``, which name did not match and the closest names.
    """

    name: str
    kind: Literal["field", "raw", "unknown"]
    path: tuple[str, ...] = ()
    op: str = "eq"
    field: FieldDef | None = None
    reason: str = ""


def query_param(catalog: Catalog, obj: ObjectDef | str, name: str) -> ParamMeaning:
    """Read the query parameter ``name`` for ``obj``: a field and operator, a raw
    parameter, or unknown (with the reason)."""
    target = catalog.get(obj) if isinstance(obj, str) else obj
    if name.replace("-", "_") in RAW_QUERY_PARAMETERS:
        return ParamMeaning(name, "raw")
    parts = [wire_name(p) for p in _PARTS.findall(name)]
    if not parts:
        return ParamMeaning(name, "unknown", reason="no field name")
    op = "eq"
    if len(parts) > 1 and parts[-1].replace("-", "_") in QUERY_OPERATORS:
        op = parts.pop().replace("-", "_")
    path: list[str] = []
    current: ObjectDef | None = target
    fdef: FieldDef | None = None
    for i, part in enumerate(parts):
        if current is None:
            path.extend(parts[i:])  # beyond what the catalog describes: passed as given
            fdef = None
            break
        found = _field(catalog, current, part, top=i == 0)
        if found is None:
            return ParamMeaning(name, "unknown", reason=_unknown(current, part))
        steps, fdef = found
        path.extend(steps)
        current = _next(catalog, fdef)
    return ParamMeaning(name, "field", tuple(path), op, fdef)


def _field(
    catalog: Catalog, obj: ObjectDef, part: str, *, top: bool
) -> tuple[list[str], FieldDef] | None:
    fdef = obj.fields.get(part)
    if fdef is not None:
        return [part], fdef
    if part == "id":
        return ["id"], FieldDef("id", "integer")
    if part.endswith("-id"):
        # The foreign-key shortcut: supplier_id=4 is supplier[id]=4.
        ref = obj.fields.get(part[:-3])
        if ref is not None and ref.kind == "reference":
            return [ref.name, "id"], FieldDef("id", "integer")
    custom = obj.fields.get(_CUSTOM_FIELDS)
    if top and custom is not None and custom.ref and custom.ref in catalog:
        # An instance's custom field, which Coupa filters by its own name.
        member = catalog.get(custom.ref).fields.get(part)
        if member is not None:
            return [_CUSTOM_FIELDS, part], member
    return None


def _next(catalog: Catalog, fdef: FieldDef) -> ObjectDef | None:
    if fdef.kind in ("reference", "collection") and fdef.ref and fdef.ref in catalog:
        return catalog.get(fdef.ref)
    return None


def _unknown(obj: ObjectDef, part: str) -> str:
    import difflib  # only on the unknown path

    close = difflib.get_close_matches(part, list(obj.fields), n=3, cutoff=0.6)
    hint = f"; closest: {', '.join(close)}" if close else ""
    return f"{obj.name} has no field {part!r}{hint}"
