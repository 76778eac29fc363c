"""Coupa's side of monitored runs: a run's integration run and errors, and an integration's
runs, read from Coupa through a connection (a profile or the ``COUPA_*`` variables).

What a run's monitoring did is in the operation log (its ``monitoring`` detail), so the run
page shows that without Coupa; these pages add what only Coupa holds (the run's state and
counts there, its integration errors). Coupa may be unreachable, or no profile may reach the
instance the run talked to: the page says so and the rest of the console is unaffected.
Reads only: nothing here changes Coupa, so these are plain GETs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from coupa_connector._connection import AsyncConnection
from coupa_connector.activities.monitoring import (
    integration_errors,
    integration_report,
    integration_run,
)
from coupa_connector.client import ConnectionConfig, RetryPolicy, Timeout, profile_names
from coupa_connector.console._context import ConsoleContext
from coupa_connector.console._html import Markup, html, join
from coupa_connector.console._page import options, page, page_number, pager
from coupa_connector.console._redact import Scrubber
from coupa_connector.errors import CoupaError
from coupa_connector.operations import scope_instance

__all__ = ["coupa_run_page", "integrations_page", "monitoring_section"]

ENV = "env"
"""The connection choice for the ``COUPA_*`` variables (profiles go by their names)."""
ERRORS_PER_PAGE = 50  # Coupa's largest page
RUN_COLUMNS = (
    ("id", "Coupa run"),
    ("status", "Status"),
    ("total-records", "Total records"),
    ("records-processed", "Processed"),
    ("start-time", "Started"),
    ("end-time", "Ended"),
    ("max-updated-at", "Watermark kept"),
)
# A page waits on Coupa: a console that cannot reach it says so in seconds, not minutes.
_QUICK = RetryPolicy(max_retries=1, max_throttled=2, backoff_base=0.2, total_time=20.0)
_QUICK_TIMEOUT = Timeout(connect=5.0, read=15.0, write=15.0, pool=5.0)


# --------------------------------------------------------------------------- the connection


@dataclasses.dataclass(frozen=True)
class Choice:
    """The connection a page reads Coupa through, or why there is none."""

    name: str  # a profile's name, ENV, or "" when none could be had
    config: ConnectionConfig | None
    problem: str = ""

    @property
    def label(self) -> str:
        return "the COUPA_* variables" if self.name == ENV else f"profile {self.name}"


def _named(name: str) -> Choice:
    try:
        config = ConnectionConfig.from_env() if name == ENV else ConnectionConfig.from_profile(name)
    except CoupaError as exc:
        return Choice(name, None, str(exc))
    # The config's max_retries is the retry policy's (it overrides the policy's own).
    quick = dataclasses.replace(
        config, retry=_QUICK, max_retries=_QUICK.max_retries, timeout=_QUICK_TIMEOUT
    )
    return Choice(name, quick)


def _profiles() -> tuple[list[str], str | None, str]:
    try:
        names, default = profile_names()
    except CoupaError as exc:
        return [], None, str(exc)
    return names, default, ""


EMBEDDED = "sandbox"
"""The instance a run's scope names when it talked to an embedded sandbox (``--sandbox``)."""


def choose(wanted: str, instance: str | None, *, guess: bool) -> Choice:
    """The connection named ``wanted`` (a profile, or ``env``). When none is named: the
    profile (or the ``COUPA_*`` variables) whose URL is ``instance``, the one the run talked
    to; with ``guess``, else the default profile, else the ``COUPA_*`` variables. Without
    ``guess`` (a run's own integration run) no other instance is asked: its run of the same
    id would be another integration's."""
    if wanted:
        return _named(wanted)
    names, default, problem = _profiles()
    if instance:
        for choice in (*(_named(n) for n in names), _named(ENV)):
            if choice.config is not None and choice.config.url.rstrip("/") == instance:
                return choice
    if not guess:
        if instance == EMBEDDED:
            why = "the run talked to an embedded sandbox (--sandbox), gone with the run"
        else:
            why = f"neither a profile nor COUPA_URL reaches {instance or 'its instance'}"
        return Choice("", None, f"{why}; another connection can be chosen to ask")
    if default in names:
        return _named(default)
    env = _named(ENV)
    if env.config is not None:
        return env
    return Choice("", None, problem or "no profile and no COUPA_URL: choose a connection")


def _read_through(choice: Choice, instance: str | None) -> Markup:
    """Which connection Coupa was read through, and a warning when that is not the instance
    the runs talked to."""
    assert choice.config is not None
    url = choice.config.url
    said = html(
        '<p class="muted">Read from Coupa through {label} ({url}).</p>', label=choice.label, url=url
    )
    if not instance or url.rstrip("/") == instance:
        return said
    return html(
        '{said}<p class="error" role="status">{url} is not the instance the run talked to '
        "({i}): what it holds may be another integration's.</p>",
        said=said,
        url=url,
        i="an embedded sandbox" if instance == EMBEDDED else instance,
    )


def _choices_form(action: str, chosen: str, extra: Markup | None = None) -> Markup:
    names, _default, _problem = _profiles()
    choices = [("", "automatic"), *((n, f"profile {n}") for n in names), (ENV, "COUPA_* vars")]
    return html(
        '<form class="filters" method="get" action="{action}">{extra}'
        '<label>Through <select name="connection">{choices}</select></label> '
        '<button type="submit">Ask Coupa</button></form>',
        action=action,
        extra=extra or Markup(""),
        choices=options(choices, chosen),
    )


def _unreachable(choice: Choice, why: str, scrub: Scrubber) -> Markup:
    where = choice.config.url if choice.config is not None else ""
    through = f" through {choice.label}" if choice.name else ""
    at = f" at {where}" if where else ""
    return html(
        '<p class="error coupa-problem" role="alert">Coupa could not be asked{through}{at}: '
        "{why}</p>",
        through=through,
        at=at,
        why=scrub(why),
    )


def _scrubber(ctx: ConsoleContext, choice: Choice) -> Scrubber:
    secrets = choice.config.secrets() if choice.config is not None else ()
    return Scrubber((ctx.settings.token, *ctx.settings.secrets, *secrets))


# --------------------------------------------------------------------------- tables


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _error_rows(errors: Sequence[Mapping[str, Any]], scrub: Scrubber) -> Markup:
    if not errors:
        return html('<p class="empty">No integration errors in Coupa.</p>')

    def row(e: Mapping[str, Any]) -> Markup:
        responses = [r for r in e.get("responses") or [] if isinstance(r, Mapping)]
        return html(
            '<tr><th scope="row">{id}</th><td>{ext}</td><td>{alert}</td><td>{status}</td>'
            '<td>{doc}</td><td><ul class="reasons">{messages}</ul></td><td>{at}</td></tr>',
            id=_text(e.get("id")),
            ext=scrub(_text(e.get("external-id"))),
            alert=_text(e.get("contact-alert-type")),
            status=_text(e.get("status")),
            doc=" ".join(
                p for p in (_text(e.get("document-type")), _text(e.get("document-id"))) if p
            ),
            messages=join(
                html(
                    "<li><code>{code}</code> {m}</li>",
                    code=_text(r.get("response-code")),
                    m=scrub(_text(r.get("response-message"))),
                )
                for r in responses
            ),
            at=_text(e.get("created-at")),
        )

    return html(
        '<div class="scroll"><table class="integration-errors"><thead><tr>'
        '<th scope="col">Error</th><th scope="col">Record (external id)</th>'
        '<th scope="col">Alert type</th><th scope="col">Status</th><th scope="col">Document</th>'
        '<th scope="col">Responses</th><th scope="col">Created</th></tr></thead>'
        "<tbody>{rows}</tbody></table></div>",
        rows=join(row(e) for e in errors),
    )


def _runs_table(
    runs: Sequence[Mapping[str, Any]], local: Mapping[int, int], scrub: Scrubber
) -> Markup:
    if not runs:
        return html('<p class="empty">Coupa has no runs of this integration.</p>')

    def row(r: Mapping[str, Any]) -> Markup:
        rid = int(r.get("id") or 0)
        ours = (
            html('<a href="/runs/{id}">run {id}</a>', id=local[rid])
            if rid in local
            else html('<span class="muted">not in this log</span>')
        )
        cells = join(html("<td>{v}</td>", v=scrub(_text(r.get(k)))) for k, _ in RUN_COLUMNS[1:])
        return html(
            '<tr data-coupa-run="{id}"><th scope="row">{id}</th>{cells}<td>{ours}</td></tr>',
            id=rid,
            cells=cells,
            ours=ours,
        )

    head = join(html('<th scope="col">{label}</th>', label=label) for _, label in RUN_COLUMNS)
    return html(
        '<div class="scroll"><table class="integration-runs"><thead><tr>{head}'
        '<th scope="col">In the operation log</th></tr></thead><tbody>{rows}</tbody></table>'
        "</div>",
        head=head,
        rows=join(row(r) for r in runs),
    )


def _run_facts(run: Mapping[str, Any], scrub: Scrubber) -> Markup:
    return html(
        '<dl class="facts coupa-facts">{items}</dl>',
        items=join(
            html(
                "<div><dt>{label}</dt><dd>{v}</dd></div>",
                label=label,
                v=scrub(_text(run.get(k))) or "–",
            )
            for k, label in RUN_COLUMNS
        ),
    )


# --------------------------------------------------------------------------- a run, locally


def monitoring_section(run: Mapping[str, Any]) -> Markup:
    """The run page's section on its integration run: what the operation log keeps of it,
    and a region the page script fills from ``/runs/{id}/coupa`` (a link without script)."""
    m = run.get("details", {}).get("monitoring")
    if not m:
        return Markup("")
    run_id = run["id"]
    coupa_run = m.get("integration_run")
    failures = int(m.get("failures") or 0)
    facts = [
        ("Integration", m.get("integration")),
        ("Coupa run id", coupa_run if coupa_run is not None else "not created"),
        ("State set by this run", m.get("state") or "–"),
        ("Records processed sent", f"{int(m.get('processed') or 0):,}"),
        ("Integration errors sent", f"{int(m.get('errors_sent') or 0):,}"),
        (
            "History records sent",
            f"{int(m.get('history_sent') or 0):,} (history: {m.get('history') or 'errors'})",
        ),
        ("Monitoring calls", f"{int(m.get('calls') or 0):,}"),
        ("Calls failed or not sent", f"{failures:,}"),
    ]
    problem = (
        html(
            '<p class="error" role="alert">Monitoring stood down after its first failure: {f}</p>',
            f=m.get("first_failure") or "",
        )
        if failures
        else Markup("")
    )
    if coupa_run is None:
        live = html(
            '<p class="muted">{why}</p>',
            why="A dry run creates no integration run."
            if run["dry_run"]
            else "Coupa has no run of this one to show.",
        )
    else:
        live = html(
            '<div id="coupa-live" data-load="/runs/{id}/coupa?fragment=1" aria-live="polite">'
            '<p><a href="/runs/{id}/coupa">Show the integration run and its errors as Coupa '
            "holds them</a></p></div>",
            id=run_id,
        )
    return html(
        '<section aria-labelledby="monitoring-h"><h2 id="monitoring-h">Coupa integration run'
        '</h2><dl class="facts monitoring">{facts}</dl>{problem}'
        '<p><a href="/integrations?{q}">Every run of {code} in Coupa</a></p>{live}</section>',
        facts=join(html("<div><dt>{k}</dt><dd>{v}</dd></div>", k=k, v=v) for k, v in facts),
        problem=problem,
        q=urlencode({"integration": m.get("integration") or ""}),
        code=m.get("integration") or "",
        live=live,
    )


# --------------------------------------------------------------------------- a run, in Coupa


async def _read_run(
    config: ConnectionConfig, run_id: int, offset: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with AsyncConnection(config) as conn:
        found = await integration_run(conn, run_id)
        errors = await integration_errors(conn, run_id, ERRORS_PER_PAGE, offset)
        return found, errors


async def coupa_run_page(request: Request) -> Response:
    """``/runs/{id}/coupa``: the run's integration run and its errors, as Coupa holds them;
    ``?fragment=1`` answers the run page's region alone."""
    ctx: ConsoleContext = request.app.state.ctx
    try:
        run_id = int(request.path_params["run_id"])
    except ValueError:
        run_id = 0
    run = ctx.oplog().run(run_id, failures_limit=0) if run_id else None
    m = (run or {}).get("details", {}).get("monitoring") or {}
    if run is None or m.get("integration_run") is None:
        return page(
            "Not found",
            html("<p>Run {id} has no integration run in Coupa.</p>", id=run_id),
            section="/",
            status_code=404,
        )
    coupa_run = int(m["integration_run"])
    wanted = (request.query_params.get("connection") or "").strip()
    page_no = page_number(request.query_params.get("page"))
    instance = scope_instance(run.get("scope"))
    choice = choose(wanted, instance, guess=False)
    scrub = _scrubber(ctx, choice)
    if choice.config is None:
        inner = _unreachable(choice, choice.problem, scrub)
    else:
        try:
            found, errors = await _read_run(
                choice.config, coupa_run, (page_no - 1) * ERRORS_PER_PAGE
            )
        except CoupaError as exc:
            inner = _unreachable(choice, str(exc), scrub)
        else:
            more = len(errors) == ERRORS_PER_PAGE
            total = (page_no - 1) * ERRORS_PER_PAGE + len(errors) + (1 if more else 0)
            nav = (
                pager(
                    f"/runs/{run_id}/coupa",
                    {"connection": wanted},
                    page_no,
                    ERRORS_PER_PAGE,
                    total,
                    "errors",
                )
                if page_no > 1 or more
                else Markup("")
            )
            inner = html(
                '{through}{facts}<h3 id="coupa-errors-h">Integration errors in Coupa</h3>'
                "{nav}{errors}",
                through=_read_through(choice, instance),
                facts=_run_facts(found, scrub),
                nav=nav,
                errors=_error_rows(errors, scrub),
            )
    if request.query_params.get("fragment") == "1":
        # On the run's page: the connection is chosen on this page of its own.
        other = html(
            '<p><a href="/runs/{id}/coupa">Ask through another connection</a></p>', id=run_id
        )
        return HTMLResponse(
            html('<div id="coupa-live" class="coupa-live">{i}{o}</div>', i=inner, o=other)
        )
    region = html('<div id="coupa-live" class="coupa-live">{inner}</div>', inner=inner)
    body = html(
        '<p><a href="/runs/{id}">Back to run {id}</a></p>{form}{region}',
        id=run_id,
        form=_choices_form(f"/runs/{run_id}/coupa", wanted),
        region=region,
    )
    return page(
        f"Run {run_id} in Coupa: integration {m.get('integration')}, run {coupa_run}",
        body,
        section="/",
    )


# --------------------------------------------------------------------------- an integration


async def _read_integration(
    config: ConnectionConfig, code: str, limit: int, errors: bool
) -> list[dict[str, Any]]:
    async with AsyncConnection(config) as conn:
        return await integration_report(conn, code, limit, errors)


async def integrations_page(request: Request) -> Response:
    """``/integrations``: an integration's runs in Coupa, newest first, with their errors
    (as ``coupa runs CODE --errors``), each linked to the run of this log that made it."""
    ctx: ConsoleContext = request.app.state.ctx
    q = request.query_params
    code = (q.get("integration") or "").strip()
    wanted = (q.get("connection") or "").strip()
    with_errors = q.get("errors") == "1"
    try:
        limit = max(1, min(50, int(q.get("limit") or "20")))
    except ValueError:
        limit = 20
    log = ctx.oplog()
    known = log.integration_codes()
    extra = html(
        '<label>Integration <input name="integration" value="{code}" list="codes" '
        'required placeholder="its code"></label><datalist id="codes">{codes}</datalist>'
        '<label>Runs <input type="number" name="limit" min="1" max="50" value="{limit}"></label>'
        '<label><input type="checkbox" name="errors" value="1"{checked}> with their errors'
        "</label>",
        code=code,
        codes=join(html('<option value="{c}">', c=c) for c in known),
        limit=limit,
        checked=Markup(" checked") if with_errors else Markup(""),
    )
    form = _choices_form("/integrations", wanted, extra)
    if not code:
        listed = (
            html(
                "<p>Integrations the runs of this log are monitored in: {codes}.</p>",
                codes=join(
                    (
                        html(
                            '<a href="/integrations?{q}">{c}</a>',
                            q=urlencode({"integration": c}),
                            c=c,
                        )
                        for c in known
                    ),
                    ", ",
                ),
            )
            if known
            else html('<p class="empty">No run of this log has coupa_monitoring.</p>')
        )
        return page(
            "Integrations",
            html("{form}{listed}", form=form, listed=listed),
            section="/integrations",
        )
    instance = log.integration_instance(code)
    choice = choose(wanted, instance, guess=True)
    scrub = _scrubber(ctx, choice)
    result: Markup
    if choice.config is None:
        result = _unreachable(choice, choice.problem, scrub)
    else:
        try:
            runs = await _read_integration(choice.config, code, limit, with_errors)
        except CoupaError as exc:
            result = _unreachable(choice, str(exc), scrub)
        else:
            local = log.monitored_runs(code)
            errors = join(
                html(
                    '<section aria-labelledby="e-{id}"><h3 id="e-{id}">Errors of Coupa run {id} '
                    "({n})</h3>{rows}</section>",
                    id=r["id"],
                    n=len(r.get("errors", [])),
                    rows=_error_rows(r.get("errors", []), scrub),
                )
                for r in (runs if with_errors else [])
            )
            result = html(
                "{through}{table}{errors}",
                through=_read_through(choice, instance),
                table=_runs_table(runs, local, scrub),
                errors=errors,
            )
    body = html(
        '{form}<section aria-labelledby="r-h"><h2 id="r-h">Runs of {code} in Coupa</h2>'
        "{result}</section>",
        form=form,
        code=code,
        result=result,
    )
    return page(f"Integration {code}", body, section="/integrations", subtitle="As Coupa holds it")
