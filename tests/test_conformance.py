"""Coupa's documented examples as a conformance suite, with figures.

``tests/fixtures/coupa_conformance.json`` holds every request body, response and query that
Coupa's reference prints (``../shared/coupa-docs/samples/`` and the pages it lacks), as
``tools/extract_conformance.py`` extracts them. The suite checks that:

- every documented create and update body passes the catalog's validation with no error
  (warnings are counted: read-only fields Coupa computes, fields the catalog lacks ...);
- every documented response decodes with the client's codecs: XML values come out as Coupa's
  JSON carries them, and an answer printed in both formats decodes to the same records;
- every documented query names a resource the catalog knows, and each parameter is a field
  (through associations, with an operator) or a raw Coupa parameter;
- and, against the sandbox, which bodies it accepts (the rest are expected refusals, each with
  Coupa-compatible reason it gives today, so the list shrinks as the sandbox learns).

Where a documented body fails, the catalog (as data with a reason) or the validator is fixed,
never the fixture.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from _sandbox_api_support import Api, messages
from _shared_docs import REFERENCE, REPO, SAMPLES, needs_shared
from coupa_connector.catalog import (
    Catalog,
    ObjectDef,
    check_record,
    load_catalog,
    query_param,
)
from coupa_connector.client._wire import decode_json, decode_xml, error_messages

FIXTURE = REPO / "tests" / "fixtures" / "coupa_conformance.json"
GENERATOR = REPO / "tools" / "extract_conformance.py"


@functools.cache
def fixture() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return data


def entries(kind: str) -> list[Any]:
    return [pytest.param(e, id=e["id"]) for e in fixture()[kind]]


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


def show(capsys: pytest.CaptureFixture[str], *lines: str) -> None:
    """Print figures past pytest's capture, so that they show in every run."""
    with capsys.disabled():
        print("", *lines, sep="\n  ")


# ------------------------------------------------------------------------------ the fixture


@needs_shared(SAMPLES, REFERENCE)
def test_fixture_is_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr or "run tools/extract_conformance.py"


def test_fixture_is_deterministic_and_sourced() -> None:
    data = fixture()
    assert data["format"] == "coupa-connector conformance fixture" and data["version"] == 1
    ids = [e["id"] for kind in ("requests", "responses", "queries", "skipped") for e in data[kind]]
    assert len(ids) == len(set(ids))
    for kind in ("requests", "responses", "queries"):
        for entry in data[kind]:
            # Every example keeps where it came from: the sample file and Coupa's page.
            assert entry["url"].startswith("https://"), entry["id"]
            assert entry["source"] == "page" or entry["source"].startswith("samples/")
    assert all(e["reason"] for e in data["skipped"])


# ------------------------------------------------------------------------------ requests


def request_body(entry: dict[str, Any], cat: Catalog) -> tuple[ObjectDef, Any]:
    """The documented body as the connector reads it: XML through the client's codec."""
    obj = cat.get(entry["object"])
    if entry["format"] == "xml":
        body = decode_xml(entry["body"].encode(), obj, cat)
    else:
        body = entry["body"]
    if entry["record_in_path"] and isinstance(body, dict) and "id" not in body:
        # PUT /api/<resource>/<id>: the URL names the record, as the connector's id does.
        body = {"id": 1, **body}
    return obj, body


@pytest.mark.parametrize("entry", entries("requests"))
def test_documented_request_has_no_error(entry: dict[str, Any], cat: Catalog) -> None:
    obj, body = request_body(entry, cat)
    checked = check_record(obj, body, entry["mode"], catalog=cat)
    assert [p.message for p in checked.errors] == [], f"{entry['source']} ({entry['url']})"
    # What is sent: the documented body less the read-only fields Coupa computes.
    for path in checked.dropped:
        assert path.split(".")[0].split("[")[0] not in checked.body


# Read-only fields Coupa's examples send, which Coupa computes: dropped from the body sent.
COMPUTED = {
    ("0029/01.xml", "reorder-alerts"): "an item's reorder alerts are Coupa's (sent empty)",
    ("0062/05.xml", "external-ref-code"): "a lookup value's code is built from its parents'",
}


def test_documented_fields_are_known_and_writable_where_coupa_writes_them(cat: Catalog) -> None:
    unknown, dropped = [], set()
    for entry in fixture()["requests"]:
        checked = check_record(*request_body(entry, cat), entry["mode"], catalog=cat)
        unknown += [
            f"{entry['id']} {p.path}" for p in checked.problems if p.code == "unknown_field"
        ]
        dropped |= {(entry["id"], path) for path in checked.dropped}
    # A field Coupa documents in a body is in the catalog, as data with a reason.
    assert unknown == []
    assert dropped == set(COMPUTED)


def test_request_figures(cat: Catalog, capsys: pytest.CaptureFixture[str]) -> None:
    requests = fixture()["requests"]
    warnings: Counter[str] = Counter()
    with_warnings = 0
    errors = 0
    for entry in requests:
        obj, body = request_body(entry, cat)
        checked = check_record(obj, body, entry["mode"], catalog=cat)
        errors += len(checked.errors)
        warnings.update(p.code for p in checked.warnings)
        with_warnings += bool(checked.warnings)
    kinds = Counter(f"{e['mode']} {e['format']}" for e in requests)
    strict = sum(
        bool(check_record(*request_body(e, cat), e["mode"], validation="strict").errors)
        for e in requests
    )
    show(
        capsys,
        f"conformance requests: {len(requests)} documented bodies "
        f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}) of "
        f"{len({e['object'] for e in requests})} objects",
        f"errors: {errors}; bodies with warnings: {with_warnings}; warnings by code: "
        f"{dict(sorted(warnings.items())) or 'none'}",
        f"bodies strict validation refuses: {strict}",
    )
    assert errors == 0


# Documented bodies the command line cannot send, each with the usage error it gives:
# objects the catalog serves through no write the CLI makes.
CLI_CANNOT: dict[str, str] = {
    # POST /api/pick_lists/update_fulfillments takes the record in its body; `coupa action`
    # acts on records by id.
    "0227/02.xml": "Coupa offers no update for pick_lists",
}

_UNREACHABLE = {
    # --dry-run sends nothing, lookups included: a request here would fail the command.
    "COUPA_URL": "http://127.0.0.1:9",
    "COUPA_CLIENT_ID": "conformance",
    "COUPA_CLIENT_SECRET": "unused",
}


def cli_input(entry: dict[str, Any], cat: Catalog) -> tuple[str, str, str]:
    """(command, object, file text) of the documented body as `coupa create|update` reads
    it: an update names its record by id, as the URL does; a body that goes inside another
    record is that record's update."""
    command = "update" if entry["mode"] == "update" or entry.get("within") else "create"
    obj = cat.get(entry["path"].split("/")[2]).name if entry.get("within") else entry["object"]
    body = enclosed(entry, cat)
    if command == "update" and (entry["record_in_path"] or entry.get("within")):
        if entry["format"] == "json":
            body = {"id": 1, **body}
        else:
            body = re.sub(r"^(<[^>]+>)", r'\1<id type="integer">1</id>', body, count=1)
    return command, obj, body if entry["format"] == "xml" else json.dumps(body)


@pytest.mark.parametrize("entry", entries("requests"))
def test_documented_request_passes_a_cli_dry_run(
    entry: dict[str, Any], cat: Catalog, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from coupa_connector.cli import cli

    command, obj, text = cli_input(entry, cat)
    path = tmp_path / f"body.{entry['format']}"
    path.write_text(text, encoding="utf-8")
    done = CliRunner().invoke(
        cli, [command, obj, str(path), "--dry-run", "--summary", "json"], env=_UNREACHABLE
    )
    cannot = CLI_CANNOT.get(entry["id"])
    if cannot is not None:
        assert done.exit_code == 2 and cannot in done.output, done.output
        return
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output[done.output.index("{") :])
    assert (summary["read"], summary["valid"], summary["rejected"]) == (1, 1, 0), summary


# ------------------------------------------------------------------------------ responses

# How Coupa's JSON carries the value of each XML type (Coupa: Differences between XML and
# JSON): whole numbers and floats as numbers, decimals and datetimes as text.
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "float": (float, int),
    "boolean": (bool,),
    "decimal": (str,),
    "datetime": (str,),
    "dateTime": (str,),
    "date": (str,),
    "string": (str,),
    "symbol": (str,),
}


def decoded(entry: dict[str, Any], cat: Catalog) -> Any:
    obj = cat.get(entry["object"]) if entry["object"] else None
    if entry["format"] == "xml":
        return decode_xml(entry["body"].encode(), obj, cat)
    return decode_json(json.dumps(entry["body"]).encode())


def typed_values(element: ET.Element, value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """(path, XML type, decoded value) of every typed or nil element, walking both."""
    if element.get("nil") == "true":
        yield path, "nil", value
        return
    kind = element.get("type")
    if kind == "array" or isinstance(value, list):
        items = value if isinstance(value, list) else []
        yield path, "array", value
        for i, (child, item) in enumerate(zip(list(element), items, strict=False)):
            yield from typed_values(child, item, f"{path}[{i}]")
        return
    if len(element) and isinstance(value, dict):
        for child in element:
            if child.tag in value:
                yield from typed_values(child, value[child.tag], f"{path}.{child.tag}")
        return
    if kind in JSON_TYPES:
        yield path, kind, value


def json_shape_mismatches(entry: dict[str, Any], value: Any) -> list[str]:
    root = ET.fromstring(entry["body"].encode())
    records = value if isinstance(value, list) else [value]
    elements = list(root) if isinstance(value, list) else [root]
    out = []
    for element, record in zip(elements, records, strict=True):
        for path, kind, item in typed_values(element, record, element.tag):
            if kind == "nil":
                ok = item is None
            elif kind == "array":
                ok = isinstance(item, list)
            else:
                ok = isinstance(item, JSON_TYPES[kind]) and not (
                    kind != "boolean" and isinstance(item, bool)
                )
            if not ok:
                out.append(f"{path}: type={kind} decoded as {item!r}")
    return out


@pytest.mark.parametrize("entry", entries("responses"))
def test_documented_response_decodes(entry: dict[str, Any], cat: Catalog) -> None:
    value = decoded(entry, cat)
    if entry["many"]:
        assert isinstance(value, list) and all(isinstance(r, dict) for r in value)
    else:
        assert isinstance(value, dict)
    if entry["format"] == "xml":
        # The XML codec gives the values Coupa's JSON would carry.
        assert json_shape_mismatches(entry, value) == []


def by_id() -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in fixture()["responses"]}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


@pytest.mark.parametrize("pair", fixture()["pairs"], ids=lambda p: f"{p['xml']}+{p['json']}")
def test_both_formats_decode_to_the_same_records(pair: dict[str, str], cat: Catalog) -> None:
    xml, js = by_id()[pair["xml"]], by_id()[pair["json"]]
    if "errors" in str(xml["body"])[:20]:
        # An error answer: the same messages, whichever format (Coupa's JSON drops the period).
        assert [m.rstrip(".") for m in error_messages(xml["body"].encode(), "application/xml")] == [
            m.rstrip(".")
            for m in error_messages(json.dumps(js["body"]).encode(), "application/json")
        ]
        return
    from_xml, from_json = decoded(xml, cat), decoded(js, cat)
    common = from_xml.keys() & from_json.keys()
    assert len(common) >= len(from_json) - 1  # the page's XML elides a few fields
    if pair["same"] == "record":
        assert {k: from_xml[k] for k in common} == {k: from_json[k] for k in common}
    else:
        assert {k: shape(from_xml[k]) for k in common} == {k: shape(from_json[k]) for k in common}


def test_response_figures(cat: Catalog, capsys: pytest.CaptureFixture[str]) -> None:
    responses = fixture()["responses"]
    records = 0
    typed = 0
    unknown: Counter[str] = Counter()
    for entry in responses:
        value = decoded(entry, cat)
        rows = value if isinstance(value, list) else [value]
        records += len(rows)
        if entry["format"] == "xml":
            root = ET.fromstring(entry["body"].encode())
            elements = list(root) if isinstance(value, list) else [root]
            typed += sum(
                1 for el, row in zip(elements, rows, strict=True) for _ in typed_values(el, row, "")
            )
        if entry["object"]:
            obj = cat.get(entry["object"])
            for row in rows:
                unknown.update(f"{obj.name}.{k}" for k in row if k not in obj.fields)
    formats = Counter(e["format"] for e in responses)
    show(
        capsys,
        f"conformance responses: {len(responses)} documented answers "
        f"({formats['xml']} XML, {formats['json']} JSON) holding {records} records; "
        f"{typed} typed XML values decoded as Coupa's JSON carries them",
        f"answers in both formats: {len(fixture()['pairs'])} pairs",
        f"fields of answers the catalog lacks (an instance's own): {sorted(unknown) or 'none'}",
    )


# ------------------------------------------------------------------------------ queries


def resource_of(path: str, cat: Catalog) -> ObjectDef | None:
    """The catalog object a documented query path addresses: its last collection segment."""
    segments = [s for s in path.split("/") if s and s != "api"]
    names = [s for s in segments if not re.fullmatch(r"\d+|<[^>]*>", s)]
    return cat.get(names[-1]) if names and names[-1] in cat else None


@pytest.mark.parametrize("entry", entries("queries"))
def test_documented_query_maps_to_the_catalog(entry: dict[str, Any], cat: Catalog) -> None:
    obj = resource_of(entry["path"], cat)
    assert obj is not None and obj.resource, f"no catalog resource for {entry['path']}"
    for name, _value in entry["params"]:
        meaning = query_param(cat, obj, name)
        assert meaning.kind != "unknown", f"{name}: {meaning.reason}"


def test_query_figures(cat: Catalog, capsys: pytest.CaptureFixture[str]) -> None:
    queries = fixture()["queries"]
    kinds: Counter[str] = Counter()
    operators: Counter[str] = Counter()
    depth: Counter[int] = Counter()
    for entry in queries:
        obj = resource_of(entry["path"], cat)
        assert obj is not None
        for name, _ in entry["params"]:
            meaning = query_param(cat, obj, name)
            kinds[meaning.kind] += 1
            operators[meaning.op] += 1
            depth[len(meaning.path)] += 1
    show(
        capsys,
        f"conformance queries: {len(queries)} documented queries, "
        f"{sum(kinds.values())} parameters: {dict(sorted(kinds.items()))}",
        f"operators: {dict(sorted(operators.items()))}; "
        f"path lengths: {dict(sorted(depth.items()))}",
    )
    assert kinds["unknown"] == 0


# ------------------------------------------------------------------------------ the sandbox

# Bodies Coupa itself refuses where the suite sends them, each with the status and the
# messages of the answer, asserted exactly (400 and Rails' words, coupa-api.md 5.6 and 5.7):
# a name Coupa's tables mark unique that a record holds already. Each names the documented
# body that made the record, sent first (created, or refused the same way when the run made
# it already, so the refusal holds for a test run alone), or None for a record of the seed.
COUPA_REFUSES: dict[str, tuple[str | None, int, list[str]]] = {
    # Coupa's own Departments examples show Marketing as department 1 of the instance they
    # were written against, then create Marketing again.
    "0053/03.xml": (None, 400, ["Name has already been taken"]),
    # The CDW supplier of the create just before it (0081/10.xml) on the same page.
    "0081/12.xml": ("0081/10.xml", 400, ["Name has already been taken"]),
}

# Bodies the sandbox still refuses, each with the message it gives; a body that the sandbox
# comes to accept fails its test until it leaves this list, and one refused for another
# reason fails too.
SANDBOX_REFUSES: dict[str, str] = {}

# Records the documented bodies refer to by natural key, created when the sandbox lacks them.
REFERENCES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "account_types",
        {"name": "Ace Corporate"},
        {"name": "Ace Corporate", "currency": {"code": "USD"}},
    ),
    ("account_types", {"name": "V0070"}, {"name": "V0070", "currency": {"code": "USD"}}),
    ("commodities", {"name": "IT"}, {"name": "IT"}),
    ("lookups", {"name": "Account"}, {"name": "Account"}),
    *(
        (
            "users",
            {"login": login},
            {
                "login": login,
                "email": f"{n}@example.com",
                "firstname": login,
                "lastname": "Example",
            },
        )
        for n, login in enumerate(("msnow", "mcarlton", "Approver Name"))
    ),
]

_ID = re.compile(r"^(\d+|<[^>]*>|\{[^}]*\}|:\w+)$")


# Records an update may change: the sandbox, like Coupa, refuses changes to closed documents.
_OPEN = {"status[not_in]": "cancelled,closed,voided,abandoned", "limit": 1}


def sandbox_path(api: Api, entry: dict[str, Any], cat: Catalog) -> str:
    """The documented URL with its record ids replaced by ids of the sandbox's records; an
    update whose URL names no record (nor an action) goes to one, as the connector sends
    updates by id."""
    path = (entry.get("path") or cat.get(entry["object"]).resource or "").rstrip("/")
    segments = path.split("/")
    if (
        entry["mode"] == "update"
        and path
        and not _ID.match(segments[-1])
        and cat.get(entry["object"]).action(segments[-1]) is None
    ):
        segments.append(":id")
    out: list[str] = []
    for segment in segments:
        if _ID.match(segment):
            collection = "/".join(out)
            answer = api.get(collection, _OPEN)
            if answer.status_code != 200 or not answer.json():
                answer = api.get(collection, {"limit": 1})
            found = answer.json() if answer.status_code == 200 else []
            segment = str(found[0]["id"]) if found else segment
        out.append(segment)
    return "/".join(out)


def seed_references(api: Api) -> None:
    for resource, key, body in REFERENCES:
        answer = api.get(f"/api/{resource}", key)
        if answer.status_code == 200 and answer.json():
            continue
        created = api.post(f"/api/{resource}", body)
        assert created.status_code == 201, (resource, created.text)


def verb_of(entry: dict[str, Any], cat: Catalog) -> str:
    """The method of the documented call: the action's when the path ends in one
    (``POST /api/pick_lists/update_fulfillments``), PUT for updates and for a body that
    goes inside a record named by the path (``within``), else POST."""
    tail = (entry.get("path") or "").rstrip("/").rsplit("/", 1)[-1]
    action = cat.get(entry["object"]).action(tail) if tail and not _ID.match(tail) else None
    if action is not None:
        return action.verb
    inside_record = bool(entry.get("within")) and bool(_ID.match(tail))
    return "PUT" if entry["mode"] == "update" or inside_record else "POST"


def enclosed(entry: dict[str, Any], cat: Catalog) -> Any:
    """The documented body where the call carries it: as is, or inside the record of the
    path at ``within`` (``tax-lines[].tax-rate``: a tax rate in a new tax line of an
    invoice), in the body's own format."""
    body = entry["body"]
    within = entry.get("within")
    if not within:
        return body
    obj = cat.get(entry["path"].split("/")[2])  # /api/<resource>/:id
    *outer, key = within.split(".")
    for step in reversed(outer):
        name = step.removesuffix("[]")
        target = cat.get(obj.fields[name].ref or name)
        if entry["format"] == "json":
            body = {key: body}
            body = [body] if step.endswith("[]") else body
        else:
            body = f"<{target.element}>{body}</{target.element}>"
            kind = ' type="array"' if step.endswith("[]") else ""
            body = f"<{name}{kind}>{body}</{name}>"
        key = name
    if entry["format"] == "json":
        return {key: body}
    return f"<{obj.element}>{body}</{obj.element}>"


_BODY_ID = re.compile(r"(<id(?: [^>]*)?>)\d+(</id>)")


def sandbox_body(api: Api, entry: dict[str, Any], path: str) -> Any:
    """The documented body; where the record it updates is named by the body's own id (a
    collection action: ``update_fulfillments``), that id is one of the sandbox's records, as
    the URL's ids are."""
    body = entry["body"]
    if entry["mode"] != "update" or entry["record_in_path"]:
        return body
    collection = path.rsplit("/", 1)[0]
    found = api.get(collection, {"limit": 1})
    rid = found.json()[0]["id"] if found.status_code == 200 and found.json() else None
    if rid is None:
        return body
    if isinstance(body, dict):
        return {**body, "id": rid} if "id" in body else body
    return _BODY_ID.sub(rf"\g<1>{rid}\g<2>", body, count=1)


def send(api: Api, entry: dict[str, Any], cat: Catalog) -> httpx.Response:
    """Send one documented body where the documented call sends it."""
    path = sandbox_path(api, entry, cat)
    verb = verb_of(entry, cat)
    body = sandbox_body(api, entry, path) if verb == "POST" else enclosed(entry, cat)
    if entry["format"] == "xml":
        return (api.put_xml if verb == "PUT" else api.post_xml)(path, body)
    return (api.put if verb == "PUT" else api.post)(path, body)


def said(answer: httpx.Response) -> str:
    return "; ".join(messages(answer)) if answer.content.strip() else f"HTTP {answer.status_code}"


# What each documented body got from the sandbox in this run, for the figures.
OUTCOMES: dict[str, str] = {}


def by_request_id() -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in fixture()["requests"]}


@pytest.mark.usefixtures("pristine_data_afterwards")
@pytest.mark.parametrize("entry", entries("requests"))
def test_sandbox_accepts_documented_request(entry: dict[str, Any], api: Api, cat: Catalog) -> None:
    seed_references(api)
    refusal = COUPA_REFUSES.get(entry["id"])
    if refusal is not None and refusal[0] is not None:
        # The record the earlier documented body makes: made now if this test runs alone.
        first = send(api, by_request_id()[refusal[0]], cat)
        assert first.status_code == 201 or set(refusal[2]) <= set(messages(first)), said(first)
    answer = send(api, entry, cat)
    expected = SANDBOX_REFUSES.get(entry["id"])
    if refusal is not None:
        OUTCOMES[entry["id"]] = "refused as Coupa refuses"
        assert (answer.status_code, messages(answer)) == refusal[1:], said(answer)
        return
    if expected is None:
        OUTCOMES[entry["id"]] = "accepted"
        assert answer.status_code in (200, 201), (entry["id"], answer.text)
        return
    OUTCOMES[entry["id"]] = "refused by the sandbox"
    assert answer.status_code >= 400, f"now accepted: remove {entry['id']} from SANDBOX_REFUSES"
    assert expected in said(answer), said(answer)
    pytest.xfail(f"the sandbox refuses it: {expected}")


def test_sandbox_figures(capsys: pytest.CaptureFixture[str]) -> None:
    requests = fixture()["requests"]
    if len(OUTCOMES) < len(requests):
        pytest.skip("the figures need every documented body sent (the whole module)")
    counts = Counter(OUTCOMES[e["id"]] for e in requests)
    show(
        capsys,
        f"conformance against the sandbox: {counts['accepted']}/{len(requests)} documented "
        f"bodies accepted; {counts['refused as Coupa refuses']} refused as Coupa refuses "
        f"them ({', '.join(sorted(COUPA_REFUSES))}); {counts['refused by the sandbox']} "
        f"refused by the sandbox only ({', '.join(sorted(SANDBOX_REFUSES)) or 'none'})",
    )
    assert counts["accepted"] + counts["refused as Coupa refuses"] + counts[
        "refused by the sandbox"
    ] == len(requests)
