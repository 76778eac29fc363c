"""Discovery end to end: ``coupa discover`` reads a sample of the sandbox's records, writes
the instance's overlay, and from then on queries on a custom field and creates carrying one
are validated against it; without an overlay both still work, with a warning."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _write_support import (
    config_for,
    find,
    invoice,
    invoice_refs,
    invoke_cli,
    run_writes,
    tag,
    write_jsonl,
)
from coupa_connector import AuthenticationError, Connection, WriteOutcome
from coupa_connector.catalog import load_overlay, overlay_path, read_overlay
from coupa_connector.sandbox import Sandbox


@pytest.fixture(scope="module")
def own_sandbox() -> Iterator[Sandbox]:
    # Discovery samples the newest records: other tests' creates must not be those.
    with Sandbox() as server:
        yield server


@pytest.fixture
def sandbox(own_sandbox: Sandbox) -> Sandbox:
    return own_sandbox


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache directory of this test's own: the overlay it writes goes with it."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder


def _seeded_code(sandbox: Sandbox) -> str:
    with_code = [r for r in find(sandbox, "invoices") if (r.get("custom-fields") or {})]
    return str(with_code[0]["custom-fields"]["project-code"])


def test_discover_writes_the_overlay_of_the_instance(sandbox: Sandbox, cache: Path) -> None:
    outcome = invoke_cli(sandbox, ["discover", "--objects", "invoices,purchase_orders"])
    assert outcome.exit_code == 0, outcome.output
    path = overlay_path(sandbox.url)
    assert path.is_relative_to(cache) and path.is_file()
    assert str(path) in outcome.stderr
    overlay = read_overlay(path, expect=sandbox.url)
    invoices = {f.name: f for f in overlay.fields("invoices")}
    assert {"project-code", "cost-center"} <= set(invoices)
    assert invoices["project-code"].places == ("custom-fields",)
    assert invoices["project-code"].custom and invoices["project-code"].kind == "string"
    assert "project-code" in {f.name for f in overlay.fields("purchase_orders")}
    assert "project-code" in outcome.output and "invoices" in outcome.output
    # The same knowledge saved twice gives the same bytes.
    before = path.read_bytes()
    assert invoke_cli(sandbox, ["discover", "--objects", "invoices,purchase_orders"]).exit_code == 0
    assert path.read_bytes() == before


def test_a_query_on_a_custom_field_is_checked_after_discovery(
    sandbox: Sandbox, cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    code = _seeded_code(sandbox)
    expected = sorted(
        r["id"]
        for r in find(sandbox, "invoices")
        if (r.get("custom-fields") or {}).get("project-code") == code
    )
    args = ["query", "invoices", "--where", f"project-code~{code}", "--fields", "id"]

    def run_query(*extra: str) -> tuple[Any, list[str]]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="coupa_connector.query"):
            outcome = invoke_cli(sandbox, [*args, *extra])
        return outcome, [r.getMessage() for r in caplog.records]

    # Without an overlay: sent with a warning, and it works.
    outcome, warned = run_query()
    assert outcome.exit_code == 0, outcome.output
    assert sorted(json.loads(line)["id"] for line in outcome.stdout.splitlines()) == expected
    assert len(warned) == 1 and "no field 'project-code'" in warned[0]
    strict, _ = run_query("--strict")
    assert strict.exit_code == 2
    # After discovery: known, no warning, and --strict takes it.
    assert invoke_cli(sandbox, ["discover", "--objects", "invoices"]).exit_code == 0
    outcome, warned = run_query("--strict")
    assert outcome.exit_code == 0, outcome.output
    assert sorted(json.loads(line)["id"] for line in outcome.stdout.splitlines()) == expected
    assert warned == []
    # A custom field the instance does not have is still only a warning without --strict.
    unknown, _ = run_query("--where", "project-cod=1", "--strict")
    assert unknown.exit_code == 2 and "Did you mean: project-code" in unknown.stderr


def test_a_create_carrying_a_custom_field_is_validated_against_the_overlay(
    sandbox: Sandbox, cache: Path, tmp_path: Path
) -> None:
    refs = invoice_refs(sandbox)
    t = tag()
    record = invoice(refs, f"CF-{t}-1", lines=1) | {"custom-fields": {"project-code": f"P-{t}"}}
    path = write_jsonl(tmp_path / "in.jsonl", [record])
    results = tmp_path / "results.jsonl"
    args = ["create", "invoices", str(path), "--results", str(results), "--summary", "json"]
    # Without an overlay: created, with a warning naming the custom field.
    first = invoke_cli(sandbox, args)
    assert first.exit_code == 0, first.output
    [row] = [json.loads(line) for line in results.read_text().splitlines()]
    assert row["outcome"] == "created"
    assert [w for w in row["warnings"] if "custom-fields.project-code" in w]
    stored = find(sandbox, "invoices", **{"invoice-number": f"CF-{t}-1"})
    assert stored[0]["custom-fields"]["project-code"] == f"P-{t}"
    # After discovery: created, no warning.
    assert invoke_cli(sandbox, ["discover", "--objects", "invoices"]).exit_code == 0
    second = write_jsonl(
        tmp_path / "in2.jsonl",
        [invoice(refs, f"CF-{t}-2", lines=1) | {"custom-fields": {"project-code": f"Q-{t}"}}],
    )
    again = invoke_cli(sandbox, ["create", "invoices", str(second), "--summary", "json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.output[again.output.index("{") :])
    assert (summary["created"], summary["warned"]) == (1, 0)
    # A custom field the overlay does not list is a warning; its type is a hint only.
    odd = invoice(refs, f"CF-{t}-3", lines=1) | {"custom-fields": {"project-kode": "x"}}
    [result], _ = run_writes(sandbox, lambda c: c.create("invoices", [odd]), concurrency=2)
    assert result.outcome is WriteOutcome.CREATED
    assert result.warnings and "Did you mean: project-code" in result.warnings[0]


def test_connection_discover_saves_and_uses_the_overlay(sandbox: Sandbox, cache: Path) -> None:
    with Connection(config_for(sandbox)) as conn:
        assert "invoices:custom-fields" not in conn.catalog
        report = conn.discover(["invoices"], sample=5)
        assert report.path == overlay_path(sandbox.url)
        [item] = report.objects
        assert (item.object, item.sampled, item.error) == ("invoices", 5, None)
        holder = conn.catalog.get("invoices:custom-fields")
        assert "project-code" in holder.fields
        assert holder.fields["project-code"].sources == ("instance",)
    # A new connection to the same instance finds the saved overlay by itself.
    with Connection(config_for(sandbox)) as conn:
        assert "invoices:custom-fields" in conn.catalog
    saved = load_overlay(sandbox.url)
    assert saved is not None and saved.fields("invoices")


def test_discovery_keeps_what_it_did_not_read_again(sandbox: Sandbox, cache: Path) -> None:
    with Connection(config_for(sandbox)) as conn:
        conn.discover(["purchase_orders"], sample=5)
        conn.discover(["invoices"], sample=5)
    saved = load_overlay(sandbox.url)
    assert saved is not None
    assert saved.fields("purchase_orders") and saved.fields("invoices")


def test_schema_and_json_schema_show_the_discovered_fields(sandbox: Sandbox, cache: Path) -> None:
    assert invoke_cli(sandbox, ["discover", "--objects", "invoices"]).exit_code == 0
    table = invoke_cli(sandbox, ["schema", "invoices", "--instance", sandbox.url])
    assert table.exit_code == 0 and "project-code" in table.output
    shown = invoke_cli(
        sandbox, ["schema", "invoices", "--instance", sandbox.url, "--format", "json-schema"]
    )
    custom = json.loads(shown.output)["properties"]["custom-fields"]["properties"]
    assert {"type": "string"} in custom["project-code"]["anyOf"]


def test_discover_refuses_what_it_cannot_sample(sandbox: Sandbox, cache: Path) -> None:
    unknown = invoke_cli(sandbox, ["discover", "--objects", "invoicez"])
    assert unknown.exit_code == 2 and "invoicez" in unknown.output
    nested = invoke_cli(sandbox, ["discover", "--objects", "invoice-line"])
    assert nested.exit_code == 2 and "cannot be queried" in nested.output
    assert not overlay_path(sandbox.url).exists()


def test_discover_and_schema_take_a_profile(
    sandbox: Sandbox, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "config.toml"
    file.write_text(
        "[profiles.sb]\n"
        f'url = "{sandbox.url}"\n'
        f'client_id = "{sandbox.client_id}"\n'
        'client_secret_env = "SB_SECRET"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("COUPA_CONFIG_FILE", str(file))
    monkeypatch.setenv("SB_SECRET", sandbox.client_secret)
    found = invoke_cli(sandbox, ["discover", "--profile", "sb", "--objects", "invoices"])
    assert found.exit_code == 0, found.output
    shown = invoke_cli(sandbox, ["schema", "invoices", "--profile", "sb", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    names = {f["name"] for f in json.loads(shown.output)["fields"]}
    assert "custom-fields.project-code" in names


def test_discover_of_every_object_skips_what_the_connection_cannot_read(
    sandbox: Sandbox, cache: Path
) -> None:
    outcome = invoke_cli(sandbox, ["discover", "--sample", "5", "--format", "json"])
    assert outcome.exit_code == 0, outcome.output
    saved = load_overlay(sandbox.url)
    assert saved is not None and saved.fields("invoices") and saved.fields("purchase_orders")
    # A client without a scope gets a 403 for the object: skipped, the others read.
    narrow = config_for(sandbox, scopes=("core.invoice.read",))
    with Connection(narrow) as conn:
        report = conn.discover(["invoices", "suppliers"], sample=5, save=False)
    invoices, suppliers = report.objects
    assert invoices.error is None and invoices.fields
    assert suppliers.unavailable and suppliers.error and "403" in suppliers.error
    assert report.path is None


def test_refused_credentials_stop_discovery_and_save_nothing(sandbox: Sandbox, cache: Path) -> None:
    wrong = config_for(sandbox, client_secret="not-the-secret")
    with Connection(wrong) as conn, pytest.raises(AuthenticationError):
        conn.discover(["invoices", "suppliers", "purchase_orders"], sample=5)
    assert not overlay_path(sandbox.url).exists()


def test_erp_ref_end_to_end_custom_and_legacy_fields(
    sandbox: Sandbox, cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    refs = invoice_refs(sandbox)
    t = tag()
    record = invoice(refs, f"ER-{t}", lines=1) | {
        "custom-fields": {"erp-ref": f"X{t}-1"},
        "erp-batch": f"B{t}",  # a legacy custom field: a top-level element
    }
    path = write_jsonl(tmp_path / "in.jsonl", [record])
    results = tmp_path / "results.jsonl"
    create = ["create", "invoices", str(path), "--results", str(results)]
    # Without an overlay the create works, with a warning for each of the two fields.
    assert invoke_cli(sandbox, create).exit_code == 0
    [row] = [json.loads(line) for line in results.read_text().splitlines()]
    assert row["outcome"] == "created" and len(row["warnings"]) == 2
    query = ["query", "invoices", "--where", f"erp-ref~X{t}", "--fields", "id,erp-batch"]
    with caplog.at_level(logging.WARNING, logger="coupa_connector.query"):
        first = invoke_cli(sandbox, query)
    assert first.exit_code == 0, first.output
    assert [json.loads(line)["id"] for line in first.stdout.splitlines()] == [row["id"]]
    assert any("erp-ref" in r.getMessage() for r in caplog.records)
    # Discovery sees both, each where Coupa serves it.
    assert invoke_cli(sandbox, ["discover", "--objects", "invoices"]).exit_code == 0
    saved = load_overlay(sandbox.url)
    assert saved is not None
    found = {f.name: f.places for f in saved.fields("invoices")}
    assert found["erp-ref"] == ("custom-fields",) and found["erp-batch"] == ("top-level",)
    # Now both are known: the query passes --strict, the create has no warning.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="coupa_connector.query"):
        second = invoke_cli(sandbox, [*query, "--strict"])
    assert second.exit_code == 0, second.output
    [got] = [json.loads(line) for line in second.stdout.splitlines()]
    assert got == {"id": row["id"], "erp-batch": f"B{t}"}
    assert not [r for r in caplog.records if "erp-ref" in r.getMessage()]
    again = write_jsonl(
        tmp_path / "in2.jsonl",
        [invoice(refs, f"ER-{t}-2", lines=1) | {"custom-fields": {"erp-ref": f"X{t}-2"}}],
    )
    known = invoke_cli(sandbox, ["create", "invoices", str(again), "--summary", "json"])
    summary = json.loads(known.output[known.output.index("{") :])
    assert (summary["created"], summary["warned"]) == (1, 0)
