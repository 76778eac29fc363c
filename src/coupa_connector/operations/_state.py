"""Incremental state: the watermark an incremental run starts from, kept between runs.

One contract for every incremental job: ``load`` the watermark before the run fixes its
window, ``save`` the run's upper bound only after its output is committed, so a run that
fails repeats its window instead of skipping it. Where it is kept depends on who asks:

- ``LoggedState``: the operation log, per operation file, operation and scope (the Coupa
  instance and the endpoints), in the same database as the runs it belongs to;
- ``StateFile``: a JSON document the user names (``coupa query --state FILE``), replaced
  atomically, and refused when it belongs to another object.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import orjson

from coupa_connector.errors import ConfigurationError
from coupa_connector.operations.files._output import atomic_write_bytes

if TYPE_CHECKING:
    from coupa_connector.operations._oplog import OpLog

__all__ = ["STATE_VERSION", "LoggedState", "StateFile", "Watermarks", "read_state", "write_state"]

STATE_VERSION = 1


class Watermarks(Protocol):
    """Where an incremental job's watermark is kept."""

    def load(self) -> str | None:
        """The saved watermark, or None before the first run."""
        ...

    def save(self, watermark: str) -> None:
        """Keep ``watermark`` for the next run (call after the output is committed)."""
        ...


@dataclass(frozen=True, slots=True)
class StateFile:
    """A state file of one object's watermark.

    Attributes:
        path: The file.
        object_name: The object it belongs to.
    """

    path: Path
    object_name: str

    def load(self) -> str | None:
        """The saved watermark (None when the file does not exist yet).

        Raises:
            ConfigurationError: The file is not a state file for this object.
        """
        path = self.path
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except orjson.JSONDecodeError as exc:
            raise ConfigurationError(f"State file {path} is not valid JSON ({exc}).") from None
        if not isinstance(data, dict) or "watermark" not in data:
            raise ConfigurationError(f"State file {path} has no watermark.")
        if data.get("object") not in (None, self.object_name):
            raise ConfigurationError(
                f"State file {path} belongs to {data.get('object')!r}, not {self.object_name!r}."
            )
        watermark = data["watermark"]
        return str(watermark) if watermark is not None else None

    def save(self, watermark: str) -> None:
        """Save a watermark atomically (temp file + fsync + rename)."""
        payload = {
            "version": STATE_VERSION,
            "object": self.object_name,
            "watermark": watermark,
            "saved_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        atomic_write_bytes(self.path, orjson.dumps(payload, option=orjson.OPT_INDENT_2) + b"\n")


@dataclass(frozen=True, slots=True)
class LoggedState:
    """An operation's watermark in the operation log.

    Attributes:
        oplog: The log.
        file: The operation file.
        operation: The operation's name.
        scope: What the watermark belongs to (see ``Runner._scope``).
    """

    oplog: OpLog
    file: str
    operation: str
    scope: str

    def load(self) -> str | None:
        value = self.oplog.get_state(self.file, self.operation, "watermark", self.scope)
        return None if value is None else str(value)

    def save(self, watermark: str) -> None:
        self.oplog.set_state(self.file, self.operation, "watermark", watermark, self.scope)


def read_state(path: Path, object_name: str) -> str | None:
    """The watermark a state file holds (see ``StateFile.load``)."""
    return StateFile(path, object_name).load()


def write_state(path: Path, object_name: str, watermark: str) -> None:
    """Save a watermark to a state file (see ``StateFile.save``)."""
    StateFile(path, object_name).save(watermark)
