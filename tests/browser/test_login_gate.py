"""The login gate in a real browser: cold server, sign in, stay signed in, sign out, roles, lockout."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import open_app, running_server, sign_in, wait_idle
from tests.conftest import TEST_PASSWORD
from ui.navigation import PAGES

PEOPLE = {"ada": "admin", "carl": "csm"}


@pytest.mark.parametrize("page_spec", PAGES, ids=lambda p: p.key)
def test_cold_server_refuses_every_page_url_to_an_anonymous_visitor(browser, tmp_path, page_spec):
    with running_server(tmp_path, PEOPLE) as server:
        page = browser.new_page()
        # The very first request this server ever sees is the page URL itself.
        open_app(page, f"{server.url}/{page_spec.key}")
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        wait_idle(page)
        body = page.locator("body").inner_text()
        assert "Sign in to triage" in body
        for leaked in ("Hello,", "Add a user", "My profile", "Sign out"):
            assert leaked not in body, f"{leaked!r} shown to an anonymous visitor on {page_spec.key}"
        page.close()


def test_sign_in_reload_stays_signed_in_then_sign_out(browser, tmp_path):
    with running_server(tmp_path, PEOPLE) as server:
        context = browser.new_context()
        page = context.new_page()
        open_app(page, server.url)
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        sign_in(page, "ada", TEST_PASSWORD)
        expect(page.get_by_text("Hello, Ada").first).to_be_visible(timeout=20000)
        assert any(c["name"] == "escalation_desk_session" for c in context.cookies())

        page.reload()
        expect(page.get_by_text("Hello, Ada").first).to_be_visible(timeout=20000)

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        page.reload()
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        wait_idle(page)
        assert "Hello, Ada" not in page.locator("body").inner_text()
        context.close()


def test_copied_cookie_stops_working_after_sign_out(browser, tmp_path):
    with running_server(tmp_path, PEOPLE) as server:
        first = browser.new_context()
        page = first.new_page()
        open_app(page, server.url)
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        sign_in(page, "ada", TEST_PASSWORD)
        expect(page.get_by_text("Hello, Ada").first).to_be_visible(timeout=20000)
        stolen = [c for c in first.cookies() if c["name"] == "escalation_desk_session"]
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)

        thief = browser.new_context()
        thief.add_cookies(stolen)
        other = thief.new_page()
        open_app(other, server.url)
        expect(other.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        first.close()
        thief.close()


def test_csm_cannot_open_the_admin_page_by_url(browser, tmp_path):
    with running_server(tmp_path, PEOPLE) as server:
        context = browser.new_context()
        page = context.new_page()
        open_app(page, server.url)
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        sign_in(page, "carl", TEST_PASSWORD)
        expect(page.get_by_text("Hello, Carl").first).to_be_visible(timeout=20000)
        open_app(page, f"{server.url}/admin_users")
        wait_idle(page)
        page.wait_for_timeout(1500)
        body = page.locator("body").inner_text()
        assert "Add a user" not in body and "Reset password" not in body
        context.close()


def test_lockout_after_five_bad_passwords_holds_in_a_second_browser(browser, tmp_path):
    with running_server(tmp_path, PEOPLE) as server:
        first = browser.new_context().new_page()
        open_app(first, server.url)
        expect(first.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        for attempt in range(5):
            sign_in(first, "carl", f"not the password {attempt}")
        expect(first.get_by_text("locked until").first).to_be_visible(timeout=20000)

        second = browser.new_context().new_page()
        open_app(second, server.url)
        expect(second.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        sign_in(second, "carl", TEST_PASSWORD)
        expect(second.get_by_text("locked until").first).to_be_visible(timeout=20000)
        assert "Hello, Carl" not in second.locator("body").inner_text()
