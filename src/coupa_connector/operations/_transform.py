"""Transformations: map source records to target records with JMESPath expressions.

A mapping is ``target-field: expression``. Dotted target fields build nested records
(``supplier.number: vendor_id`` gives ``{"supplier": {"number": ...}}``). Expressions are
JMESPath over the source record, with the helpers of ``_functions``; a bare name with hyphens
(``invoice-number``) is read as the field of that name, so Coupa's field names need no
quoting. Non-text values in the mapping (numbers, true/false) are constants.

With ``group_by``, consecutive source rows that share the key become one record: the
mapping is evaluated on the group's first row and ``lines.mapping`` on every row, giving the
record's ``lines.field`` list (many CSV rows -> one invoice with its invoice lines).

A transformation never raises for one bad record: the record comes out with ``errors`` (each
naming the target field and the reason), and the runner rejects it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jmespath
from jmespath import exceptions as jmespath_exceptions
from jmespath import visitor as jmespath_visitor

from coupa_connector.operations._deletes import DELETED, DETECTED_AT, is_tombstone
from coupa_connector.operations._functions import CoupaLookup, TransformFunctions, truthy

__all__ = [
    "Expression",
    "Item",
    "TransformSpec",
    "Transformed",
    "Transformer",
    "compile_expression",
    "function_calls",
]

_HYPHENATED = re.compile(r"(?<![\w\"'`$@-])([A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)+)(?![\w(-])")
_QUOTED = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`")


def _quote_hyphenated(expr: str) -> str:
    """Quote bare ``invoice-number``-style names; JMESPath has no minus, so this is safe."""
    out: list[str] = []
    last = 0
    for match in _QUOTED.finditer(expr):
        out.append(_HYPHENATED.sub(r'"\1"', expr[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_HYPHENATED.sub(r'"\1"', expr[last:]))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled mapping expression, or a constant.

    Attributes:
        source: The text as written.
        parsed: The compiled JMESPath expression (None for a constant).
        constant: The constant's value, when ``parsed`` is None.
    """

    source: str
    parsed: Any = None
    constant: Any = None

    def evaluate(self, record: Mapping[str, Any], interpreter: Interpreter) -> Any:
        """The expression's value for one record."""
        if self.parsed is None:
            return self.constant
        return interpreter.visit(self.parsed.parsed, record)


class Interpreter(jmespath_visitor.TreeInterpreter):  # type: ignore[misc]
    """JMESPath's interpreter, with ``if`` evaluating only the branch it picks.

    Function arguments are otherwise evaluated before the call, so a failing branch (a
    ``to_integer`` of text, say) would fail the record even when not chosen.
    """

    def visit_function_expression(self, node: dict[str, Any], value: Any) -> Any:
        children = node["children"]
        if node["value"] == "if" and len(children) == 3:
            condition = self.visit(children[0], value)
            chosen = children[1] if truthy(condition) else children[2]
            return self.visit(chosen, value)
        return super().visit_function_expression(node, value)


def compile_expression(value: Any) -> Expression:
    """Compile one mapping value: text is JMESPath, anything else a constant.

    Raises:
        ValueError: Bad JMESPath syntax, or a call to an unknown function; the message says
            which and where.
    """
    if not isinstance(value, str):
        return Expression(source=repr(value), constant=value)
    text = _quote_hyphenated(value.strip())
    if not text:
        raise ValueError("empty expression")
    try:
        parsed = jmespath.compile(text)
    except jmespath_exceptions.ParseError as exc:
        raise ValueError(
            f"bad expression {value!r}: {exc.msg} at column {exc.lex_position}"
        ) from None
    except jmespath_exceptions.LexerError as exc:
        raise ValueError(f"bad expression {value!r}: {exc.msg}") from None
    table = TransformFunctions.FUNCTION_TABLE
    for name, args in function_calls(parsed):
        if name not in table:
            raise ValueError(
                f"bad expression {value!r}: unknown function {name}(); see the operations guide"
            )
        problem = _arity_problem(name, table[name]["signature"], len(args))
        if problem:
            raise ValueError(f"bad expression {value!r}: {problem}")
    return Expression(source=value, parsed=parsed)


def _arity_problem(name: str, signature: Sequence[Mapping[str, Any]], given: int) -> str | None:
    """What JMESPath would say at run time about the number of arguments, said now."""
    at_least = bool(signature) and bool(signature[-1].get("variadic"))
    if given < len(signature) or (given > len(signature) and not at_least):
        return _arity_message(name, len(signature), given, at_least=at_least)
    return None


def _arity_message(name: str, expected: int, given: int, *, at_least: bool) -> str:
    noun = "argument" if expected == 1 else "arguments"
    return f"{name}() takes {'at least ' if at_least else ''}{expected} {noun}, got {given}"


def function_calls(parsed: Any) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every function call in a compiled expression: its name and its argument nodes."""
    stack = [getattr(parsed, "parsed", parsed)]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        children = list(node.get("children", ()))
        if node.get("type") == "function_expression":
            yield str(node.get("value")), children
        stack.extend(reversed(children))


@dataclass(frozen=True, slots=True)
class TransformSpec:
    """A parsed transformation.

    Attributes:
        mapping: ``(target field, expression)`` pairs in order; target fields may be dotted.
        keep: Start from a copy of the source record, then apply the mapping on top.
        group_by: Expressions whose values together form the group key; empty = no grouping.
        lines_field: With grouping, the target field that receives the lines (e.g.
            ``invoice-lines``).
        lines_mapping: With grouping, the mapping applied to every row to make one line.
        keep_nulls: Keep fields whose expression gave null (default: leave them out, so an
            update does not blank a field nobody meant to touch).
    """

    mapping: tuple[tuple[str, Expression], ...] = ()
    keep: bool = False
    group_by: tuple[Expression, ...] = ()
    lines_field: str | None = None
    lines_mapping: tuple[tuple[str, Expression], ...] = ()
    keep_nulls: bool = False

    @property
    def identity(self) -> bool:
        """True when the transformation passes records through unchanged."""
        return not self.mapping and not self.group_by


@dataclass(slots=True)
class Item:
    """One source record on its way through an operation.

    Attributes:
        position: 0-based position in the source's stream.
        record: The record as the source gave it.
        key: The record's identity for resume: the Coupa id for Coupa sources, else the
            position (as text).
        problem: Why the source could not read this record (then ``record`` holds the raw
            input under ``_raw``); such an item is rejected, never transformed.
        line: Line in the source file where it starts, when known.
    """

    position: int
    record: dict[str, Any]
    key: str
    problem: str | None = None
    line: int | None = None


@dataclass(slots=True)
class Transformed:
    """A transformation's output: one target record from one source record or a group.

    Attributes:
        items: The source items it came from (one, or a group's rows).
        record: The target record (None when the transformation failed).
        errors: ``(target field, reason)`` pairs; empty when it worked.
    """

    items: list[Item]
    record: dict[str, Any] | None
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.record is not None and not self.errors


def set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested dict, making the intermediate dicts."""
    parts = dotted.split(".")
    node = target
    for part in parts[:-1]:
        child = node.get(part)
        # A copy, so that a record started from its source (``keep``) never changes the
        # source record that a rejects file may still need.
        child = dict(child) if isinstance(child, dict) else {}
        node[part] = child
        node = child
    node[parts[-1]] = value


class Transformer:
    """Applies one ``TransformSpec`` to a stream of items.

    Args:
        spec: The transformation.
        base_dir: Folder that ``lookup_csv`` paths are relative to.
        coupa_lookup: Answers ``lookup_coupa`` calls (None when there is no connection).
    """

    def __init__(
        self,
        spec: TransformSpec,
        *,
        base_dir: Path | None = None,
        coupa_lookup: CoupaLookup | None = None,
    ) -> None:
        self.spec = spec
        self._interp = Interpreter(
            jmespath.Options(
                custom_functions=TransformFunctions(base_dir or Path.cwd(), coupa_lookup)
            )
        )
        self._seen_groups: set[tuple[Any, ...]] = set()
        # Which mapped fields have had a value yet, and in how many mapped records: a field
        # empty in every record most likely reads a name the records do not have.
        self._filled: set[str] = set()
        self.mapped = 0

    def empty_fields(self) -> list[tuple[str, str]]:
        """The mapped fields (with their expressions) that came out empty (null or "") in
        every record mapped so far; none before the first record."""
        if not self.mapped:
            return []
        pairs = [*self.spec.mapping]
        if self.spec.lines_field:
            pairs += [(f"{self.spec.lines_field}[].{k}", e) for k, e in self.spec.lines_mapping]
        return [
            (name, expr.source)
            for name, expr in pairs
            if expr.parsed is not None and name not in self._filled
        ]

    def apply(self, items: Iterable[Item]) -> Iterator[Transformed]:
        """Transform a stream of items, lazily."""
        if not self.spec.group_by:
            for item in items:
                yield self.one(item)
            return
        yield from self._grouped(items)

    def one(self, item: Item) -> Transformed:
        """Transform a single item (no grouping)."""
        if item.problem is not None:
            return Transformed([item], None, [("record", item.problem)])
        if is_tombstone(item.record):
            return self.tombstone(item)
        if self.spec.identity:
            return Transformed([item], dict(item.record))
        errors: list[tuple[str, str]] = []
        record = self._map(self.spec.mapping, item.record, errors, keep=self.spec.keep)
        return Transformed([item], None if errors else record, errors)

    def tombstone(self, item: Item) -> Transformed:
        """A tombstone as the target knows the record: the target fields the mapping fills
        from ``id`` (``coupa_id: id``), with ``_deleted`` and ``_deleted_detected_at``; the
        tombstone itself when records pass unchanged (or ``keep``)."""
        record = item.record
        if self.spec.identity or self.spec.keep:
            return Transformed([item], dict(record))
        out: dict[str, Any] = {}
        for name, expr in self.spec.mapping:
            if expr.parsed is not None and expr.source.strip().strip('"') == "id":
                set_path(out, name, record.get("id"))
        if not out:
            why = "a tombstone names its record by id; map a target field from id (coupa_id: id)"
            return Transformed([item], None, [("id", why)])
        out[DELETED] = True
        out[DETECTED_AT] = record.get(DETECTED_AT)
        return Transformed([item], out)

    def _map(
        self,
        mapping: Sequence[tuple[str, Expression]],
        source: Mapping[str, Any],
        errors: list[tuple[str, str]],
        *,
        keep: bool,
        prefix: str = "",
    ) -> dict[str, Any]:
        out: dict[str, Any] = dict(source) if keep else {}
        if not prefix:
            self.mapped += 1
        for name, expr in mapping:
            try:
                value = expr.evaluate(source, self._interp)
            except (
                ValueError,
                TypeError,
                ArithmeticError,
                jmespath_exceptions.JMESPathError,
            ) as exc:
                errors.append((prefix + name, _reason(exc)))
                continue
            except OSError as exc:
                errors.append((prefix + name, f"{type(exc).__name__}: {exc}"))
                continue
            if value is not None and value != "":
                self._filled.add(f"{self.spec.lines_field}[].{name}" if prefix else name)
            if value is None and not self.spec.keep_nulls:
                continue
            set_path(out, name, value)
        return out

    def _grouped(self, items: Iterable[Item]) -> Iterator[Transformed]:
        group: list[Item] = []
        group_key: tuple[Any, ...] | None = None
        for item in items:
            if item.problem is not None:
                yield Transformed([item], None, [("record", item.problem)])
                continue
            if is_tombstone(item.record):
                if group:
                    yield self._finish_group(group)
                    group, group_key = [], None
                yield self.tombstone(item)
                continue
            try:
                key = tuple(
                    _hashable(e.evaluate(item.record, self._interp)) for e in self.spec.group_by
                )
            except (ValueError, TypeError, jmespath_exceptions.JMESPathError) as exc:
                if group:
                    yield self._finish_group(group)
                    group, group_key = [], None
                yield Transformed([item], None, [("group_by", _reason(exc))])
                continue
            if group and key == group_key:
                group.append(item)
                continue
            if group:
                yield self._finish_group(group)
            if key in self._seen_groups:
                # Rows of one group must be together: a late row cannot join a record that
                # has already gone to the target.
                shown = ", ".join(str(k) for k in key)
                yield Transformed(
                    [item],
                    None,
                    [
                        (
                            "group_by",
                            f"rows for group {shown} are not together; "
                            "sort the input by the group key",
                        )
                    ],
                )
                group, group_key = [], None
                continue
            group, group_key = [item], key
            if any(k is None for k in key):
                yield Transformed([item], None, [("group_by", "the group key is empty")])
                group, group_key = [], None
                continue
        if group:
            yield self._finish_group(group)

    def _finish_group(self, group: list[Item]) -> Transformed:
        first = group[0]
        key = tuple(_hashable(e.evaluate(first.record, self._interp)) for e in self.spec.group_by)
        self._seen_groups.add(key)
        errors: list[tuple[str, str]] = []
        record = self._map(self.spec.mapping, first.record, errors, keep=self.spec.keep)
        if self.spec.lines_field:
            lines: list[dict[str, Any]] = []
            for n, item in enumerate(group):
                prefix = f"{self.spec.lines_field}[{n}]."
                lines.append(
                    self._map(
                        self.spec.lines_mapping, item.record, errors, keep=False, prefix=prefix
                    )
                )
            set_path(record, self.spec.lines_field, lines)
        return Transformed(list(group), None if errors else record, errors)


def _hashable(value: Any) -> Any:
    if isinstance(value, dict | list):
        return repr(value)
    return value


def _reason(exc: BaseException) -> str:
    if isinstance(exc, jmespath_exceptions.JMESPathTypeError):
        return (
            f"{exc.function_name}() got {exc.actual_type} {exc.current_value!r}, "
            f"expected {' or '.join(exc.expected_types)}"
        )
    if isinstance(exc, jmespath_exceptions.ArityError):
        # VariadictArityError is an ArityError too: "at least".
        return _arity_message(
            exc.function_name,
            exc.expected_arity,
            exc.actual_arity,
            at_least=isinstance(exc, jmespath_exceptions.VariadictArityError),
        )
    return str(exc)
