"""JSON Schema (draft 2020-12) for a catalog object, for one of three uses.

- ``query``: a record as Coupa returns it (readable fields; references embedded as objects;
  unknown fields allowed, since instances add their own).
- ``create``: the input of a create (writable fields; the fields Coupa certainly requires
  required).
- ``update``: the input of an update (writable fields plus ``id``; ``id`` or a complete natural
  key required; child lines may carry ``id`` and ``_delete``).

The schemas accept what ``validate_record`` accepts: numbers as numbers or as numeric strings,
booleans as booleans or "true"/"false", references as an id or a mapping with a lookup key.
By default a write schema accepts what draws no error: other properties are allowed (unknown
fields are sent, read-only ones left out), and fields marked required that Coupa may not need
are described, not required. ``strict=True`` describes what draws no finding at all, as
``validate_record(..., validation="strict")`` checks: every required field required, nothing
else allowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from coupa_connector.catalog._model import FieldDef, ObjectDef

if TYPE_CHECKING:
    from coupa_connector.catalog._model import Catalog

Use = Literal["query", "create", "update"]
USES: tuple[Use, ...] = ("query", "create", "update")

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_INTEGER_PATTERN = r"^[+-]?\d+$"
_DECIMAL_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_ID_PATTERN = r"^\d+$"


def json_schema(
    obj: ObjectDef | str,
    use: Use = "query",
    *,
    catalog: Catalog | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """Export a JSON Schema (draft 2020-12) describing ``obj`` for ``use``.

    Args:
        obj: The catalog object, or its name.
        use: ``"query"`` (query output), ``"create"`` (create input) or ``"update"``
            (update input).
        catalog: Where references are resolved; the shipped catalog by default (pass
            ``with_overlay(...)`` to describe an instance's own fields too).
        strict: For create and update, describe a body without warnings: every required
            field required and no property the catalog does not list.

    Returns:
        The schema as a plain dict, ready for ``json.dumps``. Child line objects and the
        shapes of referenced objects are in ``$defs``.

    Raises:
        UnknownObjectError: ``obj`` is a name the catalog does not know.
        ValueError: ``use`` is not one of query, create, update.
    """
    if use not in USES:
        raise ValueError(f"use must be one of {', '.join(USES)}, not {use!r}")
    if catalog is None:
        from coupa_connector.catalog._load import load_catalog

        catalog = load_catalog()
    target = catalog.get(obj) if isinstance(obj, str) else obj
    builder = _Builder(catalog, use, strict=strict)
    body = builder.object_schema(target, top=True)
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"urn:coupa-connector:schema:{target.name}:{use}",
        "title": f"{target.title} ({use})",
        "description": _purpose(target, use),
        **body,
    }
    if builder.defs:
        schema["$defs"] = dict(sorted(builder.defs.items()))
    return schema


def _purpose(obj: ObjectDef, use: Use) -> str:
    root = f"<{obj.element}>"
    if use == "query":
        return f"A {obj.name} record as Coupa returns it (XML root {root})."
    if use == "create":
        return f"The body of a create of {obj.name} (XML root {root})."
    return f"The body of an update of {obj.name}, identified by id or a natural key."


class _Builder:
    def __init__(self, catalog: Catalog, use: Use, *, strict: bool = False) -> None:
        self.catalog = catalog
        self.use = use
        self.strict = strict
        self.defs: dict[str, Any] = {}

    def resolve(self, name: str | None) -> ObjectDef | None:
        if not name or name not in self.catalog:
            return None
        return self.catalog.get(name)

    def included(self, fdef: FieldDef) -> bool:
        if self.use == "query":
            return fdef.readable
        return fdef.writable

    def object_schema(self, obj: ObjectDef, *, top: bool) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for fdef in obj.fields.values():
            if self.included(fdef):
                properties[fdef.name] = self.field_schema(fdef)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if self.use == "query":
            schema["additionalProperties"] = True
            return schema
        required = [
            f.name
            for f in obj.fields.values()
            if f.required and f.writable and (f.required_certain or self.strict)
        ]
        if self.use == "create":
            if required:
                schema["required"] = required
        else:
            # An update names its record: id, or every field of one natural key.
            properties.setdefault("id", _integer_input("Coupa id of the record to change."))
            for key in obj.lookup_keys:
                for name in key:
                    key_field = obj.fields.get(name)
                    if key_field is not None and name not in properties:
                        properties[name] = self.field_schema(key_field)
            if top:
                keys = [list(k) for k in obj.lookup_keys] or [["id"]]
                schema["anyOf"] = [{"required": k} for k in keys]
            else:
                # A line with an id changes (or with _delete removes) that line; a line
                # without one is added and so needs the create-required fields.
                properties["_delete"] = {
                    "description": "Remove this line (needs id).",
                    **_boolean_input(),
                }
                schema["anyOf"] = [{"required": ["id"]}]
                if required:
                    schema["anyOf"].append({"required": required})
                else:
                    schema["anyOf"].append({"not": {"required": ["id"]}})
        # Unknown fields are sent as given (instances add their own) and read-only ones left
        # out: only a strict schema refuses them.
        schema["additionalProperties"] = not self.strict
        return schema

    def field_schema(self, fdef: FieldDef) -> dict[str, Any]:
        schema = self.kind_schema(fdef)
        description = fdef.description
        if self.use == "create" and fdef.required and not fdef.required_certain:
            unsure = "Marked required, but Coupa may accept a record without it."
            description = " ".join(p for p in (description, unsure, fdef.required_reason) if p)
        if description:
            schema = {"description": description, **schema}
        if self.use == "query" and fdef.kind not in ("collection", "custom-fields"):
            schema = {
                "anyOf": [_without_description(schema), {"type": "null"}],
                **_description_only(schema),
            }
        return schema

    def kind_schema(self, fdef: FieldDef) -> dict[str, Any]:
        kind = fdef.kind
        output = self.use == "query"
        if kind in ("string", "text"):
            schema: dict[str, Any] = {"type": "string"}
            if fdef.max_length and not output:
                schema["maxLength"] = fdef.max_length
            if fdef.allowed and not output:
                # Coupa's lists are not exhaustive on output: instances add their own values.
                schema["enum"] = list(fdef.allowed)
            return schema
        if kind == "integer":
            return {"type": "integer"} if output else _integer_input()
        if kind in ("decimal", "float"):
            # Coupa's JSON carries decimals as strings ("567.07").
            return {"anyOf": [{"type": "number"}, {"type": "string", "pattern": _DECIMAL_PATTERN}]}
        if kind == "boolean":
            return {"type": "boolean"} if output else _boolean_input()
        if kind == "datetime":
            if output:
                return {"type": "string", "format": "date-time"}
            return {"type": "string", "anyOf": [{"format": "date-time"}, {"format": "date"}]}
        if kind == "date":
            return {"type": "string", "format": "date"}
        if kind == "custom-fields":
            schema = {
                "type": "object",
                "description": "Custom fields by their API names.",
                "additionalProperties": True,
            }
            known = self.resolve(fdef.ref)  # an instance overlay's custom fields
            if known is not None:
                schema["properties"] = {
                    name: self.field_schema(member) for name, member in known.fields.items()
                }
            return schema
        if kind == "reference":
            return self.reference_schema(fdef.ref)
        if kind == "collection":
            return {"type": "array", "items": self.item_schema(fdef.ref)}
        return {}

    def reference_schema(self, ref: str | None) -> dict[str, Any]:
        target = self.resolve(ref)
        if target is None:
            return (
                {"type": "object"}
                if self.use == "query"
                else {
                    "anyOf": [
                        {"type": "integer"},
                        {"type": "string", "pattern": _ID_PATTERN},
                        {"type": "object", "minProperties": 1},
                    ]
                }
            )
        name = f"{target.name}.ref"
        if name not in self.defs:
            self.defs[name] = {}  # placeholder: references may point back at each other
            self.defs[name] = self.reference_def(target)
        return {"$ref": f"#/$defs/{name}"}

    def reference_def(self, target: ObjectDef) -> dict[str, Any]:
        key_fields = [n for key in target.lookup_keys for n in key]
        properties: dict[str, Any] = {}
        for name in dict.fromkeys(key_fields):
            fdef = target.fields.get(name)
            if fdef is None:
                continue
            if fdef.kind == "reference":
                properties[name] = self.reference_schema(fdef.ref)
            elif fdef.kind in ("collection", "custom-fields"):
                continue
            else:
                properties[name] = self.kind_schema(fdef)
        if self.use == "query":
            return {
                "type": "object",
                "description": f"A {target.name} record, embedded.",
                "properties": properties,
                "additionalProperties": True,
            }
        identified: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": True,
            "anyOf": [{"required": list(k)} for k in target.lookup_keys] or [{"minProperties": 1}],
        }
        return {
            "description": f"A {target.name} record, by id or natural key.",
            "anyOf": [{"type": "integer"}, {"type": "string", "pattern": _ID_PATTERN}, identified],
        }

    def item_schema(self, ref: str | None) -> dict[str, Any]:
        target = self.resolve(ref)
        if target is None:
            return {"type": "object"}
        if target.resource is not None:
            return self.reference_schema(target.name)
        name = target.name
        if name not in self.defs:
            self.defs[name] = {}
            self.defs[name] = {
                "title": target.title,
                **self.object_schema(target, top=False),
            }
        return {"$ref": f"#/$defs/{name}"}


def _integer_input(description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {
        "anyOf": [{"type": "integer"}, {"type": "string", "pattern": _INTEGER_PATTERN}]
    }
    return {"description": description, **schema} if description else schema


def _boolean_input() -> dict[str, Any]:
    spellings = ["true", "false", "1", "0", "t", "f", "yes", "on", "off", 1, 0]
    return {"anyOf": [{"type": "boolean"}, {"enum": spellings}]}


def _without_description(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != "description"}


def _description_only(schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": schema["description"]} if "description" in schema else {}
