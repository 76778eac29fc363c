"""The runs pages: the run history with filters, one run with its failures, its debug log."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from coupa_connector.console._attachments import attachments_section
from coupa_connector.console._charts import Series, by_series, line_chart
from coupa_connector.console._context import ConsoleContext
from coupa_connector.console._coupa import monitoring_section
from coupa_connector.console._html import Markup, html, join
from coupa_connector.console._page import (
    badge,
    duration_text,
    json_block,
    live_region,
    options,
    page,
    page_number,
    pager,
    parse_time,
    time_text,
)
from coupa_connector.console._redact import mask_record

__all__ = ["charts_page", "debug_log_page", "download", "run_page", "runs_page", "runs_table"]

RUNS_PER_PAGE = 50
FAILURES_PER_PAGE = 25
LOG_LINES_PER_PAGE = 200
_STATUSES = ("success", "partial", "failed", "running", "interrupted")
_TIMELINE_EDGE = 5  # batches shown at each end of a long timeline


def _not_found(what: str) -> HTMLResponse:
    return page("Not found", html("<p>{what}</p>", what=what), section="/", status_code=404)


def _run_id(request: Request) -> int | None:
    try:
        return int(request.path_params["run_id"])
    except (KeyError, ValueError):
        return None


def _fragment(request: Request) -> bool:
    return request.query_params.get("fragment") == "1"


# --------------------------------------------------------------------------- the list


def runs_table(runs: Sequence[Mapping[str, Any]], ctx: ConsoleContext) -> Markup:
    """The table of runs (shared by the runs list and a started run's page)."""
    if not runs:
        return html('<p class="empty">No runs match.</p>')
    rows = join(_run_row(r, ctx) for r in runs)
    return html(
        '<div class="scroll"><table class="runs"><caption class="visually-hidden">Runs, newest '
        'first</caption><thead><tr><th scope="col">Run</th><th scope="col">Operation</th>'
        '<th scope="col">Status</th><th scope="col">Started (UTC)</th>'
        '<th scope="col" class="num">Duration</th><th scope="col" class="num">Read</th>'
        '<th scope="col" class="num">Written</th><th scope="col" class="num">Rejected</th>'
        '<th scope="col" class="num">Failed</th><th scope="col">Dry run</th>'
        '<th scope="col">Chain</th></tr></thead><tbody>{rows}</tbody></table></div>',
        rows=rows,
    )


def _run_row(r: Mapping[str, Any], ctx: ConsoleContext) -> Markup:
    chain = (
        html('<a href="/runs/{p}">after run {p}</a>', p=r["chained_from"])
        if r.get("chained_from")
        else Markup("")
    )
    return html(
        '<tr data-run="{id}" data-status="{status}"><td><a href="/runs/{id}">{id}</a></td>'
        "<td>{op}</td><td>{badge}</td><td>{started}</td>"
        '<td class="num">{duration}</td><td class="num">{read}</td><td class="num">{written}</td>'
        '<td class="num">{rejected}</td><td class="num">{failed}</td><td>{dry}</td>'
        "<td>{chain}</td></tr>",
        id=r["id"],
        status=r["status"],
        op=r["operation"],
        badge=badge(r["status"]),
        started=time_text(r["started_at"]),
        duration=duration_text(r["duration"]),
        read=f"{r['read']:,}",
        written=f"{r['written']:,}",
        rejected=f"{r['rejected']:,}",
        failed=f"{r['failed']:,}",
        dry="yes" if r["dry_run"] else "no",
        chain=chain,
    )


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {k: (q.get(k) or "").strip() for k in ("operation", "status", "since", "until", "q")}


def _valid_day(text: str) -> str | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date().isoformat() if text else None
    except ValueError:
        return None


def runs_page(request: Request) -> Response:
    """``/``: the run history, filtered and paged; it refreshes itself while a run goes on."""
    ctx: ConsoleContext = request.app.state.ctx
    f = _filters(request)
    page_no = page_number(request.query_params.get("page"))
    log = ctx.oplog()
    runs, total = log.find_runs(
        operation=f["operation"] or None,
        status=f["status"] if f["status"] in _STATUSES else None,
        since=_valid_day(f["since"]),
        until=_valid_day(f["until"]),
        text=f["q"] or None,
        limit=RUNS_PER_PAGE,
        offset=(page_no - 1) * RUNS_PER_PAGE,
    )
    live = any(r["status"] == "running" for r in runs)
    inner = html(
        "{pager}{table}",
        pager=pager("/", f, page_no, RUNS_PER_PAGE, total, "runs"),
        table=runs_table(runs, ctx),
    )
    region = live_region(inner, live=live, element_id="runs")
    if _fragment(request):
        return HTMLResponse(region)
    problems = [
        html("<li>{k}: {v} is not a date (YYYY-MM-DD); it is left out.</li>", k=k, v=f[k])
        for k in ("since", "until")
        if f[k] and _valid_day(f[k]) is None
    ]
    form = html(
        '<form class="filters" method="get" action="/" role="search" aria-label="Filter runs">'
        '<label>Operation <select name="operation">{ops}</select></label>'
        '<label>Status <select name="status">{statuses}</select></label>'
        '<label>From <input type="date" name="since" value="{since}"></label>'
        '<label>To <input type="date" name="until" value="{until}"></label>'
        '<label>Text <input type="search" name="q" value="{q}" '
        'placeholder="operation, file or error"></label>'
        '<button type="submit">Filter</button> <a href="/">Clear</a></form>{problems}',
        ops=options([("", "any"), *((n, n) for n in log.operation_names())], f["operation"]),
        statuses=options([("", "any"), *((s, s) for s in _STATUSES)], f["status"]),
        since=f["since"],
        until=f["until"],
        q=f["q"],
        problems=html('<ul class="problems">{p}</ul>', p=join(problems)) if problems else "",
    )
    return page(
        "Runs",
        html("{form}{region}", form=form, region=region),
        section="/",
        subtitle=f"Operation log: {ctx.scrub(str(ctx.settings.log_db))}",
    )


# --------------------------------------------------------------------------- one run


def run_page(request: Request) -> Response:
    """``/runs/{id}``: counts, timeline, error, chain, downloads, failures (paged)."""
    ctx: ConsoleContext = request.app.state.ctx
    run_id = _run_id(request)
    log = ctx.oplog()
    run = log.run(run_id, failures_limit=0) if run_id is not None else None
    if run is None or run_id is None:
        return _not_found(f"There is no run {request.path_params.get('run_id')} in the log.")
    live = run["status"] == "running"
    batches = log.batches(run_id)
    page_no = page_number(request.query_params.get("page"))
    files_no = page_number(request.query_params.get("files"))
    total = log.failure_count(run_id)
    failures = log.failures(
        run_id, limit=FAILURES_PER_PAGE, offset=(page_no - 1) * FAILURES_PER_PAGE
    )
    summary = live_region(
        html(
            '<div>{counts}</div><div class="side">{timeline}</div>',
            counts=_counts(run, ctx),
            timeline=_timeline(run, batches),
        ),
        live=live,
        element_id="summary",
        css_class="summary",
    )
    if _fragment(request):
        return HTMLResponse(summary)
    body = html(
        "{error}{summary}{chain}{files}{monitoring}{attachments}"
        '<section aria-labelledby="failures-h"><h2 id="failures-h">Rejected and failed records'
        "</h2>{pager}{failures}</section>{speed}",
        error=_error(run, ctx),
        summary=summary,
        chain=_chain(run, log.chained_runs(run_id)),
        files=_files(run, ctx),
        monitoring=monitoring_section(run),
        attachments=attachments_section(
            run, ctx.manifests, files_no, {"page": str(page_no)}, ctx.scrub
        ),
        speed=_speed_chart(run, batches),
        pager=pager(
            f"/runs/{run_id}",
            {"files": str(files_no)},
            page_no,
            FAILURES_PER_PAGE,
            total,
            "records",
        ),
        failures=_failures(failures, ctx),
    )
    return page(
        f"Run {run_id}: {run['operation']}",
        body,
        section="/",
        subtitle=ctx.scrub(run["file"]),
    )


def _counts(run: Mapping[str, Any], ctx: ConsoleContext) -> Markup:
    outputs = join(html("<li>{o}</li>", o=ctx.scrub(str(o))) for o in run["outputs"])
    return html(
        '<dl class="facts"><div><dt>Status</dt><dd>{badge}</dd></div>'
        "<div><dt>Started (UTC)</dt><dd>{started}</dd></div>"
        "<div><dt>Ended (UTC)</dt><dd>{ended}</dd></div>"
        "<div><dt>Duration</dt><dd>{duration}</dd></div>"
        "<div><dt>Dry run</dt><dd>{dry}</dd></div>"
        "<div><dt>Resumed</dt><dd>{resumes} time(s)</dd></div></dl>"
        '<table class="counts"><caption>Records</caption><thead><tr><th scope="col">Read</th>'
        '<th scope="col">Written</th><th scope="col">Rejected</th><th scope="col">Failed</th>'
        '</tr></thead><tbody><tr><td class="num">{read}</td><td class="num">{written}</td>'
        '<td class="num">{rejected}</td><td class="num">{failed}</td></tr></tbody></table>'
        "{outputs}",
        badge=badge(run["status"], run["dry_run"]),
        started=time_text(run["started_at"]),
        ended=time_text(run["ended_at"]),
        duration=duration_text(run["duration"]),
        dry="yes" if run["dry_run"] else "no",
        resumes=run["resumes"],
        read=f"{run['read']:,}",
        written=f"{run['written']:,}",
        rejected=f"{run['rejected']:,}",
        failed=f"{run['failed']:,}",
        outputs=html("<h2>Outputs</h2><ul>{o}</ul>", o=outputs) if run["outputs"] else "",
    )


def _timeline(run: Mapping[str, Any], batches: Sequence[Mapping[str, Any]]) -> Markup:
    items = [html("<li><strong>start</strong> {at}</li>", at=time_text(run["started_at"]))]

    def batch_item(number: int, b: Mapping[str, Any]) -> Markup:
        return html(
            "<li>batch {n} at {at}: {w} written, {r} rejected, {f} failed</li>",
            n=number,
            at=b["at"][11:23],
            w=b["written"],
            r=b["rejected"],
            f=b["failed"],
        )

    if len(batches) <= 2 * _TIMELINE_EDGE + 1:
        items += [batch_item(i + 1, b) for i, b in enumerate(batches)]
    else:
        items += [batch_item(i + 1, b) for i, b in enumerate(batches[:_TIMELINE_EDGE])]
        hidden = len(batches) - 2 * _TIMELINE_EDGE
        items.append(html('<li class="muted">… {n} more batches …</li>', n=f"{hidden:,}"))
        start = len(batches) - _TIMELINE_EDGE
        items += [batch_item(start + i + 1, b) for i, b in enumerate(batches[start:])]
    if run["ended_at"]:
        items.append(
            html(
                "<li><strong>end</strong> {at}: {status}</li>",
                at=time_text(run["ended_at"]),
                status=run["status"],
            )
        )
    else:
        items.append(html("<li><strong>{status}</strong> (no end yet)</li>", status=run["status"]))
    return html(
        '<section aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2>'
        '<ol class="timeline">{items}</ol></section>',
        items=join(items),
    )


def _error(run: Mapping[str, Any], ctx: ConsoleContext) -> Markup:
    if not run["error"]:
        return Markup("")
    return html(
        '<div class="error" role="alert"><h2>The error that ended it</h2><p>{e}</p></div>',
        e=ctx.scrub(run["error"]),
    )


def _chain(run: Mapping[str, Any], children: Sequence[Mapping[str, Any]]) -> Markup:
    parts: list[Markup] = []
    if run.get("chained_from"):
        parts.append(
            html('<li>started by <a href="/runs/{p}">run {p}</a></li>', p=run["chained_from"])
        )
    parts += [
        html(
            '<li>started <a href="/runs/{id}">run {id}: {op}</a> {badge}</li>',
            id=c["id"],
            op=c["operation"],
            badge=badge(c["status"], c["dry_run"]),
        )
        for c in children
    ]
    if not parts:
        return Markup("")
    return html(
        '<section aria-labelledby="chain-h"><h2 id="chain-h">Chain</h2><ul>{p}</ul></section>',
        p=join(parts),
    )


def _files(run: Mapping[str, Any], ctx: ConsoleContext) -> Markup:
    links: list[Markup] = []
    if run["rejects_file"]:
        exists = os.path.isfile(run["rejects_file"])
        links.append(
            html(
                '<li><a href="/runs/{id}/rejects" download>Download the rejects file</a> '
                "({n})</li>",
                id=run["id"],
                n=ctx.scrub(Path(run["rejects_file"]).name),
            )
            if exists
            else html(
                "<li>Rejects file {p} (no longer on disk)</li>", p=ctx.scrub(run["rejects_file"])
            )
        )
    if run["debug_log"]:
        links.append(
            html(
                '<li><a href="/runs/{id}/log">Open the debug log</a> · '
                '<a href="/runs/{id}/log/download" download>download it</a></li>',
                id=run["id"],
            )
        )
    if not links:
        return Markup("")
    return html(
        '<section aria-labelledby="files-h"><h2 id="files-h">Files</h2><ul>{l}</ul></section>',
        l=join(links),
    )


def _speed_chart(run: Mapping[str, Any], batches: Sequence[Mapping[str, Any]]) -> Markup:
    if not batches:
        return Markup("")
    start = parse_time(run["started_at"])
    points: list[tuple[float, float]] = []
    previous = start
    for b in batches:
        at = parse_time(b["at"])
        seconds = max((at - previous).total_seconds(), 0.001)
        points.append(
            ((at - start).total_seconds(), (b["written"] + b["rejected"] + b["failed"]) / seconds)
        )
        previous = at
    return html(
        '<section aria-labelledby="speed-h"><h2 id="speed-h">Records per second</h2>{c}</section>',
        c=line_chart(
            [Series(run["operation"], points)],
            title=f"Records per second of run {run['id']}, by batch",
            y_label="records/s",
            x_format=lambda s: f"{s:.0f} s",
        ),
    )


def _position_text(failure: Mapping[str, Any]) -> str:
    """``3`` or ``3 (line 4)``: the record's 1-based position, and its source line if known."""
    if failure["position"] is None:
        return "–"
    line = failure.get("line")
    return f"{failure['position']}" + (f" (line {line})" if line is not None else "")


def _failures(failures: Sequence[Mapping[str, Any]], ctx: ConsoleContext) -> Markup:
    if not failures:
        return html('<p class="empty">None.</p>')
    rows = join(
        html(
            '<tr class="failure"><th scope="row">{pos}</th><td>{outcome}</td>'
            '<td><ul class="reasons">{reasons}</ul></td><td>{record}</td>'
            "<td>{transformed}</td></tr>",
            pos=_position_text(f),
            outcome=f["outcome"],
            reasons=join(html("<li>{m}</li>", m=ctx.scrub(m)) for m in f["messages"]),
            record=json_block(mask_record(f["record"])),
            transformed=json_block(mask_record(f["transformed"])),
        )
        for f in failures
    )
    return html(
        '<div class="scroll"><table class="failures"><thead><tr><th scope="col">Input record #</th>'
        '<th scope="col">Outcome</th><th scope="col">Reasons</th><th scope="col">Input record</th>'
        '<th scope="col">Transformed record</th></tr></thead><tbody>{rows}</tbody></table></div>',
        rows=rows,
    )


# --------------------------------------------------------------------------- files


def download(request: Request) -> Response:
    """``/runs/{id}/rejects`` and ``/runs/{id}/log/download``: the file the log names."""
    ctx: ConsoleContext = request.app.state.ctx
    run_id = _run_id(request)
    run = ctx.oplog().run(run_id, failures_limit=0) if run_id is not None else None
    which = "rejects_file" if request.url.path.endswith("/rejects") else "debug_log"
    path = run.get(which) if run else None
    # Only the file the log names for this run: nothing from the request becomes a path.
    if not path or not os.path.isfile(path):
        return PlainTextResponse("That file is not on disk.\n", status_code=404)
    return FileResponse(path, filename=Path(path).name, content_disposition_type="attachment")


def _log_lines(path: str, needle: str) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not needle or needle in line.lower():
                yield number, line.rstrip("\n")


def _marked(text: str, needle: str) -> Markup:
    if not needle:
        return html("{t}", t=text)
    parts: list[Markup] = []
    lower = text.lower()
    at = 0
    while (found := lower.find(needle, at)) >= 0:
        parts.append(
            html("{t}<mark>{m}</mark>", t=text[at:found], m=text[found : found + len(needle)])
        )
        at = found + len(needle)
    parts.append(html("{t}", t=text[at:]))
    return join(parts)


def debug_log_page(request: Request) -> Response:
    """``/runs/{id}/log``: the run's debug log, searchable, paged, secrets masked."""
    ctx: ConsoleContext = request.app.state.ctx
    run_id = _run_id(request)
    run = ctx.oplog().run(run_id, failures_limit=0) if run_id is not None else None
    if run is None:
        return _not_found(f"There is no run {request.path_params.get('run_id')} in the log.")
    path = run["debug_log"]
    if not path or not os.path.isfile(path):
        return _not_found(f"Run {run_id} has no debug log on disk (run with --debug for one).")
    query = (request.query_params.get("q") or "").strip()
    needle = ctx.scrub(query).lower()
    page_no = page_number(request.query_params.get("page"))
    skip = (page_no - 1) * LOG_LINES_PER_PAGE
    shown: list[tuple[int, str]] = []
    total = 0
    for number, line in _log_lines(path, needle):
        if skip <= total < skip + LOG_LINES_PER_PAGE:
            shown.append((number, line))
        total += 1
    rows = join(
        html(
            '<tr><th scope="row" class="num">{n}</th><td><code>{text}</code></td></tr>',
            n=number,
            text=_marked(ctx.scrub(line), needle),
        )
        for number, line in shown
    )
    body = html(
        '<p><a href="/runs/{id}">Back to run {id}</a> · '
        '<a href="/runs/{id}/log/download" download>Download</a></p>'
        '<form class="filters" method="get" role="search" aria-label="Search the debug log">'
        '<label>Search <input type="search" name="q" value="{q}" '
        'placeholder="POST /api/suppliers, 422, a record number"></label>'
        '<button type="submit">Search</button></form>{pager}'
        '<div class="scroll"><table class="log"><thead><tr><th scope="col">Line</th>'
        '<th scope="col">Text</th></tr></thead><tbody>{rows}</tbody></table></div>',
        id=run_id,
        q=query,
        pager=pager(
            f"/runs/{run_id}/log", {"q": query}, page_no, LOG_LINES_PER_PAGE, total, "lines"
        ),
        rows=rows,
    )
    return page(
        f"Debug log of run {run_id}: {run['operation']}",
        body,
        section="/",
        subtitle=ctx.scrub(Path(path).name),
    )


# --------------------------------------------------------------------------- charts


def charts_page(request: Request) -> Response:
    """``/charts``: records per run and duration per operation, by day, over a window."""
    ctx: ConsoleContext = request.app.state.ctx
    try:
        days = max(1, min(3650, int(request.query_params.get("days") or "90")))
    except ValueError:
        days = 90
    since = (datetime.now(UTC) - timedelta(days=days)).date().isoformat()
    rows = ctx.oplog().daily_totals(since)
    grouped = by_series(rows, "operation")

    def day_number(day: object) -> float:
        return datetime.fromisoformat(str(day)).replace(tzinfo=UTC).timestamp() / 86400

    def day_text(value: float) -> str:
        return datetime.fromtimestamp(value * 86400, UTC).strftime("%Y-%m-%d")

    records = [
        Series(
            op, [(day_number(r["day"]), float(r["records"] or 0) / int(str(r["runs"]))) for r in rs]
        )
        for op, rs in grouped.items()
    ]
    durations = [
        Series(
            op,
            [
                (day_number(r["day"]), float(r["duration"] or 0))
                for r in rs
                if r["duration"] is not None
            ],
        )
        for op, rs in grouped.items()
    ]
    table_rows = join(
        html(
            '<tr><td>{op}</td><td>{day}</td><td class="num">{runs}</td>'
            '<td class="num">{records}</td>'
            '<td class="num">{duration}</td></tr>',
            op=r["operation"],
            day=r["day"],
            runs=r["runs"],
            records=f"{int(r['records'] or 0):,}",
            duration=duration_text(r["duration"]),
        )
        for r in rows
    )
    body = html(
        '<form class="filters" method="get"><label>Days <input type="number" name="days" min="1" '
        'max="3650" value="{days}"></label> <button type="submit">Show</button></form>'
        "{records}{durations}"
        '<details><summary>The numbers</summary><div class="scroll"><table><thead><tr>'
        '<th scope="col">Operation</th><th scope="col">Day (UTC)</th><th scope="col">Runs</th>'
        '<th scope="col">Records read</th><th scope="col">Mean duration</th></tr></thead>'
        "<tbody>{rows}</tbody></table></div></details>",
        days=days,
        records=line_chart(
            records,
            title="Records per run, by operation (mean per day)",
            y_label="records per run",
            x_format=day_text,
        ),
        durations=line_chart(
            durations,
            title="Duration per operation (mean per day)",
            y_label="seconds",
            x_format=day_text,
            y_format=lambda v: f"{v:,.1f}",
        ),
        rows=table_rows,
    )
    return page("Charts", body, section="/charts", subtitle=f"The last {days} days")
