"""Signed, expiring, single-use acknowledge links: one link acknowledges one notification, nothing more.

A token is `<notification id>.<expiry, epoch seconds>.<HMAC-SHA256 of both>`, URL-safe. It is not a
sign-in token: whoever holds a forwarded email can acknowledge that one notification, and cannot
read or change anything else. Single use is the notification's own `acknowledged_at` (see
`core.alerts.acknowledge`): a second use finds it set.

The key is `ESCALATION_DESK_LINK_KEY` when set, else one random key kept in the database's
settings, made on first use, so every app process and `python -m core tick` on the same database
sign and check alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models import Setting

KEY_ENV = "ESCALATION_DESK_LINK_KEY"
KEY_SETTING = "ack_link_key"
LIFETIME = dt.timedelta(hours=24)
ACK_PATH = "/ack/"
_TOKEN = re.compile(r"^(\d{1,18})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$")


class LinkError(Exception):
    """The link cannot acknowledge anything; the message says why, for the person who clicked it."""


class LinkExpired(LinkError):
    """The link was genuine but its time is up."""


def link_key(session: Session) -> bytes:
    """The signing key: the environment's, else the database's (made once, the first writer wins)."""
    configured = os.environ.get(KEY_ENV, "").strip()
    if configured:
        return configured.encode()
    stored = session.scalar(select(Setting.value).where(Setting.key == KEY_SETTING))
    if not stored:
        try:
            with session.begin_nested():
                session.add(Setting(key=KEY_SETTING, value=secrets.token_urlsafe(48)))
        except IntegrityError:
            pass  # another process made it first: read theirs
        stored = session.scalar(select(Setting.value).where(Setting.key == KEY_SETTING))
    return str(stored).encode()


def _mac(key: bytes, notification_id: int, expires: int) -> str:
    digest = hmac.new(key, f"ack:{notification_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, notification_id: int, *, now: dt.datetime, lifetime: dt.timedelta = LIFETIME) -> str:
    """A token that acknowledges notification `notification_id` until `now + lifetime`."""
    expires = int((now + lifetime).timestamp())
    return f"{notification_id}.{expires}.{_mac(key, notification_id, expires)}"


def verify(key: bytes, token: str, *, now: dt.datetime) -> int:
    """The notification id `token` acknowledges; LinkError when it was altered or has expired."""
    match = _TOKEN.match(token or "")
    if match is None:
        raise LinkError("This acknowledge link is incomplete or was altered: open the incident in the app instead.")
    notification_id, expires, mac = int(match[1]), int(match[2]), match[3]
    if not hmac.compare_digest(mac, _mac(key, notification_id, expires)):
        raise LinkError("This acknowledge link is incomplete or was altered: open the incident in the app instead.")
    if now.timestamp() > expires:
        raise LinkExpired("This acknowledge link has expired: open the incident in the app to acknowledge it.")
    return notification_id


def ack_url(base_url: str, token: str) -> str:
    """The whole address of the acknowledge page for `token` on the app at `base_url`."""
    return f"{base_url.rstrip('/')}{ACK_PATH}{quote(token, safe='.')}"
