"""Links that leave the app are built from the address it is served on, never from a port written in the code."""

import logging

import pytest

from ui import app_address
from ui.navigation import PAGES

PAGE_PATHS = {p.key for p in PAGES}


@pytest.mark.parametrize("value, expected", [
    ("https://desk.example.com", "https://desk.example.com"),
    ("https://desk.example.com/", "https://desk.example.com"),
    (" http://10.0.0.5:8502/escalation/ ", "http://10.0.0.5:8502/escalation"),
    ("http://[::1]:8502", "http://[::1]:8502"),
    ("", None),
    (None, None),
    ("desk.example.com", None),  # no scheme
    ("ftp://desk.example.com", None),
    ("https://desk.example.com/?next=x", None),
    ("https://desk example.com", None),
    ("javascript:alert(1)", None),
])
def test_the_setting_is_an_http_address_or_ignored(value, expected):
    assert app_address.from_setting(value) == expected


@pytest.mark.parametrize("url, headers, base_path, expected", [
    # What the visitor's browser shows, the page's own path left off.
    ("http://127.0.0.1:8502/report", {}, "", "http://127.0.0.1:8502"),
    ("http://127.0.0.1:8502/", {}, "", "http://127.0.0.1:8502"),
    ("http://127.0.0.1:8502", {}, "", "http://127.0.0.1:8502"),
    ("https://desk.example.com/cs/incident", {"Host": "127.0.0.1:8501"}, "", "https://desk.example.com/cs"),
    # Without the browser's URL, the request's Host header, and the scheme a TLS proxy reports.
    (None, {"Host": "127.0.0.1:8599"}, "", "http://127.0.0.1:8599"),
    (None, {"host": "desk.example.com", "X-Forwarded-Proto": "https"}, "", "https://desk.example.com"),
    (None, {"Host": "desk.example.com", "X-Forwarded-Proto": "https, http"}, "desk", "https://desk.example.com/desk"),
    (None, {"Host": "evil.example/x?y=1"}, "", None),
    (None, {"Host": "desk.example.com", "X-Forwarded-Proto": "gopher"}, "", None),
    (None, {}, "", None),
])
def test_the_request_gives_the_address_the_visitor_used(url, headers, base_path, expected):
    assert app_address.from_request(url, headers, PAGE_PATHS, base_path) == expected


@pytest.mark.parametrize("address, port, base_path, expected", [
    ("127.0.0.1", 8502, "", "http://127.0.0.1:8502"),
    ("", 8501, "", "http://localhost:8501"),
    ("0.0.0.0", 9000, "/desk/", "http://localhost:9000/desk"),
    ("::1", 8502, "", "http://[::1]:8502"),
])
def test_without_a_request_the_server_gives_its_own_address_and_port(address, port, base_path, expected):
    assert app_address.from_server(address, port, base_path) == expected


@pytest.fixture
def served(monkeypatch):
    """A server on 127.0.0.1:8502 with a request (url, headers) the test sets."""
    request = {"url": None, "headers": {}}
    monkeypatch.setattr(app_address, "_server_options", lambda: ("127.0.0.1", 8502, "", True))
    monkeypatch.setattr(app_address, "_request", lambda: (request["url"], request["headers"]))
    monkeypatch.delenv(app_address.SETTING, raising=False)
    return request


def test_the_setting_wins_then_the_request_then_the_server(served, monkeypatch):
    assert app_address.base_url() == "http://127.0.0.1:8502", "no request: the server's own port"
    served["headers"] = {"Host": "127.0.0.1:8503"}
    assert app_address.base_url() == "http://127.0.0.1:8503"
    served["url"] = "http://desk.local:8504/report"
    assert app_address.base_url() == "http://desk.local:8504"
    monkeypatch.setenv(app_address.SETTING, "https://desk.example.com/")
    assert app_address.base_url() == "https://desk.example.com"
    monkeypatch.setenv(app_address.SETTING, "not an address")
    assert app_address.base_url() == "http://desk.local:8504", "a wrong setting is ignored"


def test_external_links_come_from_the_page_registry(served):
    served["url"] = "http://127.0.0.1:8765/report"
    assert app_address.external_link("incident", id=42) == "http://127.0.0.1:8765/incident?id=42"
    assert app_address.external_link("board") == "http://127.0.0.1:8765/board"


@pytest.mark.parametrize("setting, server, warned", [
    (None, ("127.0.0.1", 8502, "", True), None),  # make run: the server's own address is right
    ("https://desk.example.com", ("", 8501, "", False), None),
    (None, ("", 8501, "", False), "is not set and this server listens on every interface"),
    ("desk.example.com", ("127.0.0.1", 8502, "", True), "is not an http(s) address"),
])
def test_start_up_warns_once_when_the_address_cannot_be_known(monkeypatch, caplog, setting, server, warned):
    monkeypatch.setattr(app_address, "_server_options", lambda: server)
    monkeypatch.setattr(app_address, "_checked", type(app_address._checked)())
    if setting:
        monkeypatch.setenv(app_address.SETTING, setting)
    else:
        monkeypatch.delenv(app_address.SETTING, raising=False)
    with caplog.at_level(logging.WARNING, logger=app_address.log.name):
        app_address.check_at_start()
        app_address.check_at_start()  # every page calls it: the log says it once
    messages = [r.getMessage() for r in caplog.records]
    if warned is None:
        assert messages == []
    else:
        assert len(messages) == 1 and warned in messages[0] and app_address.SETTING in messages[0]
