"""Create and update, as Coupa validates and stores them.

A body is checked against the catalog field by field: values are typed by kind (messages in
Rails' wording: "Price is not a number"), references are resolved by id or natural key
(coupa-api.md 5.2: supplier by name or number, account by code and account type...),
required fields must be present on create ("Invoice number can't be blank"), unique fields
must be unused ("Name has already been taken"). Child lines are added (no id), updated
(with id) or removed (``_delete``). Every problem of a body is reported at once, and a body
with any problem changes nothing.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from coupa_connector.catalog import FieldDef
from coupa_connector.sandbox._derive import Deriver, discounted_totals
from coupa_connector.sandbox._nested import rails_class
from coupa_connector.sandbox._objects import (
    APPROVAL_LINKS,
    CREATE_DEFAULTS,
    CREATE_FORCED,
    DELETED_LINES_KEPT,
    DUPLICATE_LINE_NUMS_IGNORED,
    EVENT_INPUTS,
    FINISHED_STATUSES,
    INHERITED_KEYS,
    LINE_MIRRORS,
    SCALAR_KINDS,
    TOTALS,
    UNIQUE_SCOPES,
    UPDATABLE_FIELDS,
    ObjectView,
    Views,
    deleted_lines_key,
    human_name,
)
from coupa_connector.sandbox._store import Store
from coupa_connector.sandbox._types import TRUE_WORDS, KindError, coerce

__all__ = ["WriteError", "WriteOptions", "Writer"]

# Fields that are copies of others on write ([I]: Coupa reads ``requester`` and shows it as
# ``requested-by``): resource -> {copy: source}.
COPIES: dict[str, dict[str, str]] = {
    "requisitions": {"requested-by": "requester"},
}
# Read-only fields Coupa computes from writable ones: resource -> {field: (sources, joiner)}.
JOINED: dict[str, dict[str, tuple[tuple[str, ...], str]]] = {
    "accounts": {"code": (tuple(f"segment-{n}" for n in range(1, 21)), "-")},
}
# A change to any of these line fields is a new supplier version of a PO (coupa-api.md 5.3);
# every change bumps the internal revision: resource -> (lines, fields, version, revision).
VERSIONING: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    "purchase_orders": (
        "order-lines",
        ("price", "quantity", "item"),
        "version",
        "internal-revision",
    ),
}
# What a new supplier version (a resend) sets back: resource -> {field: value}. A PO that
# goes out again is to be exported again (coupa-api.md 4.7); the last export time stays.
NEW_VERSION_RESETS: dict[str, dict[str, Any]] = {
    "purchase_orders": {"exported": False},
}
# Custom field names are identifiers in Coupa (and element names in XML).
_CUSTOM_FIELD_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,63}")
_STAMPS = ("created-at", "updated-at", "created-by", "updated-by")


class WriteError(Exception):
    """A write Coupa would refuse: ``messages`` are its Rails-style errors."""

    def __init__(self, messages: list[str], status: int = 400) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.status = status


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """Write behaviours that Coupa's documentation leaves open ([I]).

    Attributes:
        strict_update_references: An unknown reference on update is a 400; Coupa documents
            that it "will not be changed" instead, which is the default.
        check_allowed_values: Refuse values outside the catalog's allowed list.
    """

    strict_update_references: bool = False
    check_allowed_values: bool = True


class _Unresolved(Exception):
    """A reference that matches no record (or names no key)."""


class _Ambiguous(Exception):
    """A reference whose natural key matches several records."""

    def __init__(self, target: ObjectView, count: int, given: set[str]) -> None:
        super().__init__(target.name)
        self.target = target
        self.count = count
        self.given = given

    def message(self, label: str) -> str:
        """Rails-worded, naming the key parts that would tell the records apart."""
        keys = [
            key
            for key in self.target.obj.lookup_keys
            if self.given < set(key) or (not self.given and key != ("id",))
        ]
        wanted = " and ".join(k.replace("-", " ") for k in keys[0]) if keys else "its id"
        return (
            f"{label} is ambiguous: {self.count} {self.target.name.replace('_', ' ')} match; "
            f"identify it by id or by {wanted}"
        )


class Writer:
    """Applies create and update bodies to stored records."""

    def __init__(self, views: Views, store: Store, options: WriteOptions | None = None) -> None:
        self.views = views
        self.store = store
        self.options = options or WriteOptions()
        self.deriver = Deriver(views, store)

    # ------------------------------------------------------------------ entry points

    def create(self, view: ObjectView, body: dict[str, Any], login: str) -> dict[str, Any]:
        """Validate and store a new record.

        Args:
            view: The resource.
            body: The parsed body (hyphenated keys).
            login: The API user the change is attributed to.

        Returns:
            The stored document.

        Raises:
            WriteError: The body breaks a rule; nothing was stored.
        """
        errors: list[str] = []
        doc: dict[str, Any] = {}
        self._apply(view, doc, body, "create", errors, "")
        for name, value in CREATE_DEFAULTS.get(view.name, {}).items():
            if name in view.obj.fields and doc.get(name) is None:
                doc[name] = value
        for name, value in CREATE_FORCED.get(view.name, {}).items():
            if doc.get(name) not in (None, "", value):
                errors.append(f"{human_name(name)} must be {value} on create")
            doc[name] = value
        self._derive(view, doc)
        self._check_required(view, doc, errors, "")
        self._check_unique(view, doc, None, errors)
        if errors:
            raise WriteError(_dedupe(errors))
        now = self.store.write_time()
        user = self.user_ref(login)
        doc["id"] = self.store.next_id(view.name)
        self._stamp(view, doc, now, user, created=True)
        self._stamp_lines(view, doc, None, now, user)
        self.save(view, doc)
        return doc

    def update(
        self, view: ObjectView, current: dict[str, Any], body: dict[str, Any], login: str
    ) -> dict[str, Any]:
        """Validate and store a partial update of a record.

        Raises:
            WriteError: The record is finished, or the body breaks a rule; nothing was stored.
        """
        status = current.get("status")
        if status in FINISHED_STATUSES.get(view.name, ()):
            what = f"{human_name(view.obj.element)} {current.get('id')}"
            raise WriteError([f"{what} cannot be updated while its status is {status}"])
        errors: list[str] = []
        doc = copy.deepcopy(current)
        self._apply(view, doc, body, "update", errors, "")
        self._check_updatable(view, current, doc, body, errors)
        event = self._event(view, doc, errors)
        self._derive(view, doc)
        present = {k for k in body if k in view.obj.fields}
        self._check_required(view, doc, errors, "", only=present)
        self._check_unique(view, doc, current, errors)
        if errors:
            raise WriteError(_dedupe(errors))
        now = self.store.write_time(current.get("updated-at"))
        user = self.user_ref(login)
        if event is not None:
            self._record_event(view, doc, event, now, user)
        self._version(view, current, doc)
        self._stamp(view, doc, now, user, created=False)
        self._stamp_lines(view, doc, current, now, user)
        self.save(view, doc)
        return doc

    def touch(
        self, view: ObjectView, doc: dict[str, Any], login: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Store server-side changes (an action, the exported flag) with fresh stamps."""
        updated = copy.deepcopy(doc)
        updated.update(changes)
        now = self.store.write_time(doc.get("updated-at"))
        for name, value in changes.items():
            if value == "<now>":
                updated[name] = now
        self._stamp(view, updated, now, self.user_ref(login), created=False)
        self.save(view, updated)
        return updated

    def save(self, view: ObjectView, doc: dict[str, Any]) -> None:
        """Store a document and refresh the rows that mirror its lines."""
        with self.store.transaction():
            self.deriver.fill(view.name, doc)
            self.store.put(view.name, doc)
            if APPROVAL_LINKS[0] in doc:
                self.deriver.approval_saved(doc)
            mirror = LINE_MIRRORS.get(view.name)
            if mirror is not None:
                lines_field, mirror_res, parent_field = mirror
                self.store.delete_where(
                    mirror_res, f"json_extract(r0.doc, '$.\"{parent_field}\"') = ?", (doc["id"],)
                )
                lines = [
                    {**line, parent_field: doc["id"]}
                    for line in doc.get(lines_field) or []
                    if isinstance(line, dict) and "id" in line
                ]
                self.store.put_many(mirror_res, lines)

    # ------------------------------------------------------------------ users

    def user_ref(self, login: str) -> dict[str, int]:
        """The API user's reference, creating the user on first use as Coupa's OAuth
        clients each have one."""
        self.store.value_index("login")
        ids = self.store.select_ids("users", "json_extract(r0.doc, '$.\"login\"') = ?", (login,))
        if ids:
            return {"id": ids[0]}
        now = self.store.write_time()
        rid = self.store.next_id("users")
        doc = {
            "id": rid,
            "login": login,
            "email": f"{login}@api.sandbox.invalid",
            "firstname": "API",
            "lastname": login,
            "fullname": f"API {login}",
            "active": True,
            "api-user": True,
            "status": "active",
            "created-at": now,
            "updated-at": now,
            "created-by": {"id": rid},
            "updated-by": {"id": rid},
        }
        self.store.put("users", doc)
        return {"id": rid}

    # ------------------------------------------------------------------ applying a body

    def _apply(
        self,
        view: ObjectView,
        doc: dict[str, Any],
        body: dict[str, Any],
        mode: str,
        errors: list[str],
        prefix: str,
        outer: tuple[dict[str, Any], ...] = (),
    ) -> None:
        fields = view.obj.fields
        # Lines and references that take key parts from their record come last, so they see
        # the record's other fields whatever the body's order.
        for raw_key, value in sorted(body.items(), key=lambda item: self._late(view, item[0])):
            key = raw_key
            fd = fields.get(key)
            if fd is None and key.endswith("-id"):
                base = fields.get(key[:-3])
                if base is not None and base.kind == "reference":
                    fd, key = base, base.name
                    value = None if value in (None, "") else {"id": value}
            if fd is None or not fd.writable or key == "id":
                # Coupa ignores elements it does not take, read-only ones included.
                continue
            # Rails words nested attributes after their parent: "Invoice lines price ...".
            label = f"{prefix}{key.replace('-', ' ')}" if prefix else human_name(key)
            if fd.kind in SCALAR_KINDS:
                self._scalar(fd, doc, key, value, errors, label)
            elif fd.kind == "custom-fields":
                if value is None:
                    continue
                if not isinstance(value, dict):
                    errors.append(f"{label} must be a set of named values")
                    continue
                merged = dict(doc.get(key) or {})
                for cf, cf_value in value.items():
                    if not _CUSTOM_FIELD_NAME.fullmatch(cf):
                        # The name becomes an XML element: it must be one.
                        errors.append(f"{label} {cf!r} is not a valid custom field name")
                        continue
                    merged[cf] = (
                        cf_value
                        if cf_value is None or isinstance(cf_value, (str, int, float, bool))
                        else str(cf_value)
                    )
                doc[key] = merged
            elif fd.kind == "reference":
                self._reference(view, fd, doc, key, value, mode, errors, label, (doc, *outer))
            elif fd.kind == "collection":
                self._collection(view, fd, doc, key, value, errors, label, (doc, *outer))

    def _late(self, view: ObjectView, key: str) -> int:
        fd = view.obj.fields.get(key)
        if fd is None:
            return 0
        if fd.kind == "collection":
            return 2
        target = view.targets.get(key)
        return 1 if target is not None and target.name in INHERITED_KEYS else 0

    def _scalar(
        self,
        fd: FieldDef,
        doc: dict[str, Any],
        key: str,
        value: Any,
        errors: list[str],
        label: str,
    ) -> None:
        try:
            typed = coerce(fd.kind, value)
        except KindError as exc:
            errors.append(f"{label} {exc.reason}")
            return
        if isinstance(typed, str) and fd.max_length and len(typed) > fd.max_length:
            errors.append(f"{label} is too long (maximum is {fd.max_length} characters)")
            return
        if (
            self.options.check_allowed_values
            and fd.allowed
            and typed not in (None, "")
            and str(typed) not in fd.allowed
        ):
            errors.append(f"{label} is not included in the list")
            return
        doc[key] = typed

    def _reference(
        self,
        view: ObjectView,
        fd: FieldDef,
        doc: dict[str, Any],
        key: str,
        value: Any,
        mode: str,
        errors: list[str],
        label: str,
        records: tuple[dict[str, Any], ...],
    ) -> None:
        target = view.targets.get(key)
        target_view = self.views.view(target) if target is not None else None
        if value is None or value == "":
            doc[key] = None
            return
        if target_view is None or not target_view.stored:
            # Embedded data (a supplier's primary contact): kept, typed where known.
            if not isinstance(value, dict):
                errors.append(f"{label} is invalid")
                return
            nested: dict[str, Any] = dict(doc.get(key) or {}) if mode == "update" else {}
            if target_view is None:
                nested.update(value)
            else:
                self._apply(target_view, nested, value, mode, errors, f"{label} ")
                for extra, item in value.items():
                    if extra not in target_view.obj.fields and extra != "id":
                        nested.setdefault(extra, item)
            doc[key] = nested
            return
        try:
            doc[key] = {"id": self.resolve(target_view, _inherit(target_view, value, records))}
        except _Ambiguous as exc:
            # Never a silent pick, on update either: the caller meant one record.
            errors.append(exc.message(label))
        except _Unresolved:
            if mode == "update" and not self.options.strict_update_references:
                return  # Coupa: "the value will not be changed"
            errors.append(f"{label} is invalid")

    def find(self, view: ObjectView, key: dict[str, Any]) -> int | None:
        """The id of the record a natural key names, or None when none does.

        Raises:
            WriteError: Several records match the key.
        """
        try:
            return self.resolve(view, key)
        except _Unresolved:
            return None
        except _Ambiguous as exc:
            raise WriteError([exc.message(human_name(view.obj.element))]) from None

    def resolve(self, target: ObjectView, value: Any) -> int:
        """The id of the record a reference names, by id or natural key.

        When several keys are given, all must match (coupa-api.md 5.2).

        Raises:
            _Unresolved: No record matches, or the value names no key.
            _Ambiguous: Several records match the natural key given.
        """
        if isinstance(value, bool):
            raise _Unresolved
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            value = {"id": int(value)}
        if not isinstance(value, dict):
            raise _Unresolved
        where: list[str] = []
        params: list[Any] = []
        for name, given in value.items():
            if name == "id":
                if given in (None, ""):
                    continue
                try:
                    rid = coerce("integer", given)
                except KindError:
                    raise _Unresolved from None
                if rid is None or not 0 < rid < 2**63:
                    raise _Unresolved
                params.append(rid)
                where.append("r0.id = ?")
                continue
            if name not in target.key_fields:
                continue
            kfd = target.obj.fields[name]
            if kfd.kind == "reference":
                sub = target.targets.get(name)
                sub_view = self.views.view(sub) if sub is not None else None
                if sub_view is None or not sub_view.stored:
                    raise _Unresolved
                where.append(f'json_extract(r0.doc, \'$."{name}"."id"\') = ?')
                params.append(self.resolve(sub_view, given))
            else:
                try:
                    typed = coerce(kfd.kind, given)
                except KindError:
                    raise _Unresolved from None
                self.store.value_index(name)
                where.append(f"json_extract(r0.doc, '$.\"{name}\"') = ?")
                params.append(typed)
        if not where:
            raise _Unresolved
        ids = self.store.select_ids(target.name, " AND ".join(where), params)
        if not ids:
            raise _Unresolved
        if len(ids) > 1:
            raise _Ambiguous(target, len(ids), {k for k in value if k in target.key_fields})
        return ids[0]

    def _collection(
        self,
        view: ObjectView,
        fd: FieldDef,
        doc: dict[str, Any],
        key: str,
        value: Any,
        errors: list[str],
        label: str,
        outer: tuple[dict[str, Any], ...],
    ) -> None:
        target = view.targets.get(key)
        child = self.views.view(target) if target is not None else None
        if child is None or child.stored:
            return  # associations such as approvals change through their own endpoints
        items = _as_list(value, child.obj.element)
        if items is None:
            errors.append(f"{label} must be a list of {child.obj.element} elements")
            return
        lines: list[dict[str, Any]] = [dict(line) for line in doc.get(key) or []]
        by_id = {line.get("id"): line for line in lines}
        removed: set[int] = set()
        child_label = human_name(key)
        unique_nums = (view.name, key) in DUPLICATE_LINE_NUMS_IGNORED
        for item in items:
            if not isinstance(item, dict):
                errors.append(f"{label} must hold {child.obj.element} elements")
                continue
            delete = str(item.get("_delete", "")).strip().lower() in TRUE_WORDS
            rid = item.get("id")
            if unique_nums and not delete and _repeats_line_num(item, lines, removed):
                continue
            if rid not in (None, ""):
                try:
                    line_id = coerce("integer", rid)
                except KindError:
                    errors.append(f"{child_label} id {rid!r} is not a number")
                    continue
                line = by_id.get(line_id)
                if line is None:
                    errors.append(f"{child_label} with id {line_id} does not belong to this record")
                    continue
                if delete:
                    removed.add(line_id)
                    continue
                self._apply(child, line, item, "update", errors, f"{child_label} ", outer)
                present = {k for k in item if k in child.obj.fields}
                self._check_required(child, line, errors, f"{child_label} ", only=present)
            elif not delete:
                line = {}
                self._apply(child, line, item, "create", errors, f"{child_label} ", outer)
                self._check_required(child, line, errors, f"{child_label} ")
                line["id"] = self.store.next_id(child.name)
                lines.append(line)
                by_id[line["id"]] = line
        kept = [line for line in lines if line.get("id") not in removed]
        if removed and (view.name, key) in DELETED_LINES_KEPT:
            # Kept out of sight for ?show_deleted_lines=true (coupa-api.md 4.6).
            hidden = deleted_lines_key(key)
            doc[hidden] = [
                *(doc.get(hidden) or []),
                *(ln for ln in lines if ln.get("id") in removed),
            ]
        if "line-num" in child.obj.fields:
            used = [n for n in (_int(line.get("line-num")) for line in kept) if n is not None]
            next_num = max(used, default=0) + 1
            num_kind = child.obj.fields["line-num"].kind
            for line in kept:
                if line.get("line-num") in (None, ""):
                    line["line-num"] = next_num if num_kind == "integer" else str(next_num)
                    next_num += 1
        doc[key] = kept

    # ------------------------------------------------------------------ rules

    def _check_required(
        self,
        view: ObjectView,
        doc: dict[str, Any],
        errors: list[str],
        prefix: str,
        only: set[str] | None = None,
    ) -> None:
        for name, fd in view.obj.fields.items():
            if not fd.required or not fd.writable or (only is not None and name not in only):
                continue
            if not fd.required_certain:
                # Required only in some cases, or defaulted by Coupa (the catalog says why):
                # Coupa accepts records without it, as its own examples show.
                continue
            value = doc.get(name)
            if value is None or value == "" or value == [] or value == {}:
                label = f"{prefix}{name.replace('-', ' ')}" if prefix else human_name(name)
                # A value that was sent but refused already has its message.
                if not any(e.startswith(f"{label} ") for e in errors):
                    errors.append(f"{label} can't be blank")

    @staticmethod
    def _event(view: ObjectView, doc: dict[str, Any], errors: list[str]) -> dict[str, Any] | None:
        """The event an update's input-only fields record (``EVENT_INPUTS``), taken out of
        the record; None when the update records none."""
        spec = EVENT_INPUTS.get(view.name)
        if spec is None or not spec.inputs & doc.keys():
            return None
        given = {key: doc.pop(name) for name, key in spec.keys.items() if name in doc}
        comment = doc.pop(spec.comment[0], None)
        target = {k: v for k, v in given.items() if v not in (None, "")}
        if not target:
            errors.append(f"{human_name(spec.reference)} can't be blank")
        return {spec.reference: target, spec.comment[1]: comment}

    def _record_event(
        self,
        view: ObjectView,
        doc: dict[str, Any],
        event: dict[str, Any],
        now: str,
        user: dict[str, int],
    ) -> None:
        spec = EVENT_INPUTS[view.name]
        event.update(
            {
                "id": self.store.next_id(spec.collection),
                "eventable-type": rails_class(view.obj),
                "eventable-id": doc.get("id"),
                "created-at": now,
                "updated-at": now,
                "created-by": user,
                "updated-by": user,
            }
        )
        doc[spec.collection] = [*(doc.get(spec.collection) or []), event]

    @staticmethod
    def _check_updatable(
        view: ObjectView,
        current: dict[str, Any],
        doc: dict[str, Any],
        body: dict[str, Any],
        errors: list[str],
    ) -> None:
        allowed = UPDATABLE_FIELDS.get(view.name)
        if allowed is None:
            return
        fields = view.obj.fields
        for raw_key in body:
            key = raw_key[:-3] if raw_key not in fields and raw_key.endswith("-id") else raw_key
            # A field sent with its current value (a record sent back whole) is no change.
            if key in fields and key not in allowed and doc.get(key) != current.get(key):
                errors.append(f"{human_name(key)} cannot be changed through the API")

    def _unique_fields(self, view: ObjectView) -> dict[str, tuple[str, ...]]:
        scopes = dict(UNIQUE_SCOPES.get(view.name, {}))
        for name, fd in view.obj.fields.items():
            if fd.unique_within and fd.kind in SCALAR_KINDS and name not in scopes:
                scopes[name] = fd.unique_within
            elif fd.unique and fd.kind in SCALAR_KINDS and name not in scopes:
                scopes[name] = next(
                    (
                        tuple(k for k in key if k != name)
                        for key in view.obj.lookup_keys
                        if name in key and len(key) > 1
                    ),
                    (),
                )
        # Natural keys first, in the catalog's key order: Coupa reports "Login has already
        # been taken" before "Email has already been taken".
        rank = {name: n for n, name in enumerate(view.key_fields)}
        return dict(sorted(scopes.items(), key=lambda item: rank.get(item[0], len(rank))))

    def _check_unique(
        self,
        view: ObjectView,
        doc: dict[str, Any],
        current: dict[str, Any] | None,
        errors: list[str],
    ) -> None:
        for name, scope in self._unique_fields(view).items():
            value = doc.get(name)
            if value in (None, ""):
                continue
            parts = (name, *scope)
            if current is not None and all(doc.get(p) == current.get(p) for p in parts):
                continue
            self.store.value_index(name)
            where = [f"json_extract(r0.doc, '$.\"{name}\"') = ?"]
            params: list[Any] = [value]
            for part in scope:
                scoped = doc.get(part)
                if isinstance(scoped, dict):
                    where.append(f'json_extract(r0.doc, \'$."{part}"."id"\') = ?')
                    params.append(scoped.get("id"))
                elif scoped is None:
                    where.append(f"json_extract(r0.doc, '$.\"{part}\"') IS NULL")
                else:
                    where.append(f"json_extract(r0.doc, '$.\"{part}\"') = ?")
                    params.append(scoped)
            if current is not None:
                where.append("r0.id <> ?")
                params.append(current["id"])
            if self.store.select_ids(view.name, " AND ".join(where), params):
                errors.append(f"{human_name(name)} has already been taken")

    def _derive(self, view: ObjectView, doc: dict[str, Any]) -> None:
        fields = view.obj.fields
        for copy_to, source in COPIES.get(view.name, {}).items():
            if doc.get(source) is not None:
                doc[copy_to] = doc[source]
        for name, (sources, joiner) in JOINED.get(view.name, {}).items():
            parts = [str(doc[s]) for s in sources if doc.get(s) not in (None, "")]
            if parts:
                doc[name] = joiner.join(parts)
        totals = TOTALS.get(view.name)
        if totals is None:
            return
        lines_field, amount, parent_fields = totals
        lines = doc.get(lines_field)
        if not isinstance(lines, list):
            return
        target = view.targets.get(lines_field)
        child_fields = target.fields if target is not None else {}
        total = Decimal(0)
        for line in lines:
            line_total = _line_amount(line, amount)
            if line_total is None:
                continue
            if "*" in amount and "total" in child_fields:
                line["total"] = format(line_total.quantize(Decimal("0.01")), "f")
            total += line_total
        for name in parent_fields:
            if name in fields:
                doc[name] = format(total.quantize(Decimal("0.01")), "f")
        if "tax-amount" in fields and "total-with-taxes" in parent_fields and doc.get("tax-amount"):
            tax = _dec(doc.get("tax-amount")) or Decimal(0)
            doc["total-with-taxes"] = format((total + tax).quantize(Decimal("0.01")), "f")
        discounted_totals(view.name, doc)

    def _version(self, view: ObjectView, old: dict[str, Any], new: dict[str, Any]) -> None:
        rule = VERSIONING.get(view.name)
        if rule is None:
            return
        lines_field, watched, version, revision = rule
        if revision in view.obj.fields:
            new[revision] = int(old.get(revision) or 0) + 1
        before = {line.get("id"): line for line in old.get(lines_field) or []}
        after = {line.get("id"): line for line in new.get(lines_field) or []}
        changed = before.keys() != after.keys() or any(
            before[i].get(f) != after[i].get(f) for i in after for f in watched
        )
        if changed and version in view.obj.fields:
            new[version] = int(old.get(version) or 0) + 1
            for name, value in NEW_VERSION_RESETS.get(view.name, {}).items():
                if name in view.obj.fields:
                    new[name] = value

    def _stamp(
        self,
        view: ObjectView,
        doc: dict[str, Any],
        now: str,
        user: dict[str, int],
        *,
        created: bool,
    ) -> None:
        fields = view.obj.fields
        if created:
            if "created-at" in fields:
                doc["created-at"] = now
            if "created-by" in fields:
                doc["created-by"] = user
        if "updated-at" in fields:
            doc["updated-at"] = now
        if "updated-by" in fields:
            doc["updated-by"] = user

    def _stamp_lines(
        self,
        view: ObjectView,
        doc: dict[str, Any],
        old: dict[str, Any] | None,
        now: str,
        user: dict[str, int],
    ) -> None:
        for name, target in view.targets.items():
            if target is None or view.obj.fields[name].kind != "collection":
                continue
            lines = doc.get(name)
            if not isinstance(lines, list):
                continue
            child = self.views.view(target)
            if child.stored:
                continue
            before = {line.get("id"): line for line in (old or {}).get(name) or []}
            for line in lines:
                previous = before.get(line.get("id"))
                if previous is None:
                    self._stamp(child, line, now, user, created=True)
                elif previous != line:
                    self._stamp(child, line, now, user, created=False)


def _inherit(target: ObjectView, value: Any, records: tuple[dict[str, Any], ...]) -> Any:
    """A natural-key reference completed with the key parts it leaves out, taken from the
    record that holds it or, failing that, its enclosing documents (nearest first)."""
    parts = INHERITED_KEYS.get(target.name)
    if not parts or not isinstance(value, dict) or value.get("id") not in (None, ""):
        return value
    filled = dict(value)
    for part in parts:
        if filled.get(part) in (None, ""):
            found = next((r[part] for r in records if r.get(part) not in (None, "")), None)
            if found is not None:
                filled[part] = found
    return filled


def _as_list(value: Any, element: str) -> list[Any] | None:
    """A collection as a list, whatever shape XML gave it (one child or many)."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        # XML without type="array": {"invoice-line": {...}} or {"invoice-line": [...]}.
        if len(value) == 1:
            inner = next(iter(value.values()))
            if next(iter(value)) in (element, element.replace("-", "_")):
                return inner if isinstance(inner, list) else [inner]
        return None
    return None


def _dec(value: Any) -> Decimal | None:
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _repeats_line_num(item: dict[str, Any], lines: list[dict[str, Any]], removed: set[int]) -> bool:
    """Whether a line in a body gives a line-num that another kept line already has."""
    num = _int(item.get("line-num")) if item.get("line-num") not in (None, "") else None
    if num is None:
        return False
    own = _int(item.get("id")) if item.get("id") not in (None, "") else None
    return any(
        _int(line.get("line-num")) == num
        for line in lines
        if line.get("id") != own and line.get("id") not in removed
    )


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _line_amount(line: dict[str, Any], amount: str) -> Decimal | None:
    if "*" in amount:
        left, right = amount.split("*", 1)
        price, quantity = _dec(line.get(left)), _dec(line.get(right))
        if price is None:
            return _dec(line.get("total"))
        return price * (quantity if quantity is not None else Decimal(1))
    return _dec(line.get(amount))


def _dedupe(messages: list[str]) -> list[str]:
    return list(dict.fromkeys(messages))
