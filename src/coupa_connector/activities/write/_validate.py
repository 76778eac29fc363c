"""Checking a record against the catalog before anything is sent.

The catalog's ``check_record`` finds every problem of a record at once, each an error (Coupa
certainly refuses it) or a warning; this module turns the errors into a rejected result whose
messages each name the field path, the rule and the value, keeps the warnings for the
record's result, and checks that the object can be written at all before a run starts.
"""

from __future__ import annotations

from typing import Any, Literal

from coupa_connector.activities.write._pipeline import Item
from coupa_connector.activities.write._results import WriteOutcome, WriteResult
from coupa_connector.catalog import (
    Catalog,
    ObjectDef,
    Problem,
    ValidationMode,
    check_record,
    load_catalog,
)
from coupa_connector.errors import ConfigurationError

__all__ = ["catalog_of", "problem_message", "problems_result", "writable_object"]

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


def catalog_of(conn: object) -> Catalog | None:
    """The catalog a connection works with (the shipped one plus its instance's overlay), or
    None for a bare requester (the shipped catalog is used)."""
    found = getattr(conn, "catalog", None)
    return found if isinstance(found, Catalog) else None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(problem: Problem, tag: str, *, with_value: bool = True) -> str:
    text = problem.message
    if problem.path and not text.startswith(problem.path):
        text = f"{problem.path}: {text}"
    if with_value and problem.value is not None and _shown(problem.value) not in text:
        text = f"{text} (got {_shown(problem.value)})"
    return f"{text} [{tag}]"


def problem_message(problem: Problem, *, with_value: bool = True) -> str:
    """One finding as a write's result names it: the field, the reason, the value (unless
    ``with_value`` is False, for warnings, which logs keep) and the rule."""
    return _message(
        problem, problem.rule if problem.is_error else problem.code, with_value=with_value
    )


def problems_result(
    obj: ObjectDef,
    item: Item,
    mode: Mode,
    *,
    skip_identity: bool = False,
    validation: ValidationMode = "lenient",
    catalog: Catalog | None = None,
) -> WriteResult | None:
    """Validate ``item`` for ``mode``: a rejected result listing every error, or None.

    A record that may be sent gets the body to send (read-only fields Coupa computes left
    out) and its warnings, each naming the field and ending with its code (``[read_only]``);
    the pipeline puts them on the record's result. A rejected record's messages end with
    the rule broken (``[type]``).

    Args:
        obj: The object written.
        item: The record; its ``body`` and ``warnings`` are set here.
        mode: ``create`` (required fields enforced) or ``update``.
        skip_identity: Leave out the check that an update names its record by id or one of
            the catalog's natural keys: the run's own key is checked instead.
        validation: ``lenient`` (errors refuse the record, warnings are reported),
            ``strict`` (warnings refuse it too) or ``off`` (sent unchecked).
        catalog: The catalog (plus the instance's overlay) to check against.
    """
    if catalog is not None and obj.name in catalog:
        obj = catalog.get(obj.name)  # the instance's own fields are known there
    check = check_record(obj, item.body, mode, catalog=catalog, validation=validation)
    problems = [
        p for p in check.problems if not (skip_identity and p.rule == IDENTITY and not p.path)
    ]
    errors = [p for p in problems if p.is_error]
    # Warnings go to logs too, so they name the field, never its value (personal data).
    item.warnings = tuple(_message(p, p.code, with_value=False) for p in problems if not p.is_error)
    if not errors:
        if isinstance(check.body, dict):
            item.body = check.body
        return None
    return WriteResult(
        position=item.position,
        outcome=WriteOutcome.REJECTED,
        messages=tuple(_message(p, p.rule) for p in errors),
        record=item.record,
        fields=tuple(dict.fromkeys(p.path for p in errors)),
        warnings=item.warnings,
    )
