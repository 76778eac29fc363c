"""How certain each required flag of the catalog is, for ``build_catalog.py``.

Coupa's required flags are evidence of different weight. Where its tables and its Swagger
both mark a field required, Coupa refuses a create without it; where they disagree, or
Coupa's own documented example creates the record without the field, or the field is needed
only in some cases (a country's tax number), it may not. Validation refuses only the first
kind and warns about the others, so every required, writable field gets:

- ``required_certain``: written only when False (the default is certain);
- ``required_reason``: why, from ``REQUIRED_RULES`` (by the field's sources) or, where the
  connector knows better, from ``REQUIRED_CERTAINTY`` (one field of one object, and the
  copies of that object).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalog_data import REQUIRED_CERTAINTY, REQUIRED_RULES, RequiredRule
from catalog_text import md_table


def rule_for(field: Mapping[str, Any]) -> RequiredRule:
    """The rule that says how certain a required field's flag is, by its sources."""
    dispute = (field.get("disputed") or {}).get("required")
    if dispute is not None and dispute.get("tables") is True and dispute.get("swagger") is False:
        return REQUIRED_RULES["disputed"]
    sources = set(field.get("sources", ()))
    if "curated" in sources:
        return REQUIRED_RULES["curated"]
    if {"tables", "swagger"} <= sources:
        return REQUIRED_RULES["agreed"]
    return REQUIRED_RULES["tables"]


def apply_required_certainty(objects: dict[str, dict[str, Any]]) -> list[str]:
    """Give every required, writable field its certainty; return the problems found.

    A ``REQUIRED_CERTAINTY`` entry naming a field that does not exist, or one that is not a
    required writable field, is a problem: the data would silently say nothing.
    """
    for obj in objects.values():
        for field in obj["_fields"].values():
            if _required_writable(field):
                rule = rule_for(field)
                _set(field, rule.certain, rule.reason)
    problems: list[str] = []
    for entry in REQUIRED_CERTAINTY:
        targets = [
            entry.obj,
            *(n for n, o in objects.items() if o.get("_copied_from") == entry.obj),
        ]
        found = [
            objects[name]["_fields"][entry.field]
            for name in targets
            if name in objects and entry.field in objects[name]["_fields"]
        ]
        if not found or not _required_writable(found[0]):
            problems.append(
                f"required certainty for {entry.obj}.{entry.field}, which is not a required "
                "writable field"
            )
            continue
        for field in found:
            if _required_writable(field):
                _set(field, entry.certain, entry.reason)
    return problems


def _required_writable(field: Mapping[str, Any]) -> bool:
    return bool(field.get("required")) and field.get("writable", True) is not False


def _set(field: dict[str, Any], certain: bool, reason: str) -> None:
    field["required_reason"] = reason
    if certain:
        field.pop("required_certain", None)
    else:
        field["required_certain"] = False


def certainty_markdown() -> str:
    """The certainty rules and the per-field entries, as two Markdown tables."""

    def certain(flag: bool) -> str:
        return "yes" if flag else "no"

    rules = [(name, certain(r.certain), r.reason) for name, r in REQUIRED_RULES.items()]
    entries = [(e.obj, f"`{e.field}`", certain(e.certain), e.reason) for e in REQUIRED_CERTAINTY]
    lines = md_table(("sources of a required field", "certain", "reason"), rules)
    lines += ["", *md_table(("object", "field", "certain", "reason"), entries)]
    return "\n".join(lines)
