"""The catalog pages: Coupa's objects and their fields, searchable, and their JSON Schemas."""

from __future__ import annotations

import json
from typing import Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from coupa_connector.catalog import FieldDef, ObjectDef, json_schema, load_catalog
from coupa_connector.console._html import Markup, html, join
from coupa_connector.console._page import page
from coupa_connector.errors import CatalogError

__all__ = ["catalog_page", "object_page", "schema_json"]

_USES: tuple[Literal["query", "create", "update"], ...] = ("query", "create", "update")


def _matches(needle: str, *texts: str | None) -> bool:
    return not needle or any(needle in (t or "").lower() for t in texts)


def catalog_page(request: Request) -> Response:
    """``/catalog``: every object, filtered by a search over name, title and resource."""
    q = (request.query_params.get("q") or "").strip()
    needle = q.lower()
    objects = [
        o for o in load_catalog() if _matches(needle, o.name, o.title, o.resource, o.element)
    ]
    rows = join(
        html(
            '<tr><td><a href="/catalog/{name}">{name}</a></td><td>{title}</td><td><code>{res}'
            '</code></td><td class="num">{fields}</td><td>{actions}</td></tr>',
            name=o.name,
            title=o.title,
            res=o.resource or "(nested)",
            fields=len(o.fields),
            actions=", ".join(a.name for a in o.actions),
        )
        for o in objects
    )
    body = html(
        '<form class="filters" method="get" role="search" aria-label="Search the catalog">'
        '<label>Search <input type="search" name="q" value="{q}" placeholder="invoice, supplier, '
        '/api/users"></label> <button type="submit">Search</button></form>'
        '<p>{n} object(s)</p><div class="scroll"><table class="catalog"><thead><tr>'
        '<th scope="col">Object</th><th scope="col">Title</th><th scope="col">Resource</th>'
        '<th scope="col">Fields</th><th scope="col">Actions</th></tr></thead><tbody>{rows}'
        "</tbody></table></div>",
        q=q,
        n=len(objects),
        rows=rows,
    )
    return page("Catalog", body, section="/catalog")


def _source(fdef: FieldDef) -> str:
    """Where the field is documented (tables, Swagger, curated), its releases and corrections."""
    parts = [" + ".join(_SOURCE_NAMES.get(s, s) for s in fdef.sources) or "Coupa reference"]
    if fdef.releases:
        parts.append("/".join(fdef.releases))
    if fdef.disputed:
        parts.append("sources disagree: " + ", ".join(sorted(d.attribute for d in fdef.disputed)))
    if fdef.note:
        parts.append(f"corrected: {fdef.note}")
    return "; ".join(parts)


_SOURCE_NAMES = {"tables": "reference tables", "swagger": "Swagger", "curated": "curated"}


def _type_cell(fdef: FieldDef) -> Markup:
    if fdef.ref:
        return html('{kind} of <a href="/catalog/{ref}">{ref}</a>', kind=fdef.kind, ref=fdef.ref)
    if fdef.max_length:
        return html("{kind} (≤ {n})", kind=fdef.kind, n=fdef.max_length)
    return html("{kind}", kind=fdef.kind)


def _get(name: str) -> ObjectDef | None:
    try:
        return load_catalog().get(name)
    except CatalogError:
        return None


def object_page(request: Request) -> Response:
    """``/catalog/{name}``: an object's fields (searchable) and its three JSON Schemas."""
    obj = _get(request.path_params["name"])
    if obj is None:
        return page(
            "Not found",
            html("<p>The catalog has no object {n}.</p>", n=request.path_params["name"]),
            section="/catalog",
            status_code=404,
        )
    q = (request.query_params.get("q") or "").strip()
    needle = q.lower()
    fields = [f for f in obj.fields.values() if _matches(needle, f.name, f.description, f.kind)]
    rows = join(
        html(
            '<tr><th scope="row"><code>{name}</code></th><td>{type}</td><td>{req}</td>'
            "<td>{ro}</td><td>{allowed}</td><td>{source}</td><td>{desc}</td></tr>",
            name=f.name,
            type=_type_cell(f),
            req="required" if f.required else "",
            ro="read-only" if not f.writable else "",
            allowed=", ".join(f.allowed),
            source=_source(f),
            desc=f.description,
        )
        for f in fields
    )
    schemas = join(
        html(
            '<details><summary>JSON Schema for {use}</summary><p><a href="/catalog/{name}/schema/'
            '{use}" download="{name}-{use}.schema.json">Download</a></p><pre class="record">{s}'
            "</pre></details>",
            use=use,
            name=obj.name,
            s=json.dumps(json_schema(obj, use), indent=2),
        )
        for use in _USES
    )
    facts = html(
        '<dl class="facts"><div><dt>Resource</dt><dd><code>{res}</code></dd></div>'
        "<div><dt>XML element</dt><dd><code>{el}</code></dd></div>"
        "<div><dt>Scopes</dt><dd>{scopes}</dd></div><div><dt>Lookup keys</dt><dd>{keys}</dd></div>"
        "<div><dt>Actions</dt><dd>{actions}</dd></div></dl>",
        res=obj.resource or "(nested only)",
        el=obj.element,
        scopes=" ".join(s for s in (obj.read_scope, obj.write_scope) if s) or "–",
        keys="; ".join("+".join(k) for k in obj.lookup_keys) or "–",
        actions=", ".join(a.name for a in obj.actions) or "–",
    )
    body = html(
        '<p><a href="/catalog">All objects</a></p>{facts}'
        '<section aria-labelledby="fields-h"><h2 id="fields-h">Fields</h2>'
        '<form class="filters" method="get" role="search" aria-label="Search the fields">'
        '<label>Search fields <input type="search" name="q" value="{q}"></label> '
        '<button type="submit">Search</button></form><p>{n} of {all} field(s)</p>'
        '<div class="scroll"><table class="fields"><thead><tr><th scope="col">Field</th>'
        '<th scope="col">Type</th><th scope="col">Required</th><th scope="col">Read-only</th>'
        '<th scope="col">Allowed values</th><th scope="col">Source</th>'
        '<th scope="col">Description</th></tr></thead><tbody>{rows}</tbody></table></div>'
        '</section><section aria-labelledby="schema-h"><h2 id="schema-h">JSON Schema</h2>'
        "{schemas}</section>",
        facts=facts,
        q=q,
        n=len(fields),
        all=len(obj.fields),
        rows=rows,
        schemas=schemas,
    )
    return page(f"{obj.name}: {obj.title}", body, section="/catalog")


def schema_json(request: Request) -> Response:
    """``/catalog/{name}/schema/{use}``: the JSON Schema as a JSON document."""
    obj = _get(request.path_params["name"])
    use = request.path_params["use"]
    chosen = next((u for u in _USES if u == use), None)
    if obj is None or chosen is None:
        return JSONResponse({"error": "no such object or use"}, status_code=404)
    return JSONResponse(json_schema(obj, chosen))
