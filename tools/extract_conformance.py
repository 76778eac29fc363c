#!/usr/bin/env python3
"""Extract Coupa's documented requests, responses and queries into the conformance fixture.

    python tools/extract_conformance.py [--samples DIR] [--reference PATH] [--output PATH] [--check]

Coupa's API reference prints example calls: query URLs, request bodies (create and update,
XML and JSON) and the answers. ``../shared/coupa-docs/samples/<page>/NN.xml|json|txt`` holds
those of most pages, in page order, without the prose around them; ``conformance_data.py``
holds what the samples lack (examples of pages held out of ``samples/``, found on Coupa's
public documentation pages, each with its URL) and the decisions the files alone cannot
make (which call a body belongs to, bodies that are fragments or templates), each with its
reason. The output, ``tests/fixtures/coupa_conformance.json``, is what the conformance tests
(``tests/test_conformance.py``) check the connector against:

- ``requests``: create and update bodies, with the object, the mode, the format, and the body
  (XML in a normal form: no declaration, comments or indentation; JSON as parsed);
- ``responses``: answers, one record or a list, XML or JSON, for the client's codecs;
- ``pairs``: the same answer in both formats;
- ``queries``: documented GET URLs, as the resource path and the list of parameters;
- ``skipped``: every example not used, with the reason.

How a sample file is read, in page order:

- a ``.txt`` file is a URL (``https://<instance>/api/...``, ``PUT https://...``), a ``curl``
  command (its URL, method and ``--data`` body), or something else (a fragment of a body, a
  list of type names): skipped, with the reason. A URL with parameters is a query; every URL
  is also the context of the bodies that follow it;
- an ``.xml`` or ``.json`` file is a response when it is a list or carries ``created-at`` or
  ``updated-at``, otherwise a request: an update when its context URL ends with a record id
  (``/83``, ``/<supplier id>``) or it carries ``id``, otherwise a create. Its object is the
  catalog object of its root element (XML) or of its context URL (JSON).

``conformance_data.SAMPLE_DECISIONS`` overrides any of this for one file. The output is
deterministic (entries in page and file order, keys sorted); ``--check`` exits 1 when the
shipped fixture is out of date.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from catalog_text import is_stale
from conformance_data import PAGE_DECISIONS, PAGE_EXAMPLES, SAMPLE_DECISIONS, Decision
from coupa_connector.catalog import Catalog, load_catalog

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT.parent / "shared" / "coupa-docs"
DEFAULT_SAMPLES = DOCS / "samples"
DEFAULT_REFERENCE = DOCS / "resources.json"
DEFAULT_OUTPUT = ROOT / "tests" / "fixtures" / "coupa_conformance.json"
FORMAT = "coupa-connector conformance fixture"
VERSION = 1

# Where a documented URL starts: a scheme, a protocol-relative //, or an instance placeholder.
_URL_START = re.compile(
    r"(?:\b(?P<method>GET|PUT|POST|DELETE|PATCH)\s+)?(?P<url>https?://|//|<instance_url>/)"
)
_PLACEHOLDER = re.compile(r"<[^<>\n]*>")
_METHOD = re.compile(r"(?:-X|--request)\s+([A-Z]+)")
_DATA = re.compile(r"--data(?:-raw)?\s+'(.*)'\s*$", re.DOTALL)
# A record id at the end of a path: digits, or a placeholder (<supplier id>, {id}, :id).
_ID_SEGMENT = re.compile(r"^(\d+|<[^>]*>|\{[^}]*\}|:\w+|#\{[^}]*\})$")
# A JavaScript-style comment after a value (Coupa's JSON examples annotate fields with them).
_JSON_COMMENT = re.compile(r"(?m)(?<=[,\[{\s])//[^\n]*$")


@dataclass
class Context:
    """The last URL of a page: the call the next bodies belong to."""

    method: str | None
    path: str


class Extractor:
    def __init__(self, catalog: Catalog, pages: Mapping[str, str]) -> None:
        self.catalog = catalog
        self.pages = pages  # sample folder -> its documentation URL
        self.out: dict[str, list[dict[str, Any]]] = {
            "requests": [],
            "responses": [],
            "queries": [],
            "skipped": [],
        }
        self.pairs: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ samples

    def samples(self, folder: Path) -> None:
        for page_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            context: Context | None = None
            url = self.pages.get(page_dir.name, "")
            for path in sorted(page_dir.iterdir()):
                ident = f"{page_dir.name[:4]}/{path.name}"
                base = {"id": ident, "source": f"samples/{page_dir.name}/{path.name}", "url": url}
                text = path.read_text(encoding="utf-8", errors="replace")
                decision = SAMPLE_DECISIONS.get(ident) or PAGE_DECISIONS.get(page_dir.name[:4])
                if path.suffix == ".txt":
                    context = self.text(base, text, decision, context)
                else:
                    self.body(base, text, path.suffix[1:], decision, context)

    def text(
        self,
        base: dict[str, Any],
        text: str,
        decision: Decision | None,
        context: Context | None,
    ) -> Context | None:
        if decision is not None and decision.kind == "skip":
            self.skip(base, decision.reason)
            return context
        found = list(_urls(text))
        if not found:
            self.skip(base, "not a URL or a call: a fragment of a body or a list of values")
            return context
        data = _DATA.search(text)
        method_match = _METHOD.search(text)
        for n, (method, path) in enumerate(found):
            method = method or (method_match.group(1) if method_match else None)
            if method is None and data:
                method = "POST"
            context = Context(method, path.split("?", 1)[0])
            if "?" in path and (method in (None, "GET")):
                entry = {**base, "id": base["id"] if n == 0 else f"{base['id']}#{n + 1}"}
                self.query(entry, path, decision)
        if data and context is not None:
            self.body(
                {**base, "id": f"{base['id']}#data"}, data.group(1), "json", decision, context
            )
        return context

    def query(self, base: dict[str, Any], path: str, decision: Decision | None) -> None:
        resource, _, query = path.partition("?")
        params = [[k, v] for k, v in parse_qsl(query, keep_blank_values=True)]
        if decision is not None and decision.kind == "skip":
            self.skip(base, decision.reason)
            return
        if not params or "=" not in query or any(not k for k, _ in params):
            self.skip(base, f"not a query: {path!r} names no parameter to check")
            return
        entry = {**base, "path": resource, "params": params}
        if decision is not None and decision.reason:
            entry["note"] = decision.reason
        self.out["queries"].append(entry)

    def body(
        self,
        base: dict[str, Any],
        text: str,
        fmt: str,
        decision: Decision | None,
        context: Context | None,
    ) -> None:
        if decision is not None and decision.kind == "skip":
            self.skip(base, decision.reason)
            return
        if "#{" in text:
            self.skip(base, "a template: its #{...} placeholders stand for values")
            return
        try:
            parsed: Any = _xml(text) if fmt == "xml" else _json(text)
        except ValueError as exc:
            self.skip(base, f"not well-formed {fmt.upper()}: {exc}")
            return
        kind = decision.kind if decision is not None and decision.kind != "use" else None
        shape = _shape(parsed, fmt)
        kind = kind or ("response" if shape["response"] else "request")
        obj = (decision.object if decision else None) or self.object_of(shape["root"], context)
        entry: dict[str, Any] = {**base, "format": fmt, "object": obj}
        entry["body"] = parsed if fmt == "json" else _xml_text(parsed)
        if decision is not None and decision.reason and decision.kind != "skip":
            entry["note"] = decision.reason
        if kind == "response":
            entry["many"] = bool(shape["many"])
            self.out["responses"].append(entry)
            return
        if obj is None:
            self.skip(base, f"no catalog object for {shape['root'] or 'the body'}")
            return
        path = (decision.path if decision else "") or (context.path if context else "")
        mode = (decision.mode if decision else None) or _mode(shape, path)
        entry["mode"] = mode
        if path:
            entry["path"] = path
        if decision is not None and decision.within:
            entry["within"] = decision.within
        # An update sent to /api/<resource>/<id> names its record in the URL, not the body.
        entry["record_in_path"] = mode == "update" and _names_record(path)
        self.out["requests"].append(entry)

    def object_of(self, root: str | None, context: Context | None) -> str | None:
        if root and root in self.catalog:
            return self.catalog.get(root).name
        if context is not None:
            return self.object_of_path(context.path)
        return None

    def object_of_path(self, path: str) -> str | None:
        """The catalog object a request path addresses: its last collection segment."""
        segments = [s for s in path.split("/") if s and s != "api"]
        for segment in reversed(segments):
            if _ID_SEGMENT.match(segment):
                continue
            name = segment.replace("-", "_")
            return self.catalog.get(name).name if name in self.catalog else None
        return None

    def skip(self, base: dict[str, Any], reason: str) -> None:
        self.out["skipped"].append({**base, "reason": reason})

    # ------------------------------------------------------------------ pages

    def page_examples(self) -> None:
        for n, example in enumerate(PAGE_EXAMPLES, 1):
            base = {"id": f"page/{n:02d}", "source": "page", "url": example.url}
            if example.kind == "query":
                note = Decision("use", reason=example.note) if example.note else None
                self.query(base, _path_of(example.text), note)
                continue
            decision = Decision(
                example.kind, example.object, example.mode, example.note, path=example.path
            )
            self.body(base, example.text, example.format, decision, None)
            if example.pair_with:
                self.pairs.append(
                    {"xml": example.pair_with, "json": base["id"], "same": example.same}
                    if example.format == "json"
                    else {"xml": base["id"], "json": example.pair_with, "same": example.same}
                )

    def result(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "generator": "tools/extract_conformance.py",
            **self.out,
            "pairs": self.pairs,
        }


def _urls(text: str) -> Iterator[tuple[str | None, str]]:
    """Every (method, path-and-query) a text documents, one URL at a time.

    Placeholders keep their spaces out (``<account id>`` -> ``<account_id>``); a URL runs to
    the next URL or the end of its line, so that query values with spaces stay whole
    (``created_at[gt]='2015-04-16 22:00:00'``), while a URL without a query ends at the first
    space (``/api/suppliers. This created the supplier ...``); curl quotes end it too.
    """
    text = _PLACEHOLDER.sub(lambda m: m.group(0).replace(" ", "_"), text)
    curl = "curl " in text
    for line in _joined(text.splitlines()):
        starts = list(_URL_START.finditer(line))
        for i, match in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(line)
            begin = match.start("url")
            url = line[begin:end].strip()
            quote = line[begin - 1] if begin > 0 else ""
            if curl and quote in ("'", '"'):
                url = url.split(quote, 1)[0]  # a quoted URL (curl) ends at its quote
            url = url.rstrip("\\ ")
            if "?" not in url:
                url = url.split()[0] if url.split() else url
            path = _path_of(url)
            if path:
                yield match.group("method"), path


def _joined(lines: list[str]) -> Iterator[str]:
    """Lines with a query URL that the page wrapped put back together
    (``...?created_at[gt]='<day>`` / ``00:00:00'&...``)."""
    current = ""
    for line in lines:
        wrapped = "?" in current and line.strip() and not _URL_START.search(line)
        if wrapped and not current.rstrip().endswith("\\"):
            current = f"{current} {line.strip()}"
            continue
        if current:
            yield current
        current = line
    if current:
        yield current


def _path_of(url: str) -> str:
    """The path and query of a documented URL, without the instance and trailing prose."""
    url = url.strip().rstrip(".").rstrip("\\")
    at = url.find("/api/")
    if at < 0:
        at = url.find("/qualitycollaboration/")
    if at < 0:
        return ""
    path = url[at:]
    # A sentence's period, or a URL written "…/api/suppliers/." by the page.
    return path[:-1] if path.endswith("/.") else path.rstrip(".")


def _xml(text: str) -> ET.Element:
    try:
        return ET.fromstring(text.strip().encode())
    except ET.ParseError as exc:
        raise ValueError(str(exc)) from None


def _json(text: str) -> Any:
    try:
        return json.loads(_JSON_COMMENT.sub("", text))
    except json.JSONDecodeError as exc:
        raise ValueError(str(exc)) from None


def _xml_text(root: ET.Element) -> str:
    """An element in a normal form: no declaration, comments or indentation; the order,
    names, attributes and text of the original."""

    def clean(element: ET.Element) -> None:
        if len(element):
            element.text = None
        for child in element:
            clean(child)
            child.tail = None

    clean(root)
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)


def _shape(parsed: Any, fmt: str) -> dict[str, Any]:
    if fmt == "xml":
        names = {child.tag for child in parsed}
        many = parsed.get("type") == "array" or (
            len(parsed) > 1 and len(names) == 1 and not {"created-at", "id"} & names
        )
        stamped = bool({"created-at", "updated-at"} & names)
        # Coupa types the ids it answers with; request bodies carry bare ones (<id>195</id>).
        typed_id = any(c.tag == "id" and c.get("type") == "integer" for c in parsed)
        return {
            "root": parsed.tag,
            "many": many,
            "response": many or stamped or typed_id or parsed.tag == "errors",
            "id": "id" in names,
        }
    many = isinstance(parsed, list)
    keys = set(parsed) if isinstance(parsed, dict) else set()
    stamped = bool({"created-at", "updated-at", "created_at", "updated_at"} & keys)
    return {"root": None, "many": many, "response": many or stamped, "id": "id" in keys}


def _mode(shape: Mapping[str, Any], path: str) -> str:
    return "update" if shape["id"] or _names_record(path) else "create"


def _names_record(path: str) -> bool:
    """Whether a path ends with a record id (``/83``, ``/<supplier_id>``, ``/:id``)."""
    last = path.rstrip("/").rsplit("/", 1)[-1] if path else ""
    return bool(_ID_SEGMENT.match(unquote_plus(last)))


def page_urls(reference: Path) -> dict[str, str]:
    pages = json.loads(reference.read_text(encoding="utf-8"))
    return {p["page"]: p.get("url", "") for p in pages}


def render(result: Mapping[str, Any]) -> str:
    """JSON with one entry per line: small, diffable, deterministic."""

    def one(value: Any) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    lines = ["{"]
    keys = list(result)
    for i, key in enumerate(keys):
        value = result[key]
        comma = "," if i < len(keys) - 1 else ""
        if isinstance(value, list):
            lines.append(f" {one(key)}: [")
            lines.extend(
                f"  {one(v)}{',' if j < len(value) - 1 else ''}" for j, v in enumerate(value)
            )
            lines.append(f" ]{comma}")
        else:
            lines.append(f" {one(key)}: {one(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def build(samples: Path, reference: Path) -> dict[str, Any]:
    extractor = Extractor(load_catalog(), page_urls(reference))
    extractor.samples(samples)
    extractor.page_examples()
    unused = sorted(set(SAMPLE_DECISIONS) - _seen(extractor))
    if unused:
        raise SystemExit(f"SAMPLE_DECISIONS for files that do not exist: {', '.join(unused)}")
    return extractor.result()


def _seen(extractor: Extractor) -> set[str]:
    return {e["id"].split("#", 1)[0] for entries in extractor.out.values() for e in entries}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the output is not up to date"
    )
    args = parser.parse_args(argv)
    for needed in (args.samples, args.reference):
        if not needed.exists():
            print(f"not found: {needed}", file=sys.stderr)
            return 2
    text = render(build(args.samples, args.reference))
    if args.check:
        return 1 if is_stale(args.output, text, "extract_conformance.py") else 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    result = json.loads(text)
    counts = ", ".join(
        f"{len(result[k])} {k}" for k in ("requests", "responses", "queries", "pairs", "skipped")
    )
    print(f"wrote {args.output} ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
