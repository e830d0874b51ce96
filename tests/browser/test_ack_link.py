"""A forwarded acknowledge link in a real browser: it acknowledges that one alert and opens nothing else.

The link's token, whether clicked, put in the session cookie or in a page's query, signs nobody in:
the incident page behind it still asks for a sign-in.
"""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import open_app, running_server, wait_idle
from tests.ui.test_ack_route import _seed, _token
from ui.auth import COOKIE_NAME


def test_a_forwarded_link_acknowledges_and_gives_no_access(browser, tmp_path):
    seeded: dict[str, int] = {}
    tokens: list[str] = []

    def prepare(engine, _ids):
        seeded.update(_seed(engine))
        tokens.append(_token(engine, seeded["notification"]))

    with running_server(tmp_path, {}, prepare=prepare, env={"ESCALATION_DESK_SCHEDULER": "off"}) as server:
        token = tokens[0]
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{server.url}/ack/{token}")
        expect(page.get_by_role("heading", name="Acknowledge this alert?")).to_be_visible()
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_role("heading", name="Acknowledged")).to_be_visible()
        assert context.cookies() == []  # the acknowledge page sets none
        # The same browser, with the token where a session would be: still a visitor.
        context.add_cookies([{"name": COOKIE_NAME, "value": token, "url": server.url}])
        open_app(page, f"{server.url}/incident?id={seeded['incident']}&token={token}")
        expect(page.get_by_text("Sign in to triage").first).to_be_visible(timeout=20000)
        wait_idle(page)
        body = page.locator("body").inner_text()
        assert "Payments" not in body and "Sign out" not in body
        context.close()
