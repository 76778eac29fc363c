"""The catalog's value objects: what a Coupa object, field and action look like.

The catalog data file (``catalog.json``, written by ``tools/build_catalog.py``) is the only
place object knowledge lives; everything here is generic over it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

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


# Where the catalog's knowledge comes from: Coupa's reference tables, Coupa's Swagger files
# (releases R38, R39), the connector's own curated data (tools/catalog_data.py), or one
# instance's own fields as discovered there (an instance overlay, catalog/_overlay.py).
Source = Literal["curated", "instance", "swagger", "tables"]


def wire_name(name: str) -> str:
    """Coupa's spelling of a field or object name: lower case, hyphens, not underscores."""
    return name.strip().lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class Dispute:
    """One attribute on which Coupa's reference tables and its Swagger disagree.

    The catalog's own value is settled by a rule (``tools/catalog_data.py``, MERGE_RULES)
    or a correction; this keeps both facts, so that a caller can tell a certain attribute
    from an unsure one (required in the tables but not in Swagger). Swagger's word alone
    makes nothing required and closes no list of values: such a claim is a dispute too,
    unconfirmed, with ``tables`` None (the tables do not know the field) or an empty list
    (the table lists no values).

    Attributes:
        attribute: ``kind``, ``ref``, ``max_length``, ``required``, ``writable``,
            ``allowed`` (fields) or ``list_element`` (objects).
        tables: What the tables say (None: they do not know the field).
        swagger: What Swagger says.
    """

    attribute: str
    tables: Any
    swagger: Any


def _disputes(data: Mapping[str, Any] | None) -> tuple[Dispute, ...]:
    if not data:
        return ()
    return tuple(
        Dispute(attr, _frozen(facts.get("tables")), _frozen(facts.get("swagger")))
        for attr, facts in sorted(data.items())
    )


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


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
        sources: Where the field is documented: ``tables``, ``swagger``, ``curated``.
        releases: The Swagger releases that have the field (``("R38", "R39")``); empty when
            Swagger does not list it.
        disputed: The attributes on which the tables and Swagger disagree, with both facts.
        format: Swagger's format where it says more than the kind (``decimal(30,4)``).
        required_certain: For a required field, whether Coupa certainly refuses a create
            without it; False where the sources disagree, Coupa's own example leaves it out,
            or it is needed only in some cases (a country's tax number). Validation reports
            a missing uncertain field as a warning, not an error.
        required_reason: For a required writable field, why its flag is certain or not.
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
    sources: tuple[Source, ...] = ()
    releases: tuple[str, ...] = ()
    disputed: tuple[Dispute, ...] = ()
    format: str = ""
    required_certain: bool = True
    required_reason: str = ""

    @property
    def certainly_required(self) -> bool:
        """Whether Coupa certainly refuses a create without the field (and accepts it)."""
        return self.required and self.required_certain and self.writable

    @property
    def swagger_only(self) -> bool:
        """Whether only Coupa's Swagger documents the field (not its reference tables)."""
        return self.sources == ("swagger",)

    def dispute(self, attribute: str) -> Dispute | None:
        """The tables' and Swagger's facts on an attribute, when they disagree."""
        return next((d for d in self.disputed if d.attribute == attribute), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldDef:
        """Build a field from its catalog.json form (defaults left out)."""
        if _FIELD_KEYS.issuperset(data):
            # The fast path for the shipped file, whose keys are exactly the attributes.
            changed = {k: tuple(data[k]) for k in _TUPLE_KEYS if k in data}
            if "query_values" in data:
                changed.update(_pairs(data))
            if "disputed" in data:
                changed["disputed"] = _disputes(data["disputed"])
            return cls(**{**data, **changed}) if changed else cls(**data)
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
            sources=tuple(data.get("sources", ())),
            releases=tuple(data.get("releases", ())),
            disputed=_disputes(data.get("disputed")),
            format=data.get("format", ""),
            required_certain=bool(data.get("required_certain", True)),
            required_reason=data.get("required_reason", ""),
            **_pairs(data),
        )


def _pairs(data: Mapping[str, Any]) -> dict[str, tuple[tuple[str, str], ...]]:
    values = data.get("query_values")
    if not values:
        return {}
    items = values.items() if isinstance(values, Mapping) else values
    return {"query_values": tuple((str(k), str(v)) for k, v in items)}


_FIELD_KEYS = frozenset(FieldDef.__dataclass_fields__)
_TUPLE_KEYS = ("allowed", "unique_within", "sources", "releases")


class _LazyFields(Mapping[str, FieldDef]):
    """An object's fields, built from catalog.json on first use.

    Loading builds about 17,000 fields; most programs touch a handful of objects, so each
    object's fields are made only when that object's fields are first read.
    """

    __slots__ = ("_built", "_defaults", "_raw")

    def __init__(
        self, raw: list[Mapping[str, Any]], defaults: Mapping[str, Any] | None = None
    ) -> None:
        self._raw: list[Mapping[str, Any]] | None = raw
        # Attributes most of the object's fields share (``field_defaults``: sources and
        # releases), written once per object in catalog.json.
        self._defaults = defaults or {}
        self._built: dict[str, FieldDef] = {}

    def _fields(self) -> dict[str, FieldDef]:
        if self._raw is not None:
            defaults = self._defaults
            self._built = {
                f["name"]: FieldDef.from_dict({**defaults, **f} if defaults else f)
                for f in self._raw
            }
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
class RouteDef:
    """One endpoint of an object as Coupa's Swagger lists it.

    Attributes:
        kind: ``index``, ``show``, ``create``, ``update``, ``delete``, ``action``,
            ``binary`` (answers with a file: ``retrieve_image_scan``), ``upload`` (takes a
            multipart file); under a parent record each is prefixed ``nested-``
            (``nested-index`` at ``/api/invoices/:invoice_id/attachments``).
        name: The standard name, or the action's path segment (``submit``).
        verb: HTTP method as Swagger gives it (PATCH only where there is no PUT).
        path: Path template (``/api/invoices/:id/submit``).
        collection: The collection the route belongs to (``/api/invoices``).
        releases: The Swagger releases that have it.
        description: Coupa's summary.
        parent: For nested routes, the catalog object the parent parameter stands for.
        form: For uploads, the form fields (``attachment[file]``, ``attachment[type]``).
        optional: A path suffix Coupa accepts optionally (``/:style``).
    """

    kind: str
    name: str
    verb: str
    path: str
    collection: str
    releases: tuple[str, ...] = ()
    description: str = ""
    parent: str | None = None
    form: tuple[str, ...] = ()
    optional: str = ""

    @property
    def nested(self) -> bool:
        return self.kind.startswith("nested-")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], releases: tuple[str, ...] = ()) -> RouteDef:
        return cls(
            kind=data["kind"],
            name=data["name"],
            verb=data["verb"],
            path=data["path"],
            collection=data.get("collection", ""),
            releases=tuple(data["releases"]) if "releases" in data else releases,
            description=data.get("description", ""),
            parent=data.get("parent"),
            form=tuple(data.get("form", ())),
            optional=data.get("optional", ""),
        )


class _LazyRoutes(Sequence[RouteDef]):
    """An object's Swagger routes, built from catalog.json on first use (few programs read
    them, and there are about 700)."""

    __slots__ = ("_built", "_raw", "_releases")

    def __init__(self, raw: list[Mapping[str, Any]], releases: tuple[str, ...]) -> None:
        self._raw: list[Mapping[str, Any]] | None = raw
        self._releases = releases
        self._built: tuple[RouteDef, ...] = ()

    def _routes(self) -> tuple[RouteDef, ...]:
        if self._raw is not None:
            self._built = tuple(RouteDef.from_dict(r, self._releases) for r in self._raw)
            self._raw = None
        return self._built

    @overload
    def __getitem__(self, index: int) -> RouteDef: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[RouteDef]: ...

    def __getitem__(self, index: int | slice) -> RouteDef | Sequence[RouteDef]:
        return self._routes()[index]

    def __len__(self) -> int:
        return len(self._raw) if self._raw is not None else len(self._built)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return tuple(self._routes()) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._routes())


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
        sources: Where the object is documented: ``tables`` (a reference page),
            ``swagger`` (a definition or collection), ``curated``.
        releases: The Swagger releases that have it.
        definitions: The Swagger definitions whose properties are its fields.
        routes: Every endpoint Swagger lists for it, nested and binary ones included.
        disputed: Object attributes on which the tables and Swagger disagree.
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
    sources: tuple[Source, ...] = ()
    releases: tuple[str, ...] = ()
    definitions: tuple[str, ...] = ()
    routes: Sequence[RouteDef] = ()
    disputed: tuple[Dispute, ...] = ()

    @property
    def swagger_only(self) -> bool:
        """Whether only Coupa's Swagger documents the object (no reference page of its own)."""
        return self.sources == ("swagger",)

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
        fields = _LazyFields(list(data.get("fields", ())), data.get("field_defaults"))
        releases = tuple(data.get("releases", ()))
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
            sources=tuple(data.get("sources", ())),
            releases=releases,
            definitions=tuple(data.get("definitions", ())),
            routes=_LazyRoutes(list(data.get("routes", ())), releases),
            disputed=_disputes(data.get("disputed")),
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
        # For the remaining aliases, objects of Coupa's reference tables win over those only
        # its Swagger has (inventory-transaction stays the receipts' element, though
        # /api/inventory_transactions serves it too), then resources over nested objects,
        # in catalog order.
        ordered = sorted(self._objects.values(), key=lambda o: (o.swagger_only, o.resource is None))
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
