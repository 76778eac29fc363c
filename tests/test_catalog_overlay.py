"""Instance overlays: each instance's own fields, kept per instance URL, and the catalog view
that validation, JSON Schema, query parameters and ``coupa schema`` take."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from coupa_connector import (
    InstanceField,
    Overlay,
    OverlayError,
    check_record,
    json_schema,
    load_overlay,
    save_overlay,
    with_overlay,
)
from coupa_connector.catalog import (
    instance_url,
    load_catalog,
    observe_records,
    overlay_path,
    query_param,
    read_overlay,
)

URL = "https://acme.coupahost.com"


def acme() -> Overlay:
    return Overlay.build(
        URL,
        {
            "invoices": [
                InstanceField("erp-ref", "string", ("custom-fields",), custom=True, max_length=10),
                InstanceField("approved-amount", "decimal", ("custom-fields",), custom=True),
                InstanceField("legacy-code", "string", ("top-level",)),
            ],
            "no_such_object": [InstanceField("x", "string", ("top-level",))],
        },
    )


# ------------------------------------------------------------------ the instance's name


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("https://acme.coupahost.com", URL),
        ("acme.coupahost.com", URL),
        ("https://user:secret@Acme.CoupaHost.com:443/api/invoices?x=1#y", URL),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://acme.coupahost.com:8443", "https://acme.coupahost.com:8443"),
    ],
)
def test_instance_urls_have_one_normal_form_without_credentials(given: str, normal: str) -> None:
    assert instance_url(given) == normal


def test_the_file_is_named_after_the_instance_in_the_cache_dir(tmp_path: Path) -> None:
    path = overlay_path("https://user:secret@acme.coupahost.com/api", tmp_path)
    assert path == tmp_path / "overlays" / "acme.coupahost.com.json"
    assert overlay_path("http://127.0.0.1:8080", tmp_path).name == "http_127.0.0.1_8080.json"
    with pytest.raises(OverlayError, match="host"):
        overlay_path("https://", tmp_path)


def test_the_default_cache_dir_is_the_users(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert overlay_path(URL).is_relative_to(tmp_path)


# ------------------------------------------------------------------ the file


def test_save_and_load_round_trip_deterministically(tmp_path: Path) -> None:
    overlay = acme()
    path = save_overlay(overlay, cache_dir=tmp_path)
    first = path.read_bytes()
    assert load_overlay(URL, cache_dir=tmp_path) == overlay
    save_overlay(Overlay.from_dict(json.loads(first)), cache_dir=tmp_path)
    assert path.read_bytes() == first
    data = json.loads(first)
    assert (data["format"], data["version"], data["instance"]) == (
        "coupa-connector instance overlay",
        1,
        URL,
    )
    # Fields sorted by name, one per line; defaults left out.
    assert [f["name"] for f in data["objects"]["invoices"]] == [
        "approved-amount",
        "erp-ref",
        "legacy-code",
    ]
    assert data["objects"]["invoices"][2] == {
        "kind": "string",
        "name": "legacy-code",
        "places": ["top-level"],
    }
    assert not list(path.parent.glob("*.part"))


def test_no_overlay_is_none(tmp_path: Path) -> None:
    assert load_overlay(URL, cache_dir=tmp_path) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "is not valid JSON"),
        ('{"format": "something else"}', "is not a coupa-connector instance overlay"),
        (
            '{"format": "coupa-connector instance overlay", "version": 2, "instance": "x", '
            '"objects": {}}',
            "has format version 2",
        ),
        (
            '{"format": "coupa-connector instance overlay", "version": 1, '
            '"instance": "https://other.coupahost.com", "objects": {}}',
            "is the overlay of https://other.coupahost.com",
        ),
        (
            '{"format": "coupa-connector instance overlay", "version": 1, '
            '"instance": "https://acme.coupahost.com", '
            '"objects": {"invoices": [{"name": "x", "kind": "blob", "places": ["top-level"]}]}}',
            "kind 'blob' is not one of",
        ),
    ],
)
def test_a_corrupt_file_is_a_clear_error_or_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, reason: str
) -> None:
    path = overlay_path(URL, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(OverlayError, match=reason) as raised:
        load_overlay(URL, cache_dir=tmp_path, on_error="raise")
    assert str(path) in raised.value.message
    with caplog.at_level(logging.WARNING, logger="coupa_connector"):
        assert load_overlay(URL, cache_dir=tmp_path) is None
    assert "ignoring the instance overlay" in caplog.text and reason in caplog.text


def test_an_unwritable_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "overlays"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(OverlayError, match="cannot write"):
        save_overlay(acme(), cache_dir=tmp_path)


def test_merge_unites_fields_and_widens_kinds() -> None:
    seen = Overlay.build(URL, {"invoices": [InstanceField("erp-ref", "integer", ("top-level",))]})
    more = Overlay.build(
        URL,
        {
            "invoices": [InstanceField("erp-ref", "decimal", ("custom-fields",), custom=True)],
            "suppliers": [InstanceField("rating", "integer", ("custom-fields",))],
        },
    )
    merged = seen.merge(more)
    [field] = merged.fields("invoices")
    assert (field.kind, field.places, field.custom) == (
        "decimal",
        ("custom-fields", "top-level"),
        True,
    )
    assert merged.fields("suppliers")[0].name == "rating"
    with pytest.raises(OverlayError, match="Cannot merge"):
        seen.merge(Overlay.build("https://other.coupahost.com", {}))


# ------------------------------------------------------------------ the catalog view


def test_the_view_adds_the_instance_fields_and_leaves_the_catalog_alone() -> None:
    shipped = load_catalog()
    view = with_overlay(shipped, acme())
    invoices = view.get("invoices")
    assert invoices.fields["legacy-code"].sources == ("instance",)
    assert invoices.fields["custom-fields"].ref == "invoices:custom-fields"
    assert set(view.get("invoices:custom-fields").fields) == {"erp-ref", "approved-amount"}
    assert "legacy-code" not in shipped.get("invoices").fields
    assert shipped.get("invoices").fields["custom-fields"].ref is None
    assert with_overlay(shipped, None) is shipped


def test_validation_knows_the_instance_fields() -> None:
    view = with_overlay(load_catalog(), acme())
    record = {
        "id": 1,
        "legacy-code": "L1",
        "custom-fields": {"erp-ref": "X-1", "approved_amount": "12.50"},
    }
    assert check_record("invoices", record, "update", catalog=view).problems == ()
    # Without the overlay the instance's fields are unknown (warnings, still sent).
    unknown = check_record("invoices", record, "update").problems
    assert {(p.path, p.code, p.level) for p in unknown} == {
        ("legacy-code", "unknown_field", "warning"),
        ("custom-fields.erp-ref", "unknown_field", "warning"),
        ("custom-fields.approved-amount", "unknown_field", "warning"),
    }
    odd = {"id": 1, "custom-fields": {"erp-ref": "X" * 11, "approved-amount": "lots", "new": 1}}
    found = {
        (p.path, p.code, p.level)
        for p in check_record("invoices", odd, "update", catalog=view).problems
    }
    # An instance's observed types are hints: a value unlike them is a warning, not an error.
    assert found == {
        ("custom-fields.erp-ref", "instance_value", "warning"),
        ("custom-fields.approved-amount", "instance_value", "warning"),
        ("custom-fields.new", "unknown_field", "warning"),
    }


def test_json_schema_and_query_parameters_take_the_view() -> None:
    view = with_overlay(load_catalog(), acme())
    schema = json_schema("invoices", "create", catalog=view)
    assert "legacy-code" in schema["properties"]
    custom = schema["properties"]["custom-fields"]
    assert custom["properties"]["erp-ref"]["maxLength"] == 10
    # Coupa filters custom fields by their own names: ?erp_ref[contains]=X.
    meaning = query_param(view, "invoices", "erp_ref[contains]")
    assert (meaning.kind, meaning.path, meaning.op) == (
        "field",
        ("custom-fields", "erp-ref"),
        "contains",
    )
    assert query_param(load_catalog(), "invoices", "erp_ref").kind == "unknown"


def test_observed_records_make_an_overlay() -> None:
    cat = load_catalog()
    records = [
        {"id": 1, "name": "Pen", "test-text-field": "a", "custom-fields": {"colour": "red"}},
        {"id": 2, "name": "Ink", "test-text-field": None, "custom-fields": {"size": 3}},
    ]
    fields = observe_records(cat, "items", records)
    assert [(f.name, f.kind, f.places) for f in fields] == [
        ("colour", "string", ("custom-fields",)),
        ("size", "integer", ("custom-fields",)),
        ("test-text-field", "string", ("top-level",)),
    ]
    view = with_overlay(cat, Overlay.build(URL, {"items": fields}))
    assert check_record("items", {"id": 1, "test-text-field": "b"}, "update", catalog=view).ok


def test_read_overlay_reads_any_file(tmp_path: Path) -> None:
    path = save_overlay(acme(), cache_dir=tmp_path)
    assert read_overlay(path) == acme()
    with pytest.raises(FileNotFoundError):
        read_overlay(tmp_path / "missing.json")


def test_coupa_schema_shows_an_instances_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coupa_connector.cli import cli

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    save_overlay(acme())
    runner = CliRunner()
    plain = runner.invoke(cli, ["schema", "invoices", "--format", "json"])
    with_fields = runner.invoke(
        cli, ["schema", "invoices", "--format", "json", "--instance", "acme.coupahost.com"]
    )
    assert plain.exit_code == 0 and with_fields.exit_code == 0, with_fields.output
    assert "legacy-code" not in plain.output and "legacy-code" in with_fields.output
    table = runner.invoke(cli, ["schema", "invoices", "--instance", URL])
    assert table.exit_code == 0 and "legacy-code" in table.output
    missing = runner.invoke(cli, ["schema", "invoices", "--instance", "https://none.example"])
    assert missing.exit_code == 0 and "no instance overlay" in missing.output
