"""Each instance's own fields: an overlay on the catalog, one file per instance URL.

Every Coupa instance carries fields the catalog cannot know: its custom ("flexible") fields,
inside ``custom-fields`` or, for older ones, as top-level elements, and undocumented fields
Coupa's references leave out. An ``Overlay`` lists them for one instance, with the type each
was observed with and where it was seen; ``with_overlay`` gives the catalog plus the overlay,
which validation, JSON Schema and ``coupa schema`` take like the catalog itself.

The file lives in the user's cache directory (``platformdirs``), named after the instance's
URL in a normal form that never holds credentials (``https://acme.coupahost.com`` ->
``overlays/acme.coupahost.com.json``). Its format, version 1::

    {
     "format": "coupa-connector instance overlay",
     "instance": "https://acme.coupahost.com",
     "objects": {
      "invoices": [
       {"custom": true, "kind": "string", "name": "erp-ref", "places": ["custom-fields"]},
       {"kind": "decimal", "name": "amount-due-local", "places": ["top-level"]}
      ]
     },
     "version": 1
    }

The output is deterministic (keys sorted, objects by name, fields by name, defaults left
out: ``custom`` false, no ``max_length``, ``allowed`` or ``description``), so saving the same
knowledge twice gives the same bytes. A file that cannot be read as an overlay is refused with
an ``OverlayError`` naming the file and the reason, or ignored with a logged warning.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args
from urllib.parse import urlsplit

from coupa_connector.catalog._load import load_catalog
from coupa_connector.catalog._model import Catalog, FieldDef, FieldKind, ObjectDef, wire_name
from coupa_connector.errors import CatalogError

__all__ = [
    "OVERLAY_FORMAT",
    "OVERLAY_VERSION",
    "PLACES",
    "InstanceField",
    "Overlay",
    "OverlayError",
    "instance_catalog",
    "instance_url",
    "load_overlay",
    "observe_records",
    "overlay_path",
    "save_overlay",
    "with_overlay",
]

log = logging.getLogger(__name__)

OVERLAY_FORMAT = "coupa-connector instance overlay"
OVERLAY_VERSION = 1
CACHE_APP = "coupa-connector"
OVERLAY_DIR = "overlays"

# Where a field was seen in a record: inside the custom-fields wrapper, or as an element of
# the record itself (legacy custom fields with "API Global Namespace", undocumented fields).
Place = Literal["custom-fields", "top-level"]
PLACES: tuple[Place, ...] = ("custom-fields", "top-level")
CUSTOM_FIELDS = "custom-fields"
_KINDS = frozenset(get_args(FieldKind)) - {"custom-fields"}
_DEFAULT_PORTS = {"https": 443, "http": 80}


class OverlayError(CatalogError):
    """An instance overlay that cannot be read or saved (the message names file and reason)."""


@dataclass(frozen=True, slots=True)
class InstanceField:
    """One field of one object on one instance, beyond the catalog.

    Attributes:
        name: Wire name (``erp-ref``).
        kind: The type it was observed with (``string`` when unsure).
        places: Where it was seen: ``custom-fields``, ``top-level``, or both.
        custom: Whether the instance defines it as a custom field (rather than only being
            seen in records).
        max_length: The longest value the instance accepts, when its definition says.
        allowed: The values the instance allows, when its definition lists them.
        description: The instance's label or description.
    """

    name: str
    kind: FieldKind
    places: tuple[Place, ...]
    custom: bool = False
    max_length: int | None = None
    allowed: tuple[str, ...] = ()
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "places": list(self.places)}
        if self.custom:
            out["custom"] = True
        if self.max_length is not None:
            out["max_length"] = self.max_length
        if self.allowed:
            out["allowed"] = list(self.allowed)
        if self.description:
            out["description"] = self.description
        return out

    def merged(self, other: InstanceField) -> InstanceField:
        """This field with what ``other`` observed of the same field added."""
        places = tuple(p for p in PLACES if p in self.places or p in other.places)
        lengths = [n for n in (self.max_length, other.max_length) if n is not None]
        return InstanceField(
            name=self.name,
            kind=_wider(self.kind, other.kind),
            places=places,
            custom=self.custom or other.custom,
            max_length=max(lengths) if lengths else None,
            allowed=tuple(dict.fromkeys((*self.allowed, *other.allowed))),
            description=self.description or other.description,
        )


def _wider(a: FieldKind, b: FieldKind) -> FieldKind:
    """The one kind that holds values of both: numbers widen to decimal, dates to datetime,
    anything else that differs to text."""
    if a == b:
        return a
    pair = {a, b}
    if pair <= {"integer", "decimal", "float"}:
        return "decimal"
    if pair == {"date", "datetime"}:
        return "datetime"
    return "text" if "text" in pair else "string"


@dataclass(frozen=True, slots=True)
class Overlay:
    """An instance's own fields, by catalog object name.

    Attributes:
        instance: The instance URL in normal form (``instance_url``): no credentials, no
            path, no default port.
        objects: Catalog object name -> its fields, sorted by name.
    """

    instance: str
    objects: Mapping[str, tuple[InstanceField, ...]] = field(default_factory=dict)

    def fields(self, obj: str) -> tuple[InstanceField, ...]:
        return self.objects.get(obj, ())

    def merge(self, other: Overlay) -> Overlay:
        """Both overlays' knowledge of one instance: the union of fields, kinds widened.

        Raises:
            OverlayError: The overlays are of different instances.
        """
        if other.instance != self.instance:
            raise OverlayError(
                f"Cannot merge the overlay of {other.instance} into that of {self.instance}."
            )
        return Overlay.build(
            self.instance,
            {
                name: [*self.fields(name), *other.fields(name)]
                for name in {*self.objects, *other.objects}
            },
        )

    @classmethod
    def build(cls, instance: str, objects: Mapping[str, Iterable[InstanceField]]) -> Overlay:
        """An overlay in normal form: one entry per field (merged), sorted, no empty objects."""
        out: dict[str, tuple[InstanceField, ...]] = {}
        for name in sorted(objects):
            by_name: dict[str, InstanceField] = {}
            for item in objects[name]:
                seen = by_name.get(item.name)
                by_name[item.name] = item if seen is None else seen.merged(item)
            if by_name:
                out[name] = tuple(by_name[k] for k in sorted(by_name))
        return cls(instance_url(instance), out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": OVERLAY_FORMAT,
            "version": OVERLAY_VERSION,
            "instance": self.instance,
            "objects": {
                name: [f.to_dict() for f in fields] for name, fields in self.objects.items()
            },
        }

    def to_json(self) -> str:
        """The file's text: deterministic, one field per line."""
        lines = ["{", f' "format": {_one(OVERLAY_FORMAT)},', f' "instance": {_one(self.instance)},']
        lines.append(' "objects": {')
        names = list(self.objects)
        for i, name in enumerate(names):
            fields = self.objects[name]
            lines.append(f"  {_one(name)}: [")
            lines.extend(
                f"   {_one(f.to_dict())}{',' if j < len(fields) - 1 else ''}"
                for j, f in enumerate(fields)
            )
            lines.append("  ]" + ("," if i < len(names) - 1 else ""))
        lines.extend([" },", f' "version": {OVERLAY_VERSION}', "}"])
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dict(cls, data: Any, where: str = "the overlay") -> Overlay:
        """Read an overlay's JSON form.

        Raises:
            OverlayError: Not an overlay, a newer version, or a malformed entry (named).
        """
        if not isinstance(data, Mapping) or data.get("format") != OVERLAY_FORMAT:
            raise OverlayError(f"{where} is not a coupa-connector instance overlay.")
        version = data.get("version")
        if version != OVERLAY_VERSION:
            raise OverlayError(
                f"{where} has format version {version!r}; this coupa-connector reads version "
                f"{OVERLAY_VERSION}. Remove the file, or save the overlay again with this version."
            )
        instance = data.get("instance")
        objects = data.get("objects")
        if not isinstance(instance, str) or not instance:
            raise OverlayError(f"{where}: 'instance' must be the instance URL.")
        if not isinstance(objects, Mapping):
            raise OverlayError(f"{where}: 'objects' must map object names to lists of fields.")
        read: dict[str, list[InstanceField]] = {}
        for name, items in objects.items():
            if not isinstance(name, str) or not isinstance(items, list):
                raise OverlayError(f"{where}: objects.{name} must be a list of fields.")
            read[name] = [
                _field(item, f"{where}: objects.{name}[{i}]") for i, item in enumerate(items)
            ]
        return cls.build(instance, read)


def _one(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _field(item: Any, where: str) -> InstanceField:
    if not isinstance(item, Mapping):
        raise OverlayError(f"{where} must be a mapping.")
    name, kind, places = item.get("name"), item.get("kind"), item.get("places")
    if not isinstance(name, str) or not name.strip():
        raise OverlayError(f"{where}: 'name' must be a field name.")
    if kind not in _KINDS:
        raise OverlayError(
            f"{where} ({name}): kind {kind!r} is not one of {', '.join(sorted(_KINDS))}."
        )
    if not isinstance(places, list) or not places or any(p not in PLACES for p in places):
        raise OverlayError(f"{where} ({name}): 'places' must list custom-fields and/or top-level.")
    max_length = item.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise OverlayError(f"{where} ({name}): 'max_length' must be a positive whole number.")
    allowed = item.get("allowed", [])
    if not isinstance(allowed, list) or any(not isinstance(v, str) for v in allowed):
        raise OverlayError(f"{where} ({name}): 'allowed' must be a list of texts.")
    return InstanceField(
        name=wire_name(name),
        kind=cast(FieldKind, kind),
        places=tuple(p for p in PLACES if p in places),
        custom=bool(item.get("custom", False)),
        max_length=max_length,
        allowed=tuple(allowed),
        description=str(item.get("description", "")),
    )


# ------------------------------------------------------------------------------- files


def instance_url(url: str) -> str:
    """An instance URL in normal form: scheme and host (and a port that is not the default).

    Credentials, path, query and fragment are dropped, the host lower-cased, and ``https``
    assumed when no scheme is given: ``https://user:pw@Acme.CoupaHost.com:443/api/`` ->
    ``https://acme.coupahost.com``.

    Raises:
        OverlayError: No host can be read from ``url``.
    """
    text = url.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if not host:
        raise OverlayError("An instance overlay needs the instance's URL, with a host name.")
    scheme = parts.scheme.lower() or "https"
    try:
        port = parts.port
    except ValueError:
        raise OverlayError("The instance URL has a port that is not a number.") from None
    shown = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        shown += f":{port}"
    return f"{scheme}://{shown}"


def overlay_path(url: str, cache_dir: Path | str | None = None) -> Path:
    """Where the overlay of the instance at ``url`` is kept.

    ``cache_dir`` defaults to the user's cache directory for coupa-connector
    (``platformdirs.user_cache_dir``); the file is ``overlays/<host>[_<port>].json``, with
    ``http_`` in front for an instance reached over plain HTTP (a local sandbox).
    """
    normal = instance_url(url)
    scheme, rest = normal.split("://", 1)
    stem = re.sub(r"[^a-z0-9.\-]+", "_", rest.replace(":", "_"))
    if scheme != "https":
        stem = f"{scheme}_{stem}"
    if cache_dir is None:
        import platformdirs  # only overlay users pay for the import

        cache_dir = platformdirs.user_cache_dir(CACHE_APP)
    return Path(cache_dir) / OVERLAY_DIR / f"{stem}.json"


OnError = Literal["warn", "raise"]


def load_overlay(
    url: str, *, cache_dir: Path | str | None = None, on_error: OnError = "warn"
) -> Overlay | None:
    """The saved overlay of the instance at ``url``, or None when there is none.

    Args:
        url: The instance URL (any form ``instance_url`` reads).
        cache_dir: The cache directory (the user's, by default).
        on_error: For a file that cannot be read as this instance's overlay: ``warn`` logs a
            warning naming the file and the reason and returns None (the catalog alone is
            used); ``raise`` raises.

    Raises:
        OverlayError: With ``on_error="raise"``, a file that is unreadable, not JSON, not an
            overlay, of another version, or of another instance.
    """
    path = overlay_path(url, cache_dir)
    try:
        return read_overlay(path, expect=instance_url(url))
    except FileNotFoundError:
        return None
    except OverlayError as exc:
        if on_error == "raise":
            raise
        log.warning("ignoring the instance overlay: %s", exc.message)
        return None


def read_overlay(path: Path | str, *, expect: str | None = None) -> Overlay:
    """Read an overlay file.

    Raises:
        FileNotFoundError: There is no such file.
        OverlayError: The file cannot be read as an overlay (of ``expect``, when given).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise OverlayError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OverlayError(f"{path} is not valid JSON ({exc}).") from None
    overlay = Overlay.from_dict(data, str(path))
    if expect is not None and overlay.instance != instance_url(expect):
        raise OverlayError(
            f"{path} is the overlay of {overlay.instance}, not of {instance_url(expect)}."
        )
    return overlay


def save_overlay(overlay: Overlay, *, cache_dir: Path | str | None = None) -> Path:
    """Write ``overlay`` to its instance's file (atomically: a reader sees the old file or
    the new one, never half of one); return the path.

    Raises:
        OverlayError: The file cannot be written.
    """
    path = overlay_path(overlay.instance, cache_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(overlay.to_json())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OverlayError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


# ------------------------------------------------------------------------------- observing


def observe_records(
    catalog: Catalog, obj: ObjectDef | str, records: Iterable[Mapping[str, Any]]
) -> list[InstanceField]:
    """The fields of ``records`` (decoded, as the client returns them) that the catalog's
    ``obj`` lacks: every member of ``custom-fields`` and every unknown top-level element.

    Types are read conservatively from the decoded values: true/false is boolean, a whole
    number integer, another number float, a mapping a reference, a list a collection, and
    text is ``string`` (Coupa's JSON carries decimals and dates as text, so text says no
    more); a field seen only as null is ``string``.
    """
    target = catalog.get(obj) if isinstance(obj, str) else obj
    seen: dict[tuple[str, Place], FieldKind | None] = {}
    for record in records:
        for raw_key, value in record.items():
            key = wire_name(str(raw_key))
            if key == CUSTOM_FIELDS and isinstance(value, Mapping):
                for member, item in value.items():
                    _note(seen, (wire_name(str(member)), "custom-fields"), item)
            elif key not in target.fields:
                _note(seen, (key, "top-level"), value)
    return [
        InstanceField(name=name, kind=kind or "string", places=(place,))
        for (name, place), kind in sorted(seen.items())
    ]


def _note(
    seen: dict[tuple[str, Place], FieldKind | None], key: tuple[str, Place], value: Any
) -> None:
    kind = _observed_kind(value)
    before = seen.get(key)
    if kind is None:
        seen.setdefault(key, None)
    else:
        seen[key] = kind if before is None else _wider(before, kind)


def _observed_kind(value: Any) -> FieldKind | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, Mapping):
        return "reference"
    if isinstance(value, list):
        return "collection"
    return "string"


# ------------------------------------------------------------------------------- the view


def with_overlay(catalog: Catalog, overlay: Overlay | None) -> Catalog:
    """The catalog plus an instance's own fields: a new ``Catalog``, the shipped one unchanged.

    Top-level fields become fields of their object; custom fields become the fields of a
    nested object ``<object>:custom-fields`` that the object's ``custom-fields`` node points
    to (``ref``), so validation checks them by name and type and JSON Schema lists them.
    Every such field has ``sources == ("instance",)``: validation treats a value unlike the
    observed type as a warning, not an error. A field the catalog already has keeps the
    catalog's definition; objects the catalog does not know are left out.
    """
    if overlay is None or not overlay.objects:
        return catalog
    objects = {o.name: o for o in catalog}
    for name, fields in overlay.objects.items():
        obj = objects.get(name)
        if obj is None:
            log.debug("instance overlay: %s is not a catalog object; left out", name)
            continue
        merged = dict(obj.fields)
        top = [f for f in fields if "top-level" in f.places and f.name not in merged]
        for item in top:
            merged[item.name] = _field_def(item, overlay.instance)
        members = [f for f in fields if "custom-fields" in f.places]
        if members:
            holder = f"{name}:{CUSTOM_FIELDS}"
            objects[holder] = ObjectDef(
                name=holder,
                title=f"Custom fields of {name} on {overlay.instance}",
                element=holder,
                list_element=holder,
                model=holder,
                fields={m.name: _field_def(m, overlay.instance) for m in members},
                sources=("instance",),
            )
            node = merged.get(CUSTOM_FIELDS)
            merged[CUSTOM_FIELDS] = (
                dataclasses.replace(node, ref=holder)
                if node is not None
                else FieldDef(
                    name=CUSTOM_FIELDS,
                    kind="custom-fields",
                    ref=holder,
                    description="The instance's custom fields, by their API names.",
                    sources=("instance",),
                )
            )
        objects[name] = dataclasses.replace(obj, fields=merged)
    return Catalog(objects)


def instance_catalog(url: str | None, *, cache_dir: Path | str | None = None) -> Catalog:
    """The shipped catalog plus the saved overlay of the instance at ``url`` (the shipped
    catalog alone when there is no overlay, or no URL). An overlay file that cannot be read
    is ignored with a logged warning."""
    catalog = load_catalog()
    if not url:
        return catalog
    try:
        overlay = load_overlay(url, cache_dir=cache_dir)
    except OverlayError as exc:  # a URL without a host: nothing to look up
        log.debug("no instance overlay: %s", exc.message)
        return catalog
    return with_overlay(catalog, overlay)


def _field_def(item: InstanceField, instance: str) -> FieldDef:
    what = "a custom field of" if item.custom else "seen in records of"
    return FieldDef(
        name=item.name,
        kind=item.kind,
        max_length=item.max_length,
        allowed=item.allowed,
        description=item.description,
        note=f"Not in Coupa's references: {what} {instance} (instance overlay).",
        sources=("instance",),
    )
