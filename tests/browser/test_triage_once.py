"""Opening cannot duplicate, in a real browser: a double click on *Open incident* leaves one incident and lands
on it; going back shows an empty form, whose submit opens nothing."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import func, select

from db.engine import make_engine, session_scope
from db.models import Incident
from tests.browser.conftest import running_server, wait_idle
from tests.browser.test_main_path import _prepare, start_triage


def _incidents(server) -> int:
    engine = make_engine(server.db_url)
    try:
        with session_scope(engine) as s:
            return s.scalar(select(func.count()).select_from(Incident))
    finally:
        engine.dispose()


def test_a_double_click_and_a_resubmit_leave_one_incident_and_land_on_it(browser, tmp_path):
    with running_server(tmp_path, {"carl": "csm"}, prepare=_prepare) as server:
        page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
        start_triage(page, server, account="Acme Corp", title="Checkout returns errors for every order")
        page.get_by_role("button", name="Open incident").dblclick()
        page.wait_for_url("**/incident?id=1", timeout=20000)
        wait_idle(page)
        expect(page.get_by_text("#1 · Checkout returns errors for every order").first).to_be_visible(timeout=20000)
        assert _incidents(server) == 1
        # Back to the form: it is empty, and submitting it again opens nothing.
        page.go_back()
        # A Streamlit app moves between its pages without loading a document: wait for the address itself.
        page.wait_for_function("() => location.pathname.endsWith('/triage')", timeout=20000)
        wait_idle(page)
        expect(page.get_by_label("Title")).to_have_value("", timeout=20000)
        page.get_by_role("button", name="Open incident").click()
        wait_idle(page)
        expect(page.get_by_text("Pick the customer account first").first).to_be_visible(timeout=20000)
        assert _incidents(server) == 1
        assert len(page.context.pages) == 1
