"""Natural keys: which fields identify a record, and finding Coupa ids for many keys at once.

A key is one or more field paths (``number``; ``invoice-number,supplier.number``). Lookups
are batched: one path of the key (the pivot: the first field of the object itself) goes into
one ``<path>[in]=a,b,c`` query per chunk of records, the other paths narrow that query when a
chunk shares their value and are matched here against what comes back, and answers are
cached so a key is asked about once per run. Values are compared, and sent, in one spelling
per catalog kind (``_key_types``): a date from a file matches Coupa's datetime.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coupa_connector.activities.write._key_types import expected, key_text
from coupa_connector.catalog import ObjectDef, load_catalog, wire_name
from coupa_connector.errors import ConfigurationError

__all__ = ["Fetch", "KeyResolver", "KeySpec", "KeyValue", "get_path"]

KeyValue = tuple[str, ...]
"""One record's key: the values of the key's paths, spelled by their kinds, in the key's order."""

Fetch = Callable[[Mapping[str, str]], AsyncIterator[Mapping[str, Any]]]
"""Runs one query (filter and ``fields`` params) and yields every matching record."""

# Coupa's ``in`` operator takes a comma-separated list; a long URL is refused by proxies long
# before Coupa's own limits, so chunks stay well under 2 kB of values.
_MAX_IN_VALUES = 50
_MAX_IN_CHARS = 1500


def _lookup(mapping: Mapping[str, Any], name: str) -> Any:
    # Coupa accepts ``-`` and ``_`` alike in keys, and so do input files.
    if name in mapping:
        return mapping[name]
    alt = name.replace("-", "_")
    return mapping.get(alt)


def get_path(record: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The value at a path of nested mappings (``("supplier", "number")``), or None."""
    value: Any = record
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = _lookup(value, part)
    return value


def _given(value: Any) -> bool:
    """True when a record gives a value at all (of any kind: not None, blank or nested)."""
    return key_text("string", value) is not None


@dataclass(frozen=True, slots=True)
class KeySpec:
    """The fields that identify a record of one object.

    Attributes:
        object: The object the key belongs to.
        paths: Each part of the key as a path of wire names (``("supplier", "number")``).
    """

    object: ObjectDef
    paths: tuple[tuple[str, ...], ...]
    kinds: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The catalog kind of each path's last field (``reference`` until made concrete)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self._kind(path) for path in self.paths))

    def _kind(self, path: tuple[str, ...]) -> str:
        catalog = load_catalog()
        current: ObjectDef | None = self.object
        kind = "string"
        for part in path:
            fdef = current.fields.get(part) if current is not None else None
            if fdef is None:
                # Every record has an integer id; beyond the catalog a value is text.
                return "integer" if part == "id" else "string"
            kind = fdef.kind
            ref = fdef.ref if fdef.kind == "reference" else None
            current = catalog.get(ref) if ref and ref in catalog else None
        return kind

    @classmethod
    def parse(cls, obj: ObjectDef, text: str | Sequence[str]) -> KeySpec:
        """Parse ``"invoice-number,supplier.number"`` (or a list of such parts) for ``obj``.

        Every part is checked against the catalog: the first name must be a field of the
        object, and each further name a field of the object the previous one refers to.

        Raises:
            ConfigurationError: The key is empty or malformed.
            UnknownFieldError: A part names a field the object does not have.
        """
        parts = [text] if isinstance(text, str) else list(text)
        names = [p.strip() for chunk in parts for p in chunk.split(",") if p.strip()]
        if not names:
            raise ConfigurationError(f"An empty key was given for {obj.name}.")
        catalog = load_catalog()
        paths: list[tuple[str, ...]] = []
        for name in names:
            path = tuple(wire_name(p) for p in name.split("."))
            if any(not p for p in path):
                raise ConfigurationError(f"Key part {name!r} of {obj.name} is malformed.")
            current = obj
            for depth, part in enumerate(path):
                fdef = current.field(part)
                if depth == len(path) - 1:
                    if fdef.kind in ("collection", "custom-fields"):
                        raise ConfigurationError(
                            f"Key part {name!r}: {part} of {current.name} is a {fdef.kind}, "
                            "not a value that can identify a record."
                        )
                    # A reference as the last part (``supplier``) is made concrete per record
                    # from whichever of the referenced object's keys the record gives.
                    break
                if fdef.kind != "reference" or not fdef.ref or fdef.ref not in catalog:
                    raise ConfigurationError(
                        f"Key part {name!r}: {part} of {current.name} is not a reference, so "
                        f"it has no field {path[depth + 1]!r}."
                    )
                current = catalog.get(fdef.ref)
            paths.append(path)
        if len(set(paths)) != len(paths):
            raise ConfigurationError(f"Key {names} of {obj.name} names a field twice.")
        return cls(obj, tuple(paths))

    @classmethod
    def default_for(cls, obj: ObjectDef) -> KeySpec | None:
        """The object's first natural key other than ``id``, from the catalog; None if none."""
        for key in obj.lookup_keys:
            if tuple(key) != ("id",):
                try:
                    return cls.parse(obj, list(key))
                except ConfigurationError:
                    continue
        return None

    @property
    def is_id(self) -> bool:
        """True for the plain ``id`` key: no lookup needed."""
        return self.paths == (("id",),)

    @property
    def is_unique(self) -> bool:
        """True when the catalog says the key names at most one record: one of its parts is
        a ``unique`` field of the object, or a field unique within fields the key also holds
        (``invoice-number`` within ``supplier``)."""
        heads = {path[0] for path in self.paths}
        for path in self.paths:
            if len(path) != 1:
                continue
            fdef = self.object.fields.get(path[0])
            if fdef is None:
                continue
            if fdef.unique or (fdef.unique_within and set(fdef.unique_within) <= heads):
                return True
        return False

    @property
    def pivot(self) -> int:
        """The part lookups batch on: the first field of the object itself, else the first."""
        return next((i for i, path in enumerate(self.paths) if len(path) == 1), 0)

    @property
    def text(self) -> str:
        """The key as a user writes it (``invoice-number,supplier.number``)."""
        return ",".join(".".join(p) for p in self.paths)

    def _ref_target(self, path: tuple[str, ...]) -> ObjectDef | None:
        """The object a path's last part refers to, when that part is a reference."""
        catalog = load_catalog()
        current = self.object
        fdef = None
        for part in path:
            fdef = current.fields.get(part)
            if fdef is None:
                return None
            if fdef.kind == "reference" and fdef.ref and fdef.ref in catalog:
                current = catalog.get(fdef.ref)
        if fdef is not None and fdef.kind == "reference" and current is not self.object:
            return current
        return None

    def concrete(self, record: Mapping[str, Any]) -> KeySpec | None:
        """This key with every reference part made a value path for ``record``.

        ``invoice-number,supplier`` becomes ``invoice-number,supplier.number`` for a record
        whose supplier is given by number (by the referenced object's own keys, in the
        catalog's order). None when the record gives no usable value for a reference part.
        """
        paths: list[tuple[str, ...]] = []
        changed = False
        for path in self.paths:
            target = self._ref_target(path)
            if target is None:
                paths.append(path)
                continue
            given = get_path(record, path)
            chosen: tuple[str, ...] | None = None
            if isinstance(given, Mapping):
                for key in target.lookup_keys:
                    if len(key) != 1:
                        continue
                    sub = target.fields.get(key[0])
                    if sub is not None and sub.kind in ("reference", "collection"):
                        continue
                    if _given(_lookup(given, key[0])):
                        chosen = (*path, key[0])
                        break
            elif _given(given):
                chosen = (*path, "id")  # a bare scalar reference is an id
            if chosen is None:
                return None
            paths.append(chosen)
            changed = True
        return KeySpec(self.object, tuple(paths)) if changed else self

    def value(self, record: Mapping[str, Any]) -> KeyValue | None:
        """The record's key, or None when any part is missing or blank."""
        spec = self.concrete(record)
        if spec is None:
            return None
        values = [
            key_text(kind, _part(record, path))
            for path, kind in zip(spec.paths, spec.kinds, strict=True)
        ]
        if any(v is None for v in values):
            return None
        return tuple(v for v in values if v is not None)

    def missing(self, record: Mapping[str, Any]) -> list[str]:
        """The key parts the record lacks (dotted), for a message."""
        missing: list[str] = []
        for path in self.paths:
            given = get_path(record, path)
            if self._ref_target(path) is not None:
                if KeySpec(self.object, (path,)).concrete(record) is None:
                    missing.append(".".join(path))
            elif not _given(given):
                missing.append(".".join(path))
        return missing

    def unreadable(self, record: Mapping[str, Any]) -> list[str]:
        """Why the record's key parts that are given do not read as their kinds, for a
        message (``rate-date: 'soon' is not an ISO 8601 ...``); empty when all of them do."""
        spec = self.concrete(record)
        if spec is None:
            return []
        problems: list[str] = []
        for path, kind in zip(spec.paths, spec.kinds, strict=True):
            given = _part(record, path)
            if _given(given) and key_text(kind, given) is None:
                problems.append(f"{'.'.join(path)}: {given!r} is not {expected(kind)}")
        return problems

    def describe(self, value: KeyValue) -> str:
        """``invoice-number='INV-1', supplier.number='S-9'`` for messages."""
        return ", ".join(f"{'.'.join(p)}={v!r}" for p, v in zip(self.paths, value, strict=True))

    def fields_param(self) -> str:
        """Coupa's ``fields`` JSON asking for the id and every key part, nothing else."""
        top: list[Any] = ["id"]
        nested: dict[str, list[Any]] = {}
        for path in self.paths:
            if len(path) == 1:
                top.append(path[0].replace("-", "_"))
            else:
                # Two levels cover every natural key Coupa documents (supplier.number, ...).
                node: list[Any] = nested.setdefault(path[0].replace("-", "_"), [])
                _add_nested(node, [p.replace("-", "_") for p in path[1:]])
        top.extend({name: sub} for name, sub in nested.items())
        return json.dumps(top, separators=(",", ":"))

    def filter_name(self, path: tuple[str, ...]) -> str:
        """Coupa's query parameter for a path (``supplier[number]``), underscores as Coupa's
        Arguments page asks for."""
        head, *rest = (p.replace("-", "_") for p in path)
        return head + "".join(f"[{p}]" for p in rest)


def _part(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value of one concrete key part; a bare scalar reference (``"supplier": 17``) is
    the value of its ``id``."""
    value = get_path(record, path)
    if value is None and len(path) > 1 and path[-1] == "id":
        parent = get_path(record, path[:-1])
        if not isinstance(parent, Mapping | list):
            return parent
    return value


def _add_nested(node: list[Any], parts: list[str]) -> None:
    if len(parts) == 1:
        if parts[0] not in node:
            node.append(parts[0])
        return
    for item in node:
        if isinstance(item, dict) and parts[0] in item:
            _add_nested(item[parts[0]], parts[1:])
            return
    child: list[Any] = []
    node.append({parts[0]: child})
    _add_nested(child, parts[1:])


class KeyResolver:
    """Finds the Coupa ids of many keys with few queries, remembering every answer.

    Args:
        spec: The key.
        fetch: Runs one query; gets the filter and ``fields`` params, yields matching records.
        cache_size: How many keys to remember (least recently used are forgotten first).
    """

    def __init__(self, spec: KeySpec, fetch: Fetch, *, cache_size: int = 100_000) -> None:
        self.spec = spec
        self._fetch = fetch
        self._cache: OrderedDict[KeyValue, tuple[int, ...]] = OrderedDict()
        self._cache_size = cache_size
        self.queries = 0

    def cached(self, key: KeyValue) -> tuple[int, ...] | None:
        """The ids known for a key, or None if it has not been looked up."""
        ids = self._cache.get(key)
        if ids is not None:
            self._cache.move_to_end(key)
        return ids

    def remember(self, key: KeyValue, ids: Iterable[int]) -> None:
        """Record what a key matches (e.g. after creating the record it names)."""
        self._cache[key] = tuple(sorted(set(ids)))
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def forget(self, key: KeyValue) -> None:
        """Drop a key's cached answer, so the next lookup asks Coupa again."""
        self._cache.pop(key, None)

    async def resolve(self, keys: Iterable[KeyValue]) -> dict[KeyValue, tuple[int, ...]]:
        """The ids matching each key (empty tuple: no match), asking Coupa only for new keys.

        Raises:
            CoupaError: A lookup query failed after the connection's retries.
        """
        wanted = list(dict.fromkeys(keys))
        todo = [k for k in wanted if self.cached(k) is None]
        for params, covered in self._queries(todo):
            self.queries += 1
            found: dict[KeyValue, set[int]] = {}
            async for record in self._fetch(params):
                value = self.spec.value(record)
                rid = record.get("id")
                if value is not None and isinstance(rid, int):
                    found.setdefault(value, set()).add(rid)
            for key in covered:
                self.remember(key, found.get(key, ()))
        return {k: self.cached(k) or () for k in wanted}

    def _queries(self, keys: list[KeyValue]) -> list[tuple[dict[str, str], list[KeyValue]]]:
        """The queries that answer ``keys``, each with the keys it answers.

        The pivot part (the first part that is a field of the object itself, usually the most
        selective) goes into an ``in`` list per chunk; another part whose value every key of a
        chunk shares narrows the query too. Values holding a comma cannot sit in an ``in``
        list, and neither can values with spaces at either end (the list's items are
        trimmed), so each of those gets an equality query of its own.
        """
        pivot = self.spec.pivot
        name = self.spec.filter_name(self.spec.paths[pivot])
        fields = self.spec.fields_param()
        queries: list[tuple[dict[str, str], list[KeyValue]]] = []
        by_value: dict[str, list[KeyValue]] = {}
        for key in keys:
            by_value.setdefault(key[pivot], []).append(key)
        chunk: list[str] = []
        size = 0

        def flush(values: list[str]) -> None:
            covered = [k for v in values for k in by_value[v]]
            params = _in_query(name, values, fields)
            for index, path in enumerate(self.spec.paths):
                shared = {k[index] for k in covered}
                if index != pivot and len(shared) == 1:
                    params[self.spec.filter_name(path)] = shared.pop()
            queries.append((params, covered))

        for value in by_value:
            if "," in value or value != value.strip():
                flush([value])
                continue
            if chunk and (len(chunk) >= _MAX_IN_VALUES or size + len(value) > _MAX_IN_CHARS):
                flush(chunk)
                chunk, size = [], 0
            chunk.append(value)
            size += len(value) + 1
        if chunk:
            flush(chunk)
        return queries


def _in_query(name: str, values: list[str], fields: str) -> dict[str, str]:
    if len(values) == 1:
        return {name: values[0], "fields": fields}
    return {f"{name}[in]": ",".join(values), "fields": fields}
