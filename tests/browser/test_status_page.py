"""The client's status page in a real browser against a real server: anonymous, client-safe, outside the gate.

(a) Every internal column of the incident, its account and its contacts holds a marker; an anonymous
Chromium opens the page and finds none of them in the text or the HTML, while the headline and the
posts are there. An altered link shows the 404 text and none of the app. (b) The routes served beside
the pages: the ones anyone may call without signing in or holding an API token are exactly
`/api/health`, the acknowledge link and the status page routes; every other one refuses an anonymous
call (the pages' own gate is `test_login_gate`'s).
"""

from __future__ import annotations

import ast
import datetime as dt
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.incident import flows as incidents
from core.people.access import Role
from core.people.users import Actor
from core.policy import store as policy_store
from core.statuspage import flows
from core.triage.rules import Answers
from db.engine import session_scope
from db.models import Account, Contact
from tests.browser.conftest import running_server
from tests.status_markers import fill_internal_columns, leaks
from ui.api_routes import API_ROUTES
from ui.http_routes import ROUTES
from ui.status_routes import NOT_FOUND, STATUS_ROUTES
from ui.status_subscription_routes import SUBSCRIPTION_ROUTES

MOUNTED = {"ROUTES": ROUTES, "API_ROUTES": API_ROUTES, "STATUS_ROUTES": STATUS_ROUTES,
           "SUBSCRIPTION_ROUTES": SUBSCRIPTION_ROUTES}
HEADLINE = "Card payments are failing"
POST = "We found an expired certificate and are replacing it."


def _seed(engine, ids: dict[str, int], tokens: list[str]) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cara = Actor(ids["cara"], "cara", Role.CSM)
    with session_scope(engine) as s:
        policy_store.install_presets(s, now=now)
        account = Account(name="Acme Corp", tier="enterprise", annual_contract_value=Decimal(120000),
                          owner_id=cara.id, time_zone="America/New_York")
        account.contacts = [Contact(name="Ana Martin", email="ana@acme.example", is_primary=True)]
        s.add(account)
        s.flush()
        iid = incidents.open_incident(s, account_id=account.id, title="Checkout down", summary="Triage note",
                                      answers=Answers(business_impact="major"), policy_name="red-status",
                                      actor=cara, now=now - dt.timedelta(hours=1),
                                      detected_at=now - dt.timedelta(hours=1)).id
        flows.ensure_page(s, iid, actor=cara, now=now, headline=HEADLINE, client_impact="Checkout fails for cards.")
        flows.post_update(s, incident_id=iid, expected_version=None, stage="identified", title="Cause found",
                          body=POST, notify_subscribers=False, actor=cara, now=now, base_url="")
        tokens.append(flows.token_of(s, flows.page_of(s, iid)))  # type: ignore[arg-type]
    fill_internal_columns(engine, iid)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tokens: list[str] = []
    with running_server(tmp_path_factory.mktemp("status"), {"cara": "csm"},
                        prepare=lambda engine, ids: _seed(engine, ids, tokens),
                        env={"ESCALATION_DESK_SCHEDULER": "off"}) as server:
        yield server, tokens[0]


def test_an_anonymous_reader_sees_client_words_and_no_internal_value(browser, served):
    server, token = served
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/status/{token}")
    expect(page.get_by_role("heading", name=HEADLINE)).to_be_visible(timeout=20000)
    expect(page.get_by_text(POST)).to_be_visible()
    text, markup = page.locator("body").inner_text(), page.content()
    assert leaks(text) == [] and leaks(markup) == []
    assert "Triage note" not in markup and "Checkout down" not in markup and "America/New_York" in text
    assert "refreshes every minute" in text and context.cookies() == []

    ident, nonce, mac = token.split(".")
    page.goto(f"{server.url}/status/{ident}.{nonce}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}")
    expect(page.get_by_role("heading", name=NOT_FOUND)).to_be_visible(timeout=20000)
    assert page.locator("[data-testid='stMain']").count() == 0 and HEADLINE not in page.content()
    assert "Sign in" not in page.locator("body").inner_text()
    context.close()


def _mounted_lists() -> set[str]:
    """The route lists server.py mounts beside the pages (read from its source, not assumed)."""
    tree = ast.parse((Path(__file__).resolve().parents[2] / "server.py").read_text())
    routes = next(k.value for node in ast.walk(tree) if isinstance(node, ast.Call)
                  for k in node.keywords if k.arg == "routes")
    assert isinstance(routes, ast.List)
    return {e.value.id for e in routes.elts if isinstance(e, ast.Starred) and isinstance(e.value, ast.Name)}


def _anonymous(url: str, method: str) -> int:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


# Routes that answer 404 to a caller without the credential they name, whatever else is sent: the API's
# catch-all, and a source's webhook (an unknown source; a known one wants its HMAC signature, else 401).
REFUSE_WITH_404 = {"/api/v1/{rest:path}", "/api/v1/sources/{name}/events"}
# Open to anyone on purpose, besides the signed links: the health check and the API's contract (it holds no data).
OPEN_BY_DESIGN = {"/api/health", "/api/v1/openapi.json"}


def test_only_the_health_check_and_signed_links_answer_without_a_sign_in_or_token(served):
    server, _token = served
    assert _mounted_lists() == set(MOUNTED)
    open_routes, refused = set(), {}
    for route in (r for routes in MOUNTED.values() for r in routes):
        path = route.path.replace("{rest:path}", "anything").format(token="1.x.y", incident_id=1, name="demo")
        for method in sorted(route.methods or {"GET"}):
            if method == "HEAD":
                continue
            code = _anonymous(f"{server.url}{path}", method)
            if code in (401, 403) or (route.path in REFUSE_WITH_404 and code == 404):
                refused[(route.path, method)] = code
            else:
                open_routes.add(route.path)
    links = {"/ack/{token}"} | {r.path for r in STATUS_ROUTES + SUBSCRIPTION_ROUTES}
    assert all(path.startswith("/status/") for path in links - {"/ack/{token}"})
    assert open_routes == OPEN_BY_DESIGN | links, refused
    assert len(refused) >= 8  # every API call refused anonymously (the API's own tests check each one)
