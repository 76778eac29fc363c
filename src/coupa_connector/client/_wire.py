"""Wire codecs: Coupa JSON and XML to plain records and back.

Both formats decode to the same Python records: dicts with Coupa's hyphenated keys, integers
as ``int``, decimals as strings (as Coupa's JSON sends them), booleans as ``bool``, datetimes as
ISO strings, nulls as ``None`` and collections as lists. In XML the ``type=`` attributes drive
the coercion; where an element has none, the catalog's field kinds do, and the catalog also
says which elements are lists (Coupa's older payloads drop ``type="array"``).

XML parsing refuses DTDs and entity declarations outright, so neither entity expansion
("billion laughs") nor external entities can happen. Both decoders refuse bodies nested
deeper than ``MAX_DEPTH`` levels (see ``_depth``) before anything recurses into them.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any, Literal
from xml.parsers.expat import ExpatError
from xml.sax.saxutils import escape, quoteattr

import orjson
import xmltodict

from coupa_connector.catalog import Catalog, FieldDef, ObjectDef
from coupa_connector.client._depth import MAX_DEPTH, XmlTooDeep, depth_limited_expat, json_too_deep
from coupa_connector.errors import TransportError

WireFormat = Literal["json", "xml"]

CONTENT_TYPES: dict[str, str] = {"json": "application/json", "xml": "application/xml"}
NO_RESULTS = "No results match your search criteria."

_TRUE = frozenset({"true", "1", "yes"})


class DecodeError(TransportError):
    """A body that is not valid JSON or safe XML."""

    retryable_by_default = False


def too_deep(what: str) -> DecodeError:
    """The error for a body nested deeper than ``MAX_DEPTH``."""
    return DecodeError(
        f"Coupa sent {what} body nested more than {MAX_DEPTH} levels deep; refusing it (Coupa's "
        "records nest about ten levels, so the server or something on the way is broken)."
    )


# ------------------------------------------------------------------------------- encoding


def _json_default(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        return str(value)  # Coupa's JSON carries decimals as strings
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot send a {type(value).__name__} to Coupa")


def encode_json(body: Any) -> bytes:
    """Encode a record (or anything JSON-able) for Coupa's JSON API."""
    try:
        return orjson.dumps(body, default=_json_default)
    except TypeError as exc:
        raise TypeError(f"request body cannot be encoded as JSON: {exc}") from None


def _scalar_xml(value: object) -> tuple[str, str | None]:
    """Text and ``type=`` attribute of one scalar."""
    if isinstance(value, bool):
        return ("true" if value else "false"), "boolean"
    if isinstance(value, int):
        return str(value), "integer"
    if isinstance(value, decimal.Decimal):
        return str(value), "decimal"
    if isinstance(value, float):
        return repr(value), "float"
    if isinstance(value, dt.datetime):
        return value.isoformat(), "dateTime"
    if isinstance(value, dt.date):
        return value.isoformat(), "date"
    return str(value), None


def _child_element(name: str, fdef: FieldDef | None, catalog: Catalog | None) -> str:
    if fdef is not None and fdef.ref and catalog is not None and fdef.ref in catalog:
        return catalog.get(fdef.ref).element
    return name[:-1] if name.endswith("s") else name


def _xml_node(
    out: list[str], name: str, value: object, obj: ObjectDef | None, catalog: Catalog | None
) -> None:
    fdef = obj.fields.get(name) if obj is not None else None
    child_obj = (
        catalog.get(fdef.ref)
        if fdef is not None and fdef.ref and catalog is not None and fdef.ref in catalog
        else None
    )
    if value is None:
        out.append(f'<{name} nil="true"/>')
    elif isinstance(value, Mapping):
        out.append(f"<{name}>")
        for key, item in value.items():
            _xml_node(out, str(key), item, child_obj, catalog)
        out.append(f"</{name}>")
    elif isinstance(value, (list, tuple)):
        child = _child_element(name, fdef, catalog)
        out.append(f'<{name} type="array">')
        for item in value:
            _xml_node(out, child, item, child_obj, catalog)
        out.append(f"</{name}>")
    else:
        text, kind = _scalar_xml(value)
        attr = f" type={quoteattr(kind)}" if kind else ""
        out.append(f"<{name}{attr}>{escape(text)}</{name}>")


def record_xml(
    record: Mapping[str, Any],
    root: str,
    obj: ObjectDef | None = None,
    catalog: Catalog | None = None,
) -> str:
    """One record as a Coupa XML element (no declaration), e.g. for an XML file of records."""
    out = [f"<{root}>"]
    for key, item in record.items():
        _xml_node(out, str(key), item, obj, catalog)
    out.append(f"</{root}>")
    return "".join(out)


def encode_xml(
    body: Mapping[str, Any], root: str, obj: ObjectDef | None = None, catalog: Catalog | None = None
) -> bytes:
    """Encode one record as a Coupa XML document under ``root`` (the object's element).

    Args:
        body: The record, with Coupa field names as keys.
        root: Root element, e.g. ``invoice-header``.
        obj: The object, so nested lists get their children's element names.
        catalog: Where ``obj``'s references are looked up.
    """
    return (
        '<?xml version="1.0" encoding="UTF-8"?>' + record_xml(body, root, obj, catalog)
    ).encode()


# ------------------------------------------------------------------------------- decoding


def decode_json(content: bytes) -> Any:
    """Decode a JSON body (empty means None)."""
    if not content.strip():
        return None
    if json_too_deep(content):
        raise too_deep("a JSON")
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"Coupa sent a body that is not valid JSON ({exc}).") from None


def _check_xml_safe(content: bytes) -> None:
    head = content.lstrip()[:4096].upper()
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in head:
        raise DecodeError("Refusing an XML body with a DTD or entity declarations.")


_DEPTH_LIMITED = depth_limited_expat()


def parse_xml(content: bytes) -> dict[str, Any]:
    """Parse XML into xmltodict's raw tree, refusing DTDs and entities."""
    _check_xml_safe(content)
    try:
        tree = xmltodict.parse(content, disable_entities=True, expat=_DEPTH_LIMITED)
    except XmlTooDeep:
        raise too_deep("an XML") from None
    except (ExpatError, ValueError) as exc:
        raise DecodeError(f"Coupa sent a body that is not valid XML ({exc}).") from None
    if not isinstance(tree, dict) or len(tree) != 1:
        raise DecodeError("Coupa sent an XML body without a single root element.")
    return tree


def _coerce(text: str, kind: str | None) -> Any:
    if kind in ("integer", "int"):
        try:
            return int(text)
        except ValueError:
            return text
    if kind == "boolean":
        return text.strip().lower() in _TRUE
    if kind == "float":
        try:
            return float(text)  # a JSON number, as Coupa's JSON sends floats
        except ValueError:
            return text
    # decimal stays text: Coupa's JSON sends money and quantities as strings, and text keeps
    # the exact digits. datetime, date, symbol and string are text too.
    return text


def _scalar_kind(fdef: FieldDef | None) -> str | None:
    if fdef is None:
        return None
    return {"integer": "integer", "boolean": "boolean", "float": "float"}.get(fdef.kind)


class _Decoder:
    def __init__(self, catalog: Catalog | None) -> None:
        self.catalog = catalog

    def ref(self, fdef: FieldDef | None) -> ObjectDef | None:
        if fdef is None or not fdef.ref or self.catalog is None or fdef.ref not in self.catalog:
            return None
        return self.catalog.get(fdef.ref)

    def value(self, node: Any, fdef: FieldDef | None, obj: ObjectDef | None) -> Any:
        kind = fdef.kind if fdef is not None else None
        if node is None:
            if kind == "collection":
                return []
            if kind in ("string", "text", None):
                return ""
            return {} if kind == "custom-fields" else None
        if isinstance(node, str):
            return [] if kind == "collection" else _coerce(node, _scalar_kind(fdef))
        if isinstance(node, list):
            return [self.value(item, fdef, obj) for item in node]
        attrs = {k[1:]: v for k, v in node.items() if k.startswith("@")}
        children = {k: v for k, v in node.items() if not k.startswith("@") and k != "#text"}
        text = node.get("#text")
        if attrs.get("nil") == "true":
            return None
        if attrs.get("type") == "array" or kind == "collection":
            return self.items(children, self.ref(fdef))
        if children:
            if kind == "custom-fields":
                return {k: self.value(v, None, None) for k, v in children.items()}
            return self.record(children, self.ref(fdef))
        if text is None:
            return "" if attrs.get("type") in (None, "string", "symbol") else None
        return _coerce(text, attrs.get("type") or _scalar_kind(fdef))

    def items(self, children: Mapping[str, Any], obj: ObjectDef | None) -> list[Any]:
        out: list[Any] = []
        for child in children.values():
            for item in child if isinstance(child, list) else [child]:
                grandchildren = self._children(item) if isinstance(item, dict) else {}
                if grandchildren:
                    out.append(self.record(grandchildren, obj))
                elif item is None and obj is not None:
                    out.append({})
                else:
                    out.append(self.value(item, None, None))  # a scalar list item
        return out

    @staticmethod
    def _children(node: Mapping[str, Any] | None) -> dict[str, Any]:
        if node is None:
            return {}
        return {k: v for k, v in node.items() if not k.startswith("@") and k != "#text"}

    def record(self, children: Mapping[str, Any], obj: ObjectDef | None) -> dict[str, Any]:
        fields = obj.fields if obj is not None else {}
        return {key: self.value(value, fields.get(key), obj) for key, value in children.items()}


def decode_xml(content: bytes, obj: ObjectDef | None = None, catalog: Catalog | None = None) -> Any:
    """Decode a Coupa XML body into a record, a list of records, or None.

    Args:
        content: The body.
        obj: The object the body holds, if known; otherwise it is found by root element.
        catalog: Field kinds for coercion and list detection.

    Returns:
        A dict for one record, a list for a collection, None for an empty body. An
        ``<errors>`` body comes back as ``{"errors": [messages]}``.
    """
    if not content.strip():
        return None
    tree = parse_xml(content)
    root, node = next(iter(tree.items()))
    if root == "errors":
        return {"errors": error_messages_from_tree(node)}
    decoder = _Decoder(catalog)
    if obj is None and catalog is not None and root in catalog:
        obj = catalog.get(root)
    attrs = node if isinstance(node, dict) else {}
    is_list = attrs.get("@type") == "array" or (obj is not None and root == obj.list_element)
    if is_list:
        return decoder.items(_Decoder._children(attrs), obj)
    if node is None:
        return {}
    if isinstance(node, str):
        return node
    return decoder.record(_Decoder._children(node), obj)


def error_messages_from_tree(node: Any) -> list[str]:
    """Collect the ``<error>`` texts under an ``<errors>`` node."""
    if node is None or isinstance(node, str):
        return [node.strip()] if isinstance(node, str) and node.strip() else []
    messages: list[str] = []
    for key, value in node.items():
        if key.startswith("@"):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                text = item.get("#text")
                if text:
                    messages.append(str(text).strip())
                else:
                    messages.extend(error_messages_from_tree(item))
            elif item:
                messages.append(str(item).strip())
    return messages


def _json_messages(data: Any) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, list):
        return [m for item in data for m in _json_messages(item)]
    if isinstance(data, dict):
        out: list[str] = []
        for key, value in data.items():
            if key == "warnings":
                continue  # warnings do not explain a failure
            out.extend(_json_messages(value))
        return out
    return [] if data is None else [str(data)]


MESSAGE_CHARS = 2000


def error_messages(content: bytes, content_type: str = "") -> list[str]:
    """Coupa's error messages from an error body, whichever format it came in.

    Handles ``<errors><error>..</error></errors>``, ``{"errors": {"model": [..]}}``,
    ``{"errors": [..]}``, OAuth's ``{"error": .., "error_description": ..}`` and plain text.
    Each message is cut at ``MESSAGE_CHARS``: they end up in one-line error messages.
    """
    return [
        m if len(m) <= MESSAGE_CHARS else f"{m[:MESSAGE_CHARS]}... [{len(m)} characters]"
        for m in _error_messages(content, content_type)
    ]


def _error_messages(content: bytes, content_type: str) -> list[str]:
    text = content.strip()
    if not text or "html" in content_type:
        return []  # an empty body, or a proxy's error page: nothing Coupa said
    try:
        if text.startswith(b"<"):
            root, node = next(iter(parse_xml(text).items()))
            if root == "errors":
                return error_messages_from_tree(node)
            return error_messages_from_tree(node) if isinstance(node, dict) else []
        if text[:1] in (b"{", b"[") and not json_too_deep(text):
            data = orjson.loads(text)
            if isinstance(data, dict):
                if "errors" in data:
                    return _json_messages(data["errors"])
                if "error" in data:
                    parts = [str(data["error"])]
                    if data.get("error_description"):
                        parts.append(str(data["error_description"]))
                    return [": ".join(parts)]
            return _json_messages(data)
    except (DecodeError, orjson.JSONDecodeError):
        pass
    return [text[:500].decode("utf-8", "replace")]


def decode(
    content: bytes,
    content_type: str,
    obj: ObjectDef | None = None,
    catalog: Catalog | None = None,
) -> Any:
    """Decode a success body by its content type (XML when it says so or looks like it)."""
    ctype = content_type.lower()
    stripped = content.lstrip()
    if "xml" in ctype or (not ctype and stripped.startswith(b"<")):
        return decode_xml(content, obj, catalog)
    return decode_json(content)
