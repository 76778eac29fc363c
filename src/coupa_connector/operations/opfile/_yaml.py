"""A YAML loader that remembers where every value came from, for errors with line numbers.

Mappings load as ``LMap`` and sequences as ``LList``: ordinary ``dict`` and ``list`` with a
``line`` attribute and the line of each key or item, so validation can say
``ops.yaml:14: ...`` about any value. Only YAML's safe types are built; duplicate keys are an
error rather than a silent overwrite.
"""

from __future__ import annotations

from typing import Any

import yaml

from coupa_connector.errors import ConfigurationError
from coupa_connector.operations.files._text_input import decode_utf8

__all__ = ["LList", "LMap", "OperationFileError", "OperationProblem", "load_yaml"]


class OperationProblem:
    """One thing wrong with an operation file.

    Attributes:
        file: The file as given.
        line: 1-based line, when known.
        message: What is wrong and, where it helps, what would be right.
    """

    __slots__ = ("file", "line", "message")

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.message}"
            if self.line
            else f"{self.file}: {self.message}"
        )

    def __repr__(self) -> str:
        return f"OperationProblem({self.file!r}, {self.line!r}, {self.message!r})"


class OperationFileError(ConfigurationError):
    """An operation file that cannot run; ``problems`` lists every problem found, with lines."""

    def __init__(self, problems: list[OperationProblem]) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{len(problems)} {noun} in the operation file:\n{lines}")
        self.problems = list(problems)


class LMap(dict[str, Any]):
    """A mapping that knows its own line and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """The line of ``key``, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class LList(list[Any]):
    """A sequence that knows its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        """The line of item ``index``."""
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


def line_of(value: Any, default: int = 0) -> int:
    """The line a loaded value starts on, when it is a mapping or sequence."""
    return getattr(value, "line", default) or default


# An operation file is a few hundred values, nested a few levels. The bounds are far above
# that and far below what hurts: aliases are counted at every use, so nine levels of nine
# aliases (387 million values once expanded) stop at the bound instead of filling memory.
MAX_YAML_VALUES = 100_000
"""Values (mappings, lists, scalars) an operation file may hold, aliases expanded."""
MAX_YAML_DEPTH = 50
"""How deep mappings and lists may nest in an operation file, aliases expanded."""

_CORE = "tag:yaml.org,2002:"
# The tags an operation file may use: plain mappings, lists and scalars. Anything else
# (!!python/object, !!set, !!binary, !custom) would be ignored or mean something YAML's safe
# loader does not build, so it is refused with its line.
_MAPPING_TAGS = frozenset({_CORE + "map"})
_SEQUENCE_TAGS = frozenset({_CORE + "seq"})
_SCALAR_TAGS = frozenset(
    _CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp", "merge", "value")
)


def load_yaml(text: str | bytes, file: str) -> Any:
    """Parse YAML text (bytes: UTF-8) into ``LMap``/``LList``/scalars.

    An alias is built once and shared wherever it is used; the document may hold at most
    ``MAX_YAML_VALUES`` values and nest ``MAX_YAML_DEPTH`` levels, counting each alias as the
    values it stands for.

    Raises:
        OperationFileError: Bad YAML syntax, a duplicate key, an unknown tag, a document
            past the bounds, or bytes that are not UTF-8, with its line.
    """
    if isinstance(text, bytes):
        text, line, problem = decode_utf8(text)
        if problem is not None:
            raise _problem(file, line, problem)
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text, file)  # reading starts here: bad characters raise
        node = loader.get_single_node()
        if node is None:
            return None
        return _Builder(loader, file).build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(p for p in (exc.context, exc.problem) if p)
        if _tab_at(text, mark):
            reason += "; tabs aren't allowed in YAML indentation: indent with spaces"
        raise OperationFileError([OperationProblem(file, line, f"YAML syntax: {reason}")]) from None
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (a NUL, a control character): its line, not a
        # character position.
        line = text.count("\n", 0, exc.position) + 1
        why = f"character #x{exc.character:04x} is not allowed in YAML"
        raise OperationFileError([OperationProblem(file, line, why)]) from None
    except yaml.YAMLError as exc:
        raise OperationFileError([OperationProblem(file, None, f"YAML: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()


def _tab_at(text: str, mark: Any) -> bool:
    """Whether the line of a syntax error starts its indentation with a tab (YAML's own
    message, "found character '\\t' that cannot start any token", does not say why)."""
    if mark is None:
        return False
    lines = text.splitlines()
    if mark.line >= len(lines):
        return False
    line = lines[mark.line]
    return "\t" in line[: len(line) - len(line.lstrip())]


def _problem(file: str, line: int | None, message: str) -> OperationFileError:
    return OperationFileError([OperationProblem(file, line, message)])


def _shown_tag(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


class _BoundedLoader(yaml.SafeLoader):
    """YAML's safe loader, composing the node graph within the bounds.

    The composer shares an anchored node wherever its alias is used, so the graph stays
    small; what grows is the document it stands for. Each node's expanded size and height
    are worked out once, as it is composed, and each alias adds those of its node.
    """

    def __init__(self, text: str, file: str) -> None:
        super().__init__(text)
        self._file = file
        self._depth = 0
        self._values = 0
        # id(node) -> (expanded values, expanded height), for nodes composed completely.
        self._expanded: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)
            size = self._expanded.get(id(node))
            if size is None:
                raise _problem(self._file, line, "an alias used inside the node it names")
            self._count(*size, line)
            return node
        before = self._values
        self._depth += 1
        try:
            self._count(0, 0, line)
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is None:
            return None
        children = node.value if isinstance(node.value, list) else []
        height = 1 + max(
            (
                self._expanded[id(n)][1]
                for child in children
                for n in (child if isinstance(child, tuple) else (child,))
            ),
            default=0,
        )
        self._count(1, 0, line)
        self._expanded[id(node)] = (self._values - before, height)
        return node

    def _count(self, values: int, height: int, line: int) -> None:
        """Count ``values`` more values, ``height`` levels deep below the current depth."""
        self._values += values
        if self._values > MAX_YAML_VALUES:
            raise _problem(
                self._file,
                line,
                f"the file holds more than {MAX_YAML_VALUES:,} values with its aliases "
                "expanded (an alias counts as every value it stands for)",
            )
        if self._depth + height > MAX_YAML_DEPTH:
            raise _problem(
                self._file,
                line,
                f"mappings and lists nest more than {MAX_YAML_DEPTH} levels deep "
                "(aliases expanded)",
            )


class _Builder:
    """Builds ``LMap``/``LList``/scalars from composed nodes, each node once."""

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self._loader = loader
        self._file = file
        self._built: dict[int, Any] = {}

    def build(self, node: yaml.Node) -> Any:
        # An aliased node is one node used in several places: build it once and share it,
        # as YAML's own constructor does, rather than once per use.
        key = id(node)
        if key not in self._built:
            self._built[key] = self._build(node)
        return self._built[key]

    def _build(self, node: yaml.Node) -> Any:
        line = node.start_mark.line + 1
        allowed = (
            _MAPPING_TAGS
            if isinstance(node, yaml.MappingNode)
            else _SEQUENCE_TAGS
            if isinstance(node, yaml.SequenceNode)
            else _SCALAR_TAGS
        )
        if node.tag not in allowed:
            raise _problem(
                self._file,
                line,
                f"unknown tag {_shown_tag(node.tag)}: an operation file holds plain "
                "mappings, lists, text, numbers, booleans, dates and nulls",
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, line)
        if isinstance(node, yaml.SequenceNode):
            items = LList()
            items.line = line
            items.item_lines = []
            for item in node.value:
                items.append(self.build(item))
                items.item_lines.append(item.start_mark.line + 1)
            return items
        return self._loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, line: int) -> LMap:
        self._loader.flatten_mapping(node)
        out = LMap()
        out.line = line
        out.key_lines = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise _problem(self._file, key_line, "mapping keys must be text")
            key = self.build(key_node)
            if not isinstance(key, str | int | float | bool):
                raise _problem(self._file, key_line, "mapping keys must be text")
            key = str(key)
            if key in out:
                raise _problem(
                    self._file,
                    key_line,
                    f"duplicate key {key!r} (first on line {out.key_lines[key]})",
                )
            out[key] = self.build(value_node)
            out.key_lines[key] = key_line
        return out
