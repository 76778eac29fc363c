"""Merge Coupa's Swagger definitions and routes into the catalog objects built from the tables.

``build_catalog.py`` first builds objects from the reference tables; ``merge_swagger`` then
adds what the Swagger files (read by ``swagger_read.py``) know:

**Routes to collections.** Every operation's path is cut into its *collection* and the rest.
The collection is the shortest prefix of static segments that is itself a Swagger path with
the same tag (``/accounts/favorites`` -> ``/accounts`` + ``favorites``, but
``/contracts/templates`` is a collection of its own: ``/contracts`` is tagged ``Contract``);
failing that, a catalog resource for the same element (``/asn/lines/receive`` ->
``/asn/lines``), or the static prefix before ``{id}``. A collection behind a parameter
(``/invoices/{invoice_id}/attachments``) is nested, and its parent is the object at the
path before the parameter. The rest gives the route's kind:

    rest               GET           POST          PUT / PATCH    DELETE
    (nothing)          index         create        action         action
    {id}               show          action        update         delete
    {id}/name ...      action, binary (retrieve_*, image, download), upload (multipart file)
    name ...           action (a collection-level action), binary, upload

and a nested collection prefixes ``nested-`` (``nested-index``, ``nested-show`` ...).

**Definitions to objects.** A definition is the object whose element is its name
(``InvoiceHeader`` -> ``invoice-header`` -> ``invoices``, ``InvoiceLine`` -> ``invoice-line``,
``OrderLine`` -> both ``purchase_order_lines`` and its nested twin ``order-line``), failing
that the object of that name (``AssetTag`` -> ``asset-tags``), or the object whose resource
is the definition's collection (``ObjectTranslation`` -> ``uom_translations`` at
``/uoms/{uom_id}/translations``; ``InventoryTransaction`` also -> ``inventory_adjustments``
and its siblings), or what ``SWAGGER_DEFINITIONS`` says. A hand-curated object may take a
definition's properties too (``CURATED_DEFINITIONS``: a supplier's primary contact is
Swagger's ``Contact``). ``REFERENCE_SHAPES`` are slim views
of another object (``UserSimple``, the user block under ``created-by``): references to them
point at that object and their properties must be its fields.

**Collections to objects.** A collection at an object's resource is that object's; another
top-level collection of the same name is an alternate path of it (``/expense_artifacts``
beside ``/expense_lines/expense_artifacts``); a nested collection belongs to its definition's
object (``/users/{user_id}/addresses`` -> ``addresses``). A top-level collection the tables
do not have becomes a new resource object named after its path (``/invoice_emails`` ->
``invoice_emails``, ``/coupa_pay/invoices`` -> ``coupa_pay_invoices``); when its definition
is already a catalog object, the new object holds a copy of that object's fields
(``/warehouses`` beside the nested ``warehouse``, ``/inventory_transactions`` beside
``receiving_transactions``), as the tables' nested twins do. Definitions with properties that
are still no object become nested objects named by their element (``approval-group``).
Definitions without properties (``Money``, ``Flow``) are opaque: references to them have no
target. Swagger never renames an object the tables define or changes its resource.

**Fields.** Each definition property is a field of every object of the definition. Where the
tables know the field too, each attribute is compared where both sources say something (a
source that is silent does not disagree: the tables on the type of a row whose type cell is
empty or on read-only where the page has no api-in column; Swagger on read-only for nested
objects and collections, on length for ``string`` without ``(N)``, and on the type where the
format column holds an example value). Where both speak and differ, ``MERGE_RULES`` in
``catalog_data.py`` settles the attribute (tables win, the longer length, the union of the
values), and the field records both facts under ``disputed``. Where only Swagger speaks, its
fact is taken. A property typed as its own definition (``ExpenseReport.currency`` ->
``ExpenseReport``) is a slip of Coupa's generator unless the field is a tree link
(``SELF_REFERENCES``); its target comes from the field's name. Each field lists its
``sources`` and the Swagger ``releases`` it is in.

**Actions.** Routes on an object's own collection that are not standard (index, show,
create, update, delete), binary or uploads join the object's actions when the tables do not
list them; objects that only Swagger knows get all their own collection's routes as actions.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from catalog_data import (
    BINARY_ROUTES,
    CURATED_DEFINITIONS,
    MERGE_RULES,
    REFERENCE_SHAPES,
    SELF_REFERENCES,
    SWAGGER_DEFINITIONS,
    SWAGGER_RESOURCE_NAMES,
)
from catalog_text import camel_to_wire, plural, singular, squash
from swagger_read import Definition, Prop, Route, SwaggerSpecs

STANDARD = ("index", "show", "create", "update", "delete")
TEXT_KINDS = {"string", "text", "integer"}
Lookup = Callable[[str], "str | None"]


@dataclass
class Placed:
    """A route with the object it belongs to and what it does there."""

    route: Route
    collection: str  # Swagger form, /invoices/{invoice_id}/attachments
    rest: list[str]
    owner: str = ""


def api_path(swagger_path: str) -> str:
    """Swagger's ``/invoices/{id}/submit`` as the catalog writes it (``/api/invoices/:id/...``)."""
    path = re.sub(r"\(.*?\)", "", swagger_path)  # Rails' optional parts: image(/{style})
    return "/api" + re.sub(r"\{([a-z_]+)\}", r":\1", path)


def optional_part(swagger_path: str) -> str:
    match = re.search(r"\((.*?)\)", swagger_path)
    return re.sub(r"\{([a-z_]+)\}", r":\1", match.group(1)) if match else ""


def statics(path: str) -> list[str]:
    return [
        s for s in path.strip("/").split("/") if s and not s.startswith(("{", ":")) and s != "api"
    ]


def is_param(segment: str) -> bool:
    return segment.startswith("{")


class Merger:
    def __init__(
        self, objects: dict[str, dict[str, Any]], specs: SwaggerSpecs, lookup: Lookup
    ) -> None:
        self.objects = objects
        self.specs = specs
        self.lookup = lookup
        self.problems: list[str] = []
        self.def_objects: dict[str, list[str]] = {}
        self.new_objects: set[str] = set()
        self.tables_names = set(objects)

    # ------------------------------------------------------------------ the whole merge

    def run(self) -> list[str]:
        for obj in self.objects.values():
            obj.setdefault("_definitions", [])
            obj.setdefault("_routes", [])
            obj.setdefault("_releases", set())
            obj.setdefault("_disputed", {})
        self.map_definitions()
        placed = self.place_routes()
        self.add_definition_objects()
        for def_name, names in sorted(self.def_objects.items()):
            definition = self.specs.definitions[def_name]
            for name in names:
                self.merge_definition(self.objects[name], definition)
        self.merge_curated_definitions()
        for item in placed:
            self.add_route(item)
        self.add_parents()
        self.add_route_actions()
        self.check_shapes()
        return self.problems

    # ------------------------------------------------------------------ definitions

    def map_definitions(self) -> None:
        """Definitions -> the catalog objects they describe, by element or name."""
        by_element: dict[str, list[str]] = {}
        by_name: dict[str, list[str]] = {}
        for name, obj in sorted(self.objects.items()):
            for key in {squash(obj["element"]), squash(singular(obj["element"]))}:
                by_element.setdefault(key, []).append(name)
            for key in {squash(name), squash(singular(name))}:
                by_name.setdefault(key, []).append(name)
        for def_name, definition in sorted(self.specs.definitions.items()):
            if def_name in REFERENCE_SHAPES:
                continue
            if def_name in SWAGGER_DEFINITIONS:
                names = list(SWAGGER_DEFINITIONS[def_name][0])
            else:
                wire = camel_to_wire(def_name)
                keys = [squash(wire), squash(singular(wire)), squash(plural(wire))]
                found = next((by_element[k] for k in keys if k in by_element), None)
                found = found or next((by_name[k] for k in keys if k in by_name), [])
                names = list(found)
            missing = [n for n in names if n not in self.objects]
            if missing:
                self.problems.append(f"SWAGGER_DEFINITIONS names unknown objects {missing}")
            if names and definition.has_properties:
                self.def_objects[def_name] = [n for n in names if n in self.objects]

    def merge_curated_definitions(self) -> None:
        """The properties of a definition into the curated objects it describes too
        (``CURATED_DEFINITIONS``); the definition stays mapped to its own object."""
        for name, (def_name, _) in sorted(CURATED_DEFINITIONS.items()):
            definition = self.specs.definitions.get(def_name)
            if name not in self.objects or definition is None:
                self.problems.append(f"CURATED_DEFINITIONS: no {name} or no definition {def_name}")
                continue
            self.merge_definition(self.objects[name], definition)

    def primary(self, def_name: str, kind: str) -> str | None:
        """The object a reference (a resource first) or a collection (a nested line first)
        of this definition points at."""
        if def_name in REFERENCE_SHAPES:
            return REFERENCE_SHAPES[def_name][0]
        names = self.def_objects.get(def_name) or []
        if not names:
            return None
        nested_first = kind == "collection"
        ranked = sorted(
            names,
            key=lambda n: (
                n in self.new_objects,
                (self.objects[n]["resource"] is None) != nested_first,
            ),
        )
        return ranked[0]

    def add_definition_objects(self) -> None:
        """Nested objects for definitions with properties that no object describes yet."""
        for def_name, definition in sorted(self.specs.definitions.items()):
            if def_name in self.def_objects or def_name in REFERENCE_SHAPES:
                continue
            if not definition.has_properties or def_name in SWAGGER_DEFINITIONS:
                continue
            name = camel_to_wire(def_name)
            self.new_object(name, def_name, None, element=name)
            self.def_objects[def_name] = [name]

    def new_object(
        self,
        name: str,
        def_name: str,
        resource: str | None,
        *,
        element: str,
        fields_of: str | None = None,
        title_path: str = "",
    ) -> str:
        if self.taken(name):
            self.problems.append(f"new object {name} (Swagger {def_name}) exists already")
            return name
        title = camel_to_wire(def_name).replace("-", " ").title()
        fields = copy.deepcopy(self.objects[fields_of]["_fields"]) if fields_of else {}
        self.objects[name] = {
            "name": name,
            "title": f"{title} ({title_path})" if title_path else title,
            "element": element,
            "resource": resource,
            "doc_url": "",
            "supported": True,
            "unsupported_reason": "",
            "_actions": [],
            "_fields": fields,
            "_definitions": [],
            "_routes": [],
            "_releases": set(),
            "_disputed": {},
            "_sources": {"swagger"},
            "_copied_from": fields_of,
        }
        self.new_objects.add(name)
        return name

    # ------------------------------------------------------------------ routes

    def place_routes(self) -> list[Placed]:
        """Every route with its collection and owner; new objects for new collections."""
        swagger_paths = {(r.path, r.tag) for r in self.specs.routes}
        resources = {obj["resource"]: name for name, obj in self.objects.items() if obj["resource"]}
        placed = [self.cut(r, swagger_paths, resources) for r in self.specs.routes]
        collections: dict[tuple[str, str], list[Placed]] = {}
        for item in placed:
            collections.setdefault((item.collection, item.route.tag), []).append(item)

        def order(key: tuple[str, str]) -> tuple[int, str, str]:
            path, _ = key
            if api_path(path) in resources:
                return (0, *key)
            return (1 if "{" not in path else 2, *key)

        for key in sorted(collections, key=order):
            owner = self.owner(key[0], key[1], resources)
            for item in collections[key]:
                item.owner = owner
        return placed

    def cut(
        self, route: Route, swagger_paths: set[tuple[str, str]], resources: dict[str, str]
    ) -> Placed:
        """A route's collection (Swagger form) and the segments after it."""
        path = re.sub(r"\(.*?\)", "", route.path)
        segs = path.strip("/").split("/")
        prefixes = [
            (i, "/" + "/".join(segs[: i + 1])) for i in range(len(segs)) if not is_param(segs[i])
        ]
        for i, prefix in (
            prefixes[:-1] if prefixes and prefixes[-1][0] == len(segs) - 1 else prefixes
        ):
            if (prefix, route.tag) in swagger_paths:
                return Placed(route, prefix, segs[i + 1 :])
        element = squash(camel_to_wire(route.tag))
        for i, prefix in prefixes:
            name = resources.get(api_path(prefix))
            if name and squash(self.objects[name]["element"]) == element:
                return Placed(route, prefix, segs[i + 1 :])
        if "{id}" in segs:
            i = segs.index("{id}")
            return Placed(route, "/" + "/".join(segs[:i]), segs[i:])
        extended = any(r.startswith(path + "/") for r, tag in swagger_paths if tag == route.tag)
        if route.verb in {"GET", "POST"} or extended or len(segs) < 2 or is_param(segs[-2]):
            return Placed(route, path, [])
        return Placed(route, "/" + "/".join(segs[:-1]), segs[-1:])

    def owner(self, collection: str, tag: str, resources: dict[str, str]) -> str:
        """The object a collection belongs to, made when it is new."""
        found = resources.get(api_path(collection))
        if found:
            if found not in self.def_objects.get(tag, []) and self.known(tag):
                self.def_objects.setdefault(tag, []).append(found)
            return found
        nested = "{" in collection
        last = statics(collection)[-1]
        name = SWAGGER_RESOURCE_NAMES.get(collection) or (
            last if nested else "_".join(statics(collection))
        )
        candidates = self.def_objects.get(tag, [])
        if nested:
            for cand in sorted(candidates, key=lambda n: self.objects[n]["resource"] is None):
                return cand
        else:
            for cand in candidates:
                obj = self.objects[cand]
                names = {cand, *statics(obj["resource"] or "")[-1:]}
                if last.replace("_", "-") in {n.replace("_", "-") for n in names}:
                    if obj["resource"] is None and obj.get("supported", True):
                        # The tables list it only under its parents (comments); Swagger's
                        # own collection is its resource (POST /api/comments).
                        obj["resource"] = api_path(collection)
                        resources[api_path(collection)] = cand
                    return cand  # another path to the same collection
        source = self.primary(tag, "reference") if candidates else None
        if source is not None and self.taken(name):
            # The tables' nested object keeps its name and has no resource (attachments,
            # coupa-pay-payments): the collection is in its routes only.
            return source
        element = camel_to_wire(tag)  # Swagger's definition is the record's element
        made = self.new_object(
            name,
            tag,
            api_path(collection),
            element=element,
            fields_of=source,
            title_path=collection,
        )
        if self.known(tag):
            self.def_objects.setdefault(tag, []).append(made)
        resources[api_path(collection)] = made
        return made

    def taken(self, name: str) -> bool:
        """Whether a catalog name is in use; ``a_b`` and ``a-b`` are one name to the catalog."""
        wire = name.replace("_", "-")
        return any(n.replace("_", "-") == wire for n in self.objects)

    def known(self, def_name: str) -> bool:
        found = self.specs.definitions.get(def_name)
        return found is not None and found.has_properties and def_name not in REFERENCE_SHAPES

    def route_kind(self, item: Placed) -> tuple[str, str]:
        """(kind, name) of a placed route."""
        route, rest = item.route, item.rest
        verb = route.verb
        member = bool(rest) and rest[0] == "{id}"
        words = [s for s in rest if not is_param(s)]
        if not words:
            standard = {
                (False, "GET"): "index",
                (False, "POST"): "create",
                (True, "GET"): "show",
                (True, "PUT"): "update",
                (True, "PATCH"): "update",
                (True, "DELETE"): "delete",
            }.get((member, verb))
            kind = "upload" if route.upload else standard or "action"
            name = standard or verb.lower()
        else:
            name = words[0]
            if route.upload:
                kind = "upload"
            elif verb == "GET" and (name.startswith("retrieve_") or name in BINARY_ROUTES):
                kind = "binary"
            else:
                kind = "action"
        nested = "{" in item.collection
        return (f"nested-{kind}" if nested else kind), name

    def add_route(self, item: Placed) -> None:
        obj = self.objects[item.owner]
        kind, name = self.route_kind(item)
        entry: dict[str, Any] = {
            "kind": kind,
            "name": name,
            "verb": item.route.verb,
            "path": api_path(item.route.path),
            "releases": sorted(item.route.releases),
            "collection": api_path(item.collection),
        }
        if item.route.summary:
            entry["description"] = item.route.summary
        if item.route.form:
            entry["form"] = list(item.route.form)
        optional = optional_part(item.route.path)
        if optional:
            entry["optional"] = optional
        obj["_routes"].append(entry)
        obj["_releases"].update(item.route.releases)
        obj.setdefault("_sources", set()).add("swagger")
        if kind == "index" and item.route.list_element:
            self.compare_list_element(obj, item)

    def compare_list_element(self, obj: dict[str, Any], item: Placed) -> None:
        if api_path(item.collection) != obj["resource"]:
            return
        ours = plural(obj["element"])
        theirs = item.route.list_element
        if not theirs or theirs == ours:
            return
        if obj["name"] in self.new_objects:
            obj["_list_element"] = theirs  # Swagger is the only source
        else:
            obj["_disputed"]["list_element"] = {"swagger": theirs, "tables": ours}

    def add_parents(self) -> None:
        """Each nested route names the object its parent parameter stands for."""
        for obj in self.objects.values():
            for route in obj["_routes"]:
                if ":" in route["collection"]:
                    parent = self.parent_of(route["collection"])
                    if parent:
                        route["parent"] = parent

    def parent_of(self, collection: str) -> str | None:
        """The catalog object at the path before a nested collection's parameter."""
        segs = collection.split("/")
        last_param = max(i for i, s in enumerate(segs) if s.startswith(":"))
        parent_path = "/".join(segs[:last_param])
        for name, obj in sorted(self.objects.items()):
            if obj["resource"] == parent_path:
                return name
        for name, obj in sorted(self.objects.items()):
            if any(r["collection"] == parent_path for r in obj["_routes"]):
                return name
        stem = segs[last_param - 1] if last_param > 2 else ""
        return self.lookup(singular(stem)) if stem else None

    def add_route_actions(self) -> None:
        for name in sorted(self.objects):
            obj = self.objects[name]
            if not obj["resource"]:
                continue
            have = {a["name"] for a in obj["_actions"]}
            new = name in self.new_objects
            for route in obj["_routes"]:
                kind = route["kind"].removeprefix("nested-")
                if route["collection"] != obj["resource"] or kind in {"binary", "upload"}:
                    continue
                if kind in STANDARD and not new:
                    continue  # the tables' standard actions are what writes are built on
                act = route["name"]
                if route["verb"] == "DELETE" and kind == "action" and self.shared_path(obj, route):
                    act = f"delete_{act}"  # DELETE /users/:id/avatar beside its GET and PUT
                if act in have:
                    continue  # the same name on another path or verb stays a route only
                have.add(act)
                obj["_actions"].append(
                    {
                        "name": act,
                        "verb": route["verb"],
                        "path": route["path"],
                        "description": route.get("description", ""),
                    }
                )

    @staticmethod
    def shared_path(obj: dict[str, Any], route: dict[str, Any]) -> bool:
        return any(r["path"] == route["path"] and r is not route for r in obj["_routes"])

    # ------------------------------------------------------------------ fields

    def merge_definition(self, obj: dict[str, Any], definition: Definition) -> None:
        if definition.name in obj["_definitions"]:
            return
        if obj["_definitions"]:
            self.problems.append(
                f"{obj['name']} gets a second definition {definition.name} "
                f"after {obj['_definitions']}; say which in SWAGGER_DEFINITIONS"
            )
            return
        obj["_definitions"].append(definition.name)
        obj.setdefault("_sources", set()).add("swagger")
        obj["_releases"].update(definition.releases)
        for prop_name, prop in definition.props.items():
            releases = sorted(definition.prop_releases[prop_name])
            required = prop_name in definition.required
            found = obj["_fields"].get(prop_name)
            if found is None or "swagger" in found["sources"]:
                obj["_fields"][prop_name] = self.swagger_field(definition, prop, required)
            else:
                self.merge_field(obj["name"], found, definition, prop, required)
            obj["_fields"][prop_name]["releases"] = releases

    def target(self, definition: Definition, prop: Prop) -> tuple[str | None, str]:
        """(catalog object, note) a reference or collection property points at."""
        if prop.polymorphic:
            return None, f"Swagger: one of {', '.join(prop.polymorphic)}."
        if prop.target is None:
            return None, ""
        if self.slipped(definition, prop):
            guess = self.lookup(prop.name)
            return guess, (
                f"Swagger types it as its own definition {prop.target}, a slip of Coupa's "
                "generator; "
                + ("its target follows the field's name." if guess else "kept without a target.")
            )
        found = self.specs.definitions.get(prop.target)
        if found is not None and not found.has_properties and prop.target not in REFERENCE_SHAPES:
            return None, f"Swagger names the type {prop.target} without properties; kept opaque."
        return self.primary(prop.target, prop.kind or "reference"), ""

    @staticmethod
    def slipped(definition: Definition, prop: Prop) -> bool:
        """A property typed as its own definition that is no tree link (SELF_REFERENCES)."""
        return prop.target == definition.name and prop.name not in SELF_REFERENCES

    def swagger_field(self, definition: Definition, prop: Prop, required: bool) -> dict[str, Any]:
        kind = prop.kind or "string"
        out: dict[str, Any] = {"name": prop.name, "kind": kind}
        notes: list[str] = []
        if kind in {"reference", "collection"}:
            ref, note = self.target(definition, prop)
            if ref:
                out["ref"] = ref
            if note:
                notes.append(note)
        # Swagger alone makes no field required and closes no list of values: its required
        # lists hold computed fields and its enums hint at formats (MERGE_RULES). Its word
        # is kept as an unconfirmed fact, the tables knowing nothing of the field.
        unconfirmed: dict[str, dict[str, Any]] = {}
        if required and not prop.read_only:
            unconfirmed["required"] = {"swagger": True, "tables": None}
        if prop.read_only:
            out["writable"] = False
        if prop.max_length and kind == "string":
            out["max_length"] = prop.max_length
        if prop.enum and kind in TEXT_KINDS:
            unconfirmed["allowed"] = {"swagger": list(prop.enum), "tables": None}
        if unconfirmed:
            out["disputed"] = unconfirmed
        if prop.description and squash(prop.description) != squash(prop.name):
            out["description"] = prop.description
        if kind == "decimal" and "(" in prop.format:
            out["format"] = prop.format
        if notes:
            out["note"] = " ".join(notes)
        out["sources"] = ["swagger"]
        return out

    def merge_field(
        self,
        owner: str,
        field: dict[str, Any],
        definition: Definition,
        prop: Prop,
        required: bool,
    ) -> None:
        """Merge a property into a field the tables gave, as MERGE_RULES say."""
        disputed: dict[str, dict[str, Any]] = {}
        notes: list[str] = []

        def settle(attr: str, tables: Any, swagger: Any) -> Any:
            disputed[attr] = {"swagger": swagger, "tables": tables}
            rule = MERGE_RULES[attr]
            if rule.winner == "longest":
                value = max(tables, swagger)
            elif rule.winner == "union":
                value = [*tables, *(v for v in swagger if v not in tables)]
            else:
                value = swagger if rule.winner == "swagger" else tables
            if value != tables:
                notes.append(rule.reason)
            return value

        # The type first: the other attributes depend on it. A property typed as its own
        # definition says nothing about its type.
        kind = field["kind"]
        if prop.kind is not None and not self.slipped(definition, prop):
            if not field.get("_typed"):
                kind = prop.kind
            elif prop.kind != kind:
                kind = settle("kind", kind, prop.kind)
        if kind != field["kind"]:
            field["kind"] = kind
            if kind != "string":
                field.pop("max_length", None)
            if kind not in TEXT_KINDS:
                field.pop("allowed", None)
            if kind not in {"reference", "collection"}:
                field.pop("ref", None)
        if field.get("ref") == owner and field["name"] not in SELF_REFERENCES:
            field.pop("ref")  # the table's link points back at its own page: a slip too
        if kind in {"reference", "collection"} and prop.kind == kind:
            ref, note = self.target(definition, prop)
            if ref and not field.get("ref"):
                field["ref"] = ref
            elif ref and ref != field["ref"]:
                field["ref"] = settle("ref", field["ref"], ref)
            if note and not field.get("ref"):
                notes.append(note)
        if kind == "string" and prop.max_length:
            if not field.get("max_length"):
                field["max_length"] = prop.max_length
            elif field["max_length"] != prop.max_length:
                field["max_length"] = settle("max_length", field["max_length"], prop.max_length)
        if bool(field.get("required")) != required:
            if settle("required", bool(field.get("required")), required):
                field["required"] = True
            else:
                field.pop("required", None)
        if prop.read_only is not None:
            swagger_writable = not prop.read_only
            tables_writable = field.get("writable", True)
            if not field.get("_io"):
                if not swagger_writable:
                    field["writable"] = False
            elif swagger_writable != tables_writable:
                if settle("writable", tables_writable, swagger_writable):
                    field.pop("writable", None)
                else:
                    field["writable"] = False
        if prop.enum and kind in TEXT_KINDS:
            theirs = list(prop.enum)
            ours = field.get("allowed") or []
            if not ours:
                disputed["allowed"] = {"swagger": theirs, "tables": []}  # unconfirmed
            elif set(ours) != set(theirs):
                field["allowed"] = settle("allowed", ours, theirs)
        new_description = prop.description and squash(prop.description) != squash(prop.name)
        if new_description and not field.get("description"):
            field["description"] = prop.description
        if kind == "decimal" and "(" in prop.format:
            field["format"] = prop.format
        if disputed:
            field["disputed"] = disputed
        for note in notes:
            field["note"] = f"{field['note']} {note}".strip() if field.get("note") else note
        field["sources"] = sorted({*field["sources"], "swagger"})

    def check_shapes(self) -> None:
        """Every property of a reference shape is a field of the object it stands for."""
        for def_name, (target, _reason) in sorted(REFERENCE_SHAPES.items()):
            definition = self.specs.definitions.get(def_name)
            if definition is None:
                continue
            fields = self.objects[target]["_fields"]
            for prop in definition.props:
                if prop not in fields:
                    self.problems.append(f"{def_name}.{prop} is not a field of {target}")


def merge_swagger(
    objects: dict[str, dict[str, Any]], specs: SwaggerSpecs, lookup: Lookup
) -> list[str]:
    """Merge the Swagger files into ``objects`` in place; return the problems found."""
    return Merger(objects, specs, lookup).run()
