"""The ``file`` target in the ``coupa-csv`` format: records into Coupa CSV flat files in a
folder, named and split as Coupa takes them (``files/coupa_csv``).

Each record is checked when its batch is written (the catalog's validation, as record
writes do, and whether it fits a file): a record Coupa's file would not take is rejected
there, with the field and the reason. The records taken are spooled, a JSON line each, to
a file in the folder, which the checkpoint makes durable, so a resumed run carries on from
it; the commit renders the spool into the Coupa files (each landing whole) and removes it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from coupa_connector.catalog import Direction
from coupa_connector.errors import ConfigurationError
from coupa_connector.operations._transform import Transformed
from coupa_connector.operations.endpoints.base import EndpointContext, Outcome, TargetBase
from coupa_connector.operations.files._files import expand_path
from coupa_connector.operations.files.coupa_csv import CoupaCsvWriter
from coupa_connector.operations.opfile.model import EndpointSpec, validation_mode

__all__ = ["CoupaCsvTarget"]


class CoupaCsvTarget(TargetBase):
    """Records into Coupa CSV files; ``path`` is the folder (placeholders allowed), the
    object is the ``object`` option or the source's, the layout ``direction`` (``import``
    by default: the files Coupa takes in)."""

    def __init__(self, spec: EndpointSpec, ctx: EndpointContext) -> None:
        options = spec.options
        source_obj = ctx.source.obj if ctx.source is not None else None
        name = options.get("object") or (source_obj.name if source_obj is not None else None)
        if not isinstance(name, str) or not name:
            raise ConfigurationError(
                f"{ctx.operation}: a coupa-csv target needs object: NAME (its source has none)"
            )
        self._object = name
        self._direction: Direction = "export" if options.get("direction") == "export" else "import"
        self._validation = validation_mode(options.get("validate"))
        run_vars = {"operation": ctx.operation, "run_id": str(ctx.run_id)}
        self._folder = Path(
            os.path.abspath(expand_path(str(options["path"]), now=ctx.now, **run_vars))
        )
        # Checks records as they come; the files are written at the commit.
        self._checker = self._writer()
        self._spool: IO[bytes] | None = None
        self._spool_path: Path | None = None

    def _writer(self, *, validate: bool = True) -> CoupaCsvWriter:
        return CoupaCsvWriter(
            self._object,
            self._folder,
            direction=self._direction,
            validate=validate,
            validation=self._validation,
        )

    def describe(self) -> str:
        return f"{self._folder}/ (coupa-csv {self._object})"

    def open(self, resume: Mapping[str, Any] | None) -> None:
        state = (resume or {}).get("target") or {}
        spool = state.get("spool")
        if spool and os.path.exists(spool):
            self._spool_path = Path(spool)
            self._spool = open(spool, "r+b")  # noqa: SIM115 -- closed at commit or abort
            self._spool.truncate(int(state.get("size", 0)))
            self._spool.seek(0, os.SEEK_END)
            return
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            self._spool_path = self._folder / f".coupa-csv-{secrets.token_hex(4)}.jsonl"
            self._spool = open(self._spool_path, "w+b")  # noqa: SIM115 -- as above
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot write {self._folder}: {exc.strerror or exc}."
            ) from None

    def write(self, batch: Sequence[Transformed], batch_no: int) -> list[Outcome]:
        assert self._spool is not None
        out: list[Outcome] = []
        for t in batch:
            assert t.record is not None
            found = self._checker.check(t.record)
            if not found.ok:
                out.append(Outcome("rejected", list(found.messages), warnings=list(found.warnings)))
                continue
            self._spool.write(orjson.dumps(t.record) + b"\n")
            out.append(Outcome("written", coupa_id=_id(t.record), warnings=list(found.warnings)))
        return out

    def checkpoint(self) -> dict[str, Any]:
        if self._spool is None or self._spool_path is None:
            return {}
        self._spool.flush()
        os.fsync(self._spool.fileno())
        return {"spool": str(self._spool_path), "size": self._spool.tell()}

    def commit(self) -> list[str]:
        assert self._spool is not None and self._spool_path is not None
        self._spool.flush()
        self._spool.seek(0)
        writer = self._writer(validate=False)  # checked as each batch was written
        writer.write_all(_records(self._spool))
        paths = writer.close()
        self._drop_spool()
        return [str(p) for p in paths]

    def abort(self, keep_for_resume: bool) -> None:
        if self._spool is None:
            return
        if keep_for_resume:
            self._spool.close()
            self._spool = None
            return
        self._drop_spool()

    def _drop_spool(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        if self._spool_path is not None:
            self._spool_path.unlink(missing_ok=True)


def _records(spool: IO[bytes]) -> Iterator[dict[str, Any]]:
    for line in spool:
        if line.strip():
            record: dict[str, Any] = orjson.loads(line)
            yield record


def _id(record: Mapping[str, Any]) -> int | None:
    value = record.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None
