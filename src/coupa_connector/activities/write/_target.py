"""Finding the record a write targets: by ``id``, or by a natural key with batched lookups.

Shared by Update, Upsert, actions, and Create's recovery from a lost answer. One
``Targets`` object per run holds a ``KeyResolver`` per concrete key (``invoice-number,
supplier.number`` and ``invoice-number,supplier.name`` are different queries), so every key
is asked about once per run, in chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from coupa_connector.activities.write._keys import Fetch, KeyResolver, KeySpec, KeyValue
from coupa_connector.activities.write._pipeline import FatalWriteError, Item, Job
from coupa_connector.activities.write._results import WriteOutcome, WriteResult
from coupa_connector.activities.write._send import (
    Recover,
    Requester,
    Resolution,
    SendContext,
    failed_result,
    resolution,
)
from coupa_connector.catalog import MAX_INTEGER, ObjectDef, coupa_integer
from coupa_connector.errors import CoupaError

__all__ = [
    "Target",
    "Targets",
    "first_key",
    "guarded",
    "make_fetch",
    "natural_keys",
    "parse_id",
    "prepare_targeted",
]

# Coupa's page size, and the most it returns per request.
PAGE = 50

T = TypeVar("T")


def make_fetch(conn: Requester, obj: ObjectDef) -> Fetch:
    """A fetch that pages through one filtered query of ``obj`` with offset and limit."""
    assert obj.resource is not None

    async def fetch(params: Mapping[str, str]) -> AsyncIterator[Mapping[str, Any]]:
        offset = 0
        while True:
            page = await conn.request(
                "GET",
                obj.resource or "",
                params={**params, "limit": str(PAGE), "offset": str(offset)},
                object_name=obj.name,
            )
            records: Sequence[Any]
            if isinstance(page, list):
                records = page
            elif isinstance(page, Mapping):
                records = [page]
            else:
                records = []
            for record in records:
                if isinstance(record, Mapping):
                    yield record
            if len(records) < PAGE:
                return
            offset += len(records)

    return fetch


def natural_keys(obj: ObjectDef) -> list[KeySpec]:
    """The object's natural keys from the catalog (those a query can look up), in order."""
    specs: list[KeySpec] = []
    for fields in obj.lookup_keys:
        if tuple(fields) == ("id",):
            continue
        try:
            specs.append(KeySpec.parse(obj, list(fields)))
        except CoupaError:
            continue  # a catalog key this connector cannot query by is just skipped
    return specs


def first_key(specs: Sequence[KeySpec], body: Mapping[str, Any]) -> Target | None:
    """The first of ``specs`` the record fully gives, made concrete for it."""
    for spec in specs:
        concrete = spec.concrete(body)
        value = concrete.value(body) if concrete is not None else None
        if concrete is not None and value is not None:
            return Target(spec=concrete, value=value)
    return None


def parse_id(value: Any) -> int | None:
    """A Coupa id from a record's ``id`` (an int, or a string of digits), else None.

    An id past Coupa's integer range (``MAX_INTEGER``) is none: no record can have it.
    """
    if isinstance(value, bool):
        return None
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = coupa_integer(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    return number if number is not None and 0 < number <= MAX_INTEGER else None


@dataclass(frozen=True, slots=True)
class Target:
    """How one record identifies its target: its id, or a concrete key and its value."""

    id: int | None = None
    spec: KeySpec | None = None
    value: KeyValue | None = None

    @property
    def lock_key(self) -> tuple[str, KeyValue] | None:
        """Records with the same key are written one after the other."""
        if self.spec is not None and self.value is not None:
            return (self.spec.text, self.value)
        return None

    def describe(self) -> str:
        """``number='S-1'`` or ``id=5`` for messages."""
        if self.spec is not None and self.value is not None:
            return self.spec.describe(self.value)
        return f"id={self.id}"


class Targets:
    """Resolves records to Coupa ids for one object during one run.

    Lookups are queries, safe to repeat: the connection's own loop retries them, within its
    retry policy, and no second loop does.

    Args:
        ctx: The run's send context (connection, object, retry knobs).
        key: The key records are identified by; None means ``id`` only.
    """

    def __init__(self, ctx: SendContext, key: KeySpec | None) -> None:
        self.obj = ctx.obj
        self.key = key
        self._ctx = ctx
        self._fetch = make_fetch(ctx.conn, ctx.obj)
        self._resolvers: dict[str, KeyResolver] = {}
        self._natural = natural_keys(ctx.obj)

    @property
    def queries(self) -> int:
        """Lookup queries sent so far."""
        return sum(r.queries for r in self._resolvers.values())

    def resolver(self, spec: KeySpec) -> KeyResolver:
        """The resolver of a concrete key (one per key, for the whole run)."""
        found = self._resolvers.get(spec.text)
        if found is None:
            found = self._resolvers[spec.text] = KeyResolver(spec, self._fetch)
        return found

    def target(self, item: Item, *, prefer_id: bool = True) -> Target | WriteResult:
        """How ``item`` names its target, or a rejected result saying what is missing."""
        raw_id = item.body.get("id")
        rid = parse_id(raw_id)
        if raw_id is not None and rid is None:
            return self._reject(
                item, f"id: {raw_id!r} is not a Coupa id (a positive integer up to {MAX_INTEGER})"
            )
        if rid is not None and (prefer_id or self.key is None or self.key.is_id):
            return Target(id=rid)
        if self.key is None or self.key.is_id:
            # No key for the run: the first of the catalog's natural keys the record gives.
            natural = first_key(self._natural, item.body)
            if natural is not None:
                return natural
            keys = [s.text for s in self._natural]
            hint = f" (e.g. {' or '.join(repr(k) for k in keys[:3])})" if keys else ""
            return self._reject(
                item, f"id: the record has no id and no natural key{hint}; give one, or --key"
            )
        spec = self.key.concrete(item.body)
        value = spec.value(item.body) if spec is not None else None
        if spec is None or value is None:
            unreadable = self.key.unreadable(item.body)
            if unreadable:
                return self._reject(item, f"{unreadable[0]} (key is {self.key.text})")
            missing = ", ".join(self.key.missing(item.body)) or self.key.text
            return self._reject(item, f"{missing}: key value missing (key is {self.key.text})")
        return Target(spec=spec, value=value)

    async def resolve(self, targets: Sequence[Target]) -> None:
        """Look up every keyed target not yet known, batched per concrete key.

        Raises:
            CoupaError: A lookup query failed after the connection's retries.
        """
        by_spec: dict[str, list[KeyValue]] = {}
        specs: dict[str, KeySpec] = {}
        for target in targets:
            if target.spec is not None and target.value is not None:
                by_spec.setdefault(target.spec.text, []).append(target.value)
                specs[target.spec.text] = target.spec
        for text, values in by_spec.items():
            await self.resolver(specs[text]).resolve(values)

    async def ids(self, target: Target, *, fresh: bool = False) -> tuple[int, ...]:
        """The ids a target matches (from the cache unless ``fresh``)."""
        if target.id is not None:
            return (target.id,)
        assert target.spec is not None and target.value is not None
        resolver = self.resolver(target.spec)
        if fresh:
            resolver.forget(target.value)
        known = resolver.cached(target.value)
        if known is not None:
            return known
        found = await resolver.resolve([target.value])
        return found[target.value]

    def remember(self, target: Target, rid: int) -> None:
        """Note that a target's key now names record ``rid`` too (after creating it)."""
        if target.spec is not None and target.value is not None:
            resolver = self.resolver(target.spec)
            known = resolver.cached(target.value) or ()
            resolver.remember(target.value, (*known, rid))

    def recovery(self, target: Target, before: Iterable[int]) -> Recover:
        """How to find the record a create of ``target`` made, after its answer was lost.

        ``before`` holds the ids the key matched before the create was sent: a record that
        already existed is never taken for the new one, so a create whose key names an old
        record (a name taken already) is not mistaken for a create that landed.
        """
        existed = frozenset(before)

        async def recover() -> tuple[int, ...]:
            found = await self.ids(target, fresh=True)
            return tuple(i for i in found if i not in existed)

        return recover

    def _reject(self, item: Item, message: str) -> WriteResult:
        return WriteResult(
            position=item.position,
            outcome=WriteOutcome.REJECTED,
            messages=(message,),
            record=item.record,
            fields=(message.split(":", 1)[0],),
        )


async def guarded(item: Item, work: Callable[[], Awaitable[WriteResult]]) -> WriteResult:
    """Run a job's work; a lookup error becomes the record's failure (or stops the run).

    Raises:
        FatalWriteError: The lookup failed in a way no record can get past.
    """
    try:
        return await work()
    except CoupaError as error:
        result = failed_result(item, error, prefix="looking the record up failed: ")
        if resolution(error) is Resolution.FATAL:
            raise FatalWriteError(error, result) from None
        return result


async def prepare_targeted(
    targets: Targets,
    items: Sequence[Item],
    make_job: Callable[[Item, Target], Job],
    *,
    dry_run: bool,
    check: Callable[[Item], WriteResult | None] | None = None,
) -> list[Job | WriteResult]:
    """Prepare a chunk of records that name an existing target (update, upsert, actions).

    Each record is checked (``check``, when given), its target found (id or key), and the
    keyed targets of the whole chunk are looked up together before the jobs are made.

    Args:
        targets: The run's resolver.
        items: The chunk.
        make_job: Makes the job of a record whose target is known.
        dry_run: Stop after the checks: each valid record is reported ``valid``.
        check: Rejects a record before any lookup; None accepts all.

    Returns:
        The chunk's rejected and failed results and its jobs.

    Raises:
        FatalWriteError: The lookup failed in a way no record can get past; it carries the
            chunk's results, so none goes unaccounted.
    """
    prepared: list[Job | WriteResult] = []
    pending: list[tuple[Item, Target]] = []
    for item in items:
        rejected = check(item) if check is not None else None
        if rejected is not None:
            prepared.append(rejected)
            continue
        target = targets.target(item, prefer_id=True)
        if isinstance(target, WriteResult):
            prepared.append(target)
        elif dry_run:
            prepared.append(WriteResult(item.position, WriteOutcome.VALID, record=item.record))
        else:
            pending.append((item, target))
    try:
        await targets.resolve([t for _, t in pending])
    except CoupaError as error:
        failed = [
            failed_result(item, error, prefix="looking the record up by its key failed: ")
            for item, _ in pending
        ]
        if resolution(error) is Resolution.FATAL:
            raise FatalWriteError(
                error, *[p for p in prepared if isinstance(p, WriteResult)], *failed
            ) from None
        return [*prepared, *failed]
    prepared.extend(make_job(item, target) for item, target in pending)
    return prepared
