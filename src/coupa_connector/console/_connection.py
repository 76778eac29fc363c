"""The connection page: the connection test's checks as a table, for a profile or a sandbox."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from coupa_connector._connection import AsyncConnection
from coupa_connector.client import ConnectionConfig, ConnectionTestReport, SecretStr
from coupa_connector.console._context import ConsoleContext
from coupa_connector.console._guard import CSRF_FIELD, require_csrf
from coupa_connector.console._html import Markup, html, join
from coupa_connector.console._page import options, page
from coupa_connector.console._redact import MASK, Scrubber
from coupa_connector.errors import CoupaError

__all__ = ["connection_page", "test_connection"]

_TARGETS = (
    ("sandbox", "the embedded sandbox"),
    ("profile", "a profile"),
    ("env", "COUPA_* variables"),
)


def _form(ctx: ConsoleContext, target: str, profile: str) -> Markup:
    return html(
        '<form method="post" action="/connection/test" class="run-form">'
        '<input type="hidden" name="{f}" value="{csrf}">'
        '<label>Test <select name="target">{targets}</select></label> '
        '<label>Profile <input name="profile" value="{profile}" placeholder="default profile">'
        '</label> <button type="submit">Test the connection</button></form>',
        f=CSRF_FIELD,
        csrf=ctx.csrf_token,
        targets=options(_TARGETS, target),
        profile=profile,
    )


def connection_page(request: Request) -> Response:
    """``/connection``: the form that runs the connection test."""
    ctx: ConsoleContext = request.app.state.ctx
    body = html(
        "<p>Reaches the host, gets a token and reads one record per scope, as "
        "<code>coupa connection test</code> does.</p>{form}",
        form=_form(ctx, "sandbox", ""),
    )
    return page("Connection", body, section="/connection")


def _settings(config: ConnectionConfig) -> Markup:
    rows = [
        ("URL", config.url),
        ("Authentication", config.auth_mode),
        ("Client id", config.client_id or "–"),
        ("Client secret", MASK if config.client_secret else "–"),
        ("API key", MASK if config.api_key else "–"),
        ("Scopes", " ".join(config.scopes) or "(whatever the client is granted)"),
    ]
    return html(
        '<table class="settings"><caption>Settings</caption><tbody>{rows}</tbody></table>',
        rows=join(html('<tr><th scope="row">{k}</th><td>{v}</td></tr>', k=k, v=v) for k, v in rows),
    )


def _report(report: ConnectionTestReport, scrub: Scrubber) -> Markup:
    rows = join(
        html(
            '<tr><th scope="row">{check}</th><td><span class="badge {cls}">{verdict}</span></td>'
            '<td>{detail}</td><td>{scope}</td><td class="num">{status}</td>'
            '<td class="num">{secs}</td></tr>',
            check=c.check,
            cls="success" if c.ok else "failed",
            verdict="OK" if c.ok else "FAIL",
            detail=scrub(c.detail),
            scope=c.scope or "",
            status=c.status or "",
            secs=f"{c.seconds:.2f}",
        )
        for c in report.checks
    )
    verdict = (
        html('<p class="ok" role="status">All checks passed.</p>')
        if report.ok
        else html('<p class="error" role="alert">Some checks failed.</p>')
    )
    return html(
        '{verdict}<table class="checks"><caption>Checks</caption><thead><tr><th scope="col">Check'
        '</th><th scope="col">Result</th><th scope="col">Detail</th><th scope="col">Scope</th>'
        '<th scope="col">HTTP status</th><th scope="col">Seconds</th></tr></thead><tbody>{rows}'
        "</tbody></table>",
        verdict=verdict,
        rows=rows,
    )


async def _run_test(config: ConnectionConfig) -> ConnectionTestReport:
    async with AsyncConnection(config) as conn:
        return await conn.test()


async def _sandbox_test() -> tuple[ConnectionConfig, ConnectionTestReport]:
    from coupa_connector.sandbox import Sandbox

    sandbox = await run_in_threadpool(Sandbox().start)
    try:
        config = ConnectionConfig(
            url=sandbox.url,
            client_id=sandbox.client_id,
            client_secret=SecretStr(sandbox.client_secret),
            rate_limit=None,
        )
        return config, await _run_test(config)
    finally:
        await run_in_threadpool(sandbox.stop)


async def test_connection(request: Request) -> Response:
    """POST ``/connection/test``: run the test and show its checks."""
    ctx: ConsoleContext = request.app.state.ctx
    form = await require_csrf(request, ctx.csrf_token)
    if not isinstance(form, FormData):
        return form
    target = str(form.get("target") or "sandbox")
    profile = str(form.get("profile") or "").strip()
    result: Markup
    try:
        if target == "sandbox":
            config, report = await _sandbox_test()
        else:
            config = (
                ConnectionConfig.from_profile(profile or None)
                if target == "profile"
                else ConnectionConfig.from_env()
            )
            report = await _run_test(config)
        scrub = Scrubber((*ctx.settings.secrets, *config.secrets()))
        result = html("{s}{r}", s=_settings(config), r=_report(report, scrub))
    except CoupaError as exc:
        result = html('<p class="error" role="alert">{e}</p>', e=ctx.scrub(str(exc)))
    body = html(
        '{form}<section aria-labelledby="result-h"><h2 id="result-h">Result</h2>{result}</section>',
        form=_form(ctx, target, profile),
        result=result,
    )
    return page("Connection", body, section="/connection")
