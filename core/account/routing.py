"""Routing keys: the name monitoring tools give an account in alerts, instead of its database id.

A key is 8 to 64 letters, digits, dashes or underscores, unique across accounts; only admins set
or clear one (it decides which customer an alert opens an incident for). Never reads the clock,
never imports streamlit.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.people.access import Role
from core.people.users import Actor
from db.models import Account

ROUTING_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class RoutingKeyError(ValueError):
    """A routing key that cannot be set; the message says what to fix."""


def check_routing_key(key: str) -> str:
    """The key, trimmed; RoutingKeyError when it is not 8 to 64 letters, digits, dashes or underscores."""
    key = key.strip()
    if not ROUTING_KEY_PATTERN.match(key):
        raise RoutingKeyError("A routing key is 8 to 64 letters, digits, dashes or underscores "
                              "(e.g. acme-prod-7f3k2); got " + repr(key[:80]) + ".")
    return key


def account_by_routing_key(session: Session, key: str) -> Account | None:
    """The account with this routing key, or None."""
    return session.scalar(select(Account).where(Account.routing_key == key.strip()))


def _find(session: Session, account: str) -> Account:
    text = account.strip()
    found = session.get(Account, int(text)) if text.isdigit() else None
    found = found or session.scalar(select(Account).where(Account.name == text))
    if found is None:
        raise RoutingKeyError(f"There is no account {account!r}: give its exact name or its id.")
    return found


def set_routing_key(session: Session, *, account: str, key: str | None, actor: Actor, now: dt.datetime) -> Account:
    """Set (or with None, clear) the routing key of the account named `account` (its name or id)."""
    if actor.role is not Role.ADMIN:
        raise RoutingKeyError(f"{actor.name} may not set routing keys: only admins do.")
    row = _find(session, account)
    new = check_routing_key(key) if key is not None else None
    if new is not None:
        other = account_by_routing_key(session, new)
        if other is not None and other.id != row.id:
            raise RoutingKeyError(f"The routing key {new!r} already names account '{other.name}': choose another.")
    before, row.routing_key = row.routing_key, new
    audit.record(session, actor_id=actor.id, actor_name=actor.name, entity_type="account", entity_id=row.id,
                 action="routing_key", changes={"routing_key": [before, new]}, at=now)
    session.flush()
    return row


def routing_keys(session: Session) -> list[tuple[int, str, str | None]]:
    """Every active account's id, name and routing key (None for none), by name."""
    stmt = select(Account.id, Account.name, Account.routing_key).where(Account.archived_at.is_(None))
    return [(row[0], row[1], row[2]) for row in session.execute(stmt.order_by(Account.name))]
