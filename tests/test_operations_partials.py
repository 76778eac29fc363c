"""Temporary ``.part`` files: kept while a resume can use them, removed once none can."""

from __future__ import annotations

import textwrap
from pathlib import Path

from coupa_connector.operations import OpLog, read_records, run_operations

COPY = """
    operations:
      copy:
        batch_size: 1
        source: {type: file, path: in.json}
        transform: {mapping: {n: "if(n == `0`, fail('no zeros'), n)", pw: password}}
        target: {type: file, path: "${out}/copy.jsonl"}
        rejects: "${out}/rejects.jsonl"
"""

# Three records, then JSON that does not parse: the run fails with its batches written.
BROKEN = '[{"n": 0, "password": "pw-0-secret"}, {"n": 1, "password": "pw-1-secret"}, {"n": 2}, x'
FIXED = (
    '[{"n": 0, "password": "pw-0-secret"}, {"n": 1, "password": "pw-1-secret"}, {"n": 2}, {"n": 3}]'
)


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".part", ".render")))


def failed_run(tmp_path: Path, text: str = COPY, *, dry_run: bool = False) -> Path:
    ops = tmp_path / "ops.yaml"
    ops.write_text(textwrap.dedent(text).lstrip())
    (tmp_path / "in.json").write_text(BROKEN)
    [result] = run_operations(
        ops,
        variables={"out": str(tmp_path / "out")},
        log_db=tmp_path / "log.sqlite",
        dry_run=dry_run,
    )
    assert result.status == "failed" and "bad JSON" in (result.error or "")
    assert (result.counts.written, result.counts.rejected) == (2, 1)
    return ops


def test_a_failed_run_keeps_its_part_files_and_a_resume_takes_them_up(tmp_path: Path) -> None:
    ops = failed_run(tmp_path)
    out = tmp_path / "out"
    assert len(parts(out)) == 2  # the output and the rejects file, for the resume
    (tmp_path / "in.json").write_text(FIXED)
    [result] = run_operations(
        ops, variables={"out": str(out)}, log_db=tmp_path / "log.sqlite", resume=True
    )
    assert result.resumed and result.status == "partial"
    assert [r["n"] for r in read_records(out / "copy.jsonl")] == [1, 2, 3]
    assert [r["n"] for r in read_records(out / "rejects.jsonl")] == [0]
    assert parts(out) == []


def test_the_next_run_without_resume_removes_the_failed_runs_part_files(tmp_path: Path) -> None:
    ops = failed_run(tmp_path)
    out = tmp_path / "out"
    left = parts(out)
    assert len(left) == 2
    (tmp_path / "in.json").write_text(FIXED)
    [result] = run_operations(ops, variables={"out": str(out)}, log_db=tmp_path / "log.sqlite")
    assert not result.resumed and result.status == "partial"
    assert parts(out) == []  # the failed run's files held its records, secrets too
    assert [r["n"] for r in read_records(out / "copy.jsonl")] == [1, 2, 3]
    with OpLog(tmp_path / "log.sqlite") as log:
        [_new, old] = log.runs()
        assert log.partials(old["id"]) == []


def test_a_failed_dry_run_leaves_no_part_file_and_lands_its_rejects(tmp_path: Path) -> None:
    failed_run(tmp_path, dry_run=True)
    out = tmp_path / "out"
    assert parts(out) == []
    assert [r["n"] for r in read_records(out / "rejects.jsonl")] == [0]
    assert not (out / "copy.jsonl").exists()


def test_a_failed_run_on_an_embedded_sandbox_leaves_no_part_file(tmp_path: Path) -> None:
    # The sandbox it ran against is gone with it, so no resume can ever continue the run.
    text = """
        connection: {sandbox: true}
        operations:
          copy:
            batch_size: 1
            source: {type: file, path: in.json}
            transform:
              mapping:
                number: "concat('PART-', n)"
                name: "if(n == `0`, fail('no zeros'), concat('Part ', n))"
            target: {type: coupa.create, object: suppliers}
            rejects: "${out}/rejects.jsonl"
    """
    ops = tmp_path / "ops.yaml"
    ops.write_text(textwrap.dedent(text).lstrip())
    (tmp_path / "in.json").write_text(BROKEN)
    [result] = run_operations(
        ops, variables={"out": str(tmp_path / "out")}, log_db=tmp_path / "log.sqlite"
    )
    assert result.status == "failed"
    assert (result.counts.written, result.counts.rejected) == (2, 1)
    assert parts(tmp_path / "out") == []
    assert [r["n"] for r in read_records(tmp_path / "out" / "rejects.jsonl")] == [0]
