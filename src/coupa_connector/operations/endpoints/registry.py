"""The endpoint types: each type name with the module that defines its ``EndpointType``.

A module is imported the first time one of its types is looked up, so an operation that
uses only files never loads a database driver. A new endpoint type is one module (its
``ENDPOINTS`` entries: roles, options, checks, constructors; see ``base``) and one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from coupa_connector.operations.endpoints.base import EndpointType

__all__ = ["REGISTRY", "Registry"]

_PACKAGE = "coupa_connector.operations.endpoints"

_MODULES: dict[str, str] = {
    **dict.fromkeys(
        ("coupa.query", "coupa.create", "coupa.update", "coupa.upsert", "coupa.action"), "coupa"
    ),
    "coupa.attachments": "attachments",
    "coupa.load_file": "coupa",
    "file": "file",
    "sql": "sql",
}


class Registry(Mapping[str, EndpointType]):
    """Endpoint type name -> its ``EndpointType``, each module loaded on first use.

    Args:
        modules: Type name -> module name in this package.
    """

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = {name: f"{_PACKAGE}.{module}" for name, module in modules.items()}
        self._loaded: dict[str, EndpointType] = {}

    def __getitem__(self, name: str) -> EndpointType:
        entry = self._loaded.get(name)
        if entry is None:
            entry = importlib.import_module(self._modules[name]).ENDPOINTS[name]
            self._loaded[name] = entry
        return entry

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)

    def register(self, name: str, module: str) -> None:
        """Add an endpoint type: ``module`` (a full dotted name) defines it in its
        ``ENDPOINTS``; it is imported when the type is first used."""
        self._modules[name] = module
        self._loaded.pop(name, None)

    def unregister(self, name: str) -> None:
        """Remove an endpoint type added by ``register``."""
        self._modules.pop(name, None)
        self._loaded.pop(name, None)

    def for_role(self, role: str) -> list[str]:
        """The types that can be a ``source`` or a ``target``, in registry order."""
        return [name for name in self if role in self[name].roles]


REGISTRY = Registry(_MODULES)
