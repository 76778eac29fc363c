"""The frame every console page shares, and the small pieces pages are built of."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.responses import HTMLResponse

from coupa_connector.console._html import Markup, html, join

__all__ = [
    "NAV",
    "badge",
    "duration_text",
    "json_block",
    "live_region",
    "page",
    "pager",
    "time_text",
]

# (path, label): the navigation, in order.
NAV = (
    ("/", "Runs"),
    ("/charts", "Charts"),
    ("/operations", "Operations"),
    ("/integrations", "Integrations"),
    ("/catalog", "Catalog"),
    ("/connection", "Connection"),
)

STATUS_TEXT = {
    "success": "success",
    "partial": "partial",
    "failed": "failed",
    "running": "running",
    "interrupted": "interrupted",
}


def page(
    title: str, body: Markup, *, section: str, status_code: int = 200, subtitle: str = ""
) -> HTMLResponse:
    """A whole HTML page: header, navigation (``section`` marked current), ``body``."""
    links = join(
        html(
            '<li><a href="{href}"{current}>{label}</a></li>',
            href=href,
            label=label,
            current=Markup(' aria-current="page"') if href == section else Markup(""),
        )
        for href, label in NAV
    )
    document = html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{title} · Coupa console</title>"
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/static/console.css">'
        '<script src="/static/console.js" defer></script></head><body>'
        '<a class="skip" href="#main">Skip to content</a>'
        '<header><p class="brand">Coupa console</p><nav aria-label="Sections"><ul>{links}</ul>'
        "</nav></header>"
        '<main id="main" tabindex="-1"><h1>{title}</h1>{subtitle}{body}</main></body></html>',
        title=title,
        links=links,
        subtitle=html('<p class="subtitle">{s}</p>', s=subtitle) if subtitle else Markup(""),
        body=body,
    )
    return HTMLResponse(document, status_code=status_code)


REFRESH_MS = 2000


def live_region(inner: Markup, *, live: bool, element_id: str, css_class: str = "") -> Markup:
    """A region the page script reloads every few seconds while ``live`` (a run is going).

    The page answers ``?fragment=1`` with this region alone; see ``static/console.js``.
    """
    refresh = html(' data-refresh="{ms}" aria-live="polite"', ms=REFRESH_MS) if live else Markup("")
    return html(
        '<div id="{id}" class="{cls}"{refresh}>{inner}</div>',
        id=element_id,
        cls=css_class,
        refresh=refresh,
        inner=inner,
    )


def badge(status: str, dry_run: bool = False) -> Markup:
    """A run's status as a badge (colour and word: never colour alone)."""
    known = status if status in STATUS_TEXT else "other"
    dry = html(' <span class="badge dry">dry run</span>') if dry_run else Markup("")
    return html(
        '<span class="badge {known}">{status}</span>{dry}', known=known, status=status, dry=dry
    )


def time_text(iso: str | None) -> str:
    """``2026-12-02T17:03:01.123Z`` as ``2026-12-02 17:03:01`` (UTC), or a dash."""
    if not iso:
        return "–"
    return iso[:19].replace("T", " ")


def parse_time(iso: str) -> datetime:
    """An operation-log timestamp as an aware datetime."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)


def duration_text(seconds: float | None) -> str:
    """``0.4 s``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``; a dash when unknown."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def json_block(value: Any) -> Markup:
    """A record as indented JSON in a ``<pre>`` (escaped like any text)."""
    if value is None:
        return html('<span class="muted">not kept</span>')
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return html('<pre class="record">{text}</pre>', text=text)


def pager(
    path: str,
    params: Mapping[str, str],
    page_no: int,
    per_page: int,
    total: int,
    what: str,
    *,
    param: str = "page",
) -> Markup:
    """Previous/next links and ``page x of y`` for a list of ``total`` items; ``param`` is
    the query parameter that holds the page (a page with two lists pages each its own)."""
    pages = max(1, math.ceil(total / per_page))
    if pages == 1:
        return html('<p class="pager">{total} {what}</p>', total=f"{total:,}", what=what)

    def link(number: int, label: str, rel: str) -> Markup:
        if number < 1 or number > pages or number == page_no:
            return html('<span class="disabled">{label}</span>', label=label)
        query = urlencode({**{k: v for k, v in params.items() if v}, param: str(number)})
        return html(
            '<a href="{href}" rel="{rel}">{label}</a>', href=f"{path}?{query}", rel=rel, label=label
        )

    hidden = join(
        html('<input type="hidden" name="{k}" value="{v}">', k=k, v=v)
        for k, v in params.items()
        if v and k != param
    )
    return html(
        '<nav class="pager" aria-label="Pages of {what}">{first} {prev} '
        "<span>page {page} of {pages} ({total} {what})</span> {next} {last}"
        '<form method="get" action="{path}" class="jump">{hidden}'
        '<label>Go to page <input type="number" name="{param}" min="1" max="{pages}" '
        'value="{page}" inputmode="numeric"></label> <button type="submit">Go</button>'
        "</form></nav>",
        what=what,
        first=link(1, "« first", "first"),
        prev=link(page_no - 1, "‹ previous", "prev"),
        next=link(page_no + 1, "next ›", "next"),
        last=link(pages, "last »", "last"),
        page=page_no,
        pages=f"{pages:,}" if pages > 9999 else pages,
        total=f"{total:,}",
        path=path,
        hidden=hidden,
        param=param,
    )


def page_number(raw: str | None) -> int:
    """A ``page`` query parameter as a page number (1 when absent or not a number)."""
    try:
        return max(1, int(raw or "1"))
    except ValueError:
        return 1


def options(choices: Iterable[tuple[str, str]], selected: str) -> Markup:
    """``<option>``s of ``(value, label)`` pairs, ``selected`` marked."""
    return join(
        html(
            '<option value="{v}"{sel}>{label}</option>',
            v=value,
            label=label,
            sel=Markup(" selected") if value == selected else Markup(""),
        )
        for value, label in choices
    )
