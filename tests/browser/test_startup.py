"""A real server started on a database nobody migrated: it migrates; on one it cannot, it says what to run."""

from __future__ import annotations

from tests.browser.conftest import Server, open_app, wait_idle


def _cold_page(browser, server: Server, path: str) -> str:
    server.start()
    try:
        page = browser.new_page()
        # The first request this server sees is a page URL: pages/ runs before app.py.
        open_app(page, f"{server.url}/{path}")
        wait_idle(page)
        page.wait_for_timeout(1000)
        body = page.locator("body").inner_text()
        page.close()
        return body
    finally:
        server.stop()


def test_a_server_on_an_empty_database_migrates_it_and_asks_for_the_first_admin(browser, tmp_path):
    server = Server(tmp_path)  # nothing has created tables in server.db_url
    body = _cold_page(browser, server, "triage")
    assert "Sign in to triage" in body and "No account exists yet" in body
    for leaked in ("Traceback", "OperationalError", "no such table"):
        assert leaked not in body


def test_a_server_on_a_database_it_cannot_open_says_what_to_run(browser, tmp_path):
    server = Server(tmp_path)
    server.db_url = f"sqlite:///{tmp_path / 'no-such-folder' / 'app.db'}"
    body = _cold_page(browser, server, "incidents")
    assert "could not be brought up to date" in body and ".venv/bin/python -m core init" in body
    assert "Traceback" not in body and "Sign in to triage" not in body
