"""Upsert against the sandbox: create on no match, update on one, fail on several."""

from __future__ import annotations

from pathlib import Path

import pytest

from _write_support import (
    FAST,
    call,
    find,
    invoke_cli,
    json_summary,
    run_writes,
    supplier,
    tag,
    write_jsonl,
)
from coupa_connector.activities.write._results import WriteOutcome
from coupa_connector.activities.write.create import create
from coupa_connector.activities.write.update import upsert
from coupa_connector.errors import ConfigurationError
from coupa_connector.sandbox import Sandbox


def test_upsert_creates_and_updates_by_key(sandbox: Sandbox) -> None:
    t = tag()
    first, _ = run_writes(
        sandbox,
        lambda conn: create(
            conn, "suppliers", [supplier(f"Ups {t} A", f"UPS-{t}-A")], options=FAST
        ),
    )
    existing_id = first[0].id
    records = [
        {"number": f"UPS-{t}-A", "display-name": "Updated A"},  # exists: update
        supplier(f"Ups {t} B", f"UPS-{t}-B"),  # new: create
        {"number": f"UPS-{t}-C", "display-name": "no name"},  # new but invalid for create
    ]

    results, summary = run_writes(
        sandbox, lambda conn: upsert(conn, "suppliers", records, key="number", options=FAST)
    )

    assert [r.outcome for r in results] == [
        WriteOutcome.UPDATED,
        WriteOutcome.CREATED,
        WriteOutcome.REJECTED,
    ]
    assert results[0].id == existing_id
    assert "name" in results[2].messages[0] and "[required]" in results[2].messages[0]
    assert summary.read == summary.created + summary.updated + summary.rejected + summary.failed
    assert call(sandbox, "GET", f"/api/suppliers/{existing_id}")["display-name"] == "Updated A"
    assert len(find(sandbox, "suppliers", number=f"UPS-{t}-B")) == 1
    assert find(sandbox, "suppliers", number=f"UPS-{t}-C") == []


def test_upsert_same_new_key_twice_creates_once_then_updates(sandbox: Sandbox) -> None:
    t = tag()
    records = [
        supplier(f"Twice {t}", f"TW-{t}", **{"display-name": "first"}),
        supplier(f"Twice {t}", f"TW-{t}", **{"display-name": "second"}),
    ]
    results, _ = run_writes(
        sandbox,
        lambda conn: upsert(conn, "suppliers", records, key="number", concurrency=4, options=FAST),
    )
    assert [r.outcome for r in results] == [WriteOutcome.CREATED, WriteOutcome.UPDATED]
    assert results[0].id == results[1].id
    stored = find(sandbox, "suppliers", number=f"TW-{t}")
    assert len(stored) == 1 and stored[0]["display-name"] == "second"


def test_upsert_key_matching_several_records_fails(sandbox: Sandbox) -> None:
    t = tag()
    run_writes(
        sandbox,
        lambda conn: create(
            conn,
            "suppliers",
            [
                supplier(f"Dup {t} {i}", f"DUP-{t}-{i}", **{"display-name": f"Same {t}"})
                for i in range(2)
            ],
            options=FAST,
        ),
    )
    results, summary = run_writes(
        sandbox,
        lambda conn: upsert(
            conn,
            "suppliers",
            [{"display-name": f"Same {t}", "website": "https://w.example.com"}],
            key="display-name",
            options=FAST,
        ),
    )
    assert summary.failed == 1 and "2 suppliers records match" in results[0].messages[0]


def test_upsert_needs_a_natural_key(sandbox: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="natural key"):
        upsert(None, "suppliers", [], key="id")  # type: ignore[arg-type]
    path = tmp_path / "x.jsonl"
    path.write_text("{}\n", encoding="utf-8")
    outcome = invoke_cli(sandbox, ["upsert", "suppliers", str(path)])
    assert outcome.exit_code == 2 and "--key" in outcome.output


def test_upsert_cli_users_by_login(sandbox: Sandbox, tmp_path: Path) -> None:
    t = tag()
    users = [
        {
            "login": f"u{t}{i}",
            "email": f"u{t}{i}@example.com",
            "firstname": "Ann",
            "lastname": f"Lee{i}",
        }
        for i in range(3)
    ]
    path = tmp_path / "users.jsonl"
    write_jsonl(path, users)
    first = invoke_cli(
        sandbox, ["upsert", "users", str(path), "--key", "login", "--summary", "json"]
    )
    assert first.exit_code == 0, first.output
    assert json_summary(first)["created"] == 3
    for u in users:
        u["lastname"] = "Changed"
    write_jsonl(path, users)
    second = invoke_cli(
        sandbox, ["upsert", "users", str(path), "--key", "login", "--summary", "json"]
    )
    assert second.exit_code == 0, second.output
    assert json_summary(second)["updated"] == 3
    stored = find(sandbox, "users", **{"login[starts_with]": f"u{t}"})
    assert sorted(u["lastname"] for u in stored) == ["Changed"] * 3
