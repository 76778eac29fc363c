"""The console's small pieces: escaping by construction, masking, charts, the page helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from coupa_connector.activities.attachments import Manifest, ManifestRow
from coupa_connector.console import is_loopback
from coupa_connector.console._attachments import ManifestPages, attachments_section
from coupa_connector.console._charts import Series, _ticks, line_chart
from coupa_connector.console._guard import _host_name
from coupa_connector.console._html import Markup, escape, html, join
from coupa_connector.console._page import duration_text, pager, time_text
from coupa_connector.console._redact import MASK, Scrubber, mask_record, mask_yaml_line


def test_every_value_is_escaped_unless_it_is_markup() -> None:
    out = html('<a href="{href}">{text}</a>', href='x" onclick="y', text="<b>&</b>")
    assert out == '<a href="x&quot; onclick=&quot;y">&lt;b&gt;&amp;&lt;/b&gt;</a>'
    assert isinstance(out, Markup)
    assert html("<p>{inner}</p>", inner=out) == f"<p>{out}</p>"  # not escaped twice
    assert html("{n:,}", n=12345) == "12,345"
    assert escape(None) == "" and escape("'") == "&#x27;"
    assert join(["<i>", html("<b>{x}</b>", x=1)], "<br>") == "&lt;i&gt;<br><b>1</b>"


def test_a_template_cannot_reach_into_its_values() -> None:
    with pytest.raises(ValueError, match="plain name"):
        html("{v.__class__}", v="x")
    with pytest.raises(ValueError, match="plain name"):
        html("{v[0]}", v="x")


def test_credential_fields_are_masked_at_any_depth() -> None:
    record = {
        "login": "ada",
        "password": "s3cret",
        "api_key": "k",
        "lines": [{"client-secret": "c", "amount": 1}],
        "token": "",
        "note": {"private_key": None},
    }
    assert mask_record(record) == {
        "login": "ada",
        "password": MASK,
        "api_key": MASK,
        "lines": [{"client-secret": MASK, "amount": 1}],
        "token": "",
        "note": {"private_key": None},
    }
    assert mask_record(None) is None


def test_the_scrubber_masks_known_values_and_credential_pairs() -> None:
    scrub = Scrubber(["known-secret-value", "abc"])  # too short to be a secret: left alone
    text = 'sent known-secret-value and {"password":"pw","a":"abc"} to /x?api_key=K&b=1'
    assert (
        scrub(text) == f'sent {MASK} and {{"password":"{MASK}","a":"abc"}} to /x?api_key={MASK}&b=1'
    )
    prose = "connection.client_secret: secrets never go in an operation file"
    assert scrub(prose) == prose
    assert mask_yaml_line("  client_secret: hunter2 # x") == f"  client_secret: {MASK} # x"
    assert mask_yaml_line("  client_secret_env: ACME_SECRET") == "  client_secret_env: ACME_SECRET"


def test_charts_are_svg_with_round_ticks_and_a_text_description() -> None:
    assert _ticks(0, 8) == [0, 2, 4, 6, 8]
    assert _ticks(0, 1000) == [0, 500, 1000]
    svg = line_chart(
        [Series("<ops>", [(0, 1), (1, 7.5), (2, 3)]), Series("empty", [])],
        title="Records",
        y_label="records",
        x_format=lambda v: f"{v:.0f} s",
    )
    assert svg.count("<polyline") == 1
    assert 'role="img"' in svg and "<desc" in svg
    assert "&lt;ops&gt;" in svg and "<ops>" not in svg
    assert "style=" not in svg  # the page's CSP allows no inline style
    assert "nothing to draw" in line_chart([], title="T", y_label="y", x_format=str)


def test_page_helpers() -> None:
    assert time_text("2026-12-02T17:03:01.123Z") == "2026-12-02 17:03:01"
    assert time_text(None) == "–"
    assert [duration_text(s) for s in (0.44, 75, 7380)] == ["0.4 s", "1 min 15 s", "2 h 03 min"]
    nav = pager("/", {"status": "failed", "q": ""}, 2, 50, 120, "runs")
    assert "page 2 of 3" in nav and "status=failed" in nav and "q=" not in nav.split("form")[0]
    assert "<nav" not in pager("/", {}, 1, 50, 3, "runs")  # one page: just the count


def test_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.5.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    assert not is_loopback("example.com")
    assert _host_name("127.0.0.1:8790") == "127.0.0.1"
    assert _host_name("[::1]:8790") == "::1"
    assert _host_name("LOCALHOST") == "localhost"


def _manifest(path: Path, count: int, *, jsonl: bool = False) -> list[ManifestRow]:
    rows = [
        ManifestRow("invoices", i, f"INV-{i}", "attachment", 1000 + i, f"f{i}.pdf", i, "ab" * 32,
                    f"invoices/INV-{i}/f{i}.pdf")
        for i in range(1, count + 1)
    ]  # fmt: skip
    manifest = Manifest(path)
    manifest.open([])
    manifest.close(rows)
    return rows


@pytest.mark.parametrize("name", ["manifest.csv", "manifest.jsonl"])
def test_a_manifest_is_paged_by_seeking(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    rows = _manifest(path, 120)
    pages = ManifestPages(per_page=50)
    first, total = pages.page(path, 1)
    assert total == 120 and first == rows[:50]
    assert pages.page(path, 2)[0] == rows[50:100]
    assert pages.page(path, 3)[0] == rows[100:]
    assert pages.page(path, 4) == ([], 120)
    # Appended to (a run still going, its last line torn): indexed again, the torn line left out.
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"object": "invoices", "parent_id"' if name.endswith("jsonl") else "invoices,7")
    last, total = pages.page(path, 3)
    assert total == 121 and last == rows[100:]


def test_the_attachments_section_pages_its_manifest_apart_from_the_failures(
    tmp_path: Path,
) -> None:
    path = tmp_path / "manifest.csv"
    _manifest(path, 60)
    run = {
        "id": 7,
        "details": {
            "attachments": {"manifest": str(path), "folder": str(tmp_path), "parents": 60,
                            "found": 61, "downloaded": 40, "kept": 20, "failed": 1,
                            "not_files": 2, "bytes": 3 * 1024 * 1024},
        },
    }  # fmt: skip
    out = attachments_section(run, ManifestPages(per_page=50), 2, {"page": "3"}, Scrubber(()))
    assert out.count("<tr><td>invoices</td>") == 10  # rows 51-60
    assert "f51.pdf" in out and "f50.pdf" not in out
    assert 'href="/runs/7?page=3&amp;files=1"' in out  # the failures' page is kept
    assert "3.0 MiB" in out and "1 file(s) could not be downloaded" in out
    gone = dict(run, details={"attachments": {"manifest": str(tmp_path / "nope.csv")}})
    assert "no longer on disk" in attachments_section(gone, ManifestPages(), 1, {}, Scrubber(()))
    assert attachments_section({"id": 1, "details": {}}, ManifestPages(), 1, {}, Scrubber(())) == ""
