"""An endpoint type defined outside the package, as a new type is: one module with its
``ENDPOINTS`` entry. Its source yields the records of its ``records:`` option; its target
keeps what it is sent in ``RECEIVED``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from coupa_connector.operations import Item, Transformed
from coupa_connector.operations.endpoints.base import (
    EndpointType,
    Outcome,
    SourceBase,
    TargetBase,
)
from coupa_connector.operations.opfile.model import EndpointSpec

RECEIVED: list[dict[str, Any]] = []


class MemorySource(SourceBase):
    def __init__(self, spec: EndpointSpec) -> None:
        self.records = list(spec.options["records"])

    def describe(self) -> str:
        return "memory"

    def items(self, done: set[str]) -> Iterator[Item]:
        for n, record in enumerate(self.records):
            if str(n) not in done:
                yield Item(n, dict(record), str(n))


class MemoryTarget(TargetBase):
    def describe(self) -> str:
        return "memory"

    def write(self, batch: Sequence[Transformed], batch_no: int) -> list[Outcome]:
        RECEIVED.extend(dict(t.record or {}) for t in batch)
        return [Outcome("written") for _ in batch]

    def commit(self) -> list[str]:
        return ["memory"]


def _check(check: Any, where: str, role: str, spec: EndpointSpec, node: Any) -> None:
    if role == "source" and not isinstance(spec.options.get("records"), list):
        check.problem(node.line_of("records"), f"{where}: records must be a list")


ENDPOINTS = {
    "memory": EndpointType(
        "memory",
        ("source", "target"),
        {"source": ("records",), "target": ()},
        frozenset({"records"}),
        source=lambda spec, ctx: MemorySource(spec),
        target=lambda spec, ctx: MemoryTarget(),
        check=_check,
        identity=lambda spec, role, base_dir: "memory",
    ),
}
