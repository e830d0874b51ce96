"""The public subscription routes of status pages: subscribe by email, confirm, unsubscribe.

`POST /status/<status token>/subscribe` takes the form field `email` and always gives the same
"check your inbox" answer, so the form cannot tell anyone who is subscribed; an invalid or revoked
status token answers 404 like the status page itself. `/status/confirm/<token>` and
`/status/unsubscribe/<token>`: GET only shows one button (mail scanners and link previews fetch
links, so reading writes nothing); POST acts once (`core.statuspage.subscriptions`), which is also
what a mail program's RFC 8058 one-click unsubscribe sends. Pages are self-contained HTML with
every value escaped and the same strict headers as the acknowledge page; they set no cookie and
sign nobody in. Handlers are plain functions, so Starlette runs their database work in its thread
pool. This module must never decide who may subscribe (core does) nor show an internal value.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from core.statuspage import flows as status_pages
from core.statuspage import subscriptions
from core.statuspage.subscriptions import LinkOutcome, SubscriptionError
from db.engine import get_engine, session_scope
from ui.app_address import server_base_url
from ui.http_routes import public_page
from ui.status_routes import not_found

# A form with one address is a few hundred bytes; anything much larger is not this form.
MAX_BODY = 4096


def _page(title: str, paragraphs: list[str], *, status: int = 200, button: str = "") -> HTMLResponse:
    return public_page(title, paragraphs, status=status, button=button, note="This link does not sign you in.")


def _not_found() -> HTMLResponse:
    # Byte for byte the status page's own 404, so no route tells a probed token apart.
    return not_found()


def _token(request: Request) -> str:
    return str(request.path_params.get("token", ""))


async def subscribe(request: Request) -> Response:
    """POST: ask for a confirmation email for the form's address (the same answer for every address)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        return _page("Too much data", ["The form sent more than an email address: go back and type only your "
                                       "address."], status=413)
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            return _page("Too much data", ["The form sent more than an email address: go back and type only your "
                                           "address."], status=413)
    try:
        fields = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError:  # more fields than this form has
        return _page("Not subscribed", ["The form sent more than an email address: go back and type only your "
                                        "address."], status=400)
    address = (fields.get("email") or [""])[0]
    return await run_in_threadpool(_subscribe, _token(request), address)


def _subscribe(token: str, address: str) -> HTMLResponse:
    # The links mailed go to the configured address, never to the request's Host header, which a
    # visitor chooses: a forged Host would otherwise put the sender's own site into our mail.
    now = dt.datetime.now(dt.UTC)
    try:
        with session_scope(get_engine()) as session:
            page = status_pages.live_page(session, token)
            if page is None:
                return _not_found()
            subscriptions.subscribe_email(session, page_id=page.id, address=address, added_by=None, now=now,
                                          base_url=server_base_url())
    except SubscriptionError as error:
        return _page("Not subscribed", [str(error), "Go back to the status page to try again."], status=400)
    return _page("Check your inbox", [subscriptions.CHECK_INBOX])


_WORDS = {
    "confirm": {"ready": ("Confirm your subscription?", "Confirm",
                          "Press Confirm to receive email updates about \u201c{headline}\u201d at {address}."),
                "done": ("Subscribed", "",
                         "You will receive email updates about \u201c{headline}\u201d at {address}. Every email "
                         "has a link to unsubscribe.")},
    "unsubscribe": {"ready": ("Unsubscribe?", "Unsubscribe",
                              "Press Unsubscribe to stop email updates about \u201c{headline}\u201d to {address}."),
                    "done": ("Unsubscribed", "",
                             "{address} will receive no more updates about \u201c{headline}\u201d.")},
}


def _outcome_page(purpose: str, outcome: LinkOutcome) -> HTMLResponse:
    if outcome.kind == "invalid":
        return _page("This link does not work", ["The link is incomplete or was changed: open it from the email "
                                                 "again, copying the whole address."], status=404)
    if outcome.kind == "used":
        return _page("This link was already used", [
            "It has done its work once already (or a newer email replaced it), so it changes nothing now."],
            status=410)
    title, button, text = _WORDS[purpose]["ready" if outcome.kind == "ready" else "done"]
    return _page(title, [text.format(headline=outcome.headline, address=outcome.address)], button=button)


def _link_route(purpose: str):  # type: ignore[no-untyped-def]
    def handle(request: Request) -> Response:
        token = _token(request)
        with session_scope(get_engine()) as session:
            if request.method == "POST":
                act = subscriptions.confirm if purpose == "confirm" else subscriptions.unsubscribe
                outcome = act(session, token, now=dt.datetime.now(dt.UTC))
            else:
                outcome = subscriptions.about(session, token, purpose=purpose)
        return _outcome_page(purpose, outcome)
    handle.__doc__ = f"GET: what the {purpose} link would do and one button (writes nothing); POST: do it, once."
    return handle


SUBSCRIPTION_ROUTES: list[Route] = [
    Route("/status/confirm/{token}", _link_route("confirm"), methods=["GET", "POST"]),
    Route("/status/unsubscribe/{token}", _link_route("unsubscribe"), methods=["GET", "POST"]),
    Route("/status/{token}/subscribe", subscribe, methods=["POST"]),
]
