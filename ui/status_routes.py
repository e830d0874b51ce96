"""The client's public status page `/status/<token>` and its Atom feed `/status/<token>/feed.atom`.

Both are drawn from `core.statuspage.views.public_status` only, so they show client-safe values and
nothing else. The page is self-contained HTML (no script, nothing loaded from elsewhere) with every
value escaped, refreshes itself every minute, and offers the subscribe form (its POST route belongs
to `ui.status_subscription_routes`) and the feed. Every refused link (malformed, altered, unknown,
revoked, replaced by a new link) gets the very same 404, so a token cannot be probed. Reading writes
nothing and sets no cookie; handlers are plain functions, which Starlette runs in its thread pool.
"""

from __future__ import annotations

import datetime as dt
import html
import xml.etree.ElementTree as ET

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from core.statuspage.views import PublicStatus, public_status
from db.engine import get_engine, read_scope
from ui.http_routes import LINK_PAGE_HEADERS

REFRESH_SECONDS = 60
NOT_FOUND = "This status page is not available"
_NOT_FOUND_TEXT = ("The link may be mistyped, or it was replaced or withdrawn. Ask your contact for the current "
                   "link.")
_ATOM = "http://www.w3.org/2005/Atom"
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1f2933;"
          "line-height:1.5}h1{font-size:1.5rem;margin-bottom:.3rem}h2{font-size:1.1rem;margin-top:2rem}"
          ".stage{display:inline-block;padding:.2rem .7rem;border-radius:1rem;background:#eef2f7;font-weight:600}"
          ".resolved{background:#e3f9e5}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}"
          "dt{color:#52606d}dd{margin:0}article{border-top:1px solid #dde1e6;padding:.8rem 0}"
          "article p{white-space:pre-wrap;margin:.3rem 0}.muted{color:#7b8794;font-size:.9rem}"
          "form{display:flex;flex-wrap:wrap;gap:.5rem}input[type=email]{flex:1;min-width:12rem;padding:.5rem}"
          "button{padding:.5rem 1.2rem;border:0;border-radius:.4rem;background:#1f5fbf;color:#fff}"
          "@media (max-width:30rem){dl{grid-template-columns:1fr}}")


def _document(title: str, body: str, *, head: str = "") -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="robots" content="noindex, nofollow">{head}'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>")


def not_found() -> HTMLResponse:
    """The one answer to every refused link: the same status, headers and text whatever went wrong."""
    body = f"<h1>{html.escape(NOT_FOUND)}</h1><p>{html.escape(_NOT_FOUND_TEXT)}</p>"
    return HTMLResponse(_document(NOT_FOUND, body), status_code=404, headers=LINK_PAGE_HEADERS)


def render_page(shown: PublicStatus, token: str) -> str:
    """The status page's HTML; every value escaped."""
    e = html.escape
    facts = [("Reference", shown.incident_ref), ("Severity", shown.severity), ("Status", shown.status),
             ("Started", shown.started_at)]
    if shown.account_name:
        facts.insert(0, ("For", shown.account_name))
    if shown.resolved_at:
        facts.append(("Resolved", shown.resolved_at))
    elif shown.next_update_at:
        facts.append(("Next update", f"by {shown.next_update_at}"))
    posts = "".join(
        f'<article><strong>{e(p.stage_label or "Update")}</strong>: {e(p.title)}'
        f'<div class="muted">{e(p.posted_at)}</div><p>{e(p.body)}</p></article>' for p in shown.posts
    ) or "<p>No update has been posted yet.</p>"
    resolved = " resolved" if shown.stage == "resolved" else ""
    body = (f"<h1>{e(shown.headline)}</h1>"
            f'<p><span class="stage{resolved}">{e(shown.stage_label)}</span> {e(shown.status_text)}</p>'
            + (f"<p>{e(shown.client_impact)}</p>" if shown.client_impact else "")
            + "<dl>" + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts) + "</dl>"
            + f"<h2>Updates</h2>{posts}"
            + "<h2>Follow this incident</h2>"
            f'<form method="post" action="/status/{e(token)}/subscribe">'
            '<label for="email">Email me each update</label>'
            '<input type="email" id="email" name="email" required autocomplete="email" placeholder="you@example.com">'
            '<button type="submit">Subscribe</button></form>'
            '<p class="muted">We send one email to confirm first; every update email has a link to stop them.</p>'
            f'<p><a href="/status/{e(token)}/feed.atom">Atom feed</a> for feed readers.</p>'
            f'<p class="muted">Times are in {e(shown.time_zone)}. This page refreshes every minute.</p>')
    head = (f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
            f'<link rel="alternate" type="application/atom+xml" href="/status/{e(token)}/feed.atom">')
    return _document(f"{shown.headline} · Status", body, head=head)


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def render_feed(shown: PublicStatus, page_url: str) -> bytes:
    """The Atom feed of the page's posts, newest first; ids stable across renders (tag URIs)."""
    ET.register_namespace("", _ATOM)
    feed = ET.Element(f"{{{_ATOM}}}feed")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        child = ET.SubElement(parent, f"{{{_ATOM}}}{tag}", attrs)
        if text is not None:
            child.text = text
        return child

    add(feed, "id", f"tag:escalation-desk,2026:status-page:{shown.page_id}")
    add(feed, "title", f"{shown.headline} ({shown.incident_ref})")
    add(feed, "updated", _rfc3339(shown.updated_at_utc))
    add(add(feed, "author"), "name", shown.account_name or "Status page")
    add(feed, "link", rel="alternate", type="text/html", href=page_url)
    for post in shown.posts:
        entry = add(feed, "entry")
        add(entry, "id", f"tag:escalation-desk,2026:status-post:{post.communication_id}")
        add(entry, "title", f"{post.stage_label}: {post.title}" if post.stage_label else post.title)
        add(entry, "updated", _rfc3339(post.posted_at_utc))
        add(entry, "link", rel="alternate", type="text/html", href=page_url)
        add(entry, "content", f"{post.body}\n\n({post.posted_at})", type="text")
    text: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + text


def _shown(request: Request) -> tuple[PublicStatus | None, str]:
    token = str(request.path_params.get("token", ""))
    with read_scope(get_engine()) as session:
        return public_status(session, token, now=dt.datetime.now(dt.UTC)), token


def status_page(request: Request) -> Response:
    """The client's status page for the incident the link names; the same 404 for every refused link."""
    shown, token = _shown(request)
    if shown is None:
        return not_found()
    return HTMLResponse(render_page(shown, token), headers=LINK_PAGE_HEADERS)


def status_feed(request: Request) -> Response:
    """The page's posts as an Atom feed; the same 404 as the page for every refused link."""
    shown, _token = _shown(request)
    if shown is None:
        return not_found()
    page_url = str(request.url).removesuffix("/feed.atom")
    return Response(render_feed(shown, page_url), media_type="application/atom+xml; charset=utf-8",
                    headers=LINK_PAGE_HEADERS)


STATUS_ROUTES: list[Route] = [
    Route("/status/{token}", status_page, methods=["GET"]),
    Route("/status/{token}/feed.atom", status_feed, methods=["GET"]),
]
