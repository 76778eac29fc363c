"""Every request of a write keeps within the instance's budget, key lookups included.

A connection cannot know how much of the budget was spent just before it (the command run a
moment ago, another tool on the same client), so it starts paced rather than with a burst.
"""

from __future__ import annotations

import asyncio

from _write_support import FAST, config_for, run_writes, supplier, tag
from coupa_connector import AsyncConnection
from coupa_connector.activities.write.create import create
from coupa_connector.activities.write.update import update
from coupa_connector.client._ratelimit import bucket_for
from coupa_connector.sandbox import Sandbox


def test_a_connections_bucket_paces_from_its_first_request(sandbox: Sandbox) -> None:
    bucket = bucket_for(config_for(sandbox, rate_limit=25.0))
    assert bucket is not None
    delays = [bucket._reserve() for _ in range(3)]
    assert delays[1] > 0 and delays[2] > delays[1]


def _fill_the_instances_bucket(sandbox: Sandbox) -> None:
    """Someone else spends the whole burst just before the run starts."""

    async def go() -> None:
        async with AsyncConnection(config_for(sandbox, concurrency=20)) as conn:
            await conn.auth.headers()  # the token first, so the burst is the burst
            await asyncio.gather(
                *(conn.request("GET", "/api/suppliers", params={"limit": 1}) for _ in range(20))
            )

    asyncio.run(go())


def test_updates_by_key_right_after_a_burst_keep_within_the_budget(sandbox: Sandbox) -> None:
    t = tag()
    records = [supplier(f"Budget {t} {i:02d}", f"BU-{t}-{i:02d}") for i in range(40)]
    run_writes(sandbox, lambda conn: create(conn, "suppliers", records, options=FAST))
    sandbox.set_rate_limit(True, rate=25, burst=20)
    _fill_the_instances_bucket(sandbox)
    sandbox.reset_stats()

    changes = [
        {"number": f"BU-{t}-{i:02d}", "website": f"https://b{i}.example.com"} for i in range(40)
    ]
    _, summary = run_writes(
        sandbox,
        lambda conn: update(conn, "suppliers", changes, key="number", options=FAST),
        rate_limit=25.0,
        concurrency=20,
    )

    stats = sandbox.stats()
    throttled = int(stats.get("by_status", {}).get("429", 0))
    assert summary.updated == 40
    # 40 updates and their lookup: a burst at the start would meet a full bucket (about ten
    # 429s); paced, at most a stray one.
    assert throttled <= 1, stats.get("by_status")
