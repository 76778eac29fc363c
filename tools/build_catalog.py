#!/usr/bin/env python3
"""Build ``src/coupa_connector/catalog/catalog.json`` from Coupa's reference tables and Swagger.

    python tools/build_catalog.py [--source PATH] [--swagger DIR] [--output PATH] [--check]

Two sources, both in ``../shared/coupa-docs/`` next to the repository by default:

- ``resources.json``, the reference tables: one entry per page of Coupa's Core API
  reference, with the page's actions (verb, path) and element tables (name, type, required,
  unique, allowable values, api in, api out, link to the referenced object's page). This
  script reads them into objects (one per page) and fields (one per row).
- ``swagger/R38/*.json`` and ``swagger/R39/*.json``, Coupa's Swagger 2.0 files, one per
  module. ``swagger_read.py`` reads them (definitions with typed properties, routes tagged
  with their definition) and ``swagger_merge.py`` merges them in; their docstrings describe
  the files and the mapping in full. In short: a definition is the object whose element is
  its name (``InvoiceHeader`` -> ``invoices``), each property is a field of it; each route
  belongs to the object of its collection, with a kind (index, show, create, update, delete,
  action, binary, upload, and ``nested-`` ones under a parent); a collection or definition
  the tables lack is a new object; where both sources describe a field and disagree,
  ``MERGE_RULES`` settles the value and the field keeps both facts under ``disputed``.

Coupa's tables and Swagger are evidence, not gospel: cells slip between columns, types are
spelled five ways, and some flags are plainly wrong. Everything this script changes on purpose
is data in the tables of ``tools/catalog_data.py`` (``CORRECTIONS``, ``READ_ONLY_EVERYWHERE``,
``HAND_CURATED``, ``MERGE_RULES`` ...), each entry with its reason, and the reason is copied into
the field's ``note`` in the output.

The output is deterministic (sorted keys, objects sorted by name, fields in Coupa's order, the
tables' first and then Swagger's), so re-running the script on the same sources gives the same
bytes. The sources and releases most of an object's fields share are written once, in
``field_defaults``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog_certainty import apply_required_certainty, certainty_markdown
from catalog_data import (
    ACTION_SCOPES,
    ATTACHMENT_REASON,
    CORRECTIONS,
    CUSTOM_FIELDS_NOTE,
    DOCUMENTED_ACTIONS,
    ELEMENTS,
    EMBEDDED_COPIES,
    EXPORT_FLAGS,
    EXTRA_ACTIONS,
    EXTRA_FIELDS,
    EXTRA_TABLES,
    HAND_CURATED,
    LOOKUP_KEYS,
    MERGE_RULES,
    NAME_OVERRIDES,
    NESTED_TWINS,
    NO_RESOURCE,
    READ_ONLY_EVERYWHERE,
    RESOURCE_OVERRIDES,
    SCOPE_FAMILIES,
    SCOPE_OF,
    SKIP_PAGES,
    SKIP_SECTIONS,
    TYPE_ALIASES,
    Correction,
)
from catalog_text import (
    camel_to_wire,
    is_plural_name,
    is_stale,
    md_table,
    norm,
    plural,
    short_description,
    singular,
    squash,
)

# The tables live beside this script (running the script puts tools/ on sys.path).
from swagger_merge import merge_swagger
from swagger_read import read_swagger

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "coupa-docs" / "resources.json"
DEFAULT_SWAGGER = ROOT.parent / "shared" / "coupa-docs" / "swagger"
DEFAULT_OUTPUT = ROOT / "src" / "coupa_connector" / "catalog" / "catalog.json"


PRIMITIVE_RE = re.compile(
    r"^(string|sting|text|int|integer|number|decimal|float|boolean|bool|datetime|date|tinyint)"
    r"\s*(\(.*)?$",
    re.IGNORECASE,
)
ARRAY_TYPES = {"[]", "[ ]", "array", "array of objects"}

# --------------------------------------------------------------------------------------------
# Reading table cells
# --------------------------------------------------------------------------------------------


def is_yes(text: str | None) -> bool:
    return norm(text).lower() in {"yes", "true"}


def parse_allowed(text: str | None) -> list[str]:
    """Allowed values when the cell is a plain list; prose and 'any' give no list."""
    text = norm(text)
    if not text or re.search(r"\b(any|see|refer|through|include)\b", text, re.IGNORECASE):
        return []
    # Coupa separates some lists with ". " (a slip for ", "), e.g. invoice status values.
    tokens = [t.strip() for t in re.split(r"[,;]|\.\s+", text) if t.strip()]
    if len(tokens) < 2:
        return []
    if not all(re.fullmatch(r"[A-Za-z0-9_\-:. ]{1,40}", t) and len(t.split()) <= 4 for t in tokens):
        return []
    if {t.lower() for t in tokens} <= {"true", "false", "yes", "no", "yes/no", "true/false"}:
        return []
    seen: list[str] = []
    for token in tokens:
        if token not in seen:
            seen.append(token)
    return seen


@dataclass
class RawField:
    """One element as read from a table row, before references are resolved."""

    name: str
    type_text: str
    ref_url: str
    required: bool
    unique: bool
    writable: bool
    readable: bool
    allowed: list[str]
    description: str
    notes: list[str] = field(default_factory=list)
    has_io: bool = False  # the page has api in/out columns: writable is the table's word


NOT_TYPES = {"any", "yes", "no", "true", "false", "draft", "usd", "datatype", "na"}


def looks_like_type(text: str, type_names: set[str]) -> bool:
    text = norm(text)
    if not text or squash(text) in NOT_TYPES:
        return False
    return bool(PRIMITIVE_RE.match(text)) or squash(text) in type_names


def read_row(row: Mapping[str, Any], type_names: set[str], has_io: bool) -> RawField | None:
    """Read one table row; repair rows whose cells slipped into the wrong columns."""
    raw_name = norm(row.get("name"))
    if not raw_name or not re.fullmatch(r"[A-Za-z0-9_\- ]+", raw_name) or " " in raw_name.strip():
        if not re.fullmatch(r"[a-z0-9_\-]+ [a-z0-9_\-]+", raw_name):
            return None
        raw_name = raw_name.replace(" ", "")
    name = camel_to_wire(raw_name)
    type_text = norm(row.get("type"))
    cells = {k: norm(row.get(k)) for k in ("required", "unique", "allowable", "api_in", "api_out")}
    notes: list[str] = []
    shifted_type = ""
    if not type_text:
        for key in ("allowable", "api_in", "api_out", "unique", "required"):
            if looks_like_type(cells[key], type_names) and not is_yes(cells[key]):
                shifted_type = cells[key]
                break
    if shifted_type:
        # The row lost its empty cells, so the values slid left: the type landed in another
        # column and the yes marks that remain are, from the right, api_out, api_in, required.
        yes_count = sum(1 for v in cells.values() if is_yes(v))
        allowed: list[str] = []
        for value in cells.values():
            allowed = allowed or parse_allowed(value)
        notes.append(
            f"Coupa's table row has shifted cells; read as type {shifted_type!r} with "
            f"{yes_count} yes mark(s) taken as api out, api in, required."
        )
        return RawField(
            name=name,
            type_text=shifted_type,
            ref_url=norm(row.get("type_ref_url")),
            required=yes_count >= 3,
            unique=False,
            writable=yes_count >= 2,
            readable=True,
            allowed=allowed,
            description=short_description(row.get("description")),
            notes=notes,
            has_io=has_io,
        )
    api_in, api_out = cells["api_in"].lower(), cells["api_out"].lower()
    if has_io:
        writable = api_in.startswith("yes") or api_in == "true"
        readable = api_out.startswith("yes") or api_out == "true" or not writable
    else:
        writable = readable = True
    return RawField(
        name=name,
        type_text=type_text,
        ref_url=norm(row.get("type_ref_url")),
        required=is_yes(cells["required"]),
        unique=is_yes(cells["unique"]),
        writable=writable,
        readable=readable,
        allowed=parse_allowed(cells["allowable"]) or parse_allowed(cells["required"]),
        description=short_description(row.get("description")),
        notes=notes,
        has_io=has_io,
    )


def merge(first: RawField, again: RawField) -> RawField:
    """Coupa lists some elements twice (e.g. once for output, once for input): combine them."""
    return RawField(
        name=first.name,
        type_text=first.type_text or again.type_text,
        ref_url=first.ref_url or again.ref_url,
        required=first.required or again.required,
        unique=first.unique or again.unique,
        writable=first.writable or again.writable,
        readable=first.readable or again.readable,
        allowed=first.allowed or again.allowed,
        description=first.description or again.description,
        notes=first.notes + [n for n in again.notes if n not in first.notes],
        has_io=first.has_io or again.has_io,
    )


# --------------------------------------------------------------------------------------------
# Pages -> objects
# --------------------------------------------------------------------------------------------


@dataclass
class Page:
    """One reference page reduced to what the catalog needs."""

    key: str  # the page number, e.g. "0205"
    title: str
    url: str
    core: bool
    toc_api: str
    actions: list[dict[str, str]]
    tables: list[tuple[int, list[Mapping[str, Any]], bool]]


def clean_path(path: str) -> str | None:
    """A usable path template from Coupa's action cell, or None for junk rows."""
    path = re.sub(r"<br>", "", norm(path))
    path = path.split("?")[0].strip()
    # Some rows print a query as a path (/api/matching_allocations/invoice_line_id=).
    path = re.sub(r"/[^/]*[=\[].*$", "", path)
    if not path or "@@" in path or " " in path:
        return None
    path = re.sub(r"\{([a-z_\-]+)\}", lambda m: ":" + m.group(1).replace("-", "_"), path)
    if path.startswith("api/"):
        path = "/" + path
    if not path.startswith("/"):
        return None
    path = path.rstrip("/") or "/"
    return path


def clean_verb(verb: str) -> list[str]:
    verbs = re.split(r"[/\\ ]+", norm(verb).upper())
    return [v for v in verbs if v in {"GET", "POST", "PUT", "PATCH", "DELETE"}]


def action_name(raw: str, verb: str, path: str, base: str | None) -> str:
    """Coupa's action label as a snake_case name; standard CRUD labels normalized."""
    name = re.sub(r"[^a-z0-9]+", "_", norm(raw).lower()).strip("_")
    tail = path[len(base) :] if base and path.startswith(base) else ""
    # Labels written as sentences ("Get all quality inspections") name standard actions.
    member = re.fullmatch(r"/:[a-z_]*id", tail) is not None
    if name in {"query", "list"} or (verb == "GET" and tail == "" and name[:3] in {"", "get"}):
        return "index"
    if verb == "GET" and member and name.startswith("get_"):
        return "show"
    if verb == "POST" and tail == "" and name.startswith("create_"):
        return "create"
    if name == "destroy":
        return "delete"
    if not name:
        segs = [s for s in tail.split("/") if s and not s.startswith(":")]
        return segs[-1] if segs else verb.lower()
    if len(name) > 40 or name.count("_") > 4:
        segs = [s for s in tail.split("/") if s and not s.startswith(":")]
        name = segs[-1] if segs else {"GET": "show"}.get(verb, verb.lower())
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def route_suffix(path: str, base: str) -> str:
    """How a standard action's other route differs from the main one (``under_invoice``)."""
    statics = [x for x in path.split("/") if x and x != "api" and not x.startswith(":")]
    base_statics = [x for x in base.split("/") if x and x != "api" and not x.startswith(":")]
    if statics and base_statics and statics[0] != base_statics[0]:
        return "under_" + singular(statics[0])
    return "via_" + statics[-1] if statics else "alt"


def collection_base(page: Page) -> str | None:
    """The collection path of the page's object, from its actions and its title."""
    candidates: list[str] = []
    for action in page.actions:
        path = clean_path(action.get("path", ""))
        if not path or not clean_verb(action.get("verb", "")):
            continue
        if re.search(r"/:[a-z_]*id$", path) or re.search(r"/:id$", path):
            path = path.rsplit("/", 1)[0]
        candidates.append(path)
    if not candidates:
        return None
    hint = re.search(r"\((?:\.\.\.)?(/[^)]*)\)", page.title)
    if hint:
        hint_seg = hint.group(1).strip().rstrip("/").split("/")[-1].replace(" ", "_")
        for path in sorted(candidates, key=len):
            segs = path.split("/")
            if hint_seg in segs:
                return "/".join(segs[: segs.index(hint_seg) + 1])

    def score(path: str) -> tuple[int, int]:
        return (-candidates.count(path), len(path))

    best = min(candidates, key=score)
    # A member action path (/api/x/:id/do) reduces to its collection (/api/x) when the
    # collection itself is among the page's routes.
    match = re.match(r"^(.*?)/:[a-z_]+(/.*)?$", best)
    if match and match.group(2) and match.group(1) in candidates:
        return match.group(1)
    return best


def name_from_base(base: str) -> str:
    segs = [s for s in base.split("/") if s and s != "api" and not s.startswith(":")]
    if ":" in base:
        return segs[-1].replace("-", "_")
    if base.startswith("/api/"):
        return "_".join(segs).replace("-", "_")
    return segs[-1].replace("-", "_")


def title_slug(title: str) -> str:
    title = re.sub(r"\(.*?\)", "", title)
    title = re.sub(r"\b(API|Object|Example Calls)\b", "", title)
    title = title.replace("::", " ").replace("/", " ")
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "-".join(w.lower() for w in words)


def load_pages(source: Path) -> list[Page]:
    data = json.loads(source.read_text(encoding="utf-8"))
    pages: list[Page] = []
    for entry in data:
        key = entry["page"][:4]
        if key in SKIP_PAGES:
            continue
        tables: list[tuple[int, list[Mapping[str, Any]], bool]] = []
        for index, table in enumerate(entry.get("element_tables") or ()):
            if table["section"] in SKIP_SECTIONS:
                continue
            rows = table["rows"]
            has_io = any(r.get("api_in") is not None for r in rows)
            tables.append((index, rows, has_io))
        toc = entry.get("toc_path") or ["", ""]
        pages.append(
            Page(
                key=key,
                title=norm(entry["title"]),
                url=entry["url"],
                core=len(toc) > 1 and toc[1] == "The Coupa Core API",
                toc_api=toc[1] if len(toc) > 1 else "",
                actions=list(entry.get("actions") or ()),
                tables=tables,
            )
        )
    return pages


@dataclass
class Draft:
    """An object being built: identity, actions and raw fields."""

    name: str
    title: str
    element: str
    resource: str | None
    doc_url: str
    page_key: str
    actions: list[dict[str, Any]]
    fields: dict[str, RawField]
    supported: bool = True
    unsupported_reason: str = ""
    note: str = ""


def build_drafts(pages: list[Page]) -> tuple[list[Draft], dict[str, str]]:
    """Turn pages into draft objects; also return page URL -> catalog name."""
    all_types = set()
    for page in pages:
        for _, rows, _ in page.tables:
            for row in rows:
                if norm(row.get("type")):
                    all_types.add(squash(norm(row["type"])))
    drafts: list[Draft] = []
    url_to_name: dict[str, str] = {}
    used_names: set[str] = set()
    used_resources: set[str] = set()
    for page in pages:
        if not page.tables and not page.actions:
            continue
        if not page.tables:
            continue
        base = RESOURCE_OVERRIDES.get(page.key) or collection_base(page)
        if page.key in NAME_OVERRIDES:
            name = NAME_OVERRIDES[page.key]
        else:
            name = name_from_base(base) if base else title_slug(page.title)
            if not page.core:
                # Other Coupa APIs (CSO, Risk Assess) reuse Core names such as users.
                prefix = title_slug(page.toc_api.replace("The ", "").replace("Integrations", ""))
                if not name.replace("_", "-").startswith(prefix):
                    name = f"{prefix}_{name}" if base else f"{prefix}-{name}"
        route_base = base  # still names the other routes of multi-parent objects
        if page.key in NO_RESOURCE:
            base = None
        if name in used_names:
            name = title_slug(page.title)
            if name in used_names:
                name = f"{name}-{page.key}"
        resource = (
            base if base and base.startswith("/api/") and base not in used_resources else None
        )
        is_resource = resource is not None
        if is_resource:
            element = ELEMENTS.get(name) or singular(name.split("_")[-1]).replace("_", "-")
            if name not in ELEMENTS and "_" in name:
                parts = name.split("_")
                element = "-".join([*parts[:-1], singular(parts[-1])])
        else:
            element = name if "-" in name or "_" not in name else name.replace("_", "-")
            element = ELEMENTS.get(name, element)
        actions = build_actions(page, name, route_base)
        main_fields: dict[str, RawField] = {}
        extra: dict[str, dict[str, RawField]] = {}
        for index, rows, has_io in page.tables:
            target = EXTRA_TABLES.get((page.key, index))
            bucket = extra.setdefault(target, {}) if target else main_fields
            for row in rows:
                raw = read_row(row, all_types, has_io)
                if raw is None:
                    continue
                bucket[raw.name] = merge(bucket[raw.name], raw) if raw.name in bucket else raw
        draft = Draft(
            name=name,
            title=page.title,
            element=element,
            resource=resource,
            doc_url=page.url,
            page_key=page.key,
            actions=actions,
            fields=main_fields,
        )
        if page.key in ("0109", "0110"):
            draft.supported = False
            draft.unsupported_reason = ATTACHMENT_REASON
        drafts.append(draft)
        used_names.add(name)
        if resource:
            used_resources.add(resource)
        url_to_name.setdefault(page.url, name)
        for extra_name, extra_fields in extra.items():
            drafts.append(
                Draft(
                    name=extra_name,
                    title=f"{page.title}: {extra_name}",
                    element=extra_name,
                    resource=None,
                    doc_url=page.url,
                    page_key=page.key,
                    actions=[],
                    fields=extra_fields,
                )
            )
            used_names.add(extra_name)
    return drafts, url_to_name


def build_actions(page: Page, name: str, base: str | None) -> list[dict[str, Any]]:
    actions: dict[tuple[str, str, str], dict[str, Any]] = {}
    for action in page.actions:
        path = clean_path(action.get("path", ""))
        verbs = clean_verb(action.get("verb", ""))
        if not path or not verbs:
            continue
        if "/attachments" in path and name != "attachments":
            continue  # Attachments are out of scope; their routes belong to that object.
        for verb in verbs:
            if verb == "PATCH":
                continue  # PATCH is Coupa's alias of PUT for update; one entry is enough.
            act = action_name(action.get("action", ""), verb, path, base)
            standard = act in {"create", "index", "show", "update", "delete"}
            if standard and base and not path.startswith(base):
                # The same standard action under another parent (supplier items under an
                # item, remit-to addresses under an invoice) gets its own name.
                act = f"{act}_{route_suffix(path, base)}"
            key = (act, verb, path)
            actions.setdefault(
                key,
                {
                    "name": act,
                    "verb": verb,
                    "path": path,
                    "description": short_description(action.get("description")),
                },
            )
    # Each action once (the shortest, top-level route wins); standard actions first.
    chosen: dict[str, dict[str, Any]] = {}
    for entry in sorted(actions.values(), key=lambda a: (len(a["path"]), a["name"])):
        chosen.setdefault(entry["name"], entry)
    return sorted(chosen.values(), key=lambda a: (STANDARD_ORDER.get(a["name"], 9), a["name"]))


STANDARD_ORDER = {"index": 0, "show": 1, "create": 2, "update": 3, "delete": 4}


# --------------------------------------------------------------------------------------------
# Types and references
# --------------------------------------------------------------------------------------------


def resolve_kind(
    raw: RawField, url_to_name: Mapping[str, str], title_index: Mapping[str, str]
) -> tuple[str, int | None, str | None, list[str]]:
    """Coupa's type cell as (kind, max_length, ref, notes)."""
    text = raw.type_text
    low = text.lower()
    notes: list[str] = []
    match = PRIMITIVE_RE.match(text)
    if match:
        word = match.group(1).lower()
        size = re.match(r"^\w+\s*\((\d+)", text)
        if word in {"string", "sting"}:
            if "datetime" in low:
                return "datetime", None, None, notes
            length = int(size.group(1)) if size else None
            return "string", length, None, notes
        if word == "text":
            return "text", None, None, notes
        if word in {"int", "integer", "number"}:
            return ("integer" if word != "number" else "decimal"), None, None, notes
        if word == "tinyint":
            return "boolean", None, None, notes
        if word == "decimal":
            return "decimal", None, None, notes
        if word == "float":
            return "float", None, None, notes
        if word in {"boolean", "bool"}:
            return "boolean", None, None, notes
        if word == "datetime":
            return "datetime", None, None, notes
        if word == "date":
            return "date", None, None, notes
    if low in ARRAY_TYPES:
        ref = url_to_name.get(raw.ref_url)
        return "collection", None, ref, notes
    if not text or low in {"-", "n/a", "any", "yes", "true", "draft", "usd", "data type"}:
        ref = url_to_name.get(raw.ref_url)
        if ref:
            kind = "collection" if is_plural_name(raw.name) else "reference"
            return kind, None, ref, notes
        return "string", None, None, notes
    if text.startswith("[") and text.endswith("]"):
        return "string", 255, None, notes  # a list of allowed type names, printed as the type
    url_ref = url_to_name.get(raw.ref_url)
    type_ref = lookup_type(text, title_index)
    ref = url_ref or type_ref
    twin = NESTED_TWINS.get(url_ref or "") == type_ref
    misdirected = url_ref and type_ref and url_ref != type_ref and not twin
    if (
        misdirected
        and type_ref
        and _names_match(raw.name, type_ref, title_index)
        and not squash(singular(url_ref or "")).endswith(squash(singular(raw.name)))
    ):
        # Coupa's link points at the wrong page (users' default-account-type links to the
        # Accounts page); the field's name and type agree on the other object.
        ref = type_ref
        notes.append(f"Coupa links this field to the {url_ref} page; its type says {type_ref}.")
    kind = "collection" if is_plural_name(raw.name) else "reference"
    if ref is None:
        notes.append(f"Coupa names the type {text!r} without a page; kept as an opaque object.")
    return kind, None, ref, notes


def _names_match(field_name: str, obj_name: str, title_index: Mapping[str, str]) -> bool:
    """Whether a field's name ends with the name of the object (``default-account-type``)."""
    field_key = squash(singular(field_name))
    names = {squash(singular(obj_name))} | {k for k, v in title_index.items() if v == obj_name}
    return any(len(n) > 3 and field_key.endswith(n) for n in names)


def lookup_type(text: str, title_index: Mapping[str, str]) -> str | None:
    text = re.sub(r"https?://\S+", "", text)
    key = squash(text)
    for candidate in (key, squash(singular(text.lower()))):
        if candidate in TYPE_ALIASES:
            return TYPE_ALIASES[candidate]
        if candidate in title_index:
            return title_index[candidate]
    return None


def build_title_index(drafts: Iterable[Draft]) -> dict[str, str]:
    index: dict[str, str] = {}
    for draft in drafts:
        for text in (draft.element, draft.name, title_slug(draft.title)):
            index.setdefault(squash(text), draft.name)
            index.setdefault(squash(singular(text)), draft.name)
    return index


# --------------------------------------------------------------------------------------------
# Assembly
# --------------------------------------------------------------------------------------------


def field_dict(raw: RawField, kind: str, max_length: int | None, ref: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": raw.name, "kind": kind}
    if raw.required:
        out["required"] = True
    if raw.unique:
        out["unique"] = True
    if not raw.writable:
        out["writable"] = False
    if not raw.readable:
        out["readable"] = False
    if max_length:
        out["max_length"] = max_length
    if raw.allowed and kind == "integer" and not all(a.lstrip("-").isdigit() for a in raw.allowed):
        # An integer column with named values: the API exchanges the names, not the numbers.
        out["kind"] = "string"
        raw.notes.append("Typed integer in Coupa's table, but its values are names; kept as text.")
    if raw.allowed and out["kind"] in {"string", "text", "integer"}:
        out["allowed"] = raw.allowed
    if ref:
        out["ref"] = ref
    if raw.description and squash(raw.description) != squash(raw.name):
        # Descriptions that only repeat the name ("account_type") carry nothing.
        out["description"] = raw.description
    if raw.notes:
        out["note"] = " ".join(raw.notes)
    out["sources"] = ["tables"]
    return out


def apply_global(fields: dict[str, dict[str, Any]]) -> None:
    for name, note in {**READ_ONLY_EVERYWHERE, **EXPORT_FLAGS}.items():
        f = fields.get(name)
        if f is None:
            continue
        changed = f.get("writable", True) or f.get("required") or not f.get("readable", True)
        f["writable"] = False
        f.pop("required", None)
        f.pop("readable", None)
        if name == "id":
            f["kind"] = "integer"
        if name in {"created-at", "updated-at", "last-exported-at"}:
            f["kind"] = "datetime"
        if name in {"created-by", "updated-by"}:
            f["kind"], f["ref"] = "reference", "users"
        if name == "exported":
            f["kind"] = "boolean"
        if changed or name in EXPORT_FLAGS:
            # The export flags always say how they are set, even where the table agrees.
            add_note(f, note)


def add_note(f: dict[str, Any], note: str) -> None:
    f["note"] = f"{f['note']} {note}".strip() if f.get("note") else note


OPAQUE_NOTE_RE = re.compile(
    r"Coupa names the type '[^']*' without a page; kept as an opaque object\."
)


def apply_corrections(objects: dict[str, dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for corr in CORRECTIONS:
        obj = objects.get(corr.obj)
        target = None if obj is None else obj["_fields"].get(corr.field)
        if target is None:
            problems.append(f"correction for missing field {corr.obj}.{corr.field}")
            continue
        # A copy (an embedded copy, a Swagger resource holding an object's fields) carries
        # its source's corrections.
        copies = [n for n, o in objects.items() if o.get("_copied_from") == corr.obj]
        for copy_name in copies:
            found = objects[copy_name]["_fields"].get(corr.field)
            if found is not None:
                apply_correction(found, corr)
        apply_correction(target, corr)
    return problems


def apply_correction(target: dict[str, Any], corr: Correction) -> None:
    """Apply one correction to one field."""
    for key, value in corr.changes.items():
        # Defaults are left out of the output, so a change back to a default removes it.
        is_default = (value is False and key in {"required", "unique"}) or (
            value is True and key in {"writable", "readable"}
        )
        if value is None or is_default:
            target.pop(key, None)
        else:
            target[key] = value
    if target.get("kind") not in {"reference", "collection"}:
        target.pop("ref", None)
    if target.get("kind") not in {"string", "text", "integer"}:
        target.pop("allowed", None)  # a list of values means nothing for other kinds
    if "kind" in corr.changes and target.get("note"):
        # The resolver's guess about the type is superseded by the correction's reason.
        target["note"] = OPAQUE_NOTE_RE.sub("", target["note"]).strip()
        if not target["note"]:
            target.pop("note")
    add_note(target, corr.note)


def build(source: Path, swagger_dir: Path | None = None) -> dict[str, Any]:
    """The catalog from the reference tables at ``source`` and the Swagger files under
    ``swagger_dir`` (``R38/``, ``R39/``), if given."""
    pages = load_pages(source)
    swagger = read_swagger(swagger_dir) if swagger_dir is not None else None
    drafts, url_to_name = build_drafts(pages)
    for spec in HAND_CURATED:
        drafts.append(
            Draft(
                name=spec["name"],
                title=spec["title"],
                element=spec["element"],
                resource=spec["resource"],
                doc_url="",
                page_key="",
                actions=[
                    {"name": n, "verb": v, "path": p, "description": d}
                    for n, v, p, d in spec["actions"]
                ],
                fields={},
                note=spec["note"],
            )
        )
    title_index = build_title_index(drafts)
    objects: dict[str, dict[str, Any]] = {}
    for draft in drafts:
        fields: dict[str, dict[str, Any]] = {}
        for raw in draft.fields.values():
            kind, max_length, ref, notes = resolve_kind(raw, url_to_name, title_index)
            raw.notes.extend(notes)
            if ref == draft.name and kind == "collection" and raw.name.endswith("lines"):
                ref = None
            fields[raw.name] = field_dict(raw, kind, max_length, ref)
            # What the table says and where it is silent, for the merge with Swagger: a
            # row without a type, a page without an api-in column.
            fields[raw.name]["_typed"] = typed(raw, kind, ref)
            fields[raw.name]["_io"] = raw.has_io
        spec = next((s for s in HAND_CURATED if s["name"] == draft.name), None)
        if spec is not None:
            for f in spec["fields"]:
                fields[f["name"]] = curated({**f, "note": spec["note"]})
        for extra_field in EXTRA_FIELDS.get(draft.name, ()):
            fields.setdefault(extra_field["name"], curated(dict(extra_field)))
        objects[draft.name] = {
            "name": draft.name,
            "title": draft.title,
            "element": draft.element,
            "resource": draft.resource,
            "doc_url": draft.doc_url,
            "supported": draft.supported,
            "unsupported_reason": draft.unsupported_reason,
            "_actions": draft.actions,
            "_fields": fields,
            "_sources": {"curated"} if spec is not None else {"tables"},
        }
    add_nested_twins(objects)
    add_embedded_copies(objects)
    add_extra_actions(objects)
    problems: list[str] = []
    if swagger is not None:
        problems += merge_swagger(objects, swagger, lambda name: lookup_type(name, title_index))
    for copy_name, (_, note) in EMBEDDED_COPIES.items():
        for f in objects[copy_name]["_fields"].values():
            add_note(f, note)  # the copy's own Swagger fields too
    for obj in objects.values():
        apply_global(obj["_fields"])
    problems += apply_corrections(objects)
    problems += apply_required_certainty(objects)
    add_custom_fields(objects)
    out = []
    for name in sorted(objects):
        obj = objects[name]
        out.append(finish(obj))
    check_refs(out, problems)
    if problems:
        raise SystemExit("catalog problems:\n  " + "\n  ".join(problems))
    sources = f"Coupa Core API reference tables (resources.json), {len(pages)} pages"
    if swagger is not None:
        sources += f"; Coupa's Swagger files ({', '.join(swagger.files)})"
    return {"source": f"{sources}; corrections in tools/catalog_data.py", "objects": out}


def typed(raw: RawField, kind: str, ref: str | None) -> bool:
    """Whether the table gives the field's type, rather than the resolver's default."""
    return bool(PRIMITIVE_RE.match(raw.type_text)) or ref is not None or kind != "string"


def curated(f: dict[str, Any]) -> dict[str, Any]:
    """A field the connector's own data gives: it speaks on every attribute."""
    return {**f, "sources": ["curated"], "_typed": True, "_io": True}


def add_nested_twins(objects: dict[str, dict[str, Any]]) -> None:
    """Give line objects that are also resources a nested twin, and point collections at it."""
    for resource_name, twin in NESTED_TWINS.items():
        src = objects.get(resource_name)
        if src is None:
            continue
        objects[twin] = {
            **src,
            "name": twin,
            "title": f"{src['title']} (nested in its parent)",
            "element": twin,
            "resource": None,
            "_actions": [],
            "_fields": json.loads(json.dumps(src["_fields"])),
            "_sources": set(src["_sources"]),
        }
        for obj in objects.values():
            for f in obj["_fields"].values():
                if f.get("kind") == "collection" and f.get("ref") == resource_name:
                    f["ref"] = twin


def add_embedded_copies(objects: dict[str, dict[str, Any]]) -> None:
    """Add resource-less copies of objects that Coupa embeds in other records."""
    for copy_name, (source, _note) in EMBEDDED_COPIES.items():
        src = objects[source]
        fields: dict[str, dict[str, Any]] = json.loads(json.dumps(src["_fields"]))
        objects[copy_name] = {
            **src,
            "name": copy_name,
            "title": f"{src['title']} (embedded)",
            "element": copy_name,
            "resource": None,
            "_actions": [],
            "_fields": fields,
            "_sources": set(src["_sources"]),
            "_copied_from": source,
        }


def add_extra_actions(objects: dict[str, dict[str, Any]]) -> None:
    for name, extra in EXTRA_ACTIONS.items():
        obj = objects.get(name)
        if obj is None:
            continue
        have = {a["name"] for a in obj["_actions"]}
        for act, verb, path, desc in extra:
            if act not in have:
                obj["_actions"].append(
                    {"name": act, "verb": verb, "path": path, "description": desc}
                )
    for name, documented in DOCUMENTED_ACTIONS.items():
        obj = objects.get(name)
        if obj is None or not obj["resource"]:
            continue
        have = {a["name"] for a in obj["_actions"]}
        for act, verb, desc in documented:
            if act not in have:
                obj["_actions"].append(
                    {
                        "name": act,
                        "verb": verb,
                        "path": f"{obj['resource']}/:id/{act}",
                        "description": desc,
                    }
                )


def add_custom_fields(objects: dict[str, dict[str, Any]]) -> None:
    targets: set[str] = set()
    for obj in objects.values():
        writable = any(a["name"] in {"create", "update"} for a in obj["_actions"])
        if obj["supported"] and obj["resource"] and writable:
            targets.add(obj["name"])
            for f in obj["_fields"].values():
                if f.get("kind") == "collection" and f.get("ref") and f["name"].endswith("lines"):
                    targets.add(f["ref"])
    for name in targets:
        fields = objects[name]["_fields"] if name in objects else None
        if fields is not None and "custom-fields" not in fields:
            fields["custom-fields"] = {
                "name": "custom-fields",
                "kind": "custom-fields",
                "description": "The instance's custom fields, by their API names.",
                "note": CUSTOM_FIELDS_NOTE,
                "sources": ["curated"],
            }


def finish(obj: dict[str, Any]) -> dict[str, Any]:
    name = obj["name"]
    family = SCOPE_OF.get(name)
    read_scope, write_scope = SCOPE_FAMILIES[family] if family else (None, None)
    actions = []
    for act in obj["_actions"]:
        scope = ACTION_SCOPES.get((name, act["name"]))
        if scope is None and family:
            scope = read_scope if act["verb"] == "GET" else write_scope
        entry = dict(act)
        if scope:
            entry["scope"] = scope
        actions.append(entry)
    fields = obj["_fields"]
    can_update = any(a["name"] == "update" for a in actions)
    if "exported" in fields and can_update and obj["resource"]:
        actions.append(
            {
                "name": "mark_exported",
                "verb": "PUT",
                "path": f"{obj['resource']}/:id",
                "description": "Set exported=true (PUT .../:id?exported=true, no body needed)",
                **({"scope": write_scope} if write_scope else {}),
            }
        )
    element = obj["element"]
    out: dict[str, Any] = {
        "name": name,
        "title": obj["title"],
        "element": element,
        "list_element": obj.get("_list_element") or plural(element),
        "model": element.replace("-", "_"),
        "resource": obj["resource"],
        "actions": actions,
        "read_scope": read_scope,
        "write_scope": write_scope,
        "fields": [public(f) for f in fields.values()],
        "field_defaults": {},
        "lookup_keys": LOOKUP_KEYS.get(name, [["id"]] if "id" in fields else []),
        "supported": obj["supported"],
        "unsupported_reason": obj["unsupported_reason"],
        "doc_url": obj["doc_url"],
        "sources": sorted(obj["_sources"]),
        "releases": sorted(obj.get("_releases", ())),
        "definitions": obj.get("_definitions", []),
        "routes": obj.get("_routes", []),
    }
    if obj.get("_disputed"):
        out["disputed"] = obj["_disputed"]
    compact(out)
    return out


def compact(obj: dict[str, Any]) -> None:
    """Write the sources and releases most of an object's fields share once, in
    ``field_defaults``, and a route's releases only where they differ from the object's.

    Both repeat on almost every field; said once per object they keep the file a third
    smaller and as quick to load.
    """
    shared = Counter(
        (tuple(f.get("sources", ())), tuple(f.get("releases", ()))) for f in obj["fields"]
    )
    if shared:
        # The commonest pair; ties go to the first in sort order, so the output is stable.
        (sources, releases), _ = min(shared.items(), key=lambda kv: (-kv[1], kv[0]))
        defaults = {"sources": list(sources), "releases": list(releases)}
        obj["field_defaults"] = {k: v for k, v in defaults.items() if v}
        for f in obj["fields"]:
            f.setdefault("releases", [])
            for key, value in defaults.items():
                if f[key] == value:
                    del f[key]
    else:
        del obj["field_defaults"]
    for route in obj["routes"]:
        if route["releases"] == obj["releases"]:
            del route["releases"]


def public(f: dict[str, Any]) -> dict[str, Any]:
    """A field without the generator's working notes."""
    return {k: v for k, v in f.items() if not k.startswith("_")}


def check_refs(objects: list[dict[str, Any]], problems: list[str]) -> None:
    names = {o["name"] for o in objects}
    for obj in objects:
        for f in obj["fields"]:
            if f.get("ref") and f["ref"] not in names:
                problems.append(f"{obj['name']}.{f['name']} points at unknown {f['ref']}")
        for key in obj["lookup_keys"]:
            for part in key:
                if part not in {f["name"] for f in obj["fields"]}:
                    problems.append(f"{obj['name']} lookup key {key} names missing {part}")


def corrections_markdown() -> str:
    """The merge rules and the hand-written corrections, as two Markdown tables."""

    rules = [(f"`{attr}`", rule.winner, rule.reason) for attr, rule in MERGE_RULES.items()]
    everywhere = [
        ("(every object)", f"`{name}`", "writable: false", note)
        for name, note in {**READ_ONLY_EVERYWHERE, **EXPORT_FLAGS}.items()
    ]
    corrections = [
        (
            c.obj,
            f"`{c.field}`",
            ", ".join(f"{k}: {json.dumps(v)}" for k, v in c.changes.items()),
            c.note,
        )
        for c in CORRECTIONS
    ]
    lines = md_table(("attribute", "where both sources speak and differ", "reason"), rules)
    lines += ["", *md_table(("object", "field", "change", "reason"), [*everywhere, *corrections])]
    return "\n".join(lines)


# An object's lists, written one entry per line.
LISTED = ("actions", "routes", "fields")


def render(catalog: Mapping[str, Any]) -> str:
    """JSON with one object header, one action and one field per line: small and diffable."""

    def one(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    lines = ["{", f' "source": {one(catalog["source"])},', ' "objects": [']
    objects = catalog["objects"]
    for i, obj in enumerate(objects):
        head = {k: v for k, v in obj.items() if k not in LISTED}
        lines.append("  {")
        for key in sorted(head):
            lines.append(f"   {one(key)}: {one(head[key])},")
        for key in LISTED:
            items = obj[key]
            lines.append(f'   "{key}": [')
            lines.extend(
                f"    {one(item)}{',' if j < len(items) - 1 else ''}"
                for j, item in enumerate(items)
            )
            lines.append("   ]" + ("," if key != LISTED[-1] else ""))
        lines.append("  }" + ("," if i < len(objects) - 1 else ""))
    lines.extend([" ]", "}"])
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument(
        "--swagger", type=Path, default=DEFAULT_SWAGGER, help="folder of R38/ and R39/"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the output file is not up to date"
    )
    parser.add_argument(
        "--corrections",
        action="store_true",
        help="print the merge rules, corrections and required-flag certainty as Markdown "
        "(for docs/catalog.md) and exit",
    )
    args = parser.parse_args(argv)
    if args.corrections:
        print(corrections_markdown())
        print()
        print(certainty_markdown())
        return 0
    if not args.source.is_file():
        print(f"source not found: {args.source}", file=sys.stderr)
        return 2
    if not args.swagger.is_dir():
        print(f"Swagger folder not found: {args.swagger}", file=sys.stderr)
        return 2
    text = render(build(args.source, args.swagger))
    if args.check:
        return 1 if is_stale(args.output, text, "build_catalog.py") else 0
    args.output.write_text(text, encoding="utf-8")
    count = text.count('"element"')
    print(f"wrote {args.output} ({count} objects, {len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
