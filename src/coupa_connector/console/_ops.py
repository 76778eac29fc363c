"""The operations pages: the operation files of a folder, their validation, and runs of them.

Validation is ``load_operation_file``, exactly what ``coupa validate`` does; a run is
``coupa run`` in a background process (see ``_jobs``), so the rules are the CLI's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from coupa_connector.console._context import ConsoleContext
from coupa_connector.console._guard import CSRF_FIELD, require_csrf
from coupa_connector.console._html import Markup, html, join
from coupa_connector.console._page import live_region, page
from coupa_connector.console._redact import mask_yaml_line
from coupa_connector.console._runs import runs_table
from coupa_connector.operations import (
    OperationFile,
    OperationFileError,
    OperationProblem,
    load_operation_file,
    variable_names,
)

__all__ = ["job_page", "operation_page", "operations_page", "start_run"]

_SUFFIXES = (".yaml", ".yml")


def _files(ctx: ConsoleContext) -> dict[str, Path]:
    folder = ctx.settings.ops_dir
    if folder is None or not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if p.suffix in _SUFFIXES and p.is_file()}


def _validate(
    path: Path, variables: Mapping[str, str] | None = None
) -> tuple[OperationFile | None, list[OperationProblem]]:
    try:
        return load_operation_file(path, variables), []
    except OperationFileError as exc:
        return None, list(exc.problems)


def _problems(problems: Sequence[OperationProblem], ctx: ConsoleContext) -> Markup:
    rows = join(
        html(
            '<tr><th scope="row" class="num">{line}</th><td>{message}</td></tr>',
            line=p.line or "–",
            message=ctx.scrub(p.message),
        )
        for p in problems
    )
    return html(
        '<div class="error" role="alert"><h2>{n} problem(s)</h2><table class="problems"><thead>'
        '<tr><th scope="col">Line</th><th scope="col">Problem</th></tr></thead><tbody>{rows}'
        "</tbody></table></div>",
        n=len(problems),
        rows=rows,
    )


def operations_page(request: Request) -> Response:
    """``/operations``: every operation file of the folder with its validation verdict."""
    ctx: ConsoleContext = request.app.state.ctx
    folder = ctx.settings.ops_dir
    files = _files(ctx)
    if folder is None:
        body = html("<p>Start the console with <code>--ops DIR</code> to list a folder here.</p>")
    elif not files:
        body = html("<p>{folder} has no operation files (*.yaml).</p>", folder=str(folder))
    else:
        rows = []
        for name, path in files.items():
            opfile, problems = _validate(path)
            verdict = (
                html(
                    '<span class="badge success">valid</span> {n} operation(s)',
                    n=len(opfile.operations),
                )
                if opfile is not None
                else html('<span class="badge failed">{n} problem(s)</span>', n=len(problems))
            )
            rows.append(
                html(
                    '<tr><td><a href="/operations/{name}">{name}</a></td><td>{verdict}</td></tr>',
                    name=name,
                    verdict=verdict,
                )
            )
        body = html(
            '<table><thead><tr><th scope="col">File</th><th scope="col">Validation</th></tr>'
            "</thead><tbody>{rows}</tbody></table>",
            rows=join(rows),
        )
    jobs = ctx.jobs.all()
    if jobs:
        body = html(
            "{body}<h2>Runs started here</h2><ul>{items}</ul>",
            body=body,
            items=join(
                html(
                    '<li><a href="/jobs/{id}">{kind} of {file}</a>: {outcome}</li>',
                    id=j.id,
                    kind="dry run" if j.dry_run else "run",
                    file=j.file.name,
                    outcome=j.outcome(),
                )
                for j in jobs
            ),
        )
    return page("Operations", body, section="/operations", subtitle=str(folder or ""))


def operation_page(
    request: Request,
    *,
    problems: Sequence[OperationProblem] | None = None,
    given: Mapping[str, str] | None = None,
) -> Response:
    """``/operations/{name}``: validation with line numbers, and the form that starts a run."""
    ctx: ConsoleContext = request.app.state.ctx
    name = request.path_params["name"]
    path = _files(ctx).get(name)
    if path is None:
        return page(
            "Not found",
            html("<p>No operation file {n}.</p>", n=name),
            section="/operations",
            status_code=404,
        )
    text = path.read_text(encoding="utf-8", errors="replace")
    opfile, found = _validate(path)
    shown = list(problems) if problems is not None else found
    given = given or {}
    if opfile is not None and not shown:
        verdict = html(
            '<p><span class="badge success">valid</span> {n} operation(s):</p><ul>{ops}</ul>',
            n=len(opfile.operations),
            ops=join(
                html(
                    "<li><strong>{op}</strong>: {src} → {dst}{chain}</li>",
                    op=op.name,
                    src=op.source.type,
                    dst=op.target.type,
                    chain=_chain_text(op.on_success, op.on_failure),
                )
                for op in opfile.operations.values()
            ),
        )
    else:
        verdict = _problems(shown, ctx)
    bad_lines = {p.line for p in shown if p.line}
    source = join(
        html(
            '<tr{cls}><th scope="row" class="num">{n}</th><td><code>{t}</code></td></tr>',
            cls=Markup(' class="bad"') if i in bad_lines else Markup(""),
            n=i,
            t=ctx.scrub(mask_yaml_line(line)),
        )
        for i, line in enumerate(text.splitlines(), 1)
    )
    names = variable_names(text)
    defaults = dict(opfile.vars) if opfile is not None else {}
    fields = join(
        html(
            '<label>{v} <input name="var:{v}" value="{value}" placeholder="{placeholder}"></label>',
            v=v,
            value=given.get(v, ""),
            placeholder=f"default: {defaults[v]}" if v in defaults else "needed",
        )
        for v in names
    )
    operations = list(opfile.operations) if opfile is not None else []
    form = html(
        '<form method="post" action="/operations/{file}/start" class="run-form">'
        '<input type="hidden" name="{csrf_field}" value="{csrf}">'
        "<fieldset><legend>Variables</legend>{fields}</fieldset>"
        '<fieldset><legend>Options</legend><label>Operation <select name="operation">'
        '<option value="">every entry operation</option>{ops}</select></label>'
        '<label><input type="checkbox" name="sandbox" value="1"> against an embedded sandbox'
        "</label>"
        '<label><input type="checkbox" name="debug" value="1"> write a debug log</label></fieldset>'
        '<button type="submit" name="mode" value="dry-run">Dry run</button> '
        '<button type="submit" name="mode" value="run" class="danger">Run</button></form>',
        file=path.name,
        csrf_field=CSRF_FIELD,
        csrf=ctx.csrf_token,
        fields=fields if names else html("<p>This file uses no variables.</p>"),
        ops=join(html('<option value="{o}">{o}</option>', o=o) for o in operations),
    )
    body = html(
        '<section aria-labelledby="v-h"><h2 id="v-h">Validation</h2>{verdict}</section>'
        '<section aria-labelledby="r-h"><h2 id="r-h">Run it</h2>{form}</section>'
        '<section aria-labelledby="f-h"><h2 id="f-h">The file</h2><div class="scroll">'
        '<table class="log source"><tbody>{source}</tbody></table></div></section>',
        verdict=verdict,
        form=form,
        source=source,
    )
    return page(path.name, body, section="/operations", status_code=422 if problems else 200)


def _chain_text(on_success: Sequence[str], on_failure: Sequence[str]) -> str:
    text = ""
    if on_success:
        text += f"; on success → {', '.join(on_success)}"
    if on_failure:
        text += f"; on failure → {', '.join(on_failure)}"
    return text


async def start_run(request: Request) -> Response:
    """POST ``/operations/{name}/start``: validate with the form's values, then start it."""
    ctx: ConsoleContext = request.app.state.ctx
    form = await require_csrf(request, ctx.csrf_token)
    if not isinstance(form, FormData):
        return form
    path = _files(ctx).get(request.path_params["name"])
    if path is None:
        return page(
            "Not found",
            html("<p>No such operation file.</p>"),
            section="/operations",
            status_code=404,
        )
    variables = {
        key.removeprefix("var:"): str(value)
        for key, value in form.multi_items()
        if key.startswith("var:") and str(value) != ""
    }
    # The same check `coupa run` makes first, so that problems show on this page.
    opfile, problems = _validate(path, variables)
    if opfile is None:
        return operation_page(request, problems=problems, given=variables)
    operation = str(form.get("operation") or "") or None
    if operation is not None and operation not in opfile.operations:
        operation = None
    job = ctx.jobs.start(
        path,
        log_db=ctx.settings.log_db,
        variables=variables,
        dry_run=form.get("mode") != "run",
        sandbox=form.get("sandbox") == "1",
        debug=form.get("debug") == "1",
        operation=operation,
    )
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def job_page(request: Request) -> Response:
    """``/jobs/{id}``: a started run's runs and output, followed live until it ends."""
    ctx: ConsoleContext = request.app.state.ctx
    try:
        job = ctx.jobs.get(int(request.path_params["job_id"]))
    except ValueError:
        job = None
    if job is None:
        return page(
            "Not found", html("<p>No such run here.</p>"), section="/operations", status_code=404
        )
    runs, _total = ctx.oplog().find_runs(pid=job.pid, limit=100)
    runs = [r for r in runs if r["started_at"] >= _iso(job.started)]
    live = job.running
    inner = html(
        '<p class="job-status" data-state="{state}">{outcome}</p>{runs}'
        '<h2>Output</h2><pre class="output">{output}</pre>',
        state="running" if live else "finished",
        outcome=job.outcome(),
        runs=runs_table(runs, ctx),
        output=ctx.scrub(job.output_tail()),
    )
    region = live_region(inner, live=live, element_id="job")
    if request.query_params.get("fragment") == "1":
        return HTMLResponse(region)
    kind = "Dry run" if job.dry_run else "Run"
    return page(
        f"{kind} of {job.file.name}",
        html('<p><a href="/operations/{f}">Back to {f}</a></p>{r}', f=job.file.name, r=region),
        section="/operations",
    )


def _iso(timestamp: float) -> str:
    from datetime import UTC, datetime

    # A second of slack: the log's clock and this one are the same clock, read at other times.
    return (
        datetime.fromtimestamp(timestamp - 1, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
