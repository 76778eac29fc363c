"""``coupa objects`` and ``coupa schema``: the catalog from the command line."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from coupa_connector.cli._options import complete_object, format_option
from coupa_connector.cli._tables import TABLE_FORMATS, TABLE_HELP, Column, print_rows
from coupa_connector.errors import UnknownObjectError

if TYPE_CHECKING:
    from coupa_connector.catalog import Catalog, FieldDef, ObjectDef

# Exit code for a usage error, as click uses it: a name the catalog does not know is one.
EXIT_USAGE = 2


def _catalog() -> Catalog:
    from coupa_connector.catalog import load_catalog

    return load_catalog()


def _lookup(name: str, catalog: Catalog | None = None) -> ObjectDef:
    try:
        return (catalog or _catalog()).get(name)
    except UnknownObjectError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        click.echo("Run `coupa objects` for the full list.", err=True)
        raise SystemExit(EXIT_USAGE) from None


@click.command("objects")
@format_option(TABLE_FORMATS, help=TABLE_HELP)
@click.option(
    "--resources/--all",
    "resources_only",
    default=False,
    help="Only objects with an /api path, or every object including nested ones (default).",
)
def objects(fmt: str, resources_only: bool) -> None:
    """List the Coupa objects the connector knows.

    Nested objects (invoice lines, order lines, tax lines ...) have no /api path of their
    own; they travel inside their parent.
    """
    catalog = _catalog()
    items = sorted(catalog, key=lambda o: o.name)
    if resources_only:
        items = [o for o in items if o.resource]
    if fmt == "json":
        click.echo(json.dumps([_object_summary(o) for o in items], indent=2))
        return
    # Dropped first when the width is short: the source marks, actions, element, ...
    columns = [
        Column("name", cap=30),
        Column("title", fold=True, drop=6, cap=20),
        Column("resource", drop=5, cap=30),
        Column("element", drop=3),
        Column("actions", fold=True, drop=2),
        Column("fields", drop=4, justify="right"),
        Column("supported", drop=7),
        Column("source", drop=1),
    ]
    rows = [
        (
            obj.name,
            obj.title,
            obj.resource or "(nested)",
            obj.element,
            _action_list(obj),
            str(len(obj.fields)),
            "yes" if obj.supported else "no",
            _source_label(obj.sources, obj.releases),
        )
        for obj in items
    ]
    print_rows(columns, rows, fmt=fmt, title=f"Coupa objects ({len(items)})", caption=SOURCE_LEGEND)


# Short marks for where the catalog's knowledge comes from.
SOURCE_MARKS = {"tables": "T", "swagger": "S", "curated": "C", "instance": "I"}
SOURCE_LEGEND = (
    "source: T Coupa's reference tables, S Coupa's Swagger (R38/R39, a release named when "
    "only one has it), C the connector's curated data, I the instance's own (its overlay)"
)


def _source_label(sources: tuple[str, ...], releases: tuple[str, ...]) -> str:
    marks = "+".join(mark for source, mark in SOURCE_MARKS.items() if source in sources)
    if "swagger" in sources and len(releases) == 1:
        marks += f" ({releases[0]} only)"
    return marks


def _action_list(obj: ObjectDef, most: int = 6) -> str:
    names = [a.name for a in obj.actions]
    if len(names) > most:
        return ", ".join(names[:most]) + f" (+{len(names) - most})"
    return ", ".join(names) or "-"


def _object_summary(obj: ObjectDef) -> dict[str, Any]:
    return {
        "name": obj.name,
        "title": obj.title,
        "resource": obj.resource,
        "element": obj.element,
        "list_element": obj.list_element,
        "actions": [a.name for a in obj.actions],
        "fields": len(obj.fields),
        "lookup_keys": [list(k) for k in obj.lookup_keys],
        "read_scope": obj.read_scope,
        "write_scope": obj.write_scope,
        "supported": obj.supported,
        **({"unsupported_reason": obj.unsupported_reason} if not obj.supported else {}),
        "sources": list(obj.sources),
        "releases": list(obj.releases),
        "routes": len(obj.routes),
    }


@click.command("schema")
@click.argument("object_name", metavar="OBJECT", shell_complete=complete_object)
@click.option(
    "--for",
    "use",
    type=click.Choice(["query", "create", "update"]),
    default="query",
    show_default=True,
    help="Query output, create input, or update input.",
)
@format_option(
    ["auto", "table", "tsv", "json", "json-schema"],
    help=f"{TABLE_HELP} json has the fields with their sources; json-schema a JSON Schema.",
)
@click.option(
    "--instance",
    metavar="URL",
    default=None,
    help="Add the custom and undocumented fields known of that instance (its overlay).",
)
@click.option(
    "--profile",
    "-p",
    metavar="NAME",
    default=None,
    help="Like --instance, for the instance of this connection profile.",
)
def schema(object_name: str, use: str, fmt: str, instance: str | None, profile: str | None) -> None:
    """Show the fields of OBJECT (e.g. invoices, purchase_orders, invoice-line).

    Each field says where it is documented: Coupa's reference tables (T), its Swagger (S),
    or the connector's curated data (C).

    \b
    Examples:
      coupa schema invoices
      coupa schema invoices --for create
      coupa schema invoices --format json
      coupa schema suppliers --for update --format json-schema
      coupa schema invoices --instance https://acme.coupahost.com
      coupa schema invoices --profile prod
    """
    if profile and not instance:
        from coupa_connector.cli._connection_cmds import load_config

        instance = load_config(profile).url
    catalog = _with_instance(instance) if instance else _catalog()
    obj = _lookup(object_name, catalog)
    if fmt == "json-schema":
        from coupa_connector.catalog import json_schema

        schema_json = json_schema(obj, use, catalog=catalog)  # type: ignore[arg-type]
        click.echo(json.dumps(schema_json, indent=2))
        return
    if fmt == "json":
        fields = [_field_json(f) for f in _fields_for(obj, use, catalog)]
        click.echo(json.dumps({**_object_summary(obj), "for": use, "fields": fields}, indent=2))
        return
    _print_field_table(obj, use, fmt, catalog)


def _with_instance(url: str) -> Catalog:
    """The catalog plus the overlay of the instance at ``url``, when one is saved."""
    from coupa_connector.catalog import OverlayError, load_overlay, with_overlay

    try:
        overlay = load_overlay(url, on_error="raise")
    except OverlayError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    if overlay is None:
        click.echo(f"Note: no instance overlay for {url}; showing the catalog alone.", err=True)
    return with_overlay(_catalog(), overlay)


def _fields_for(obj: ObjectDef, use: str, catalog: Catalog | None = None) -> list[FieldDef]:
    if use == "query":
        fields = [f for f in obj.fields.values() if f.readable]
    else:
        fields = [
            f for f in obj.fields.values() if f.writable or (use == "update" and f.name == "id")
        ]
    # An instance's custom fields (from its overlay) follow their wrapper, by dotted name.
    for fdef in list(fields):
        if fdef.kind == "custom-fields" and catalog is not None and fdef.ref in catalog:
            at = fields.index(fdef) + 1
            members = catalog.get(str(fdef.ref)).fields.values()
            fields[at:at] = [replace(m, name=f"{fdef.name}.{m.name}") for m in members]
    return fields


def _field_json(fdef: FieldDef) -> dict[str, Any]:
    """A field as JSON: its attributes, its sources and releases, and the facts the tables
    and Swagger disagree on."""
    out: dict[str, Any] = {
        "name": fdef.name,
        "kind": fdef.kind,
        "required": fdef.required,
        "unique": fdef.unique,
        "writable": fdef.writable,
        "readable": fdef.readable,
    }
    optional = {
        "max_length": fdef.max_length,
        "allowed": list(fdef.allowed),
        "ref": fdef.ref,
        "unique_within": list(fdef.unique_within),
        "format": fdef.format,
        "description": fdef.description,
        "note": fdef.note,
    }
    out.update({k: v for k, v in optional.items() if v})
    if fdef.required and fdef.writable:
        out["required_certain"] = fdef.required_certain
        out["required_reason"] = fdef.required_reason
    out["sources"] = list(fdef.sources)
    out["releases"] = list(fdef.releases)
    if fdef.disputed:
        out["disputed"] = {
            d.attribute: {"tables": _plain(d.tables), "swagger": _plain(d.swagger)}
            for d in fdef.disputed
        }
    return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _print_field_table(obj: ObjectDef, use: str, fmt: str, catalog: Catalog | None = None) -> None:
    fields = _fields_for(obj, use, catalog)
    where = obj.resource or "nested in its parent"
    # The flags (required, in, out) stay; notes and sources go first when the width is short.
    columns = [
        Column("field", cap=30),
        Column("type", fold=True, cap=16),
        Column("required"),
        Column("unique", fold=True, drop=3),
        Column("in"),
        Column("out"),
        Column("allowed / note", fold=True, drop=2),
        Column("source", drop=1),
    ]
    rows = []
    for fdef in fields:
        required = fdef.required and fdef.writable and use == "create"
        rows.append(
            (
                fdef.name,
                _type_label(fdef),
                ("yes" if fdef.required_certain else "maybe") if required else "",
                _unique_label(fdef),
                "yes" if fdef.writable else "",
                "yes" if fdef.readable else "",
                _allowed_and_note(fdef),
                _source_label(fdef.sources, fdef.releases) + ("  !" if fdef.disputed else ""),
            )
        )
    title = f"{obj.title}  <{obj.element}>  {where}  (for {use})"
    print_rows(columns, rows, fmt=fmt, title=title, caption=_caption(obj, use))
    if not obj.supported:
        click.echo(f"Not supported: {obj.unsupported_reason}")


def _caption(obj: ObjectDef, use: str) -> str:
    keys = " or ".join(" + ".join(k) for k in obj.lookup_keys) or "id"
    parts = [f"Natural keys (for --key, and references from other objects): {keys}."]
    if use == "update":
        parts.append(f"An update finds the record by {keys}.")
    if obj.actions:
        parts.append("Actions: " + ", ".join(a.name for a in obj.actions))
    if obj.read_scope or obj.write_scope:
        parts.append(f"Scopes: {obj.read_scope or '-'} / {obj.write_scope or '-'}")
    if use == "create":
        parts.append("required: yes, Coupa refuses a record without it; maybe, it may not.")
    parts.append(f"{SOURCE_LEGEND}; ! the tables and Swagger disagree (see --format json).")
    return "\n".join(parts)


def _unique_label(fdef: FieldDef) -> str:
    if fdef.unique_within:
        return "per " + " + ".join(fdef.unique_within)
    return "yes" if fdef.unique else ""


def _type_label(fdef: FieldDef) -> str:
    if fdef.kind == "reference":
        return f"-> {fdef.ref or 'object'}"
    if fdef.kind == "collection":
        return f"[{fdef.ref or 'object'}]"
    if fdef.max_length:
        return f"{fdef.kind}({fdef.max_length})"
    return fdef.kind


def _allowed_and_note(fdef: FieldDef) -> str:
    parts = []
    if fdef.allowed:
        parts.append(", ".join(fdef.allowed))
    if fdef.note:
        parts.append(f"note: {fdef.note}")
    return "\n".join(parts)
