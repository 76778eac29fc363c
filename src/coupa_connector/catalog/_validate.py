"""Check a record against a catalog object before it is sent to Coupa.

Every finding of a record is reported at once, each with the field path
(``invoice-lines[2].price``, indexes from 0), the rule it breaks, a code, a level, a message
that names the field and the reason, and the offending value. Ordinary bad data never raises.

Findings have one of two levels:

- ``error``: Coupa certainly refuses the record (a value of the wrong type, text over its
  length, a value outside a closed list, a missing field that is certainly required, an update
  that names no record, child lines that are not lines);
- ``warning``: the documents are unsure or Coupa tolerates it (a read-only field, which is
  left out of the body to send because Coupa computes it; a field the catalog does not know,
  sent as is because instances carry custom and undocumented fields; a missing field marked
  required that Coupa can default or needs only in some cases).

``check_record`` returns both, with the body to send; ``validate_record`` returns the errors
(every finding, as an error, in ``strict`` mode).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal

from coupa_connector.catalog._dates import coupa_datetime
from coupa_connector.catalog._model import FieldDef, ObjectDef, wire_name

if TYPE_CHECKING:
    from coupa_connector.catalog._model import Catalog

Mode = Literal["create", "update"]
Level = Literal["error", "warning"]
ERROR: Level = "error"
WARNING: Level = "warning"

# How a record is checked: ``lenient`` (errors refuse the record, warnings are reported and
# the record is sent), ``strict`` (every finding is an error, as before levels existed), or
# ``off`` (nothing is checked and the record is sent as given).
ValidationMode = Literal["lenient", "strict", "off"]
VALIDATIONS: tuple[ValidationMode, ...] = ("lenient", "strict", "off")

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


@dataclass(frozen=True, slots=True)
class Code:
    """What a finding is: the rule it breaks and its level outside strict mode."""

    rule: str
    level: Level
    meaning: str


# Every code a finding can carry, with its rule and level; stable strings.
CODES: dict[str, Code] = {
    "type": Code(TYPE, ERROR, "a value of the wrong type"),
    "max_length": Code(MAX_LENGTH, ERROR, "text longer than Coupa accepts"),
    "allowed": Code(ALLOWED, ERROR, "a value outside the field's closed list"),
    "reference": Code(REFERENCE, ERROR, "a reference that identifies no record"),
    "collection": Code(COLLECTION, ERROR, "child lines that are not a list of mappings"),
    "custom_fields": Code(CUSTOM_FIELDS, ERROR, "custom-fields that is not a mapping"),
    "duplicate": Code(DUPLICATE, ERROR, "the same field twice, in two spellings"),
    "identity": Code(IDENTITY, ERROR, "an update (or line delete) that names no record"),
    "required": Code(REQUIRED, ERROR, "a missing field that Coupa certainly requires"),
    "field_name": Code(UNKNOWN_FIELD, ERROR, "a field name that is not text"),
    "marker": Code(UNKNOWN_FIELD, ERROR, "_cancel/_close on an object without that action"),
    "read_only": Code(READ_ONLY, WARNING, "a read-only field, left out of the body"),
    "unknown_field": Code(UNKNOWN_FIELD, WARNING, "a field the catalog does not know, sent"),
    "required_unsure": Code(
        REQUIRED, WARNING, "a missing field marked required that Coupa may not need"
    ),
    "instance_value": Code(
        TYPE, WARNING, "a value unlike what the instance overlay observed for the field"
    ),
}

_INTEGER_RE = re.compile(r"^[+-]?\d+$")
# The spellings of true and false Coupa reads as meant (Rails' boolean cast: these, and "f",
# "off" and "0" for false; any other text reads as true, "no" included, so it is refused).
_BOOLEAN_STRINGS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "t": True,
    "f": False,
    "yes": True,
    "on": True,
    "off": False,
}
# Values of these fields are never echoed back in a problem: they are credentials.
_SECRET_RE = re.compile(r"password|secret|token|api-key|private-key", re.IGNORECASE)
_REDACTED = "**********"
# Marker keys Coupa accepts on updates: line deletion, and header cancel/close (which need the
# object to have the matching action).
_LINE_DELETE = "_delete"
_HEADER_MARKERS = {"_cancel": "cancel", "_close": "close"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about a record.

    Attributes:
        path: Where, as ``field`` or ``collection[index].field`` (indexes from 0);
            empty for the record as a whole.
        rule: Which rule is broken (one of ``RULES``: ``required``, ``type`` ...).
        message: What is wrong, naming the field and the reason.
        value: The offending value (credentials are masked), None when a value is missing.
        level: ``error`` (Coupa certainly refuses the record) or ``warning`` (reported; the
            record is sent).
        code: What exactly was found (one of ``CODES``: ``read_only``, ``required_unsure``
            ...); the rule when not given.
    """

    path: str
    rule: str
    message: str
    value: Any = None
    level: Level = ERROR
    code: str = ""

    def __post_init__(self) -> None:
        if not self.code:
            object.__setattr__(self, "code", self.rule)

    @property
    def is_error(self) -> bool:
        return self.level == ERROR

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class RecordCheck:
    """What checking one record found, and what to send.

    Attributes:
        problems: Every finding, errors and warnings, in field order.
        body: The record to send: as given, less the read-only fields Coupa computes (keys
            keep the caller's spelling; the input is never modified).
        dropped: The paths of the fields left out of ``body``.
        validation: How the record was checked (``lenient``, ``strict`` or ``off``).
    """

    problems: tuple[Problem, ...]
    body: Any
    dropped: tuple[str, ...] = ()
    validation: ValidationMode = "lenient"

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level == ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.level == WARNING)

    @property
    def ok(self) -> bool:
        """Whether the record may be sent: no errors (warnings do not stop it)."""
        return not any(p.level == ERROR for p in self.problems)


def check_record(
    obj: ObjectDef | str,
    record: Any,
    mode: Mode = "create",
    *,
    catalog: Catalog | None = None,
    validation: ValidationMode = "lenient",
) -> RecordCheck:
    """Check ``record`` against ``obj`` for a create or an update, with levels.

    Keys may use ``-`` or ``_`` (``invoice_number`` is ``invoice-number``). Create checks
    required fields; update needs ``id`` or a complete natural key (``obj.lookup_keys``) and
    does not enforce required fields. Child lines are checked against their line object; on
    update a line may carry ``id`` (change that line) and ``_delete``.

    Args:
        obj: The catalog object, or its name.
        record: The record, a mapping of field names to values.
        mode: ``"create"`` or ``"update"``.
        catalog: Where references are resolved; the shipped catalog by default (pass
            ``with_overlay(...)`` to know an instance's own fields).
        validation: ``lenient`` (default: errors and warnings), ``strict`` (every finding is
            an error) or ``off`` (no check: the record is sent as given).

    Returns:
        The findings and the body to send.

    Raises:
        UnknownObjectError: ``obj`` is a name the catalog does not know.
        ValueError: ``mode`` is neither create nor update, or ``validation`` is not one of
            lenient, strict, off.
    """
    if mode not in ("create", "update"):
        raise ValueError(f"mode must be 'create' or 'update', not {mode!r}")
    if validation not in VALIDATIONS:
        raise ValueError(f"validation must be one of {', '.join(VALIDATIONS)}, not {validation!r}")
    if catalog is None:
        from coupa_connector.catalog._load import load_catalog

        catalog = load_catalog()
    target = catalog.get(obj) if isinstance(obj, str) else obj
    if validation == "off":
        return RecordCheck((), record, (), validation)
    checker = _Checker(catalog, strict=validation == "strict")
    if not isinstance(record, Mapping):
        checker.add(
            "",
            "type",
            f"A {target.name} record must be a mapping of fields, not {type(record).__name__}.",
            record,
        )
        return RecordCheck(tuple(checker.problems), record, (), validation)
    body = checker.record(target, record, mode, prefix="", top=True)
    return RecordCheck(tuple(checker.problems), body, tuple(checker.dropped), validation)


def validate_record(
    obj: ObjectDef | str,
    record: Any,
    mode: Mode = "create",
    *,
    catalog: Catalog | None = None,
    validation: ValidationMode = "lenient",
) -> list[Problem]:
    """The errors of ``record``: what Coupa certainly refuses (everything, when ``strict``).

    The same check as ``check_record``, for callers that only need to know whether to send:
    an empty list means the record may be sent. In ``lenient`` mode (the default) warnings
    are left out (``check_record`` has them, and the body without read-only fields); in
    ``strict`` mode every finding is returned as an error; ``off`` returns nothing.

    Raises:
        UnknownObjectError: ``obj`` is a name the catalog does not know.
        ValueError: ``mode`` is neither create nor update, or ``validation`` is unknown.
    """
    return list(check_record(obj, record, mode, catalog=catalog, validation=validation).errors)


class _Checker:
    """Walks one record, collecting findings and the body to send."""

    def __init__(self, catalog: Catalog, *, strict: bool) -> None:
        self.catalog = catalog
        self.strict = strict
        self.problems: list[Problem] = []
        self.dropped: list[str] = []

    def add(self, path: str, code: str, message: str, value: Any = None) -> None:
        spec = CODES[code]
        level = ERROR if self.strict else spec.level
        self.problems.append(Problem(path, spec.rule, message, _shown(path, value), level, code))

    def resolve(self, name: str | None) -> ObjectDef | None:
        if not name or name not in self.catalog:
            return None
        return self.catalog.get(name)

    # ---------------------------------------------------------------- records

    def record(
        self, obj: ObjectDef, record: Mapping[Any, Any], mode: Mode, *, prefix: str, top: bool
    ) -> dict[Any, Any]:
        """Check one record (or child line); return it as it is to be sent."""
        values, spelled = self.normalize(obj, record, prefix)
        body = dict(record)
        line_update = not top and mode == "update"
        key_fields = {name for key in obj.lookup_keys for name in key}
        for key, value in values.items():
            path = _join(prefix, key)
            if key == _LINE_DELETE and line_update:
                if not isinstance(value, bool) and str(value).lower() not in _BOOLEAN_STRINGS:
                    self.add(path, "type", f"{path}: _delete must be true or false.", value)
                if "id" not in values:
                    self.add(path, "identity", f"{path}: a line can only be deleted by its id.")
                continue
            if key in _HEADER_MARKERS and top and mode == "update":
                if obj.action(_HEADER_MARKERS[key]) is None:
                    self.add(path, "marker", f"{path}: {obj.name} cannot be {key[1:]}ed.")
                continue
            fdef = obj.fields.get(key)
            if fdef is None:
                # An instance's custom field may come as a top-level element too (Coupa's
                # "API Global Namespace"): checked as the overlay knows it.
                member = self.custom_member(obj, key)
                if member is not None:
                    if value is not None and not _blank(value):
                        self.value(member, value, path, mode)
                    continue
                self.unknown(obj, key, path, value)
                continue
            # On update, id and natural-key fields name the record even where Coupa does not
            # accept them as changes (an account's code).
            identifies = mode == "update" and (key == "id" or (top and key in key_fields))
            if not fdef.writable and not identifies:
                self.read_only(fdef, path, value)
                del body[spelled[key]]
                continue
            sent = self.value(fdef, value, path, mode)
            if sent is not value:
                body[spelled[key]] = sent
        if mode == "create" or (not top and "id" not in values):
            self.required(obj, values, prefix)
        if top and mode == "update":
            self.identity(obj, values)
        return body

    def normalize(
        self, obj: ObjectDef, record: Mapping[Any, Any], prefix: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The record's values by wire name, and each wire name's key as the caller spelled it."""
        values: dict[str, Any] = {}
        spelled: dict[str, Any] = {}
        for raw_key, value in record.items():
            if not isinstance(raw_key, str) or not raw_key.strip():
                self.add(
                    prefix,
                    "field_name",
                    f"{prefix or obj.name}: field names must be non-empty text, not {raw_key!r}.",
                    value,
                )
                continue
            key = raw_key.strip() if raw_key.strip().startswith("_") else wire_name(raw_key)
            if key in values:
                path = _join(prefix, key)
                self.add(
                    path,
                    "duplicate",
                    f"{path} is given twice (as {raw_key!r} and its "
                    "other spelling); '-' and '_' name the same field.",
                    value,
                )
                continue
            values[key] = value
            spelled[key] = raw_key
        return values, spelled

    def custom_member(self, obj: ObjectDef, key: str) -> FieldDef | None:
        """The instance's custom field ``key`` of ``obj`` (from its overlay), if any."""
        node = obj.fields.get("custom-fields")
        holder = self.resolve(node.ref) if node is not None else None
        return holder.fields.get(key) if holder is not None else None

    def read_only(self, fdef: FieldDef, path: str, value: Any) -> None:
        why = "it is set by Coupa" if fdef.readable else "Coupa does not accept it"
        note = f" {fdef.note}" if fdef.note else ""
        if self.strict:
            message = f"{path} is read-only: {why}.{note}"
        else:
            message = f"{path} is read-only ({why}), so it is left out of the body sent.{note}"
        self.add(path, "read_only", message, value)
        self.dropped.append(path)

    def unknown(self, obj: ObjectDef, key: str, path: str, value: Any) -> None:
        import difflib  # only when a record has an unknown field

        close = difflib.get_close_matches(key, list(obj.fields), n=3, cutoff=0.6)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        sent = "" if self.strict else " It is sent as given (instances add their own fields)."
        self.add(
            path, "unknown_field", f"{path}: {obj.name} has no field {key!r}.{hint}{sent}", value
        )

    def required(self, obj: ObjectDef, values: Mapping[str, Any], prefix: str) -> None:
        for fdef in obj.fields.values():
            # A required field that Coupa does not accept cannot be asked of the caller.
            if not fdef.required or not fdef.writable:
                continue
            value = values.get(fdef.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                path = _join(prefix, fdef.name)
                if fdef.required_certain or self.strict:
                    message = f"{path} is required to create {obj.name}."
                    self.add(
                        path,
                        "required" if fdef.required_certain else "required_unsure",
                        message,
                        value,
                    )
                else:
                    reason = f" {fdef.required_reason}" if fdef.required_reason else ""
                    self.add(
                        path,
                        "required_unsure",
                        f"{path} is marked required to create {obj.name}, but Coupa may "
                        f"accept the record without it:{reason}",
                        value,
                    )

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
            "identity",
            f"An update of {obj.name} needs id{alternatives} to find the record.",
        )

    # ---------------------------------------------------------------- values

    def value(self, fdef: FieldDef, value: Any, path: str, mode: Mode) -> Any:
        """Check one value; return it as it is to be sent (lines lose read-only fields)."""
        kind = fdef.kind
        if value is None or (kind not in ("string", "text") and _blank(value)):
            # null (or an empty cell from a file) clears a field; required is checked apart.
            return value
        if kind == "reference":
            self.reference(fdef, value, path)
        elif kind == "collection":
            return self.collection(fdef, value, path, mode)
        elif kind == "custom-fields":
            self.custom_fields(fdef, value, path)
        else:
            self.scalar(fdef, value, path)
        return value

    def custom_fields(self, fdef: FieldDef, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            self.add(
                path,
                "custom_fields",
                f"{path} must be a mapping of custom field names "
                f"to values, not {type(value).__name__}.",
                value,
            )
            return
        if any(not isinstance(k, str) or not k.strip() for k in value):
            self.add(path, "custom_fields", f"{path}: custom field names must be text.", value)
            return
        # With an instance overlay, the instance's custom fields are known by name and type.
        known = self.resolve(fdef.ref)
        if known is None:
            for raw_key in value:
                sub_path = _join(path, wire_name(raw_key))
                sent = "" if self.strict else " It is sent as given."
                self.add(
                    sub_path,
                    "unknown_field",
                    f"{sub_path}: a custom field this instance's fields are not known for "
                    f"(no instance overlay; coupa discover reads them).{sent}",
                    value[raw_key],
                )
            return
        for raw_key, item in value.items():
            key = wire_name(raw_key)
            member = known.fields.get(key)
            sub_path = _join(path, key)
            if member is None:
                self.unknown(known, key, sub_path, item)
            elif item is not None and not _blank(item):
                self.value(member, item, sub_path, "create")

    def scalar(self, fdef: FieldDef, value: Any, path: str) -> None:
        # A type only observed on one instance is a hint, not a rule of Coupa's.
        observed = fdef.sources == ("instance",)
        reason = scalar_error(fdef.kind, value)
        if reason:
            self.add(path, "instance_value" if observed else "type", f"{path}: {reason}.", value)
            return
        text = value if isinstance(value, str) else str(value)
        if fdef.kind in ("string", "text") and fdef.max_length and len(text) > fdef.max_length:
            self.add(
                path,
                "instance_value" if observed else "max_length",
                f"{path} is {len(text)} characters long; Coupa accepts at most {fdef.max_length}.",
                value,
            )
        if fdef.allowed and text not in fdef.allowed:
            self.add(
                path,
                "instance_value" if observed else "allowed",
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
                "reference",
                f"{path} must be an id or a mapping that identifies "
                f"{fdef.ref or 'the record'}, not {type(value).__name__}.",
                value,
            )
            return
        if not value:
            self.add(path, "reference", f"{path} is empty; give an id or a natural key.", value)
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
                "reference",
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
            self.add(path, "type", f"{path}: {reason}.", value)

    def collection(self, fdef: FieldDef, value: Any, path: str, mode: Mode) -> Any:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            self.add(
                path,
                "collection",
                f"{path} must be a list of {fdef.ref or 'records'}, not {type(value).__name__}.",
                value,
            )
            return value
        target = self.resolve(fdef.ref)
        sent: list[Any] = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            sent.append(item)
            if target is None:
                if not isinstance(item, Mapping) and not _is_id(item):
                    self.add(item_path, "collection", f"{item_path} must be a mapping.", item)
                continue
            if target.resource is None:
                # A child line: checked as a record of its own.
                if not isinstance(item, Mapping):
                    self.add(
                        item_path,
                        "collection",
                        f"{item_path} must be a mapping of "
                        f"{target.name} fields, not {type(item).__name__}.",
                        item,
                    )
                    continue
                sent[-1] = self.record(target, item, mode, prefix=item_path, top=False)
            else:
                # Associated records (content groups, remit-to addresses): references.
                self.reference(
                    FieldDef(name=fdef.name, kind="reference", ref=target.name), item, item_path
                )
        return sent if any(a is not b for a, b in zip(sent, value, strict=True)) else value


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
        if isinstance(value, str) and value.strip().lower() in ("no", "n"):
            return f"{value!r} is not true or false (Coupa would read it as true)"
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
    # Coupa (Rails) reads more than strict ISO 8601: one-digit months and days, a space
    # before the time, zones such as UTC (``_dates``).
    return coupa_datetime(text) is not None


def _parse_date(text: str) -> bool:
    return coupa_datetime(text) is not None


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
