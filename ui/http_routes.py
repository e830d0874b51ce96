"""The plain HTTP routes beside the app: the acknowledge page `/ack/<token>` and `/api/health`.

`GET /ack/<token>` only shows what the notification is about and one button: mail scanners and
link previews fetch links, so reading writes nothing. `POST` checks the signature and expiry
(`core.alerts.links.verify`) and acknowledges that one notification (`core.alerts.acknowledge`),
once. The page is self-contained HTML with every stored text escaped; it sets no cookie, and the
token is never a sign-in: whoever holds a forwarded link can acknowledge that notification and
open nothing else. `/api/health` gives the scheduler's counts and times, never a secret or an
error's text. Handlers are plain functions, so Starlette runs them (and their database work) in
its thread pool, off the event loop.
"""

from __future__ import annotations

import datetime as dt
import html

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from core.alerts.acknowledge import AcknowledgeError, about, acknowledge
from core.alerts.links import LinkError, LinkExpired, link_key, verify
from db.engine import get_engine, session_scope
from ui.scheduler_loop import STATUS

# No caching, no indexing, no referrer (the token is in the address), nothing loaded from elsewhere: every
# page reached by a link outside the sign-in (acknowledge, status page) answers with these.
LINK_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}
_STYLE = ("body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}"
          "h1{font-size:1.4rem}p.muted{color:#666;font-size:.9rem}"
          "button{font-size:1rem;padding:.6rem 1.4rem;border:0;border-radius:.4rem;background:#c62828;color:#fff;"
          "cursor:pointer}")


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def public_page(title: str, paragraphs: list[str], *, status: int = 200, button: str = "",
                note: str = "") -> HTMLResponse:
    """A small public page with the strict headers; every text passed in is escaped here.

    `button`: the label of a one-button POST form to the same address, followed by `note`.
    """
    body = "".join(f"<p>{html.escape(text)}</p>" for text in paragraphs)
    form = (f'<form method="post"><button type="submit">{html.escape(button)}</button></form>'
            f'<p class="muted">{html.escape(note)}</p>') if button else ""
    document = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{html.escape(title)} · Escalation Desk</title><style>{_STYLE}</style></head>"
                f"<body><h1>{html.escape(title)}</h1>{body}{form}</body></html>")
    return HTMLResponse(document, status_code=status, headers=LINK_PAGE_HEADERS)


def _page(title: str, paragraphs: list[str], *, status: int = 200, form: bool = False) -> HTMLResponse:
    return public_page(title, paragraphs, status=status, button="Acknowledge" if form else "",
                       note="Acknowledging tells the team you have seen this alert and stops its reminders. "
                            "It does not sign you in.")


REFUSED = "This link cannot acknowledge anything"


def _refused(error: LinkError) -> HTMLResponse:
    return _page(REFUSED, [str(error)], status=410 if isinstance(error, LinkExpired) else 400)


def _token(request: Request) -> str:
    return str(request.path_params.get("token", ""))


def ack(request: Request) -> Response:
    """GET: what the notification is about and an Acknowledge button (writes nothing); POST: acknowledge it."""
    now = dt.datetime.now(dt.UTC)
    engine = get_engine()
    with session_scope(engine) as session:
        key = link_key(session)
    try:
        notification_id = verify(key, _token(request), now=now)
    except LinkError as error:
        return _refused(error)
    if request.method == "POST":
        return _acknowledge(engine, notification_id, now)
    return _confirm(engine, notification_id)


def _acknowledge(engine: Engine, notification_id: int, now: dt.datetime) -> HTMLResponse:
    try:
        with session_scope(engine) as session:
            done = acknowledge(session, notification_id, now=now)
    except AcknowledgeError as error:
        return _page(REFUSED, [str(error)], status=404)
    if done.already:
        return _page("Already acknowledged", [
            f"This notification was already acknowledged at {_when(done.acknowledged_at)}. "
            "Nothing more to do here; open the incident in the app to follow it."])
    return _page("Acknowledged", [
        f"Thank you: acknowledged at {_when(done.acknowledged_at)}. The team can see it on the incident's "
        "timeline, and this alert's reminders have stopped.",
        "Open Escalation Desk and sign in to work on the incident."])


def _confirm(engine: Engine, notification_id: int) -> HTMLResponse:
    with session_scope(engine) as session:
        shown = about(session, notification_id)
    if shown is None:
        return _page(REFUSED, ["This notification no longer exists: open the incident in the app instead."],
                     status=404)
    lines = [f"Alert: {shown.subject}"]
    if shown.incident_id is not None:
        lines.append(f"Incident #{shown.incident_id}: {shown.incident_title}")
    lines.append(f"Sent to {shown.recipient} ({shown.channel}).")
    if shown.acknowledged_at is not None:
        return _page("Already acknowledged",
                     [*lines, f"It was acknowledged at {_when(shown.acknowledged_at)}. Nothing more to do here."])
    return _page("Acknowledge this alert?", lines, form=True)


def health(request: Request) -> JSONResponse:
    """The server is up; the scheduler's last pass and counts (no addresses, no error texts)."""
    return JSONResponse({"status": "ok", "scheduler": STATUS.as_dict()}, headers={"Cache-Control": "no-store"})


ROUTES = [
    Route("/ack/{token}", ack, methods=["GET", "POST"]),
    Route("/api/health", health, methods=["GET"]),
]
