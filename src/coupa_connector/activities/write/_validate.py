"""Checking a record against the catalog before anything is sent.

The catalog's ``validate_record`` finds every problem of a record at once; this module turns
them into a rejected result whose messages each name the field path, the rule and the value,
and checks that the object can be written at all before a run starts.
"""

from __future__ import annotations

from typing import Any, Literal

from coupa_connector.activities.write._pipeline import Item
from coupa_connector.activities.write._results import WriteOutcome, WriteResult
from coupa_connector.catalog import Catalog, ObjectDef, load_catalog, validate_record
from coupa_connector.errors import ConfigurationError

__all__ = ["problems_result", "writable_object"]

# The rule of the catalog's "an update needs id or a natural key" problem.
IDENTITY = "identity"

Mode = Literal["create", "update"]


def writable_object(
    obj: str | ObjectDef, verb: Literal["create", "update"], catalog: Catalog | None = None
) -> ObjectDef:
    """The catalog object to write, checked to accept the write at all.

    Raises:
        UnknownObjectError: No such object (the closest names are suggested).
        ConfigurationError: The object has no endpoint of its own, is out of scope, or
            Coupa does not offer this write for it.
    """
    found = obj if isinstance(obj, ObjectDef) else (catalog or load_catalog()).get(obj)
    if not found.supported:
        raise ConfigurationError(f"{found.name} is not supported: {found.unsupported_reason}")
    if found.resource is None:
        raise ConfigurationError(
            f"{found.name} has no API endpoint of its own; write it nested inside the record "
            "that holds it."
        )
    if found.action(verb) is None:
        raise ConfigurationError(f"Coupa offers no {verb} for {found.name} ({found.resource}).")
    return found


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problems_result(
    obj: ObjectDef,
    item: Item,
    mode: Mode,
    *,
    skip_identity: bool = False,
) -> WriteResult | None:
    """Validate ``item`` for ``mode``; a rejected result listing every problem, or None.

    Args:
        obj: The object written.
        item: The record.
        mode: ``create`` (required fields enforced) or ``update``.
        skip_identity: Leave out the check that an update names its record by id or one of
            the catalog's natural keys: the run's own key is checked instead.
    """
    # Strict: every finding refuses the record, warnings included, until the writes choose a
    # level per run (the catalog's default reports only what Coupa certainly refuses).
    problems = [
        p
        for p in validate_record(obj, item.body, mode=mode, validation="strict")
        if not (skip_identity and p.rule == IDENTITY and not p.path)
    ]
    if not problems:
        return None
    messages = []
    for p in problems:
        text = p.message
        if p.path and not text.startswith(p.path):
            text = f"{p.path}: {text}"
        if p.value is not None and _shown(p.value) not in text:
            text = f"{text} (got {_shown(p.value)})"
        messages.append(f"{text} [{p.rule}]")
    return WriteResult(
        position=item.position,
        outcome=WriteOutcome.REJECTED,
        messages=tuple(messages),
        record=item.record,
        fields=tuple(dict.fromkeys(p.path for p in problems)),
    )
