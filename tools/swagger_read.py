"""Read Coupa's Swagger 2.0 files into definitions and routes the catalog generator can merge.

    specs = read_swagger(Path("../shared/coupa-docs/swagger"))

One folder per release (``R38``, ``R39``), one file per module (Core Platform, Invoicing,
Purchasing ...). What the files look like, and what this reader makes of them:

- **Definitions** (``definitions``) are Coupa's serializers, named in CamelCase
  (``InvoiceHeader``, ``OrderLine``, ``Payables-Invoice``). A module repeats every definition
  it refers to, so ``Approval`` is in eleven files; within a release the copies are the same,
  and the reader keeps one. Across releases the newest release's facts win, and each
  definition and property records the releases it is in.
- **Properties** carry ``type`` and ``format``: ``string`` with ``string(255)`` (a length),
  ``string``, ``text``, ``datetime``, ``date``, ``time``; ``integer``; ``number`` with
  ``decimal(30,4)``, ``decimal`` or ``float``; ``boolean``. Some formats are example values
  that slipped into the column (``USD``, ``true``, ``comment``, ``0.0``, a Ruby hash), and
  some strings have none (timestamps "in the format YYYY-MM-DDTHH:MM:SS"); those say nothing
  about the type, and the kind is left open (None) for the merge to decide.
  ``readOnly`` and ``enum`` sit on scalar properties only: a ``$ref`` (one nested object) or
  an ``array`` of ``$ref`` items (a collection) carries nothing else, because Swagger 2.0
  ignores the siblings of ``$ref``; for those, Swagger is silent on read-only.
  Properties without a type are polymorphic references ("Can be one of multiple objects:
  User, ApprovalGroup").
- **Required** is a list on the definition (Rails presence validations); it names computed
  fields too (an invoice's ``origin-currency-gross`` is required and read-only).
- **XML names** appear only on list responses (``{"xml": {"name": "invoice-headers",
  "wrapped": true}}``): the list element of the collection.
- **Paths** are relative to ``basePath`` ``/api``. Every operation has exactly one tag, the
  definition it is about (``PUT /invoices/{id}/submit`` is tagged ``InvoiceHeader``), and the
  same tag is the ``$ref`` of its body and response. PATCH repeats PUT on every update path
  but a few (``PATCH /quote_requests/{id}/go_to_production``); the reader keeps PATCH only
  where there is no PUT. Uploads are ``multipart/form-data`` with a ``file`` parameter
  (``attachment[file]``, ``file``). No operation names an OAuth scope: the files list the
  scopes once, for the whole API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog_text import short_description

# Releases in age order: where they differ, the later one's facts are kept.
RELEASES = ("R38", "R39")

VERBS = ("get", "post", "put", "patch", "delete")
DEF_PREFIX = "#/definitions/"
POLYMORPHIC_RE = re.compile(r"Can be one of multiple objects: (.*)$")


@dataclass
class Prop:
    """One property of a definition, as catalog facts.

    Attributes:
        name: The property's name (already Coupa's wire spelling: ``invoice-number``).
        kind: The catalog kind, or None when the type says nothing usable.
        max_length: The length of ``string(N)``.
        target: For a ``$ref`` or an array of ``$ref``, the definition it names.
        polymorphic: For an untyped property, the definitions it can be.
        read_only: ``readOnly``; None where Swagger cannot say (``$ref``, arrays).
        enum: The listed values, as text.
        description: Coupa's description, cut to its first sentence.
        format: The ``format`` as written (``decimal(30,4)``).
    """

    name: str
    kind: str | None
    max_length: int | None = None
    target: str | None = None
    polymorphic: tuple[str, ...] = ()
    read_only: bool | None = None
    enum: tuple[str, ...] = ()
    description: str = ""
    format: str = ""


@dataclass
class Definition:
    """A definition merged over the releases that have it."""

    name: str
    props: dict[str, Prop] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    releases: list[str] = field(default_factory=list)
    prop_releases: dict[str, list[str]] = field(default_factory=dict)
    modules: set[str] = field(default_factory=set)
    has_properties: bool = False


@dataclass
class Route:
    """One operation: a verb on a path template, about one definition.

    Attributes:
        verb: GET, POST, PUT, PATCH or DELETE.
        path: Swagger's template under ``/api``: ``/invoices/{id}/submit``.
        tag: The definition the operation is about.
        summary: Coupa's summary, cut to its first sentence.
        form: The ``formData`` parameters of an upload.
        upload: Whether it takes a file (multipart).
        list_element: The XML name of a list response.
        releases: The releases that have it.
    """

    verb: str
    path: str
    tag: str
    summary: str = ""
    form: tuple[str, ...] = ()
    upload: bool = False
    list_element: str | None = None
    releases: list[str] = field(default_factory=list)


@dataclass
class SwaggerSpecs:
    """Every definition and route of every release and module."""

    definitions: dict[str, Definition]
    routes: list[Route]
    files: list[str]

    def definition(self, name: str) -> Definition | None:
        return self.definitions.get(name)


def property_facts(name: str, raw: Mapping[str, Any]) -> Prop:
    """The catalog facts of one Swagger property."""
    if "$ref" in raw:
        return Prop(name, "reference", target=_ref_name(raw["$ref"]))
    kind_of = raw.get("type")
    if kind_of == "array":
        items = raw.get("items") or {}
        return Prop(name, "collection", target=_ref_name(items.get("$ref", "")) or None)
    description = short_description(raw.get("description"))
    read_only = bool(raw.get("readOnly"))
    if kind_of is None:
        match = POLYMORPHIC_RE.search(str(raw.get("description", "")))
        targets = tuple(t.strip() for t in match.group(1).split(",")) if match else ()
        return Prop(name, "reference", polymorphic=targets, read_only=read_only)
    fmt = str(raw.get("format") or "")
    kind, length = scalar_kind(str(kind_of), fmt)
    # An empty value in a list means "none chosen", not a value to send.
    enum = tuple(str(v) for v in raw.get("enum") or () if str(v) != "")
    return Prop(
        name,
        kind,
        max_length=length,
        read_only=read_only,
        enum=enum,
        description=description,
        format=fmt,
    )


def scalar_kind(kind_of: str, fmt: str) -> tuple[str | None, int | None]:
    """(kind, max_length) of a scalar; kind None when the format is an example value."""
    low = fmt.lower()
    if kind_of == "integer":
        return "integer", None
    if kind_of == "boolean":
        return "boolean", None
    if kind_of == "number":
        return ("float" if low == "float" else "decimal"), None
    match = re.fullmatch(r"string\((\d+)\)", low)
    if match:
        return "string", int(match.group(1))
    simple = {
        "string": "string",
        "text": "text",
        "datetime": "datetime",
        "date-time": "datetime",
        "date": "date",
        "time": "string",
        "int": "integer",
    }
    if low in simple:
        return simple[low], None
    if re.fullmatch(r"tinyint\(1\)", low):
        return "boolean", None
    # No format at all (created-at, say) or an example value (USD, true, comment, a Ruby
    # object) in the column: the type is not given.
    return None, None


def _ref_name(ref: str) -> str:
    return ref[len(DEF_PREFIX) :] if ref.startswith(DEF_PREFIX) else ""


def _releases_in(root: Path) -> list[tuple[str, Path]]:
    return [(rel, root / rel) for rel in RELEASES if (root / rel).is_dir()]


def read_swagger(root: Path) -> SwaggerSpecs:
    """Every Swagger file under ``root/<release>/``, merged as the docstring describes."""
    definitions: dict[str, Definition] = {}
    routes: dict[tuple[str, str], Route] = {}
    files: list[str] = []
    for release, folder in _releases_in(root):
        seen_here: set[str] = set()
        for path in sorted(folder.glob("*.json")):
            files.append(f"{release}/{path.name}")
            data = json.loads(path.read_text(encoding="utf-8"))
            module = path.stem
            for name, raw in sorted((data.get("definitions") or {}).items()):
                _add_definition(definitions, name, raw, release, module, seen_here)
            for template, operations in sorted((data.get("paths") or {}).items()):
                _add_routes(routes, template, operations, release)
    return SwaggerSpecs(definitions, _without_patch_aliases(routes.values()), files)


def _add_definition(
    definitions: dict[str, Definition],
    name: str,
    raw: Mapping[str, Any],
    release: str,
    module: str,
    seen_here: set[str],
) -> None:
    found = definitions.setdefault(name, Definition(name))
    found.modules.add(module)
    if name in seen_here:
        return  # another module's copy of a definition this release already gave
    seen_here.add(name)
    found.releases.append(release)
    properties = raw.get("properties")
    found.has_properties = found.has_properties or properties is not None
    # The newest release's facts replace the older ones; properties it dropped stay listed
    # with the releases that had them.
    for prop_name, prop_raw in sorted((properties or {}).items()):
        found.props[prop_name] = property_facts(prop_name, prop_raw)
        found.prop_releases.setdefault(prop_name, []).append(release)
    found.required = frozenset(raw.get("required") or ())


def _add_routes(
    routes: dict[tuple[str, str], Route],
    template: str,
    operations: Mapping[str, Any],
    release: str,
) -> None:
    for verb in VERBS:
        op = operations.get(verb)
        if not isinstance(op, Mapping):
            continue
        key = (verb.upper(), template)
        found = routes.get(key)
        if found is None:
            params = [p for p in op.get("parameters") or () if p.get("in") == "formData"]
            [tag] = op.get("tags") or ["?"]
            found = Route(
                verb=verb.upper(),
                path=template,
                tag=tag,
                summary=short_description(op.get("summary") or op.get("description")),
                form=tuple(str(p["name"]) for p in params),
                upload=any(p.get("type") == "file" for p in params),
                list_element=_list_element(op),
            )
            routes[key] = found
        if release not in found.releases:
            found.releases.append(release)


def _list_element(op: Mapping[str, Any]) -> str | None:
    for status in ("200", "201"):
        schema = (op.get("responses") or {}).get(status, {}).get("schema") or {}
        xml = schema.get("xml") or {}
        if schema.get("type") == "array" and xml.get("name"):
            return str(xml["name"])
    return None


def _without_patch_aliases(routes: Iterable[Route]) -> list[Route]:
    """PATCH where the same path has no PUT; Coupa's PATCH beside a PUT is only its alias."""
    found = list(routes)
    puts = {r.path for r in found if r.verb == "PUT"}
    kept = [r for r in found if not (r.verb == "PATCH" and r.path in puts)]
    return sorted(kept, key=lambda r: (r.path, VERBS.index(r.verb.lower())))
