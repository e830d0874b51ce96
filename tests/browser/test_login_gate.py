"""The login gate in a real browser: cold server, sign in, stay signed in, sign out, roles, lockout, device cookie."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.people import lockout
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
        # The cookie component asks for one more run after the first: under load the body can be caught
        # between the two (seen once: the sign-in form's caption not drawn yet). Wait for the whole form.
        expect(page.get_by_text("Sign in to triage").first).to_be_visible(timeout=20000)
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


def _fail_five_times(page, username: str) -> None:
    """Five wrong passwords, each after the username's delay (1, 2, 4, 8 s) has passed."""
    for attempt in range(5):
        if attempt:
            page.wait_for_timeout(lockout.login_delay(attempt).total_seconds() * 1000 + 200)
        sign_in(page, username, f"not the password {attempt}")
    expect(page.get_by_text("locked here until").first).to_be_visible(timeout=20000)


def test_lockout_after_five_bad_passwords_holds_in_a_second_browser(browser, tmp_path, monkeypatch):
    # Streamlit's web server (uvicorn) itself believes X-Forwarded-For from 127.0.0.1 by default;
    # trusting no proxy there shows what the app does with a header nobody configured.
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")
    with running_server(tmp_path, PEOPLE) as server:
        first = browser.new_context().new_page()
        open_app(first, server.url)
        expect(first.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        _fail_five_times(first, "carl")

        # Same address, a browser that never signed in as carl: locked too. The forwarded-for
        # header it sends is ignored, since no proxy header is configured.
        second = browser.new_context(extra_http_headers={"X-Forwarded-For": "198.51.100.23"}).new_page()
        open_app(second, server.url)
        expect(second.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        sign_in(second, "carl", TEST_PASSWORD)
        expect(second.get_by_text("locked here until").first).to_be_visible(timeout=20000)
        assert "Hello, Carl" not in second.locator("body").inner_text()


def test_the_browser_carl_signed_in_from_is_not_locked_out_by_someone_else(browser, tmp_path):
    with running_server(tmp_path, PEOPLE) as server:
        own = browser.new_context()
        page = own.new_page()
        open_app(page, server.url)
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        sign_in(page, "carl", TEST_PASSWORD)
        expect(page.get_by_text("Hello, Carl").first).to_be_visible(timeout=20000)
        # The cookie component writes the device cookie once the browser has drawn it, which can be a
        # moment after the page's own text: wait for it rather than read the jar once.
        for _ in range(300):  # up to 30 s: a loaded machine draws the component late
            if any(c["name"] == "escalation_desk_device_carl" for c in own.cookies()):
                break
            page.wait_for_timeout(100)
        assert any(c["name"] == "escalation_desk_device_carl" for c in own.cookies())
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        # The device cookie outlives sign-out (it signs nobody in; it only vouches for the browser).
        assert any(c["name"] == "escalation_desk_device_carl" for c in own.cookies())

        attacker = browser.new_context().new_page()
        open_app(attacker, server.url)
        expect(attacker.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        _fail_five_times(attacker, "carl")

        # A new page load, so the cookie comes from the browser, not from this session's memory.
        open_app(page, server.url)
        expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
        sign_in(page, "carl", TEST_PASSWORD)
        expect(page.get_by_text("Hello, Carl").first).to_be_visible(timeout=20000)
        own.close()


def test_behind_a_trusted_proxy_each_client_address_has_its_own_lock(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("ESCALATION_DESK_TRUSTED_IP_HEADER", "X-Forwarded-For")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")  # the app's setting does the work, not uvicorn's
    with running_server(tmp_path, PEOPLE) as server:
        def visitor(forwarded_for: str):
            page = browser.new_context(extra_http_headers={"X-Forwarded-For": forwarded_for}).new_page()
            open_app(page, server.url)
            expect(page.get_by_role("button", name="Sign in").first).to_be_visible(timeout=20000)
            return page

        _fail_five_times(visitor("203.0.113.7"), "carl")
        # The address the proxy added is the right-most one; what the browser put before it is ignored.
        spoofed = visitor("198.51.100.23, 203.0.113.7")
        sign_in(spoofed, "carl", TEST_PASSWORD)
        expect(spoofed.get_by_text("locked here until").first).to_be_visible(timeout=20000)
        colleague = visitor("198.51.100.23")
        # Not locked at this address; only the username's delay (16 s after the 5th failure) may hold.
        sign_in(colleague, "carl", TEST_PASSWORD)
        if "before trying again" in colleague.locator("body").inner_text():
            colleague.wait_for_timeout(lockout.login_delay(5).total_seconds() * 1000)
            sign_in(colleague, "carl", TEST_PASSWORD)
        expect(colleague.get_by_text("Hello, Carl").first).to_be_visible(timeout=20000)
