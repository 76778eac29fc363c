"""Coupa targets that write through CSV flat files: ``coupa.load_file``, and ``via:
flat-file`` on ``coupa.create`` and ``coupa.upsert`` (their registry entries are in
``coupa``, which makes these targets when an operation uses them).

Each batch of the operation becomes Coupa CSV import files (at most 5,000 rows and 8 MB
each: give the operation ``batch_size: 5000`` to fill them), loaded through
``POST /api/data_file_sources/load_file`` and polled until Coupa has loaded them. The records
are validated first as record writes validate them; each record's outcome is read back from
Coupa's upload errors (``operations/_file_writes.py``), so the run's counts add up as with
record writes and its rejects file can be fixed and fed back.

``coupa.load_file`` loads as Coupa's loaders do: a record whose id, or ``key`` (else the
first of the object's natural keys it gives), matches a record updates it, otherwise it is
created. Options:

    object: suppliers          the object (one record per row: suppliers, users, ...)
    key: number                the natural key (upsert); optional for coupa.load_file
    validate: lenient          as record writes: lenient, strict, off
    files_dir: out/files       keep the files written here (a temporary folder otherwise)
    poll: {first: 0.5, cap: 15, deadline: 3600}   seconds between status requests, and
                               how long a load may run before it is reported as unfinished
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from coupa_connector.activities.flatfile import PollPolicy
from coupa_connector.catalog import load_catalog
from coupa_connector.errors import ConfigurationError, CoupaError
from coupa_connector.operations._file_writes import (
    FileWrites,
    check_file_writes,
    file_write_objects,
    write_via_files,
)
from coupa_connector.operations._transform import Transformed
from coupa_connector.operations.endpoints._results import batch_outcomes
from coupa_connector.operations.endpoints.base import (
    EndpointContext,
    FatalBatch,
    Outcome,
    TargetBase,
)
from coupa_connector.operations.opfile._yaml import LMap
from coupa_connector.operations.opfile.model import EndpointSpec, validation_mode
from coupa_connector.operations.opfile.problems import Checker

__all__ = ["FILE_OPTIONS", "CoupaFileTarget", "check_file_options", "file_target", "poll_policy"]

# The options a write through flat files takes besides the object's.
FILE_OPTIONS = frozenset({"files_dir", "poll"})
_POLL_KEYS = ("first", "factor", "cap", "deadline")


def poll_policy(raw: Any) -> PollPolicy:
    """``poll:`` as a policy (defaults for what it leaves out).

    Raises:
        ConfigurationError: Not a mapping of those keys to numbers, or out of range.
    """
    if raw is None:
        return PollPolicy()
    if not isinstance(raw, Mapping) or not set(raw) <= set(_POLL_KEYS):
        raise ConfigurationError(f"poll must map {', '.join(_POLL_KEYS)} to seconds")
    values = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigurationError(f"poll.{name} must be a number of seconds")
        values[str(name)] = float(value)
    return PollPolicy(**values)


class CoupaFileTarget(TargetBase):
    """Create or upsert records of one object as Coupa CSV files, a batch at a time."""

    durable_per_batch = True
    validates_in_dry_run = True
    logs_records = True

    def __init__(
        self,
        spec: EndpointSpec,
        bridge: Any,
        *,
        mode: Literal["create", "upsert"],
        base_dir: Path,
        dry_run: bool = False,
    ) -> None:
        o = spec.options
        self.obj = load_catalog().get(str(o["object"]))
        check_file_writes(self.obj)
        self.mode = mode
        self.key = o.get("key")
        self.validation = validation_mode(o.get("validate"))
        self.policy = poll_policy(o.get("poll"))
        raw_dir = o.get("files_dir")
        self.files_dir = None if raw_dir is None else base_dir / str(raw_dir)
        self.bridge = bridge
        self.dry_run = dry_run
        self.report = FileWrites()
        self.maybe_sent: set[str] = set()

    def describe(self) -> str:
        return f"Coupa {self.obj.name} ({self.mode} through flat files)"

    def set_maybe_sent(self, keys: set[str]) -> None:
        """Keys of records a killed run may have loaded without logging it: a create finds
        them by their natural key and takes them as written, not as existing records."""
        self.maybe_sent = set(keys)

    def write(self, batch: Sequence[Transformed], batch_no: int) -> list[Outcome]:
        records = [dict(t.record or {}) for t in batch]
        redo = frozenset(n for n, t in enumerate(batch, 1) if t.items[0].key in self.maybe_sent)
        results: list[Any] = []
        error: CoupaError | None = None

        async def collect() -> None:
            stream = write_via_files(
                self.bridge.conn,
                self.obj,
                records,
                mode=self.mode,
                key=self.key,
                validation=self.validation,
                dry_run=self.dry_run,
                directory=self.files_dir,
                policy=self.policy,
                report=self.report,
                maybe_sent=redo,
            )
            async for result in stream:
                results.append(result)

        try:
            self.bridge.call(collect())
        except CoupaError as exc:
            error = exc
        final = batch_outcomes(results, len(records), error)
        if error is not None:
            raise FatalBatch(error, final)
        return final

    def commit(self) -> list[str]:
        out = [self.describe()]
        if self.files_dir is not None:
            out.append(str(self.files_dir))
        return out


def file_target(spec: EndpointSpec, ctx: EndpointContext) -> CoupaFileTarget:
    """The target of ``coupa.load_file``, or of a ``coupa.create``/``coupa.upsert`` with
    ``via: flat-file``."""
    mode: Literal["create", "upsert"] = "create" if spec.type == "coupa.create" else "upsert"
    return CoupaFileTarget(
        spec, ctx.connection(), mode=mode, base_dir=ctx.base_dir, dry_run=ctx.dry_run
    )


def check_file_options(check: Checker, where: str, spec: EndpointSpec, node: LMap) -> None:
    """The flat-file options of a target: the object has such files, ``poll`` reads."""
    o = spec.options
    if isinstance(o.get("object"), str) and o["object"] in check.catalog:
        obj = check.catalog.get(o["object"])
        if obj.name not in file_write_objects():
            check.problem(
                node.line_of("object"),
                f"{where}: {obj.name} cannot be written as flat files; those that can: "
                f"{', '.join(file_write_objects())}",
            )
    try:
        poll_policy(o.get("poll"))
    except ConfigurationError as exc:
        check.problem(node.line_of("poll"), f"{where}: {exc}")
    if "files_dir" in o and not isinstance(o["files_dir"], str):
        check.problem(node.line_of("files_dir"), f"{where}: files_dir must be a folder path")
