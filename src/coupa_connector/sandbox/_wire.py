"""Coupa's wire formats: content negotiation, XML and JSON rendering, request body parsing.

Records reach this module already expanded (references embedded, hyphenated keys, Coupa's
value spellings: decimals as strings, datetimes as ISO 8601 strings with an offset). What the
catalog adds here is the XML ``type=`` attribute of every element and the name of the child
element of every collection.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import orjson
import xmltodict
from starlette.requests import Request
from starlette.responses import Response

from coupa_connector.catalog import Catalog, FieldDef, ObjectDef

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "BodyError",
    "WireOptions",
    "error_response",
    "parse_body",
    "parse_bulk_body",
    "render_json",
    "render_xml",
    "wants_json",
]

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
XML_MEDIA = "application/xml; charset=utf-8"
JSON_MEDIA = "application/json; charset=utf-8"

# Bodies past these limits are refused before (size) or right after (depth) parsing, so a
# hostile payload costs little and never reaches the record logic.
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 32

# Characters XML 1.0 cannot carry, not even as references: C0 controls but tab, newline and
# carriage return, lone surrogates, U+FFFE and U+FFFF. JSON takes any string, so a value
# written as JSON may hold them; XML output replaces each with U+FFFD to stay well-formed.
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
XML_REPLACEMENT = "\ufffd"

# XML type attribute per catalog kind; kinds missing here carry no attribute (plain strings).
_XML_TYPES: dict[str, str] = {
    "integer": "integer",
    "decimal": "decimal",
    "float": "float",
    "boolean": "boolean",
    "datetime": "datetime",
    "date": "date",
}


@dataclass(frozen=True, slots=True)
class WireOptions:
    """Choices where Coupa's own samples disagree ([I] in coupa-api.md 3.3).

    Attributes:
        datetime_type: The XML ``type`` of datetimes. Coupa's resource samples use
            ``datetime`` (the 2016 XML/JSON samples use ``dateTime``); clients should take both.
        array_attribute_on_nested: Whether nested collections carry ``type="array"``
            (recent samples do; some older ones omit it).
    """

    datetime_type: str = "datetime"
    array_attribute_on_nested: bool = True


DEFAULT_WIRE = WireOptions()


def wants_json(request: Request) -> bool:
    """Decide the response format from the Accept header, as Coupa does.

    No Accept, ``*/*``, ``application/xml`` and ``text/xml`` give XML; an Accept naming
    ``application/json`` (or any ``+json`` type) gives JSON.

    Args:
        request: The incoming request.

    Returns:
        True when the answer should be JSON.
    """
    accept = request.headers.get("accept", "").lower()
    if not accept:
        return False
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip()
        if media == "application/json" or media.endswith("+json"):
            return True
        if media in ("application/xml", "text/xml"):
            return False
    return False


def error_response(
    request: Request,
    status: int,
    messages: list[str],
    model: str = "base",
    headers: dict[str, str] | None = None,
) -> Response:
    """Render a Coupa error body in the format the request asked for.

    XML: ``<errors><error>msg</error>...</errors>``; JSON: ``{"errors": {model: [msgs]}}``.

    Args:
        request: The request being answered (its Accept header picks the format).
        status: HTTP status code.
        messages: The error messages, in order.
        model: The JSON key of the object at fault (``invoice_header``, ``user``...).
        headers: Extra response headers (``Retry-After`` for 429, for example).

    Returns:
        A Starlette response.
    """
    if wants_json(request):
        body = orjson.dumps({"errors": {model: list(messages)}})
        return Response(body, status_code=status, media_type=JSON_MEDIA, headers=headers)
    return Response(
        render_errors_xml(messages), status_code=status, media_type=XML_MEDIA, headers=headers
    )


def xml_text(value: str) -> str:
    """Text (or an attribute value) for XML 1.0: escaped, with unrepresentable characters
    replaced by U+FFFD."""
    return escape(_NOT_XML.sub(XML_REPLACEMENT, value), {'"': "&quot;"})


def render_errors_xml(messages: Iterable[str]) -> bytes:
    """The XML ``<errors>`` document for a list of messages."""
    inner = "".join(f"  <error>{xml_text(m)}</error>\n" for m in messages)
    return (XML_DECLARATION + f"<errors>\n{inner}</errors>\n").encode()


# ----------------------------------------------------------------------------- rendering


def render_json(data: Any) -> bytes:
    """Serialize an expanded record or list of records to Coupa JSON (no root node)."""
    return orjson.dumps(data)


def render_xml(
    catalog: Catalog,
    obj: ObjectDef,
    data: Mapping[str, Any] | list[dict[str, Any]],
    options: WireOptions = DEFAULT_WIRE,
) -> bytes:
    """Serialize an expanded record (or a list of them) to Coupa XML.

    Args:
        catalog: Supplies the field kinds of embedded objects.
        obj: The object of the record(s).
        data: One record (singular root) or a list (plural root with ``type="array"``).
        options: Spelling choices for the ambiguous parts of the format.

    Returns:
        The UTF-8 XML document.
    """
    out: list[str] = [XML_DECLARATION]
    writer = _XmlWriter(catalog, options, out)
    if isinstance(data, list):
        out.append(f'<{obj.list_element} type="array">\n')
        for record in data:
            writer.element(obj.element, obj, record, 1)
        out.append(f"</{obj.list_element}>\n")
    else:
        writer.element(obj.element, obj, data, 0)
    return "".join(out).encode()


class _XmlWriter:
    """Appends XML text for records, reading element types from the catalog."""

    __slots__ = ("catalog", "options", "out")

    def __init__(self, catalog: Catalog, options: WireOptions, out: list[str]) -> None:
        self.catalog = catalog
        self.options = options
        self.out = out

    def _child_obj(self, fd: FieldDef | None) -> ObjectDef | None:
        if fd is None or not fd.ref or fd.ref not in self.catalog:
            return None
        return self.catalog.get(fd.ref)

    def element(
        self, tag: str, obj: ObjectDef | None, record: Mapping[str, Any], depth: int
    ) -> None:
        pad = "  " * depth
        if not record:
            self.out.append(f"{pad}<{tag}/>\n")
            return
        self.out.append(f"{pad}<{tag}>\n")
        fields = obj.fields if obj is not None else {}
        for key, value in record.items():
            self.value(key, fields.get(key), value, depth + 1)
        self.out.append(f"{pad}</{tag}>\n")

    def value(self, tag: str, fd: FieldDef | None, value: Any, depth: int) -> None:
        pad = "  " * depth
        out = self.out
        if value is None:
            # Coupa's samples spell a null without its type: <approval-chain-id nil="true" />.
            out.append(f'{pad}<{tag} nil="true"/>\n')
        elif isinstance(value, list):
            child_obj = self._child_obj(fd)
            child_tag = child_obj.element if child_obj is not None else _singular(tag)
            attr = ' type="array"' if self.options.array_attribute_on_nested or depth == 0 else ""
            if not value:
                out.append(f"{pad}<{tag}{attr}/>\n")
                return
            out.append(f"{pad}<{tag}{attr}>\n")
            for item in value:
                if isinstance(item, Mapping):
                    self.element(child_tag, child_obj, item, depth + 1)
                else:
                    self.value(child_tag, None, item, depth + 1)
            out.append(f"{pad}</{tag}>\n")
        elif isinstance(value, Mapping):
            self.element(tag, self._child_obj(fd), value, depth)
        else:
            attr = self._type_attr(fd, value)
            # bool before str(): Python spells it "True", XML wants "true".
            text = (
                ("true" if value else "false") if isinstance(value, bool) else xml_text(str(value))
            )
            if text == "":
                out.append(f"{pad}<{tag}{attr}/>\n")
            else:
                out.append(f"{pad}<{tag}{attr}>{text}</{tag}>\n")

    def _type_attr(self, fd: FieldDef | None, value: Any) -> str:
        if fd is not None:
            kind = _XML_TYPES.get(fd.kind)
            if kind == "datetime":
                kind = self.options.datetime_type
        elif isinstance(value, bool):
            kind = "boolean"
        elif isinstance(value, int):
            kind = "integer"
        elif isinstance(value, float):
            kind = "float"
        else:
            kind = None
        return f' type="{kind}"' if kind else ""


def _singular(tag: str) -> str:
    if tag.endswith("ies"):
        return tag[:-3] + "y"
    if tag.endswith("ses"):
        return tag[:-2]
    if tag.endswith("s"):
        return tag[:-1]
    return tag


# ----------------------------------------------------------------------------- parsing


class BodyError(Exception):
    """A request body the sandbox refuses; ``status`` is the 4xx to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# The root element of an XML body, after any declaration and comments.
_LIST_ROOT = re.compile(rb"^(?:\s*<\?[^>]*\?>)?(?:\s*<!--.*?-->)*\s*<([A-Za-z_][\w.-]*)", re.S)


def parse_body(raw: bytes, content_type: str, obj: ObjectDef) -> dict[str, Any]:
    """Parse a create/update body into a plain dict with hyphenated keys.

    XML values stay strings except where the document says otherwise (``nil="true"`` is
    None, ``type="array"`` wrappers and collection fields become lists); typing against the
    catalog happens later, in validation, for both formats alike.

    Args:
        raw: The request body.
        content_type: The Content-Type header (JSON when it names json, XML when it names
            xml; an empty header is sniffed from the first byte).
        obj: The object the body should hold; its element name is the expected XML root.

    Returns:
        The record as a dict.

    Raises:
        BodyError: Malformed, too large, too deep, of the wrong type, or not an object.
    """
    if len(raw) > MAX_BODY_BYTES:
        raise BodyError(413, f"Request body is larger than {MAX_BODY_BYTES} bytes.")
    media = content_type.split(";", 1)[0].strip().lower()
    text_start = raw.lstrip()[:1]
    if "json" in media or (not media and text_start in (b"{", b"[")):
        return _parse_json(raw)
    if "xml" in media or (not media and text_start == b"<"):
        return _parse_xml(raw, obj)
    if media in ("", "application/x-www-form-urlencoded", "multipart/form-data") and not raw:
        return {}
    raise BodyError(
        415,
        f"Unsupported Content-Type {media or '(none)'!r}: send application/json "
        "or application/xml.",
    )


def parse_bulk_body(raw: bytes, content_type: str, obj: ObjectDef) -> list[dict[str, Any]] | None:
    """The records of a bulk create body (``<suppliers><supplier>...</supplier>...</suppliers>``
    or a JSON array of objects), or None when the body holds one record."""
    head = raw.lstrip()[:200]
    media = content_type.split(";", 1)[0].strip().lower()
    if head.startswith(b"["):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BodyError(400, f"Malformed JSON body: {exc}") from None
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise BodyError(400, "A JSON bulk body must be an array of objects.")
        _check_depth(data)
        return [_normalize_keys(d) for d in data]
    if ("xml" in media or head.startswith(b"<")) and _LIST_ROOT.search(head):
        match = _LIST_ROOT.search(head)
        assert match is not None
        if match.group(1).decode("utf-8", "replace").replace("_", "-") != obj.list_element:
            return None
        try:
            doc = xmltodict.parse(raw, disable_entities=True, force_list=(obj.element,))
        except Exception as exc:  # expat and xmltodict raise several unrelated types
            raise BodyError(400, f"Malformed XML body: {exc}") from None
        content = next(iter(doc.values())) or {}
        if not isinstance(content, dict) or set(content) - {obj.element, "@type"}:
            # A record whose root is spelled like the list (Coupa's <budget_lines> sample):
            # one record, not a list of them.
            return None
        _check_depth(content)
        items = content.get(obj.element, [])
        records = [_xml_node(item) for item in items]
        if not all(isinstance(r, dict) for r in records):
            raise BodyError(400, f"<{obj.list_element}> must hold <{obj.element}> elements.")
        return records  # type: ignore[return-value]
    return None


def _parse_json(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BodyError(400, f"Malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise BodyError(400, "The JSON body must be one object.")
    _check_depth(data)
    normalized: dict[str, Any] = _normalize_keys(data)
    return normalized


def _root_names(obj: ObjectDef) -> tuple[str, ...]:
    """The XML roots a body of the object may have: its element, model and name, and the
    elements of its Swagger definitions (a pick list is Coupa's ``<fulfillment-reservation>``,
    as its Pick Lists examples send it)."""
    definitions = (re.sub(r"(?<!^)(?=[A-Z])", "-", d).lower() for d in obj.definitions)
    return (obj.element, obj.model.replace("_", "-"), obj.name.replace("_", "-"), *definitions)


def _parse_xml(raw: bytes, obj: ObjectDef) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        # xmltodict refuses entity declarations by default (no billion laughs, no external
        # entities); the depth check below bounds everything after the parse.
        doc = xmltodict.parse(raw, disable_entities=True)
    except Exception as exc:  # expat and xmltodict raise several unrelated types
        raise BodyError(400, f"Malformed XML body: {exc}") from None
    if not isinstance(doc, dict) or len(doc) != 1:
        raise BodyError(400, "The XML body must have one root element.")
    root, content = next(iter(doc.items()))
    root_name = root.replace("_", "-")
    if root_name not in _root_names(obj):
        raise BodyError(400, f"The XML root element must be <{obj.element}>, not <{root}>.")
    _check_depth(content)
    value = _xml_node(content)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise BodyError(400, f"<{root}> must contain elements, not text.")
    return value


def _check_depth(data: Any) -> None:
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BodyError(400, f"The body is nested deeper than {MAX_DEPTH} levels.")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def _normalize_keys(data: Any) -> Any:
    if isinstance(data, dict):
        return {_key(k): _normalize_keys(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_normalize_keys(v) for v in data]
    return data


def _key(name: str) -> str:
    # ``_delete``, ``_cancel`` and ``_close`` keep their leading underscore: they are commands.
    if name.startswith("_"):
        return "_" + name[1:].replace("_", "-").lower()
    return name.replace("_", "-").lower()


def _xml_node(node: Any) -> Any:
    """Turn one xmltodict node into a plain value: dict, list, str or None."""
    if node is None:
        return None
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return [_xml_node(n) for n in node]
    attrs = {k[1:]: v for k, v in node.items() if k.startswith("@")}
    children = {k: v for k, v in node.items() if not k.startswith("@") and k != "#text"}
    if attrs.get("nil") == "true":
        return None
    if attrs.get("type") == "array":
        items: list[Any] = []
        for child in children.values():
            if isinstance(child, list):
                items.extend(_xml_node(c) for c in child)
            else:
                items.append(_xml_node(child))
        return items
    if not children:
        text = node.get("#text")
        return text if text is not None else ""
    return {_key(k): _xml_node(v) for k, v in children.items()}
