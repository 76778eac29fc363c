"""Check a record against a catalog object before it is sent to Coupa.

Every problem of a record is reported at once, each with the field path
(``invoice-lines[2].price``, indexes from 0), the rule it breaks, a message that names the field
and the reason, and the offending value. Ordinary bad data never raises.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from coupa_connector.catalog._model import FieldDef, ObjectDef, wire_name

if TYPE_CHECKING:
    from coupa_connector.catalog._model import Catalog

Mode = Literal["create", "update"]

# Rules a problem can name; stable strings, so callers can branch on them.
REQUIRED = "required"
UNKNOWN_FIELD = "unknown_field"
READ_ONLY = "read_only"
TYPE = "type"
MAX_LENGTH = "max_length"
ALLOWED = "allowed"
REFERENCE = "reference"
COLLECTION = "collection"
CUSTOM_FIELDS = "custom_fields"
DUPLICATE = "duplicate"
IDENTITY = "identity"

RULES = (
    REQUIRED,
    UNKNOWN_FIELD,
    READ_ONLY,
    TYPE,
    MAX_LENGTH,
    ALLOWED,
    REFERENCE,
    COLLECTION,
    CUSTOM_FIELDS,
    DUPLICATE,
    IDENTITY,
)

_INTEGER_RE = re.compile(r"^[+-]?\d+$")
_BOOLEAN_STRINGS = {"true": True, "false": False, "1": True, "0": False}
# Values of these fields are never echoed back in a problem: they are credentials.
_SECRET_RE = re.compile(r"password|secret|token|api-key|private-key", re.IGNORECASE)
_REDACTED = "**********"
# Marker keys Coupa accepts on updates: line deletion, and header cancel/close (which need the
# object to have the matching action).
_LINE_DELETE = "_delete"
_HEADER_MARKERS = {"_cancel": "cancel", "_close": "close"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a record.

    Attributes:
        path: Where, as ``field`` or ``collection[index].field`` (indexes from 0);
            empty for the record as a whole.
        rule: Which rule is broken (one of ``RULES``: ``required``, ``type`` ...).
        message: What is wrong, naming the field and the reason.
        value: The offending value (credentials are masked), None when a value is missing.
    """

    path: str
    rule: str
    message: str
    value: Any = None

    def __str__(self) -> str:
        return self.message


def validate_record(
    obj: ObjectDef | str,
    record: Any,
    mode: Mode = "create",
    *,
    catalog: Catalog | None = None,
) -> list[Problem]:
    """Check ``record`` against ``obj`` for a create or an update.

    Keys may use ``-`` or ``_`` (``invoice_number`` is ``invoice-number``). Create checks
    required fields; update needs ``id`` or a complete natural key (``obj.lookup_keys``) and
    does not enforce required fields. Child lines are checked against their line object; on
    update a line may carry ``id`` (change that line) and ``_delete``.

    Args:
        obj: The catalog object, or its name.
        record: The record, a mapping of field names to values.
        mode: ``"create"`` or ``"update"``.
        catalog: Where references are resolved; the shipped catalog by default.

    Returns:
        Every problem found, in field order; an empty list for a valid record.

    Raises:
        UnknownObjectError: ``obj`` is a name the catalog does not know.
        ValueError: ``mode`` is neither create nor update.
    """
    if mode not in ("create", "update"):
        raise ValueError(f"mode must be 'create' or 'update', not {mode!r}")
    if catalog is None:
        from coupa_connector.catalog import load_catalog

        catalog = load_catalog()
    target = catalog.get(obj) if isinstance(obj, str) else obj
    checker = _Checker(catalog)
    if not isinstance(record, Mapping):
        return [
            Problem(
                "",
                TYPE,
                f"A {target.name} record must be a mapping of fields, not {type(record).__name__}.",
                _shown("", record),
            )
        ]
    checker.record(target, record, mode, prefix="", top=True)
    return checker.problems


class _Checker:
    """Walks one record, collecting problems."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.problems: list[Problem] = []

    def add(self, path: str, rule: str, message: str, value: Any = None) -> None:
        self.problems.append(Problem(path, rule, message, _shown(path, value)))

    def resolve(self, name: str | None) -> ObjectDef | None:
        if not name or name not in self.catalog:
            return None
        return self.catalog.get(name)

    # ---------------------------------------------------------------- records

    def record(
        self, obj: ObjectDef, record: Mapping[Any, Any], mode: Mode, *, prefix: str, top: bool
    ) -> None:
        values = self.normalize(obj, record, prefix)
        line_update = not top and mode == "update"
        key_fields = {name for key in obj.lookup_keys for name in key}
        for key, value in values.items():
            path = _join(prefix, key)
            if key == _LINE_DELETE and line_update:
                if not isinstance(value, bool) and str(value).lower() not in _BOOLEAN_STRINGS:
                    self.add(path, TYPE, f"{path}: _delete must be true or false.", value)
                if "id" not in values:
                    self.add(path, IDENTITY, f"{path}: a line can only be deleted by its id.")
                continue
            if key in _HEADER_MARKERS and top and mode == "update":
                if obj.action(_HEADER_MARKERS[key]) is None:
                    self.add(path, UNKNOWN_FIELD, f"{path}: {obj.name} cannot be {key[1:]}ed.")
                continue
            fdef = obj.fields.get(key)
            if fdef is None:
                self.unknown(obj, key, path, value)
                continue
            # On update, id and natural-key fields name the record even where Coupa does not
            # accept them as changes (an account's code).
            identifies = mode == "update" and (key == "id" or (top and key in key_fields))
            if not fdef.writable and not identifies:
                why = "it is set by Coupa" if fdef.readable else "Coupa does not accept it"
                note = f" {fdef.note}" if fdef.note else ""
                self.add(path, READ_ONLY, f"{path} is read-only: {why}.{note}", value)
                continue
            self.value(fdef, value, path, mode)
        if mode == "create" or (not top and "id" not in values):
            self.required(obj, values, prefix)
        if top and mode == "update":
            self.identity(obj, values)

    def normalize(self, obj: ObjectDef, record: Mapping[Any, Any], prefix: str) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for raw_key, value in record.items():
            if not isinstance(raw_key, str) or not raw_key.strip():
                self.add(
                    prefix,
                    UNKNOWN_FIELD,
                    f"{prefix or obj.name}: field names must be non-empty text, not {raw_key!r}.",
                    value,
                )
                continue
            key = raw_key.strip() if raw_key.strip().startswith("_") else wire_name(raw_key)
            if key in values:
                path = _join(prefix, key)
                self.add(
                    path,
                    DUPLICATE,
                    f"{path} is given twice (as {raw_key!r} and its "
                    "other spelling); '-' and '_' name the same field.",
                    value,
                )
                continue
            values[key] = value
        return values

    def unknown(self, obj: ObjectDef, key: str, path: str, value: Any) -> None:
        import difflib  # only when a record has an unknown field

        close = difflib.get_close_matches(key, list(obj.fields), n=3, cutoff=0.6)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        self.add(path, UNKNOWN_FIELD, f"{path}: {obj.name} has no field {key!r}.{hint}", value)

    def required(self, obj: ObjectDef, values: Mapping[str, Any], prefix: str) -> None:
        for fdef in obj.fields.values():
            # A required field that Coupa does not accept cannot be asked of the caller.
            if not fdef.required or not fdef.writable:
                continue
            value = values.get(fdef.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                path = _join(prefix, fdef.name)
                self.add(path, REQUIRED, f"{path} is required to create {obj.name}.", value)

    def identity(self, obj: ObjectDef, values: Mapping[str, Any]) -> None:
        if values.get("id") not in (None, ""):
            return
        for key in obj.lookup_keys:
            if key != ("id",) and all(values.get(k) not in (None, "") for k in key):
                return
        natural = [" + ".join(k) for k in obj.lookup_keys if k != ("id",)]
        alternatives = f" or {' or '.join(natural)}" if natural else ""
        self.add(
            "",
            IDENTITY,
            f"An update of {obj.name} needs id{alternatives} to find the record.",
        )

    # ---------------------------------------------------------------- values

    def value(self, fdef: FieldDef, value: Any, path: str, mode: Mode) -> None:
        kind = fdef.kind
        if value is None or (kind not in ("string", "text") and _blank(value)):
            # null (or an empty cell from a file) clears a field; required is checked apart.
            return
        if kind == "reference":
            self.reference(fdef, value, path)
        elif kind == "collection":
            self.collection(fdef, value, path, mode)
        elif kind == "custom-fields":
            if not isinstance(value, Mapping):
                self.add(
                    path,
                    CUSTOM_FIELDS,
                    f"{path} must be a mapping of custom field names "
                    f"to values, not {type(value).__name__}.",
                    value,
                )
            elif any(not isinstance(k, str) or not k.strip() for k in value):
                self.add(path, CUSTOM_FIELDS, f"{path}: custom field names must be text.", value)
        else:
            self.scalar(fdef, value, path)

    def scalar(self, fdef: FieldDef, value: Any, path: str) -> None:
        reason = scalar_error(fdef.kind, value)
        if reason:
            self.add(path, TYPE, f"{path}: {reason}.", value)
            return
        text = value if isinstance(value, str) else str(value)
        if fdef.kind in ("string", "text") and fdef.max_length and len(text) > fdef.max_length:
            self.add(
                path,
                MAX_LENGTH,
                f"{path} is {len(text)} characters long; Coupa accepts at most {fdef.max_length}.",
                value,
            )
        if fdef.allowed and text not in fdef.allowed:
            self.add(
                path,
                ALLOWED,
                f"{path}: {_shown(path, value)!r} is not one of {', '.join(fdef.allowed)}.",
                value,
            )

    def reference(self, fdef: FieldDef, value: Any, path: str) -> None:
        target = self.resolve(fdef.ref)
        if _is_id(value):
            return
        if not isinstance(value, Mapping):
            self.add(
                path,
                REFERENCE,
                f"{path} must be an id or a mapping that identifies "
                f"{fdef.ref or 'the record'}, not {type(value).__name__}.",
                value,
            )
            return
        if not value:
            self.add(path, REFERENCE, f"{path} is empty; give an id or a natural key.", value)
            return
        if target is None:
            return  # Coupa documents no fields for this object: accept any mapping.
        keys = {wire_name(k) for k in value if isinstance(k, str)}
        known = {k for key in target.lookup_keys for k in key} or set(target.fields)
        # An object without a resource of its own (a supplier's primary contact or address)
        # is data embedded in the record, not a record to look up: any of its fields will do.
        if target.resource is not None and not keys & known:
            ways = " or ".join(" + ".join(k) for k in target.lookup_keys) or "id"
            self.add(
                path,
                REFERENCE,
                f"{path} does not identify a {target.name} record; give {ways}.",
                value,
            )
        for raw_key, item in value.items():
            key = wire_name(raw_key) if isinstance(raw_key, str) else str(raw_key)
            sub_path = _join(path, key)
            sub = target.fields.get(key)
            if sub is None:
                self.unknown(target, key, sub_path, item)
            elif item is not None and sub.kind == "reference":
                self.reference(sub, item, sub_path)
            elif item is not None and sub.kind not in ("collection", "custom-fields"):
                self.scalar_type_only(sub, item, sub_path)

    def scalar_type_only(self, fdef: FieldDef, value: Any, path: str) -> None:
        reason = scalar_error(fdef.kind, value)
        if reason:
            self.add(path, TYPE, f"{path}: {reason}.", value)

    def collection(self, fdef: FieldDef, value: Any, path: str, mode: Mode) -> None:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            self.add(
                path,
                COLLECTION,
                f"{path} must be a list of {fdef.ref or 'records'}, not {type(value).__name__}.",
                value,
            )
            return
        target = self.resolve(fdef.ref)
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            if target is None:
                if not isinstance(item, Mapping) and not _is_id(item):
                    self.add(item_path, COLLECTION, f"{item_path} must be a mapping.", item)
                continue
            if target.resource is None:
                # A child line: checked as a record of its own.
                if not isinstance(item, Mapping):
                    self.add(
                        item_path,
                        COLLECTION,
                        f"{item_path} must be a mapping of "
                        f"{target.name} fields, not {type(item).__name__}.",
                        item,
                    )
                    continue
                self.record(target, item, mode, prefix=item_path, top=False)
            else:
                # Associated records (content groups, remit-to addresses): references.
                self.reference(
                    FieldDef(name=fdef.name, kind="reference", ref=target.name), item, item_path
                )


def scalar_error(kind: str, value: Any) -> str:
    """Why ``value`` cannot be a ``kind`` field, or "" when it can.

    Strings that parse are accepted ("12.50" for a decimal, "true" for a boolean), because
    Coupa's JSON carries decimals as strings and files carry everything as text.
    """
    if kind in ("string", "text"):
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
            return f"expected text, got {type(value).__name__}"
        return ""
    if kind == "integer":
        if isinstance(value, bool):
            return "expected a whole number, got true/false"
        if isinstance(value, int):
            return ""
        if isinstance(value, float) and value.is_integer():
            return ""
        if isinstance(value, str) and _INTEGER_RE.match(value.strip()):
            return ""
        return f"{value!r} is not a whole number"
    if kind in ("decimal", "float"):
        if isinstance(value, bool):
            return "expected a number, got true/false"
        if isinstance(value, (int, float, Decimal)):
            return "" if Decimal(str(value)).is_finite() else f"{value!r} is not a finite number"
        if isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                return f"{value!r} is not a decimal number"
            return "" if number.is_finite() else f"{value!r} is not a finite number"
        return f"expected a number, got {type(value).__name__}"
    if kind == "boolean":
        if isinstance(value, bool):
            return ""
        if isinstance(value, (str, int)) and str(value).strip().lower() in _BOOLEAN_STRINGS:
            return ""
        return f"{value!r} is not true or false"
    if kind == "datetime":
        if isinstance(value, (dt.datetime, dt.date)):
            return ""
        if isinstance(value, str) and _parse_datetime(value.strip()):
            return ""
        return f"{value!r} is not an ISO 8601 date-time (2024-05-01T10:00:00+00:00)"
    if kind == "date":
        if isinstance(value, dt.date):
            return ""
        if isinstance(value, str):
            text = value.strip()
            # A datetime is accepted for a date: Coupa keeps the day.
            if _parse_date(text) or _parse_datetime(text):
                return ""
        return f"{value!r} is not an ISO 8601 date (2024-05-01)"
    return ""


def _parse_datetime(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _parse_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _is_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _shown(path: str, value: Any) -> Any:
    """The value as a problem may show it: credentials are masked."""
    leaf = path.rsplit(".", 1)[-1]
    if value is not None and _SECRET_RE.search(leaf):
        return _REDACTED
    return value
