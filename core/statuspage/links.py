"""Signed status page links: `<page id>.<nonce>.<HMAC-SHA256>`, URL-safe, checked before any lookup.

The nonce is random and stored on the page; making a new link replaces it, so every earlier link
stops working. The MAC (with the same key as acknowledge links, `core.alerts.links.link_key`) means
a guessed or altered token is refused without touching the database, and a copy of the database
alone cannot mint links. A status page link never signs anyone in: it shows that one incident's
client-safe page and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

STATUS_PATH = "/status/"
_TOKEN = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{22,64})\.([A-Za-z0-9_-]{43})$")


class StatusLinkError(Exception):
    """The token is not a status page link (malformed, altered, or signed with another key)."""


def new_nonce() -> str:
    """A fresh random nonce (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def _mac(key: bytes, purpose: str, ident: int, nonce: str) -> str:
    digest = hmac.new(key, f"{purpose}:{ident}.{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, ident: int, nonce: str, *, purpose: str = "status") -> str:
    """The token for row `ident` with `nonce`; `purpose` keeps a status link from working as a confirm link."""
    return f"{ident}.{nonce}.{_mac(key, purpose, ident, nonce)}"


def verify(key: bytes, token: str, *, purpose: str = "status") -> tuple[int, str]:
    """(row id, nonce) of a genuine token; StatusLinkError otherwise. The caller still checks the stored nonce."""
    match = _TOKEN.match(token or "")
    if match is None:
        raise StatusLinkError("not a link")
    ident, nonce, mac = int(match[1]), match[2], match[3]
    if not hmac.compare_digest(mac, _mac(key, purpose, ident, nonce)):
        raise StatusLinkError("not a link")
    return ident, nonce


def status_url(base_url: str, token: str) -> str:
    """The public address of a status page ('' base: a path the reader completes)."""
    return f"{base_url.rstrip('/')}{STATUS_PATH}{token}"
