"""The catalog's value objects: what a Coupa object, field and action look like.

The catalog data file (``catalog.json``, written by ``tools/build_catalog.py``) is the only
place object knowledge lives; everything here is generic over it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from coupa_connector.errors import UnknownFieldError, UnknownObjectError

FieldKind = Literal[
    "string",  # short text; ``max_length`` when Coupa gives one
    "text",  # long text
    "integer",
    "decimal",  # money, quantities: strings in JSON, type="decimal" in XML
    "float",
    "boolean",
    "datetime",
    "date",
    "reference",  # one associated object; ``ref`` names it
    "collection",  # many child objects; ``ref`` names the child object
    "custom-fields",  # the open ``custom-fields`` node
]


def wire_name(name: str) -> str:
    """Coupa's spelling of a field or object name: lower case, hyphens, not underscores."""
    return name.strip().lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One element of a Coupa object, as Coupa puts it on the wire.

    Attributes:
        name: Wire name, hyphenated (``invoice-number``).
        kind: The field's type (see ``FieldKind``).
        required: Required on create.
        unique: Unique across the object's records.
        unique_within: Fields whose values scope the field's uniqueness, when it is unique
            only among records that share them (an invoice number per supplier, an exchange
            rate's date per currency pair); empty when there is no such scope.
        writable: Accepted on create/update ("api in").
        readable: Returned by Coupa ("api out").
        max_length: For strings, the longest value Coupa accepts.
        allowed: Allowed values, when Coupa lists them; empty means any.
        ref: For references and collections, the catalog name of the object it points to.
        description: Short description from Coupa's reference.
        note: Why this field differs from Coupa's table, when the catalog corrects it.
        query_alias: For a query-only parameter (neither read nor written), the field it
            filters on: users' ``?status=active`` filters on ``active``.
        query_values: For a query alias, each parameter value with the value of the aliased
            field it stands for (``("active", "true")``).
    """

    name: str
    kind: FieldKind
    required: bool = False
    unique: bool = False
    writable: bool = True
    readable: bool = True
    max_length: int | None = None
    allowed: tuple[str, ...] = ()
    ref: str | None = None
    description: str = ""
    note: str = ""
    unique_within: tuple[str, ...] = ()
    query_alias: str | None = None
    query_values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldDef:
        """Build a field from its catalog.json form (defaults left out)."""
        if _FIELD_KEYS.issuperset(data):
            # The fast path for the shipped file, whose keys are exactly the attributes.
            if "allowed" in data or "unique_within" in data or "query_values" in data:
                data = {
                    **data,
                    **{k: tuple(data[k]) for k in ("allowed", "unique_within") if k in data},
                    **_pairs(data),
                }
            return cls(**data)
        return cls(
            name=data["name"],
            kind=data["kind"],
            required=bool(data.get("required", False)),
            unique=bool(data.get("unique", False)),
            writable=bool(data.get("writable", True)),
            readable=bool(data.get("readable", True)),
            max_length=data.get("max_length"),
            allowed=tuple(data.get("allowed", ())),
            ref=data.get("ref"),
            description=data.get("description", ""),
            note=data.get("note", ""),
            unique_within=tuple(data.get("unique_within", ())),
            query_alias=data.get("query_alias"),
            **_pairs(data),
        )


def _pairs(data: Mapping[str, Any]) -> dict[str, tuple[tuple[str, str], ...]]:
    values = data.get("query_values")
    if not values:
        return {}
    items = values.items() if isinstance(values, Mapping) else values
    return {"query_values": tuple((str(k), str(v)) for k, v in items)}


_FIELD_KEYS = frozenset(FieldDef.__dataclass_fields__)


class _LazyFields(Mapping[str, FieldDef]):
    """An object's fields, built from catalog.json on first use.

    Loading builds about 17,000 fields; most programs touch a handful of objects, so each
    object's fields are made only when that object's fields are first read.
    """

    __slots__ = ("_built", "_raw")

    def __init__(self, raw: list[Mapping[str, Any]]) -> None:
        self._raw: list[Mapping[str, Any]] | None = raw
        self._built: dict[str, FieldDef] = {}

    def _fields(self) -> dict[str, FieldDef]:
        if self._raw is not None:
            self._built = {f["name"]: FieldDef.from_dict(f) for f in self._raw}
            self._raw = None
        return self._built

    def __getitem__(self, key: str) -> FieldDef:
        return self._fields()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields())

    def __len__(self) -> int:
        return len(self._fields())

    def __contains__(self, key: object) -> bool:
        return key in self._fields()

    def __repr__(self) -> str:
        return repr(self._fields())


@dataclass(frozen=True, slots=True)
class ActionDef:
    """An endpoint of an object beyond index/show/create/update.

    Attributes:
        name: Coupa's action name (``submit``, ``void``, ``cancel``, ``approve``).
        verb: HTTP method.
        path: Path template (``/api/invoices/:id/void``).
        description: What it does, from Coupa's reference.
        scope: The OAuth scope it needs, when known.
    """

    name: str
    verb: str
    path: str
    description: str = ""
    scope: str | None = None

    @property
    def needs_id(self) -> bool:
        return ":id" in self.path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ActionDef:
        return cls(
            name=data["name"],
            verb=data["verb"],
            path=data["path"],
            description=data.get("description", ""),
            scope=data.get("scope"),
        )


@dataclass(frozen=True, slots=True)
class ObjectDef:
    """A Coupa object: a top-level resource (``invoices``) or a nested one (``invoice-line``).

    Attributes:
        name: Catalog name: the resource name for resources (``invoices``,
            ``purchase_orders``), the element name for nested-only objects (``invoice-line``).
        title: Human title from Coupa's reference.
        element: XML element of one record (``invoice-header``).
        list_element: XML element of a list (``invoice-headers``).
        model: Key Coupa uses for this object in JSON error bodies (``invoice``).
        resource: API path of the collection (``/api/invoices``), None for nested-only objects.
        actions: Every endpoint Coupa documents for the object, standard ones included
            (``index``, ``show``, ``create``, ``update``).
        read_scope: OAuth scope that reads it.
        write_scope: OAuth scope that writes it.
        fields: Fields by wire name, in Coupa's order.
        lookup_keys: Ways to identify one record when another record refers to it, each a
            tuple of fields that together identify it
            (``("number",)``, ``("code", "account-type")``).
        supported: False for objects the connector deliberately leaves out.
        unsupported_reason: Why, when ``supported`` is False.
        doc_url: Coupa's reference page.
    """

    name: str
    title: str
    element: str
    list_element: str
    model: str
    resource: str | None = None
    actions: tuple[ActionDef, ...] = ()
    read_scope: str | None = None
    write_scope: str | None = None
    fields: Mapping[str, FieldDef] = field(default_factory=dict)
    lookup_keys: tuple[tuple[str, ...], ...] = ()
    supported: bool = True
    unsupported_reason: str = ""
    doc_url: str = ""

    def field(self, name: str) -> FieldDef:
        """Return a field by wire or underscore name.

        Raises:
            UnknownFieldError: The object has no such field; the closest names are suggested.
        """
        key = wire_name(name)
        try:
            return self.fields[key]
        except KeyError:
            import difflib  # only on the error path: it is slow to import

            close = difflib.get_close_matches(key, list(self.fields), n=3, cutoff=0.6)
            raise UnknownFieldError(self.name, name, close) from None

    def has_field(self, name: str) -> bool:
        return wire_name(name) in self.fields

    def action(self, name: str) -> ActionDef | None:
        key = name.replace("-", "_")
        return next((a for a in self.actions if a.name == key), None)

    @property
    def can_create(self) -> bool:
        return self.action("create") is not None

    @property
    def can_update(self) -> bool:
        return self.action("update") is not None

    @property
    def can_query(self) -> bool:
        return self.action("index") is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObjectDef:
        fields = _LazyFields(list(data.get("fields", ())))
        return cls(
            name=data["name"],
            title=data.get("title", data["name"]),
            element=data["element"],
            list_element=data["list_element"],
            model=data.get("model", data["element"].replace("-", "_")),
            resource=data.get("resource"),
            actions=tuple(ActionDef.from_dict(a) for a in data.get("actions", ())),
            read_scope=data.get("read_scope"),
            write_scope=data.get("write_scope"),
            fields=fields,
            lookup_keys=tuple(tuple(k) for k in data.get("lookup_keys", ())),
            supported=bool(data.get("supported", True)),
            unsupported_reason=data.get("unsupported_reason", ""),
            doc_url=data.get("doc_url", ""),
        )


class Catalog:
    """Every Coupa object the connector knows, looked up by any of its names.

    ``get`` accepts the resource name (``purchase_orders``), its hyphenated form, the element
    name (``order-header``) and the singular (``purchase_order``).
    """

    def __init__(self, objects: Mapping[str, ObjectDef]) -> None:
        self._objects = dict(objects)
        # Catalog names win over every other alias: "order-line" is the nested line object
        # even though the purchase_order_lines resource also uses that element name.
        self._aliases: dict[str, str] = {wire_name(o.name): o.name for o in self._objects.values()}
        # Resources win over nested objects for the remaining aliases, in catalog order.
        ordered = sorted(self._objects.values(), key=lambda o: o.resource is None)
        for obj in ordered:
            for alias in (obj.element, obj.list_element, obj.model):
                self._aliases.setdefault(wire_name(alias), obj.name)
            if obj.resource:
                self._aliases.setdefault(wire_name(obj.resource.rsplit("/", 1)[-1]), obj.name)
            if obj.name.endswith("s"):
                self._aliases.setdefault(wire_name(obj.name[:-1]), obj.name)

    def __iter__(self) -> Iterator[ObjectDef]:
        return iter(self._objects.values())

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and wire_name(name) in self._aliases

    def get(self, name: str) -> ObjectDef:
        """Return an object by any of its names.

        Raises:
            UnknownObjectError: No such object; the closest names are suggested.
        """
        key = wire_name(name)
        try:
            return self._objects[self._aliases[key]]
        except KeyError:
            import difflib

            names = [o.name for o in self._objects.values() if o.resource]
            close = difflib.get_close_matches(name.replace("-", "_"), names, n=3, cutoff=0.5)
            raise UnknownObjectError(name, close) from None

    def resources(self) -> list[ObjectDef]:
        """Top-level objects (those with an ``/api/...`` path), sorted by name."""
        return sorted((o for o in self._objects.values() if o.resource), key=lambda o: o.name)

    def by_resource_path(self, path: str) -> ObjectDef | None:
        """The object whose collection path is ``path`` (``/api/invoices``), if any."""
        return next((o for o in self._objects.values() if o.resource == path), None)
