"""The README's figures about the catalog are the catalog's own."""

from __future__ import annotations

import re
from pathlib import Path

from coupa_connector.catalog import load_catalog

README = Path(__file__).resolve().parents[1] / "README.md"


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_readme_counts_objects_resources_and_fields_as_the_catalog_does() -> None:
    text = " ".join(README.read_text(encoding="utf-8").split())
    found = re.search(
        r"Every object Coupa documents \(([\d,]+) of them, ([\d,]+) with an /api", text
    )
    fields = re.search(r"lookup keys and ([\d,]+) fields", text)
    assert found and fields, "the README's catalog figures moved; keep this test with them"
    objects = list(load_catalog())
    assert _number(found.group(1)) == len(objects)
    assert _number(found.group(2)) == sum(1 for o in objects if o.resource)
    assert _number(fields.group(1)) == sum(len(o.fields) for o in objects)
