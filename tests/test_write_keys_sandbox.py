"""Natural keys of several types against the sandbox, with real lost answers.

Exchange rates are keyed ``rate-date,from-currency.code,to-currency.code``: a file gives the
date as ``2032-03-03`` while Coupa answers ``2032-03-03T00:00:00+00:00``. Each test uses a
currency pair of its own and dates far past the seed's, so no test meets another's rates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from _write_support import FAST, call, find, invoke_cli, json_summary, run_writes, tag
from coupa_connector.activities.write._results import WriteOutcome
from coupa_connector.activities.write.create import create
from coupa_connector.activities.write.update import update, upsert
from coupa_connector.sandbox import Sandbox

KEY = "rate-date,from-currency.code,to-currency.code"


def _days(n: int) -> list[str]:
    """``n`` consecutive dates from a start that differs per run (no two runs meet)."""
    start = dt.date(2032, 1, 1) + dt.timedelta(days=int(tag(), 16) % 20_000)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(n)]


def _rate(day: str, source: str, target: str, rate: str) -> dict[str, Any]:
    return {
        "rate-date": day,
        "from-currency": {"code": source},
        "to-currency": {"code": target},
        "rate": rate,
    }


def _stored(sandbox: Sandbox, source: str, target: str, days: list[str]) -> list[dict[str, Any]]:
    """The pair's rates on ``days`` as Coupa holds them."""
    return find(
        sandbox,
        "exchange_rates",
        **{
            "from-currency[code]": source,
            "to-currency[code]": target,
            "rate-date[gt_or_eq]": days[0],
            "rate-date[lt_or_eq]": days[-1],
        },
    )


def _make_rates(sandbox: Sandbox, source: str, target: str, days: list[str]) -> dict[str, int]:
    """Rates for ``days`` created without faults; their ids by date."""
    records = [_rate(day, source, target, "1.5") for day in days]
    results, summary = run_writes(
        sandbox, lambda conn: create(conn, "exchange_rates", records, options=FAST)
    )
    assert summary.created == len(days), [r.messages for r in results]
    return {day: r.id for day, r in zip(days, results, strict=True) if r.id is not None}


def test_lost_creates_with_a_date_key_are_found_not_sent_again(sandbox: Sandbox) -> None:
    days = _days(100)
    records = [_rate(day, "CHF", "JPY", f"1{i:02d}.25") for i, day in enumerate(days)]
    sandbox.set_faults(methods=["POST"], path="^/api/exchange_rates$", commit_drop_count=24)

    results, summary = run_writes(
        sandbox, lambda conn: create(conn, "exchange_rates", records, key=KEY, options=FAST)
    )

    assert sandbox.faults()["injected"].get("commit_drop", 0) == 24
    assert summary.failed == 0, [r.messages for r in results if not r.ok]
    assert summary.created == 100 and summary.recovered == 24
    stored = _stored(sandbox, "CHF", "JPY", days)
    per_day = Counter(r["rate-date"][:10] for r in stored)
    assert per_day == Counter(days)  # every record once, none twice
    assert sorted(r.id for r in results if r.id is not None) == sorted(r["id"] for r in stored)
    recovered = [r for r in results if r.recovered]
    assert all(r.outcome is WriteOutcome.CREATED and "lost" in r.messages[0] for r in recovered)


@pytest.mark.parametrize("wire", ["json", "xml"])
def test_update_by_a_date_key_matches_every_spelling_of_the_day(
    sandbox: Sandbox, wire: str
) -> None:
    days = _days(3)
    ids = _make_rates(sandbox, "INR", "JPY", days)
    # The same instants as Coupa spells them, a plain date, and another offset with fractions.
    spellings = [days[0], f"{days[1]}T00:00:00Z", _previous_evening(days[2])]
    changes = [_rate(s, "INR", "JPY", f"2.{i}") for i, s in enumerate(spellings)]

    results, summary = run_writes(
        sandbox,
        lambda conn: update(conn, "exchange_rates", changes, key=KEY, options=FAST),
        wire_format=wire,
    )

    assert summary.updated == 3, [r.messages for r in results]
    assert [r.id for r in results] == [ids[day] for day in days]
    for i, day in enumerate(days):
        rate = call(sandbox, "GET", f"/api/exchange_rates/{ids[day]}")["rate"]
        assert float(rate) == float(f"2.{i}")


def _previous_evening(day: str) -> str:
    """Midnight UTC of ``day`` written as 19:00 of the evening before, at UTC-05:00."""
    evening = dt.date.fromisoformat(day) - dt.timedelta(days=1)
    return f"{evening.isoformat()}T19:00:00.000-05:00"


def test_upsert_by_a_date_key_updates_instead_of_creating(sandbox: Sandbox) -> None:
    days = _days(4)
    ids = _make_rates(sandbox, "AUD", "JPY", days[:3])
    records = [_rate(day, "AUD", "JPY", "3.75") for day in days]  # three known, one new

    results, summary = run_writes(
        sandbox, lambda conn: upsert(conn, "exchange_rates", records, key=KEY, options=FAST)
    )

    assert (summary.updated, summary.created, summary.failed) == (3, 1, 0), [
        r.messages for r in results
    ]
    assert [r.id for r in results[:3]] == [ids[day] for day in days[:3]]
    stored = _stored(sandbox, "AUD", "JPY", days)
    assert Counter(r["rate-date"][:10] for r in stored) == Counter(days)
    assert {float(r["rate"]) for r in stored} == {3.75}


def test_update_from_a_csv_file_by_a_date_key(sandbox: Sandbox, tmp_path: Path) -> None:
    days = _days(2)
    ids = _make_rates(sandbox, "CAD", "JPY", days)
    path = tmp_path / "rates.csv"
    rows = "".join(f"{day},CAD,JPY,4.50\n" for day in days)
    path.write_text(f"rate-date,from-currency.code,to-currency.code,rate\n{rows}", "utf-8")

    result = invoke_cli(
        sandbox, ["update", "exchange_rates", str(path), "--key", KEY, "--summary", "json"]
    )

    assert result.exit_code == 0, result.output
    assert json_summary(result)["updated"] == 2
    for day in days:
        assert float(call(sandbox, "GET", f"/api/exchange_rates/{ids[day]}")["rate"]) == 4.5


def test_a_key_value_coupa_cannot_hold_is_rejected_before_any_lookup(sandbox: Sandbox) -> None:
    account = find(sandbox, "accounts", fields='["id","code",{"account_type":["id"]}]')[0]
    type_id = account["account-type"]["id"]
    changes = [
        {"code": account["code"], "account-type": {"id": type_id}},
        {"code": account["code"], "account-type": {"id": "1" * 30}},
    ]

    results, summary = run_writes(
        sandbox,
        lambda conn: update(conn, "accounts", changes, key="code,account-type.id", options=FAST),
    )

    assert (summary.updated, summary.rejected, summary.failed) == (1, 1, 0), [
        r.messages for r in results
    ]
    assert results[0].id == account["id"]
    assert results[1].messages[0].startswith(f"account-type.id: '{'1' * 30}' is not a whole")
