"""What every endpoint is: the ``Source`` and ``Target`` protocols, their capabilities, and
the ``EndpointType`` a registry entry describes.

A source yields ``Item``s (a record, its position, and its identity for resume). A target
takes a batch of transformed records and says, per record, whether it was written, rejected
or failed; it also says how to find its place again after a kill (``checkpoint``) and what it
already holds that the operation log may not know about (``recover``), so a resumed run
writes every record exactly once.

Capabilities are members every endpoint has, with neutral defaults in ``SourceBase`` and
``TargetBase``, so the runner asks each the same way and never for its type:

- window: ``incremental`` names the field a source's window runs on (None: no window);
  ``set_window`` fixes it from the watermark, ``restore_window`` takes a checkpoint's,
  ``next_watermark`` is where the next run starts;
- mark exported: ``marks_exported`` and ``mark``;
- identity: ``EndpointType.identity`` says which file or table an endpoint reads or writes
  (None: Coupa, whose identity is the instance); a source's ``id_of_key`` gives the Coupa id
  a record's key names;
- may have been sent: ``set_maybe_sent`` gives a target the records a killed run may have
  written without logging them;
- deletes: ``keep_delivered`` hands a source that detects deletes the ids the run
  delivered, once the run's output is final (it keeps them for the next comparison);
- details: ``details`` is what a source did beyond its records (a bulk download's
  manifest), kept in the operation log beside the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from coupa_connector.errors import ConfigurationError, CoupaError

if TYPE_CHECKING:
    from coupa_connector._csv_formulas import CsvFormulas
    from coupa_connector.catalog import ObjectDef
    from coupa_connector.operations._transform import Item, Transformed, TransformSpec
    from coupa_connector.operations.opfile._yaml import LMap
    from coupa_connector.operations.opfile.model import EndpointSpec
    from coupa_connector.operations.opfile.problems import Checker

__all__ = [
    "EndpointContext",
    "EndpointType",
    "FatalBatch",
    "Outcome",
    "Source",
    "SourceBase",
    "Target",
    "TargetBase",
    "debug_json",
    "now_utc",
    "require",
]

DEBUG_BODY_LIMIT = 4000


@dataclass(slots=True)
class Outcome:
    """What a target did with one transformed record.

    Attributes:
        outcome: ``written``, ``rejected`` (refused before it was sent, e.g. by validation)
            or ``failed`` (sent, or meant to be, and not written).
        messages: Why, for rejected and failed records (each naming the field when known).
        coupa_id: The Coupa id written or targeted, when there is one.
        warnings: What validation reported without refusing the record (each naming the
            field and ending with its code, ``[read_only]``).
    """

    outcome: str
    messages: list[str] = field(default_factory=list)
    coupa_id: int | None = None
    warnings: list[str] = field(default_factory=list)


class FatalBatch(Exception):
    """A batch that ended the run: its outcomes are final, and ``error`` says why."""

    def __init__(self, error: CoupaError, outcomes: list[Outcome]) -> None:
        super().__init__(str(error))
        self.error = error
        self.outcomes = outcomes


class Source(Protocol):
    """Where records come from."""

    @property
    def obj(self) -> ObjectDef | None:
        """The records' Coupa object, when they are one's (names XML elements downstream)."""
        ...

    @property
    def incremental(self) -> str | None:
        """The field its incremental window runs on; None: it has no window."""
        ...

    @property
    def marks_exported(self) -> bool:
        """Records it delivered are marked exported at the source (``mark``)."""
        ...

    @property
    def rejects_format(self) -> str | None:
        """The format its rejects file is written in (so it can be fed back); None: JSON
        lines."""
        ...

    @property
    def csv_formulas(self) -> CsvFormulas:
        """How its CSV cells are read, so its rejects are written the same way."""
        ...

    def items(self, done: set[str]) -> Iterator[Item]:
        """Yield the source's items, leaving out those whose key is in ``done``."""
        ...

    def describe(self) -> str:
        """A short description for progress and logs."""
        ...

    def columns(self) -> list[str]:
        """The input's columns in order, for its rejects file (CSV); empty when none."""
        ...

    def set_window(self, watermark: str | None, run_start: str) -> dict[str, str]:
        """Fix the incremental window for this run; returns it (for the checkpoint)."""
        ...

    def restore_window(self, window: Mapping[str, str]) -> dict[str, str]:
        """Take the window of the run being resumed; returns it."""
        ...

    def next_watermark(self) -> str | None:
        """Where the next run's window starts, once this run is committed."""
        ...

    def mark(self, ids: Sequence[int]) -> dict[int, str | None]:
        """Mark records exported at the source; id -> error text, None when marked."""
        ...

    def id_of_key(self, key: str) -> int | None:
        """The Coupa id a record's key names (identity), or None."""
        ...

    def keep_delivered(self, ids: Sequence[int]) -> None:
        """The run is committed and delivered these ids (delete detection keeps them)."""
        ...

    def details(self) -> dict[str, dict[str, Any]]:
        """What it did beyond its records, by name, for the operation log's run details
        (``attachments``: a bulk download's manifest and counts); empty when nothing."""
        ...


class Target(Protocol):
    """Where records go."""

    @property
    def durable_per_batch(self) -> bool:
        """Each written batch is final at once (marks may follow per batch, not at the end)."""
        ...

    @property
    def validates_in_dry_run(self) -> bool:
        """A dry run still hands it the records: it checks them and writes nothing."""
        ...

    @property
    def logs_records(self) -> bool:
        """The debug log shows each record it is sent, and the id it got."""
        ...

    def open(self, resume: Mapping[str, Any] | None) -> None:
        """Get ready; ``resume`` is the checkpoint of the run being resumed, if any."""
        ...

    def describe(self) -> str:
        """A short description for progress and logs."""
        ...

    def set_maybe_sent(self, keys: set[str]) -> None:
        """Keys of records a killed run may have written without logging it."""
        ...

    def write(self, batch: Sequence[Transformed], batch_no: int) -> list[Outcome]:
        """Write a batch; one outcome per element, in order."""
        ...

    def checkpoint(self) -> dict[str, Any]:
        """Make the writes so far durable and say how to continue from here (a ``partial``
        file, when there is one, is noted in the operation log)."""
        ...

    def recover(self, done: set[str]) -> dict[str, int | None]:
        """Keys (with Coupa ids) the target holds for this run that ``done`` lacks."""
        ...

    def commit(self) -> list[str]:
        """Finish after the last batch; returns the outputs (files, tables) written."""
        ...

    def abort(self, keep_for_resume: bool) -> None:
        """Stop after an error; keep partial work when a resume can use it."""
        ...


class SourceBase:
    """The capabilities a source does not have: no object, window, marks or columns."""

    obj: ObjectDef | None = None
    incremental: str | None = None
    marks_exported = False
    rejects_format: str | None = None
    csv_formulas: CsvFormulas = "escape"

    def columns(self) -> list[str]:
        return []

    def set_window(self, watermark: str | None, run_start: str) -> dict[str, str]:
        return {}

    def restore_window(self, window: Mapping[str, str]) -> dict[str, str]:
        return dict(window)

    def next_watermark(self) -> str | None:
        return None

    def mark(self, ids: Sequence[int]) -> dict[int, str | None]:
        raise ConfigurationError("this source has no exported flag to mark")

    def id_of_key(self, key: str) -> int | None:
        return None

    def keep_delivered(self, ids: Sequence[int]) -> None:
        return None

    def details(self) -> dict[str, dict[str, Any]]:
        return {}


class TargetBase:
    """The capabilities a target does not have."""

    durable_per_batch = False
    validates_in_dry_run = False
    logs_records = False

    def open(self, resume: Mapping[str, Any] | None) -> None:
        return None

    def set_maybe_sent(self, keys: set[str]) -> None:
        return None

    def checkpoint(self) -> dict[str, Any]:
        return {}

    def recover(self, done: set[str]) -> dict[str, int | None]:
        return {}

    def abort(self, keep_for_resume: bool) -> None:
        return None


@dataclass(slots=True)
class EndpointContext:
    """What the runner gives an endpoint's constructor.

    Attributes:
        base_dir: The operation file's folder (relative input paths resolve there).
        operation: The operation's name.
        run_id: Its run in the operation log.
        run_token: The run's token (stays the same across resumes).
        now: The run's start.
        transform: The operation's transformation (a source may read only what it needs).
        connection: Opens (once) and returns the run's Coupa connection.
        dry_run: Nothing is to be written.
        landed: Files earlier operations of this invocation wrote (path -> operation).
        source: The operation's source (given to the target's constructor).
        scope: What the run's watermarks and kept state belong to (instance and target).
    """

    base_dir: Path
    operation: str
    run_id: int
    run_token: str
    now: datetime
    transform: TransformSpec
    connection: Callable[[], Any]
    dry_run: bool = False
    landed: Mapping[str, str] = field(default_factory=dict)
    source: Source | None = None
    scope: str = ""


# (checker, "op: role", role, spec, node): report problems of an endpoint's options.
EndpointCheck = Callable[["Checker", str, str, "EndpointSpec", "LMap"], None]
# (checker, operation, target spec, transformation, transform node): the mapping vs the target.
MappingCheck = Callable[["Checker", str, "EndpointSpec", "TransformSpec", "LMap"], None]


@dataclass(frozen=True, slots=True)
class EndpointType:
    """One registry entry: what an endpoint type is and how it is checked and made.

    Attributes:
        name: The ``type:`` of the endpoint in operation files.
        roles: ``source``, ``target`` or both.
        required: Per role, the options that must be given.
        options: Every option it takes.
        source: Builds the source (for types that can be one).
        target: Builds the target (for types that can be one).
        check: Checks its options when the file is loaded (every problem at its line).
        check_raw: Checks its options as written, before ``${var}`` values are filled in
            (a secret written into the file).
        check_mapping: Checks a transformation against it as a target.
        check_source_mapping: Checks a transformation against it as a source (the fields
            the mapping reads).
        uses_coupa: It talks to Coupa (the operation then needs a connection, and its
            identity is the instance).
        identity: Which file or table it reads or writes, as the run resolves it.
        secrets: Secrets its options hold, masked in debug logs.
    """

    name: str
    roles: tuple[str, ...]
    required: Mapping[str, tuple[str, ...]]
    options: frozenset[str]
    source: Callable[[EndpointSpec, EndpointContext], Source] | None = None
    target: Callable[[EndpointSpec, EndpointContext], Target] | None = None
    check: EndpointCheck | None = None
    check_raw: EndpointCheck | None = None
    check_mapping: MappingCheck | None = None
    check_source_mapping: MappingCheck | None = None
    uses_coupa: bool = False
    identity: Callable[[EndpointSpec, str, Path], str] | None = None
    secrets: Callable[[EndpointSpec], Iterable[str]] | None = None


def debug_json(value: Any, limit: int | None = DEBUG_BODY_LIMIT) -> str:
    """Records as JSON for the debug log, secret fields masked (``password``, ...), cut at
    ``limit`` characters (None: whole)."""
    from coupa_connector.client._redact import mask_fields

    text = orjson.dumps(mask_fields(value), default=str).decode()
    if limit is not None and len(text) > limit:
        return f"{text[:limit]}... ({len(text)} characters)"
    return text


def now_utc() -> datetime:
    """The current time (UTC), second precision."""
    return datetime.now(UTC).replace(microsecond=0)


def require(options: Mapping[str, Any], key: str, what: str) -> Any:
    """An endpoint option that must be present (checked on load; this guards library use)."""
    if options.get(key) in (None, ""):
        raise ConfigurationError(f"{what} needs {key}:")
    return options[key]
