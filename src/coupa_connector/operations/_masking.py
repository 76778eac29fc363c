"""Records as the operation log stores them for people to read: secrets masked.

The fields masked are those of the client's masking list (``password``, ``cxml-secret``,
``cxml-http-password``, ... by name: every secret field of the catalog), plus the input
fields a transformation maps to one of them (``cxml-secret: shared_key`` makes
``shared_key`` a secret too). The values found there are also cut out of the record's
messages, since a reason may quote the value it refused. The rejects file is not masked: it
holds the input as given, so it can be fixed and fed back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from coupa_connector.client._redact import MIN_SECRET_LENGTH, is_secret_field, mask_fields
from coupa_connector.client._secret import MASK

if TYPE_CHECKING:
    from coupa_connector.operations._transform import TransformSpec

__all__ = ["RecordMask"]


@dataclass(frozen=True, slots=True)
class RecordMask:
    """Masks the secret fields of records and their values in messages.

    Attributes:
        names: Field names masked beyond those the masking list names.
    """

    names: frozenset[str] = frozenset()

    @classmethod
    def for_transform(cls, spec: TransformSpec | None) -> RecordMask:
        """A mask that also covers the input fields ``spec`` maps to secret fields."""
        if spec is None:
            return cls()
        names: set[str] = set()
        for target, expr in (*spec.mapping, *spec.lines_mapping):
            leaf = target.rsplit(".", 1)[-1].split("[", 1)[0]
            if is_secret_field(leaf) and expr.parsed is not None:
                names.update(_field_names(expr.parsed.parsed))
        return cls(frozenset(names))

    def record(self, record: Any) -> Any:
        """A copy of a record (or a list of them) with every secret field's value masked."""
        return None if record is None else mask_fields(record, self.names)

    def messages(self, messages: Sequence[str], records: Iterable[Any]) -> list[str]:
        """``messages`` with the secret values of ``records`` masked out."""
        secrets: set[str] = set()
        for record in records:
            self._collect(record, secrets, secret=False)
        ordered = sorted((s for s in secrets if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True)
        out: list[str] = []
        for message in messages:
            for secret in ordered:
                message = message.replace(secret, MASK)
            out.append(message)
        return out

    def _collect(self, value: Any, into: set[str], *, secret: bool) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                self._collect(v, into, secret=secret or is_secret_field(str(k)) or k in self.names)
        elif isinstance(value, list | tuple):
            for v in value:
                self._collect(v, into, secret=secret)
        elif secret and value not in (None, "") and not isinstance(value, bool):
            into.add(str(value))


# Nodes whose value is one child's: ``creds.http`` is ``http``'s value, not ``creds``'s
# (which is only the way to it); ``lines[0]`` is an element of ``lines``.
_VALUE_CHILD = {
    "subexpression": -1,
    "projection": -1,
    "value_projection": -1,
    "index_expression": 0,
}


def _field_names(node: Any) -> Iterable[str]:
    """The names of the fields whose values a compiled JMESPath expression passes on."""
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        kind = current.get("type")
        children = list(current.get("children", ()))
        if kind == "field":
            yield str(current.get("value"))
        elif kind in _VALUE_CHILD and children:
            stack.append(children[_VALUE_CHILD[kind]])
        else:
            stack.extend(children)
