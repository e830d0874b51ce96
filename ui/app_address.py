"""The address people open the app at, for links that leave it: calendar files, emails.

A link written into an `.ics` file or an email is opened outside the app's tab, so it
carries the app's whole address. That address is, first to last:

1. `ESCALATION_DESK_BASE_URL`, when set to an http(s) address: the operator's word, for
   an app behind a proxy or reached under several names (`https://desk.example.com`);
2. the address of the request being served: the URL the visitor's browser shows
   (`st.context.url`), else the request's `Host` header;
3. outside any request, this server's own address and port (`browser.serverAddress` and
   `browser.serverPort` when set, else `server.address` and `server.port`).

Never a port written in the code. When the server listens on every interface with no
setting, that last address would be a guess: `check_at_start()` says so in the log once per
process. In-app links are `ui.links`' job; this module builds only links that leave the app,
from the same page registry.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Collection, Mapping
from urllib.parse import urlencode, urlsplit

import streamlit as st
from streamlit.logger import get_logger

from ui.navigation import PAGES, spec

SETTING = "ESCALATION_DESK_BASE_URL"
log = get_logger(__name__)  # Streamlit's format and level (make run shows warnings and errors)

# A host, optionally with a port, as a Host header or a URL's authority may carry it.
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_WILDCARDS = {"", "0.0.0.0", "::"}  # listening on every interface: no single name to give


def _root(scheme: str, host: str, path: str) -> str | None:
    if scheme not in ("http", "https") or not _HOST.match(host):
        return None
    return f"{scheme}://{host}{path.rstrip('/')}"


def from_setting(value: str | None) -> str | None:
    """The setting's address without a trailing slash, or None when unset or not an http(s) address."""
    if not value or not value.strip():
        return None
    parts = urlsplit(value.strip())
    if parts.query or parts.fragment:
        return None
    return _root(parts.scheme, parts.netloc, parts.path)


def from_request(url: str | None, headers: Mapping[str, str], page_paths: Collection[str],
                 base_path: str) -> str | None:
    """The app's root as the request shows it (the browser's URL, else the Host header), or None."""
    if url:
        parts = urlsplit(url)
        segments = parts.path.rstrip("/").split("/")
        if segments[-1] in page_paths:  # /report -> the app's root; a proxy's prefix stays
            segments = segments[:-1]
        root = _root(parts.scheme, parts.netloc, "/".join(segments))
        if root:
            return root
    named = {name.lower(): value for name, value in headers.items()}
    host = named.get("host", "").strip()
    if host:
        # Set by a proxy that ends TLS; only the visitor's own links depend on it.
        proto = named.get("x-forwarded-proto", "http").split(",")[0].strip().lower()
        return _root(proto, host, "/" + base_path.strip("/") if base_path.strip("/") else "")
    return None


def from_server(address: str, port: int, base_path: str) -> str:
    """This server's own address: `address` (localhost when it listens on every interface) and `port`."""
    host = "localhost" if address in _WILDCARDS else (f"[{address}]" if ":" in address else address)
    path = "/" + base_path.strip("/") if base_path.strip("/") else ""
    return f"http://{host}:{port}{path}"


def _server_options() -> tuple[str, int, str, bool]:
    """(address, port, base path, whether that address was set by hand) from Streamlit's configuration."""
    from streamlit import config  # noqa: PLC0415 -- is_manually_set is only on the module

    base_path = str(st.get_option("server.baseUrlPath") or "")
    if config.is_manually_set("browser.serverAddress"):
        return str(st.get_option("browser.serverAddress")), int(st.get_option("browser.serverPort")), base_path, True
    address = str(st.get_option("server.address") or "")
    return address, int(st.get_option("server.port")), base_path, address not in _WILDCARDS


def _request() -> tuple[str | None, Mapping[str, str]]:
    # Outside a script run (a thread of its own) both are empty: there is no request to tell.
    return st.context.url, st.context.headers


def base_url() -> str:
    """The app's address for links that leave it, without a trailing slash (see the module's order)."""
    setting = from_setting(os.environ.get(SETTING))
    if setting:
        return setting
    address, port, base_path, _named = _server_options()
    url, headers = _request()
    return from_request(url, headers, {p.key for p in PAGES}, base_path) or from_server(address, port, base_path)


def server_base_url() -> str:
    """The app's address where no request can tell it (background alerts): the setting, else this server's own."""
    setting = from_setting(os.environ.get(SETTING))
    if setting:
        return setting
    address, port, base_path, _named = _server_options()
    return from_server(address, port, base_path)


def external_link(key: str, **query: str | int) -> str:
    """The whole address of the registry's page `key` with `query`, for a calendar file or an email."""
    target = f"{base_url()}/{spec(key).key}"
    return f"{target}?{urlencode(query)}" if query else target


_checked = threading.Event()


def check_at_start() -> None:
    """Once per process: warn in the log when the setting is wrong, or missing where no address can be trusted."""
    if _checked.is_set():
        return
    _checked.set()
    raw = os.environ.get(SETTING)
    address, port, base_path, named = _server_options()
    if raw and not from_setting(raw):
        log.warning("Warning: %s=%r is not an http(s) address such as https://desk.example.com: it is ignored, and "
                    "links that leave the app (calendar files, emails) use each request's address.", SETTING, raw)
    elif not raw and not named:
        log.warning("Warning: %s is not set and this server listens on every interface: links that leave the app "
                    "(calendar files, emails) use each visitor's address, and where there is none, %s, which "
                    "other machines may not reach. Set %s to the address people open the app at.",
                    SETTING, from_server(address, port, base_path), SETTING)
