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


def load_yaml(text: str, file: str) -> Any:
    """Parse YAML text into ``LMap``/``LList``/scalars.

    Raises:
        OperationFileError: Bad YAML syntax, or a duplicate key, with its line.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        return _build(node, loader, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(p for p in (exc.context, exc.problem) if p)
        raise OperationFileError([OperationProblem(file, line, f"YAML syntax: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise OperationFileError([OperationProblem(file, None, f"YAML: {exc}")]) from None
    finally:
        loader.dispose()


def _build(node: yaml.Node, loader: yaml.SafeLoader, file: str) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out = LMap()
        out.line = line
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key_line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool):
                raise OperationFileError(
                    [OperationProblem(file, key_line, "mapping keys must be text")]
                )
            key = str(key)
            if key in out:
                raise OperationFileError(
                    [
                        OperationProblem(
                            file,
                            key_line,
                            f"duplicate key {key!r} (first on line {out.key_lines[key]})",
                        )
                    ]
                )
            out[key] = _build(value_node, loader, file)
            out.key_lines[key] = key_line
        return out
    if isinstance(node, yaml.SequenceNode):
        items = LList()
        items.line = line
        items.item_lines = []
        for item in node.value:
            items.append(_build(item, loader, file))
            items.item_lines.append(item.start_mark.line + 1)
        return items
    return loader.construct_object(node, deep=True)
